"""What one private message costs and pushes (docs/messaging.md "Live updates", docs/performance.md): through the
real view, with the pushes rendered as for sockets that follow the pages, at most 9 statements to PostgreSQL, one event on
the conversation and one on each recipient's personal stream (carrying the notification of a new burst), none on
the author's unless writing changed their badge."""

import json
import uuid

import pytest
from django.urls import reverse

from live import streams, variants
from live.messaging import services
from live.messaging.models import Participant
from live.models import Event
from live.notifications.models import Notification
from tests.helpers import redis_round_trips
from tests.messaging.conftest import send
from tests.messaging.test_views import client_for

pytestmark = pytest.mark.django_db

# The first message of a burst: the same (the notification's id comes with the participants, its insert rides with
# the events, its count with the recipient's badge counts after the commit).
MAX_QUERIES = 9
# A message in a burst through the view: session, user, the author's account and the conversation locked and the
# participants read (with the message's id: three statements in one round trip, a pipeline of prepared statements,
# live/database.py lock_then_read), the message with its events (one statement), the recipient's counts; and the test
# transaction's savepoint (two).
IN_A_BURST = 9


@pytest.fixture
def followed(alice, bob, chat):
    """alice and bob each have the conversation page open: it follows the conversation and, for the header badge,
    their personal stream (so the pushes render those variants)."""
    variants.mark([(chat.stream_key, f"u{alice.pk}:fr"), (chat.stream_key, f"u{bob.pk}:fr"),
                   (alice.stream_key, "self:fr"), (bob.stream_key, "self:fr")])


def post(client, chat, body):
    return client.post(reverse("messaging:send", args=[chat.pk]), {"body": body, "client_id": str(uuid.uuid4())},
                       HTTP_HX_REQUEST="true")


def events_since(last_id):
    return [(e.stream, e.kind, e.data) for e in Event.objects.filter(pk__gt=last_id).order_by("pk")]


