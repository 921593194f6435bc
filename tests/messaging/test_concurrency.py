"""Two writes starting conversations at the same moment, on PostgreSQL: a double submit, two people writing to each
other."""

import uuid

import pytest

from live.messaging import services
from live.messaging.models import Conversation, Message
from tests.helpers import while_held

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_a_retry_of_a_new_group_arriving_while_the_first_is_written_gets_the_same_message(alice, bob, carol, settings):
    settings.RATE_LIMITS_ENABLED = False
    client_id = uuid.uuid4()

    def start():
        return services.start_conversation(author=alice, recipients=["bob", "carol"], body="Double clic",
                                           client_id=client_id)

    first, retry = while_held(start, start, must_wait=False)
    assert isinstance(retry, Message), retry
    assert retry.pk == first.pk
    assert Conversation.objects.count() == 1 and Message.objects.count() == 1


def test_two_people_writing_to_each_other_at_the_same_moment_share_one_conversation(alice, bob, settings):
    settings.RATE_LIMITS_ENABLED = False
    first, second = while_held(
        lambda: services.start_conversation(author=alice, recipients=["bob"], body="Salut Bob", client_id=uuid.uuid4()),
        lambda: services.start_conversation(author=bob, recipients=["alice"], body="Salut Alice",
                                            client_id=uuid.uuid4()), must_wait=False)
    assert isinstance(second, Message), second
    assert Conversation.objects.count() == 1
    assert second.conversation_id == first.conversation_id


def test_a_message_under_way_while_its_author_is_blocked_with_all_their_content_is_refused(alice, bob, mona,
                                                                                          settings):
    """A moderator blocks alice, hiding all she wrote, while her message to bob is being sent (her request read her
    account before the block): the message waits for the block, then is refused; bob never gets it, missed by the
    block's hiding."""
    from django.core.exceptions import PermissionDenied

    from live.moderation import services as moderation

    settings.RATE_LIMITS_ENABLED = False
    chat = services.start_conversation(author=alice, recipients=["bob"], body="Bonjour",
                                       client_id=uuid.uuid4()).conversation
    _log, outcome = while_held(
        lambda: moderation.block(actor=mona, user=alice, reason="Harcèlement", hide_content=True),
        lambda: services.send_message(author=alice, conversation=chat, body="Encore moi", client_id=uuid.uuid4()),
        must_wait=False)
    assert isinstance(outcome, PermissionDenied), outcome
    assert not Message.objects.filter(author=alice, hidden_at__isnull=True).exists()
