"""live.database.insert and save_fields: the written-out INSERT and UPDATE of the write paths (#17) store what the
ORM's create() and save(update_fields=...) store, and a duplicate still raises IntegrityError (first_if_sent_twice)."""

import datetime

import hypothesis
import pytest
from django.db import DataError, IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from hypothesis import strategies as st
from psycopg.pq import Format

from debates.models import Comment, Vote
from live import streams
from live.database import UtcTimestampLoader, columns, from_db, insert, next_id, riding_insert, save_fields
from tests.debates.conftest import make_debate
from tests.helpers import make_user

pytestmark = [pytest.mark.django_db]


def stored(obj):
    return model_to_dict(type(obj).objects.get(pk=obj.pk))


def test_insert_stores_the_row_the_orm_would_and_sets_its_id():
    alice, bob = make_user("alice"), make_user("bob")
    debate = make_debate(alice)
    mine = insert(Comment(debate=debate, author=alice, depth=0, alignment=1, body="Pour", body_html="<p>Pour</p>",
                          client_id="abc"))
    theirs = Comment.objects.create(debate=debate, author=alice, depth=0, alignment=1, body="Pour",
                                    body_html="<p>Pour</p>", client_id="abd")
    assert mine.pk and not mine._state.adding
    ignore = {"id", "client_id", "created_at"}
    assert {k: v for k, v in stored(mine).items() if k not in ignore} == \
        {k: v for k, v in stored(theirs).items() if k not in ignore}
    assert Comment.objects.get(pk=mine.pk).created_at == mine.created_at
    vote = insert(Vote(comment=mine, user=bob, value=Vote.UP))
    assert stored(vote)["value"] == Vote.UP and stored(vote)["user"] == bob.pk
    with pytest.raises(IntegrityError), transaction.atomic():  # one vote per person and comment
        insert(Vote(comment=mine, user=bob, value=Vote.DOWN))


@pytest.mark.needs_postgres
def test_a_row_riding_with_its_events_is_the_row_insert_stores():
    """`riding_insert`: the INSERT of a row whose id was taken from its sequence (`next_id`), sent in the events'
    statement (`streams.together`), stores what `insert` stores, under that id, and leaves the object saved."""
    from django.db import connection

    alice = make_user("alice")
    debate = make_debate(alice)
    fields = dict(debate=debate, author=alice, depth=0, alignment=1, body="Pour", body_html="<p>Pour</p>")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {next_id(Comment)}")
            taken = cursor.fetchone()[0]
        riding = Comment(client_id="ride", **fields)
        statement = riding_insert(riding, taken)
        assert riding.pk == taken and not riding._state.adding and riding._state.db == "default"
        assert not Comment.objects.filter(pk=taken).exists()  # not sent yet
        with streams.together([statement]):
            event = streams.append(debate.stream_key, "test.kind", comment=taken)
    mine = insert(Comment(client_id="plain", **fields))
    ignore = {"id", "client_id", "created_at"}
    assert {k: v for k, v in stored(riding).items() if k not in ignore} == \
        {k: v for k, v in stored(mine).items() if k not in ignore}
    assert Comment.objects.get(pk=taken).created_at == riding.created_at
    assert event.seq and mine.pk > taken


def _orm_and_fast(model, pk):
    """`model`'s row `pk` built by the ORM and by `from_db` from the same columns."""
    from django.db import connection

    selected, names = columns(model, "t")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(selected)} FROM {model._meta.db_table} t WHERE t.id = %s", [pk])
        row = cursor.fetchone()
    return model.objects.get(pk=pk), from_db(model, names, row)


def test_rows_built_without_the_models_init_are_those_the_orm_builds():
    from debates.models import Debate
    from live.accounts.models import User
    from live.messaging.models import Conversation, Participant
    from live.messaging.services import start_conversation

    alice, bob = make_user("alice"), make_user("bob")
    comment = insert(Comment(debate=make_debate(alice), author=alice, body="Pour", body_html="<p>Pour</p>"))
    message = start_conversation(author=alice, recipients=[bob], body="Bonjour")
    participant = Participant.objects.get(conversation=message.conversation, user=bob)
    for model, pk in [(User, alice.pk), (Comment, comment.pk), (Debate, comment.debate_id),
                      (Conversation, message.conversation_id), (Participant, participant.pk)]:
        orm, fast = _orm_and_fast(model, pk)
        assert type(fast) is model and fast.pk == pk
        assert {k: v for k, v in vars(fast).items() if k != "_state"} == \
            {k: v for k, v in vars(orm).items() if k != "_state"}
        assert (fast._state.adding, fast._state.db) == (False, orm._state.db)
        assert fast.get_deferred_fields() == set()
    orm, fast = _orm_and_fast(Participant, participant.pk)
    assert fast.user == bob and fast.conversation == message.conversation  # relations load as the ORM's do
    fast.save(update_fields=["last_read_id"])  # and it saves as a row read by the ORM
    assert not fast._state.adding


