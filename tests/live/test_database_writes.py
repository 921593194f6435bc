"""live.database.insert and save_fields: the written-out INSERT and UPDATE of the write paths (#17) store what the
ORM's create() and save(update_fields=...) store, and a duplicate still raises IntegrityError (first_if_sent_twice)."""

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from debates.models import Comment, Vote
from live.database import insert, save_fields
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