def last_event_id():
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.needs_postgres  # the statement budgets are PostgreSQL's (one statement per event there)
def test_a_message_in_a_burst_is_at_most_12_queries_and_two_events(
        alice, bob, chat, followed, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    client = client_for(alice)
    post(client, chat, "warm-up")  # bob has unread messages already: no notification
    before = last_event_id()
    with django_assert_max_num_queries(IN_A_BURST):
        with django_capture_on_commit_callbacks(execute=True) as pushes:
            assert post(client, chat, "Encore un").status_code == 204
    message = chat.messages.latest("pk")
    assert events_since(before) == [(chat.stream_key, "message.posted", {"message": message.pk}),
                                    (bob.stream_key, "messages.unread", {"conversation": chat.pk})]
    assert len(pushes) == 1  # pushed together: one hand-off to the layer (streams.together)
    assert Notification.objects.filter(user=bob, kind="message").count() == 1  # the fixture's first message only


@pytest.mark.needs_postgres  # the statement budgets are PostgreSQL's (one statement per event there)
def test_the_first_unread_message_folds_its_notification_into_the_badge_event(
        alice, bob, chat, followed, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    services.mark_read(user=bob, conversation=chat)
    client = client_for(alice)
    client.get(reverse("messaging:inbox"))  # the session's first request records its language: not the message's
    before = last_event_id()
    with django_assert_max_num_queries(MAX_QUERIES):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, chat, "Tu es là ?").status_code == 204
    notification = Notification.objects.filter(user=bob, kind="message").latest("pk")
    assert events_since(before)[1:] == [
        (bob.stream_key, "messages.unread", {"conversation": chat.pk, "notification": notification.pk})]
    # What bob's tabs receive: the messages badge, the inbox row, the notification's item, badge and announcement.
    event = Event.objects.get(stream=bob.stream_key, data__notification=notification.pk)
    event.epoch = streams.cursor(bob.stream_key).epoch
    html = streams.frames(event)[f"{streams.ALL}:en"]
    assert 'id=\\"messages-badge\\"' in html and f'inbox-conversation-{chat.pk}' in html
    assert "Tu es là ?" in html  # the inbox row's preview (the personal stream is bob's only)
    assert "notification-list" in html and "New notification: alice sent you a private message" in html
    assert not Event.objects.filter(stream=bob.stream_key, kind="notification.created").exists()


def test_the_authors_badge_moves_only_when_writing_read_something(alice, bob, chat):
    before = last_event_id()
    send(bob, chat, "Réponse")  # bob had alice's first message unread: replying reads it
    assert (bob.stream_key, "messages.unread", {"conversation": chat.pk}) in events_since(before)
    assert services.unread_count(bob) == 0
    before = last_event_id()
    send(bob, chat, "Et encore")
    assert [stream for stream, _kind, _data in events_since(before)] == [chat.stream_key, alice.stream_key]
    assert services.unread_count(bob) == 0 and services.unread_count(alice) == 2
    # Opening the page after writing marks nothing new (his own messages are never unread): no write, no event.
    before = last_event_id()
    assert client_for(bob).get(chat.get_absolute_url()).status_code == 200
    assert events_since(before) == []
    assert services.mark_read(user=bob, conversation=chat) is False


@pytest.mark.needs_redis
def test_a_message_push_reads_the_marks_of_its_three_streams_in_one_round_trip(
        alice, bob, chat, followed, django_capture_on_commit_callbacks):
    """bob replies with alice's messages unread: events on the conversation, alice's and bob's personal streams.
    The push asks Redis which variants of the three some socket follows in one round trip, not one per stream
    (what this process read of them lately is forgotten first, as when each gets a write every few seconds)."""
    send(alice, chat, "Une autre")
    with django_capture_on_commit_callbacks(execute=False) as pushes:
        send(bob, chat, "Réponse")
    variants.forget_local()
    with redis_round_trips() as trips:
        for push in pushes:
            push()
    assert [trip for trip in trips if "HGETALL" in trip] == [["HGETALL", "HGETALL", "HGETALL"]]


def test_the_rendering_of_a_new_message_reads_nothing_again(
        alice, bob, chat, followed, django_assert_num_queries, django_capture_on_commit_callbacks):
    """The conversation's push renders from what the write read (the message, the participants, the blocks);
    the recipient's reads their unread counts once (one query) after the commit."""
    with django_capture_on_commit_callbacks(execute=False) as pushes:
        send(alice, chat, "Lu une fois")
    with django_assert_num_queries(1):
        for push in pushes:
            push()


def test_a_retry_while_at_the_rate_limit_returns_the_first_send(settings, alice, bob, chat):
    settings.RATE_LIMITS = {"message": "1/60"}
    client_id = uuid.uuid4()
    first = send(alice, chat, "Une fois", client_id)
    again = send(alice, chat, "Une fois", client_id)  # the limit is reached, but this one was sent already
    assert again.pk == first.pk and chat.messages.filter(body="Une fois").count() == 1


def test_a_client_id_reused_in_another_conversation_is_refused(alice, bob, carol, chat):
    from django.core.exceptions import ValidationError

    other = services.start_conversation(author=alice, recipients=["carol"], body="Salut Carol",
                                        client_id=uuid.uuid4()).conversation
    client_id = uuid.uuid4()
    send(alice, chat, "Ici", client_id)
    with pytest.raises(ValidationError, match="out of date"):
        send(alice, other, "Là", client_id)
    assert not other.messages.filter(body="Là").exists()


def test_a_stranger_posting_gets_the_404_of_a_missing_conversation_and_nothing_is_written(carol, chat):
    client = client_for(carol)
    before = (last_event_id(), chat.messages.count(), chat.last_message_at)
    assert post(client, chat, "Intrus").status_code == 404
    assert client.post(reverse("messaging:send", args=[999999]), {"body": "x"}).status_code == 404
    chat.refresh_from_db()
    assert (last_event_id(), chat.messages.count(), chat.last_message_at) == before
    assert Participant.objects.filter(user=carol).count() == 0


def test_the_written_out_reads_load_what_the_orm_loads(alice, bob, carol, chat):
    """services._participants_for_writing builds the models from its own statement: every field as the ORM reads
    it (a field type added later with a database converter would show here), and the same flags as the ORM's
    definition of unread messages."""
    from live.messaging.models import Block
    from live.notifications.services import preferences_of

    preferences_of(bob)
    Block.objects.create(blocker=bob, blocked=carol)
    people = services._participants_for_writing(chat.pk, carol)
    orm = list(Participant.objects.filter(conversation=chat, left_at__isnull=True)
               .select_related("user", "conversation").order_by("pk"))
    assert [p.pk for p in people] == [p.pk for p in orm]
    for raw, loaded in zip(people, orm, strict=True):
        for a, b in [(raw, loaded), (raw.user, loaded.user), (raw.conversation, loaded.conversation)]:
            assert {f.attname: getattr(a, f.attname) for f in type(b)._meta.concrete_fields} == \
                {f.attname: getattr(b, f.attname) for f in type(b)._meta.concrete_fields}
    by_user = {p.user_id: p for p in people}
    assert by_user[bob.pk].blocks_author and not by_user[alice.pk].blocks_author
    assert by_user[bob.pk].had_unread and not by_user[alice.pk].had_unread
    assert by_user[bob.pk].preferences.user_id == bob.pk
    assert services.unread_by_conversation(bob.pk) == {chat.pk: 1}
    assert services.unread_by_conversation(bob.pk) == dict(
        services.participations(bob).values_list("conversation_id", "unread"))


@pytest.mark.needs_postgres  # the statement budgets are PostgreSQL's (one statement per event there)
def test_a_read_receipt_checks_and_locks_the_participation_once(
        alice, bob, carol, chat, followed, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    """Each message a reader sees arrive is followed by their read receipt: the participation is checked, locked
    and read in one statement (the view no longer reads it first); a stranger gets the 404 and writes nothing."""
    client = client_for(bob)
    client.get(reverse("messaging:inbox"))
    message = send(alice, chat, "Lu ?")
    url = reverse("messaging:read", args=[chat.pk])
    with django_assert_max_num_queries(18):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(url, {"upto": message.pk}, HTTP_X_REQUESTED_WITH="fetch").status_code == 204
    assert services.unread_count(bob) == 0
    before = last_event_id()
    assert client_for(carol).post(url, {"upto": message.pk}).status_code == 404
    assert last_event_id() == before


def test_a_reply_that_reads_pushes_both_badges_from_one_query(
        alice, bob, chat, followed, django_assert_num_queries, django_capture_on_commit_callbacks):
    """bob replies with alice's messages unread: his badge moves too (an event on his personal stream); the counts
    of both badges are read in one query after the commit, and each shows its own, with alice's notifications
    count (her new burst's notification rides on her event) in the same query."""
    send(alice, chat, "Une autre")
    with django_capture_on_commit_callbacks(execute=False) as pushes:
        send(bob, chat, "Réponse")
    captured = []
    original = streams.publish
    with django_assert_num_queries(1):
        try:
            streams.publish = lambda event: captured.append((event, streams.frames(event)))
            for push in pushes:
                push()
        finally:
            streams.publish = original
    badges = {event.stream: frames[f"{streams.ALL}:fr"] for event, frames in captured
              if event.kind == "messages.unread"}
    assert set(badges) == {alice.stream_key, bob.stream_key}
    assert "badge-empty" in badges[bob.stream_key].split("inbox-list")[0]  # bob read everything by replying
    assert "1 message non lu" in badges[alice.stream_key]
    # The notifications badge from that query is what alice's event shows read afresh (a replay, from the log).
    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 1
    pushed = json.loads(badges[alice.stream_key])["html"]
    assert '<span id="notification-badge" class="badge" hx-swap-oob="true"><span aria-hidden="true">1</span>' in pushed
    event = Event.objects.get(pk=next(e.pk for e, _frames in captured if e.stream == alice.stream_key))
    event.epoch = streams.cursor(alice.stream_key).epoch
    assert json.loads(streams.frames(event)[f"{streams.ALL}:fr"])["html"] == pushed
    assert services.unread_count(alice) == 1 and services.unread_count(bob) == 0


@pytest.mark.parametrize("prefix", ["/", "/agora/", "/sous-chemin 2/"])
def test_the_cached_paths_are_what_reverse_gives(prefix):
    from django.urls import get_script_prefix, set_script_prefix

    from live import paths

    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        for ids in [(1,), (42,), (987654320,), (10**12,)]:
            assert paths.reverse_once("messaging:conversation", *ids) == reverse("messaging:conversation", args=ids)
            assert paths.reverse_once("messaging:send", *ids) == reverse("messaging:send", args=ids)
        for ids in [(1, 2), (42, 7), (3, 987654323)]:
            assert paths.reverse_once("messaging:report", *ids) == reverse("messaging:report", args=ids)
    finally:
        set_script_prefix(before)


@pytest.mark.needs_postgres
def test_a_reply_and_its_pushes_are_three_round_trips(alice, bob, chat, followed, django_assert_num_queries,
                                                     django_capture_on_commit_callbacks):
    """S3's typical message: bob replies with alice's message unread (his read position moves), alice had read
    everything (a new burst: her notification). The locks (bob's account, the conversation), then the participants
    (with the ids of the message and the notification): three statements in the same round trip; the message, bob's
    read position, the notification and the three events in one statement; then the badges' counts (both
    people's, and alice's notifications) after the commit: five statements in three round trips."""
    send(bob, chat, "Bonjour")  # (each one's notification preferences and personal stream exist from here on)
    services.mark_read(user=alice, conversation=chat)
    send(alice, chat, "Une question")  # alice read everything; bob has her question unread
    before = last_event_id()
    with django_assert_num_queries(5 + 2):  # and the test transaction's savepoint
        with django_capture_on_commit_callbacks(execute=True):
            message = send(bob, chat, "Une réponse")
    notification = Notification.objects.filter(user=alice, kind="message").latest("pk")
    assert notification.subject == f"message:{message.pk}" and notification.unread
    assert events_since(before) == [
        (chat.stream_key, "message.posted", {"message": message.pk}),
        (bob.stream_key, "messages.unread", {"conversation": chat.pk}),
        (alice.stream_key, "messages.unread", {"conversation": chat.pk, "notification": notification.pk})]
    assert Participant.objects.get(conversation=chat, user=bob).last_read_id == message.pk
    assert services.unread_count(bob) == 0 and services.unread_count(alice) == 1


def test_a_group_message_notifies_each_new_burst_with_its_own_notification(alice, bob, carol):
    first = services.start_conversation(author=alice, recipients=[bob, carol], body="Bonjour à tous")
    group = first.conversation
    services.mark_read(user=carol, conversation=group)
    before = last_event_id()
    message = send(alice, group, "Réunion demain")
    # bob still has the first message unread (no new burst); carol had read everything (notified).
    notifications = list(Notification.objects.filter(subject=f"message:{message.pk}"))
    assert [n.user_id for n in notifications] == [carol.pk]
    assert events_since(before) == [
        (group.stream_key, "message.posted", {"message": message.pk}),
        (bob.stream_key, "messages.unread", {"conversation": group.pk}),
        (carol.stream_key, "messages.unread", {"conversation": group.pk, "notification": notifications[0].pk})]
    assert message.pk > first.pk and group.messages.latest("pk") == message


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_waiting_for_the_lock_reads_what_the_previous_one_committed(alice, bob, chat):
    """The conversation's lock and the participants' read share a round trip, as two statements: the read takes its
    snapshot once the lock is held. alice's message commits while bob's reply waits for the lock: the reply sees
    it (bob had it unread), so replying reads it, and alice's new burst is notified once."""
    import threading

    from django.db import connection, transaction

    services.mark_read(user=bob, conversation=chat)
    services.mark_read(user=alice, conversation=chat)
    holding, errors = threading.Event(), []

    def alice_writes_and_waits_for_bob():
        try:
            with transaction.atomic():
                send(alice, chat, "Tu es là ?")
                holding.set()
                with connection.cursor() as cursor:  # until bob's reply waits for the conversation's lock
                    for _ in range(1000):
                        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                        if cursor.fetchone()[0]:
                            break
                        threading.Event().wait(0.01)
                    else:
                        errors.append("bob's reply never waited for the lock")
        except Exception as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    alice_thread = threading.Thread(target=alice_writes_and_waits_for_bob)
    alice_thread.start()
    assert holding.wait(10)
    reply = send(bob, chat, "Oui !")
    alice_thread.join(10)
    assert not errors
    question = chat.messages.get(body="Tu es là ?")
    assert question.pk < reply.pk
    assert Participant.objects.get(conversation=chat, user=bob).last_read_id == reply.pk  # replying read it
    assert services.unread_count(bob) == 0 and services.unread_count(alice) == 1
    assert Notification.objects.filter(user=alice, subject=f"message:{reply.pk}").count() == 1
