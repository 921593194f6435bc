import uuid

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.utils import timezone

from live import ratelimit
from live.messaging import services
from live.messaging.models import Conversation, Message, Participant
from live.models import Event
from live.notifications.models import Notification
from tests import helpers
from tests.messaging.conftest import send

pytestmark = pytest.mark.django_db


def test_it_starts_a_one_to_one_conversation_and_reuses_it(alice, bob):
    first = services.start_conversation(author=alice, recipients=["bob"], body="Salut", client_id=uuid.uuid4())
    again = services.start_conversation(author=bob, recipients=["alice"], body="Coucou", client_id=uuid.uuid4())
    assert first.conversation == again.conversation
    assert not first.conversation.is_group
    assert Conversation.objects.count() == 1
    assert list(first.conversation.messages.values_list("body", flat=True)) == ["Salut", "Coucou"]


def test_a_retried_send_with_the_same_client_id_creates_one_message(alice, bob, chat):
    client_id = uuid.uuid4()
    events_before = Event.objects.filter(stream=chat.stream_key).count()
    one = send(alice, chat, "Une fois", client_id)
    two = send(alice, chat, "Une fois", client_id)
    assert one.pk == two.pk
    assert chat.messages.filter(body="Une fois").count() == 1
    assert Event.objects.filter(stream=chat.stream_key).count() == events_before + 1


def test_a_retried_start_with_the_same_client_id_creates_one_conversation(alice, bob, carol):
    client_id = uuid.uuid4()
    one = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Hello", client_id=client_id)
    two = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Hello", client_id=client_id)
    assert one.pk == two.pk
    assert Conversation.objects.count() == 1


def test_a_group_holds_up_to_ten_people(alice):
    names = [helpers.make_user(f"person{i}").nickname for i in range(10)]
    with pytest.raises(ValidationError, match="at most 10"):
        services.start_conversation(author=alice, recipients=names, body="Trop", client_id=uuid.uuid4())
    message = services.start_conversation(author=alice, recipients=names[:9], body="Juste", client_id=uuid.uuid4())
    assert message.conversation.is_group
    assert message.conversation.participants.count() == 10


def test_a_list_of_more_people_than_a_group_holds_is_refused_without_reading_all_of_it(alice):
    # Every name was compared with all those kept before it, before the count was checked: a "To" field of 8,000
    # made-up names took 3 s of CPU, the 2.5 MB a form may carry hours, each attempt before any rate limit.
    read = []

    def names():
        for i in range(12_000):
            read.append(i)
            yield f"person{i}"

    with pytest.raises(ValidationError, match="at most 10") as refused:
        services.start_conversation(author=alice, recipients=names(), body="Trop", client_id=uuid.uuid4())
    assert refused.value.code == "too_many"
    assert len(read) <= services.max_participants()
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("body, error", [
    ("", "Write a message first"),
    ("   \n ", "Write a message first"),
    ("x" * 1001, "limited to 1000"),
    ("null\x00byte", "control characters"),
    ("bidi \u202e override", "control characters"),
])
def test_bad_bodies_are_refused_and_nothing_is_written(alice, bob, chat, body, error):
    messages, events = Message.objects.count(), Event.objects.count()
    with pytest.raises(ValidationError, match=error):
        send(alice, chat, body)
    assert (Message.objects.count(), Event.objects.count()) == (messages, events)


def test_a_thousand_characters_is_fine(alice, bob, chat):
    assert send(alice, chat, "é" * 1000).body == "é" * 1000


def test_injected_markup_is_escaped_and_links_are_safe(alice, bob, chat):
    message = send(alice, chat, '<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) '
                                'https://example.org <b hx-get="/">b</b>')
    assert "<script" not in message.body_html and "<img" not in message.body_html
    assert "<b " not in message.body_html and 'href="javascript' not in message.body_html
    assert 'rel="nofollow ugc noopener"' in message.body_html
    assert "&lt;script&gt;" in message.body_html


@pytest.mark.parametrize("recipients, error", [
    ([], "at least one"),
    (["alice"], "yourself"),
    (["ALICE"], "yourself"),
    (["nobody-here"], "No one is called"),
])
def test_bad_recipients_are_refused(alice, recipients, error):
    with pytest.raises(ValidationError, match=error):
        services.start_conversation(author=alice, recipients=recipients, body="Hi", client_id=uuid.uuid4())
    assert Conversation.objects.count() == 0