def test_rows_of_a_model_with_receivers_of_its_init_signals_are_built_by_its_init():
    from django.db.models.signals import post_init

    from live.accounts.models import User

    alice = make_user("alice")
    seen = []
    post_init.connect(receiver := lambda sender, instance, **kw: seen.append(instance), sender=User, weak=False)
    try:
        orm, fast = _orm_and_fast(User, alice.pk)
    finally:
        post_init.disconnect(receiver, sender=User)
    assert seen == [orm, fast]  # with a receiver for its signals, through __init__ as the ORM


def test_save_fields_writes_those_fields_only():
    alice = make_user("alice")
    comment = insert(Comment(debate=make_debate(alice), author=alice, body="Pour", body_html="<p>Pour</p>"))
    comment.body, comment.edited_at, comment.body_html = "Contre", timezone.now(), "<p>not saved</p>"
    save_fields(comment, ["body", "edited_at"])
    row = Comment.objects.get(pk=comment.pk)
    assert (row.body, row.edited_at, row.body_html) == ("Contre", comment.edited_at, "<p>Pour</p>")


@pytest.mark.needs_postgres
def test_lock_then_read_sends_its_statements_in_one_pipeline_prepared_once_used(settings):
    """On PostgreSQL, the locks and the read travel together (a psycopg pipeline) and come back in order, the read
    seeing what the locks changed; used a few times on a connection, each is prepared there: PostgreSQL plans it
    no more on every call (DB_PREPARED_STATEMENTS)."""
    from django.db import connection

    from live.database import account_lock, hot_cursor, lock_then_read

    alice = make_user("alice")
    read = 'SELECT "nickname", "last_login" FROM "accounts_user" WHERE "id" = %s'
    moved = 'UPDATE "accounts_user" SET "last_login" = %s WHERE "id" = %s'
    for _ in range(7):
        now = timezone.now()
        with transaction.atomic(), hot_cursor() as cursor:
            kept = lock_then_read(cursor, [account_lock(alice), (moved, [now, alice.pk], lambda c: c.rowcount)],
                                  read, [alice.pk])
            assert kept[1] == 1 and alice.is_active and alice.blocked_at is None
            assert cursor.fetchall() == [("alice", now)]  # the read ran after the update
    assert connection.connection.prepare_threshold == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert read.replace("%s", "$1") in prepared
    assert moved.replace("%s", "$1", 1).replace("%s", "$2") in prepared


# --- timestamps: UtcTimestampLoader (live/database.py) ---------------------------------------------------------------

def _django_loads(texts):
    """What Django's own loader makes of `texts` (timestamptz as PostgreSQL writes them)."""
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class DjangosLoader(BaseTzLoader):
        timezone = datetime.UTC

    loader = DjangosLoader(1184, connection.connection)
    return [loader.load(text) for text in texts]


@pytest.mark.needs_postgres
@hypothesis.settings(max_examples=300, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                                                            hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(st.lists(st.datetimes(min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30),
                                        timezones=st.just(datetime.UTC)), min_size=1, max_size=20))
def test_timestamps_read_are_those_djangos_loader_gives(values):
    """Every timestamp read through a Django cursor comes back as Django's own loader makes it from the same text:
    the same instant, aware, in `timezone.utc`, to the microsecond."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT v, v::text FROM unnest(%s::timestamptz[]) AS v", [values])
        rows = cursor.fetchall()
        loader = cursor.cursor.adapters.get_loader(1184, Format.TEXT)
    assert loader is UtcTimestampLoader
    read = [value for value, _text in rows]
    assert read == values == _django_loads([text.encode() for _value, text in rows])
    assert all(value.tzinfo is datetime.UTC for value in read)


@pytest.mark.needs_postgres
def test_timestamps_out_of_pythons_range_fail_as_they_did():
    """What a datetime cannot hold raises psycopg's DataError, as with Django's loader; a column's model field reads
    back what was saved."""
    from django.db import connection

    for text in ("infinity", "-infinity", "0044-03-15 10:00:00+00 BC", "10000-01-01 00:00:00+00"):
        with connection.cursor() as cursor, pytest.raises(DataError):
            cursor.execute("SELECT %s::timestamptz", [text])
            cursor.fetchone()
    with connection.cursor() as cursor:  # an offset other than UTC's in the text (a session in another zone)
        loader = UtcTimestampLoader(1184, connection.connection)
        assert loader.load(b"2026-12-07 18:55:01.5+05:30") == datetime.datetime(2026, 12, 7, 13, 25, 1, 500000,
                                                                                tzinfo=datetime.UTC)
    user = make_user("clock")
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert type(user).objects.get(pk=user.pk).last_login == user.last_login
