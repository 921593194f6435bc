"""What a conversation's events show to each participant over the socket, live or replayed: no more than their page
shows (services.visible_messages)."""

import json
import uuid

import pytest

from live import streams
from live.messaging import services
from live.models import Event
from tests.messaging.conftest import send

pytestmark = pytest.mark.django_db


def seen_by(user, msgs) -> str:
    """The html `user` gets of these layer messages (their audience on a conversation is "u<pk>")."""
    out = []
    for msg in msgs:
        frame = json.loads(streams.pick(msg["frames"], f"u{user.pk}", "en"))
        out.append(frame.get("html", ""))
    return "\n".join(out)


@pytest.fixture
def group(alice, bob, carol):
    return services.start_conversation(author=alice, recipients=["bob", "carol"], body="Avant l'arrivée de Dave",
                                       client_id=uuid.uuid4()).conversation


def test_someone_added_to_a_group_does_not_get_earlier_messages_by_replaying_from_the_start(bob, carol, group, dave):
    services.add_participants(actor=bob, conversation=group, recipients=["dave"])
    send(carol, group, "Bienvenue Dave")
    replayed = streams.replay_messages(group.stream_key, 0)
    assert "Avant l" not in seen_by(dave, replayed)
    assert "Bienvenue Dave" in seen_by(dave, replayed) and "dave was added by bob" in seen_by(dave, replayed)
    assert "Avant l" in seen_by(carol, replayed)


def test_someone_re_added_does_not_get_what_was_written_while_they_were_away(alice, bob, group):
    services.leave_conversation(user=bob, conversation=group)
    send(alice, group, "Pendant son absence")
    services.add_participants(actor=alice, conversation=group, recipients=["bob"])
    replayed = streams.replay_messages(group.stream_key, 0)
    assert "Pendant son absence" not in seen_by(bob, replayed)
    assert "Pendant son absence" in seen_by(alice, replayed)


def test_an_earlier_message_unhidden_is_not_pushed_to_someone_added_since(alice, bob, carol, group, dave):
    message = group.messages.get(body__startswith="Avant")
    services.hide_message(message=message)
    services.add_participants(actor=bob, conversation=group, recipients=["dave"])
    services.unhide_message(message=message)
    [changed] = Event.objects.filter(stream=group.stream_key, kind="message.changed").order_by("-seq")[:1]
    msg = streams.message(changed)
    assert "Avant l" not in seen_by(dave, [msg])
    assert "Avant l" in seen_by(carol, [msg])


def test_earlier_messages_replayed_to_others_just_before_are_not_replayed_to_the_newcomer(bob, carol, group, dave):
    streams.replay_messages(group.stream_key, 0)  # carol's socket resumed a moment ago: its renderings are reused
    services.add_participants(actor=bob, conversation=group, recipients=["dave"])
    assert "Avant l" not in seen_by(dave, streams.replay_messages(group.stream_key, 0))