def test_someone_who_accepts_nobody_cannot_be_written_to_nor_added_to_a_group(alice, bob, carol):
    services.set_preference(user=bob, accept_from="nobody")
    for recipients in (["bob"], ["carol", "bob"]):
        with pytest.raises(ValidationError) as exc:
            services.start_conversation(author=alice, recipients=recipients, body="Hi", client_id=uuid.uuid4())
        assert exc.value.messages == ["You cannot write to bob."]  # nothing about why
    assert Conversation.objects.count() == 0


def test_someone_who_blocked_me_looks_the_same_as_someone_who_refuses_everyone(alice, bob):
    services.block_user(blocker=bob, blocked=alice)
    with pytest.raises(ValidationError) as exc:
        services.start_conversation(author=alice, recipients=["bob"], body="Hi", client_id=uuid.uuid4())
    assert exc.value.messages == ["You cannot write to bob."]


def test_a_blocked_person_cannot_write_in_the_existing_one_to_one(alice, bob, chat):
    services.block_user(blocker=bob, blocked=alice)
    with pytest.raises(PermissionDenied):
        send(alice, chat, "Tu es là ?")
    services.unblock_user(blocker=bob, blocked=alice)
    assert send(alice, chat, "Tu es là ?").pk


def test_blocked_authors_new_group_messages_are_not_shown_to_the_blocker(alice, bob, carol):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Avant",
                                        client_id=uuid.uuid4()).conversation
    services.block_user(blocker=bob, blocked=alice)
    send(alice, group, "Après le blocage")
    send(carol, group, "Carol parle")
    seen_by_bob = [m.body for m in services.visible_messages(bob, group)]
    assert seen_by_bob == ["Avant", "Carol parle"]
    assert [m.body for m in services.visible_messages(carol, group)] == ["Avant", "Après le blocage", "Carol parle"]
    assert services.unread_count(bob) == 2 - 1  # "Avant" was unread, "Après" does not count, "Carol parle" does
    services.mark_read(user=bob, conversation=group)
    send(alice, group, "Encore")
    assert services.unread_count(bob) == 0
    assert not services.search(bob, "Encore")
    services.leave_conversation(user=alice, conversation=group)
    assert services.visible_messages(bob, group).filter(kind="left", author=alice).exists()


@pytest.mark.parametrize("state", ["moderation_blocked", "deactivated"])
def test_blocked_or_deactivated_accounts_cannot_send(alice, bob, chat, state):
    if state == "moderation_blocked":
        alice.blocked_at = timezone.now()
    else:
        alice.is_active = False
    alice.save()
    with pytest.raises((PermissionDenied, ObjectDoesNotExist)):
        send(alice, chat, "Hello")
    with pytest.raises(PermissionDenied):
        services.start_conversation(author=alice, recipients=["bob"], body="Hi", client_id=uuid.uuid4())


def test_a_moderation_blocked_recipient_cannot_be_written_to(alice, bob):
    bob.blocked_at = timezone.now()
    bob.save()
    with pytest.raises(ValidationError, match="cannot write"):
        services.start_conversation(author=alice, recipients=["bob"], body="Hi", client_id=uuid.uuid4())


def test_rate_limits_per_sender(settings, alice, bob, carol, chat):
    settings.RATE_LIMITS = {"message": "2/60", "conversation": "1/3600"}
    send(alice, chat, "1")
    send(alice, chat, "2")
    with pytest.raises(ratelimit.RateLimited) as exc:
        send(alice, chat, "3")
    assert "try again in" in exc.value.message
    assert chat.messages.count() == 3  # the first message of the fixture, 1 and 2
    services.start_conversation(author=bob, recipients=["carol"], body="Hi", client_id=uuid.uuid4())
    with pytest.raises(ratelimit.RateLimited):
        services.start_conversation(author=bob, recipients=["alice", "carol"], body="Group", client_id=uuid.uuid4())


def test_unread_counts_and_reading(alice, bob, carol, chat):
    assert services.unread_count(bob) == 1
    assert services.unread_count(alice) == 0
    send(alice, chat, "Deux")
    assert services.unread_count(bob) == 2
    assert services.mark_read(user=bob, conversation=chat) is True
    assert services.unread_count(bob) == 0
    assert services.mark_read(user=bob, conversation=chat) is False  # nothing new: no event
    latest, readers = services.seen_by(chat)
    assert latest.body == "Deux" and readers == [bob]


def test_a_new_message_reaches_the_conversation_and_each_participants_personal_stream(alice, bob, chat):
    message = send(alice, chat, "Live")
    kinds = {(e.stream, e.kind) for e in Event.objects.filter(data__message=message.pk)}
    assert (chat.stream_key, "message.posted") in kinds
    unread = Event.objects.filter(stream=bob.stream_key, kind="messages.unread").last()
    assert unread.data == {"conversation": chat.pk}


def test_the_first_unread_message_notifies_without_its_text(alice, bob, chat):
    send(alice, chat, "Secret numéro deux")
    notes = list(Notification.objects.filter(user=bob, kind="message"))
    assert len(notes) == 1  # one per burst until read
    assert "Secret" not in notes[0].text and "Salut" not in notes[0].text
    assert notes[0].url == chat.get_absolute_url()
    services.mark_read(user=bob, conversation=chat)
    send(alice, chat, "Trois")
    assert Notification.objects.filter(user=bob, kind="message").count() == 2
    assert not Notification.objects.filter(user=alice, kind="message").exists()


def test_leaving_a_group(alice, bob, carol):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Hi",
                                        client_id=uuid.uuid4()).conversation
    services.leave_conversation(user=bob, conversation=group)
    with pytest.raises(Conversation.DoesNotExist):
        services.get_participation(bob, group.pk)
    assert group.messages.filter(kind="left", author=bob).exists()
    assert [u.nickname for u in services.others(group, alice)] == ["carol"]
    with pytest.raises(ObjectDoesNotExist):
        send(bob, group, "Je reviens ?")
    event = Event.objects.filter(stream=bob.stream_key, kind="messages.unread").last()
    assert event.data["_control"] == {"reauthorize": True}


def test_a_one_to_one_cannot_be_left(alice, bob, chat):
    with pytest.raises(ValidationError):
        services.leave_conversation(user=alice, conversation=chat)


def test_export_and_search_cover_own_conversations_only(alice, bob, carol, chat):
    services.start_conversation(author=carol, recipients=["bob"], body="Carol à Bob", client_id=uuid.uuid4())
    data = services.export_for(alice)
    assert [c["id"] for c in data["conversations"]] == [chat.pk]
    assert data["conversations"][0]["messages"][0]["body"] == "Salut Bob"
    assert services.export_for(carol)["conversations"][0]["participants"] == ["carol", "bob"]
    assert "Salut Bob" not in str(services.export_for(carol))
    assert [m.body for m in services.search(bob, "salut")] == ["Salut Bob"]
    assert services.search(carol, "Salut") == []


def test_moderation_hides_a_reported_message_through_the_registry(alice, bob, carol, mona, chat):
    from live.moderation import registry

    entry = registry.get("message")
    message = chat.messages.get()
    assert entry.can_report(message, bob)
    assert not entry.can_report(message, alice)  # one's own
    assert not entry.can_report(message, carol)  # not a participant
    assert not entry.can_report(message, mona)   # staff are not participants
    entry.hide(message, actor=mona, reason="spam")
    message.refresh_from_db()
    assert entry.is_hidden(message)
    assert services.unread_count(bob) == 0
    assert Event.objects.filter(stream=chat.stream_key, kind="message.changed").exists()
    entry.unhide(message, actor=mona)
    message.refresh_from_db()
    assert not entry.is_hidden(message)


def test_participants_only(alice, bob, carol, chat):
    assert services.get_participation(bob, chat.pk).user == bob
    with pytest.raises(Conversation.DoesNotExist):
        services.get_participation(carol, chat.pk)
    assert Participant.objects.filter(conversation=chat).count() == 2


def test_demo_seed_is_idempotent(alice, bob):
    import io

    from live.messaging import demo

    demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    assert Conversation.objects.count() == 1
    assert Message.objects.count() == 3


def test_adding_people_to_a_group(alice, bob, carol, dave):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Avant l'arrivée de Dave",
                                        client_id=uuid.uuid4()).conversation
    services.add_participants(actor=bob, conversation=group, recipients=["dave"])
    assert services.get_participation(dave, group.pk)
    assert group.messages.filter(kind="added", author=dave, added_by=bob).exists()
    send(carol, group, "Bienvenue Dave")
    # dave sees what was written since he joined, not before: on the page, in search, in his export
    assert [m.body for m in services.visible_messages(dave, group) if m.kind == "message"] == ["Bienvenue Dave"]
    assert services.search(dave, "arrivée") == []
    assert "arrivée" not in str(services.export_for(dave))
    assert services.unread_count(dave) == 1
    assert dave.notifications.filter(kind="message").exists()
    with pytest.raises(ValidationError, match="already"):
        services.add_participants(actor=alice, conversation=group, recipients=["dave"])


def test_adding_honours_who_may_write_and_blocks(alice, bob, carol, dave):
    group = services.start_conversation(author=alice, recipients=["bob"], body="1:1", client_id=uuid.uuid4())
    with pytest.raises(ValidationError, match="group"):
        services.add_participants(actor=alice, conversation=group.conversation, recipients=["carol"])
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Groupe",
                                        client_id=uuid.uuid4()).conversation
    services.set_preference(user=dave, accept_from="nobody")
    with pytest.raises(ValidationError, match="You cannot write to dave"):
        services.add_participants(actor=alice, conversation=group, recipients=["dave"])
    services.set_preference(user=dave, accept_from="everyone")
    services.block_user(blocker=dave, blocked=alice)
    with pytest.raises(ValidationError, match="You cannot write to dave"):
        services.add_participants(actor=alice, conversation=group, recipients=["dave"])
    assert not group.participants.filter(user=dave).exists()


def test_a_group_cannot_grow_past_ten(alice):
    names = [helpers.make_user(f"member{i}").nickname for i in range(9)]
    group = services.start_conversation(author=alice, recipients=names, body="Plein", client_id=uuid.uuid4())
    helpers.make_user("onemore")
    with pytest.raises(ValidationError, match="at most 10"):
        services.add_participants(actor=alice, conversation=group.conversation, recipients=["onemore"])


def test_the_added_line_names_who_added_by_their_account_through_a_rename_and_an_erasure(alice, bob, carol, dave):
    """"dave was added by bob": bob renames himself to "robert", then erases his account. The line follows the
    account (robert, then "Deleted participant"): his former nickname is not left in it, and someone who takes the
    name "bob" later and erases their account does not blank it."""
    from django.contrib.auth import get_user_model
    from django.utils import translation

    from live.accounts.services import erase_account
    from live.messaging.renderers import message_html

    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Un groupe",
                                        client_id=uuid.uuid4()).conversation
    services.add_participants(actor=bob, conversation=group, recipients=["dave"])
    line = group.messages.get(kind="added")
    bob.nickname = "robert"
    bob.save(update_fields=["nickname"])
    newcomer = get_user_model().objects.create_user(username="new@example.org", email="new@example.org",
                                                    password=helpers.PASSWORD, nickname="bob")
    with translation.override("en"):
        line = Message.objects.get(pk=line.pk)
        assert "added by robert" in message_html(line)
        erase_account(user=newcomer, password=helpers.PASSWORD)
        line = Message.objects.get(pk=line.pk)
        assert "added by robert" in message_html(line)
        erase_account(user=bob, password=helpers.PASSWORD)
        line = Message.objects.get(pk=line.pk)
        assert "added by Deleted participant" in message_html(line) and "bob" not in line.body


def test_the_migration_links_the_existing_added_lines_to_their_adders(alice, bob, carol, dave):
    """Lines written with the adder's nickname: linked to the account of that name that takes part in the
    conversation; a name no participant has any more (renamed since) stays as it was written."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("live.messaging.migrations.0003_added_by")
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Un groupe",
                                        client_id=uuid.uuid4()).conversation
    old = Message.objects.create(conversation=group, author=dave, kind="added", body="bob")
    renamed = Message.objects.create(conversation=group, author=dave, kind="added", body="bobby")
    outsider = Message.objects.create(conversation=group, author=dave, kind="added", body="dave")  # not his line
    migration.link_adders(apps, None)
    assert Message.objects.filter(pk=old.pk, added_by=bob, body="").exists()
    assert Message.objects.filter(pk=renamed.pk, added_by=None, body="bobby").exists()
    assert Message.objects.filter(pk=outsider.pk, added_by=None, body="dave").exists()
