"""Races between a close and the comments under way, on a real PostgreSQL."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation

from debates import services
from debates.models import Comment
from tests.debates.conftest import make_debate
from tests.helpers import while_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_postgres]


def test_a_comment_waiting_on_a_close_is_refused_once_the_close_commits(fiona, alice):
    debate = make_debate(fiona)
    locked, go, outcome = threading.Event(), threading.Event(), {}

    def close():
        try:
            with transaction.atomic():
                row = services._locked_debate(debate)  # what close_debate holds while it writes
                row.closed_at, row.conclusions = timezone.now(), "Fermé pendant que vous écriviez."
                row.save()
                locked.set()
                go.wait(10)
        finally:
            connection.close()

    def post():
        try:
            with translation.override("en"):
                services.post_comment(author=alice, debate=debate, body="Juste à temps ?")
            outcome["result"] = "posted"
        except PermissionDenied as exc:
            outcome["result"] = str(exc)
        except Exception as exc:  # reported by the assertion below rather than lost in the thread
            outcome["result"] = repr(exc)
        finally:
            connection.close()

    closer = threading.Thread(target=close)
    closer.start()
    assert locked.wait(10)
    poster = threading.Thread(target=post)
    poster.start()
    poster.join(0.5)
    assert poster.is_alive()  # the comment waits for the close to finish...
    go.set()
    closer.join(10)
    poster.join(10)
    assert "closed" in outcome.get("result", ""), outcome  # ...then sees the debate closed
    assert not Comment.objects.filter(debate=debate).exists()


def test_comments_do_not_wait_for_each_other(fiona, alice, bob):
    debate = make_debate(fiona)
    holding, go, outcome = threading.Event(), threading.Event(), {}

    def slow_comment():
        try:
            with transaction.atomic():
                services._shared_debate(debate.pk)  # a comment under way holds a SHARE lock
                holding.set()
                go.wait(10)
        finally:
            connection.close()

    def other_comment():
        try:
            with transaction.atomic():
                services._shared_debate(debate.pk)
                outcome["shared"] = True
        finally:
            connection.close()

    first = threading.Thread(target=slow_comment)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=other_comment)
    second.start()
    second.join(5)
    assert outcome.get("shared") is True  # not blocked by the first
    go.set()
    first.join(10)


def test_votes_at_once_on_one_comment_are_all_counted(fiona, alice):
    """Voters at once on one comment, each up, then half of them down and a quarter of them none: the comment's
    counts, stored with each vote in one statement from the other voters' rows plus the new vote, match its
    votes (the comment's lock orders them)."""
    from debates.models import Vote
    from tests.helpers import make_user

    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Votez tous en même temps.")
    voters = [make_user(f"voter{i}") for i in range(8)]
    start, errors = threading.Barrier(len(voters)), []

    def votes(i, user):
        try:
            start.wait(10)
            for value in [1, -1 if i % 2 else 1, 0 if i % 4 == 3 else (-1 if i % 2 else 1)]:
                services.vote(comment=comment, user=user, value=value)
        except Exception as exc:  # reported by the assertion below rather than lost in the thread
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=votes, args=(i, user)) for i, user in enumerate(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    comment.refresh_from_db()
    up, down = Vote.objects.filter(comment=comment, value=1).count(), Vote.objects.filter(comment=comment,
                                                                                         value=-1).count()
    assert (up, down) == (4, 2)
    assert (comment.upvotes, comment.downvotes, comment.score) == (up, down, up - down)


def _one_person_votes_twice_at_once(comment, user, first, second):
    """`user` votes `first` and, while that vote still holds the comment's lock, `second` from another tab: the
    second waits for the lock, then is taken as a change of the vote the first left. Returns the second's outcome."""
    _first, outcome = while_held(lambda: services.vote(comment=comment, user=user, value=first),
                                 lambda: services.vote(comment=comment, user=user, value=second))
    return outcome


@pytest.mark.parametrize(("before", "first", "second"), [
    (0, 1, -1),   # up, then down: the second is a change, not a second vote (was IntegrityError one_vote_per_user)
    (1, 0, -1),   # none, then down: a vote row for the counted downvote (was downvotes 1 with no vote)
    (1, 0, 1),    # none, then up again: up (was "nothing changes": no vote left)
])
def test_a_vote_sent_twice_at_once_counts_the_last_one(fiona, alice, bob, before, first, second):
    from debates.models import Vote

    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Votez deux fois, depuis deux onglets.")
    if before:
        services.vote(comment=comment, user=bob, value=before)
    outcome = _one_person_votes_twice_at_once(comment, bob, first, second)
    assert not isinstance(outcome, Exception), repr(outcome)
    assert list(Vote.objects.filter(comment=comment).values_list("user_id", "value")) == [(bob.pk, second)]
    comment.refresh_from_db()
    assert (comment.upvotes, comment.downvotes, comment.score) == (int(second == 1), int(second == -1), second)


def _hide(comment, actor):
    services.hide_comment(comment=comment, actor=actor, reason="Hors sujet")


def _delete(comment, actor):
    services.delete_comment(comment=comment, actor=comment.author)


def _remove(comment, actor):
    services.remove_comment(comment=comment, actor=actor)


@pytest.mark.parametrize("take_down", [_hide, _delete, _remove])
def test_a_reply_sent_while_its_parent_is_taken_down_is_refused(fiona, alice, bob, admin_user, take_down):
    """Bob replies to alice's comment while it is being hidden (or deleted by alice, or removed by an administrator):
    his reply waits for that change, then is refused as a reply to a comment no longer there; alice is not told of
    it."""
    from debates import writes
    from live.socket_writes import Actor

    debate = make_debate(fiona)
    parent = services.post_comment(author=alice, debate=debate, body="Un avis qui va disparaître.")

    def reply():
        with translation.override("en"):
            writes.post_comment(Actor(user=bob), {"debate": debate.pk, "parent": str(parent.pk),
                                                  "body": "Je réponds juste à temps ?"})

    # The reply waits for the parent's change to commit.
    _taken, outcome = while_held(lambda: take_down(parent, admin_user), reply)
    assert isinstance(outcome, ValidationError), repr(outcome)
    assert " ".join(outcome.messages) == "This comment is no longer available: you cannot reply to it."
    assert not Comment.objects.filter(author=bob).exists()
    assert not alice.notifications.filter(kind="debate.reply").exists()


def test_a_comment_under_way_while_its_author_is_blocked_with_all_their_content_is_refused(fiona, alice, mona):
    """A moderator blocks alice, hiding all she wrote, while her comment is being posted (her request read her
    account before the block): the comment waits for the block, then is refused; it is never left visible, missed
    by the block's hiding."""
    from live.moderation import services as moderation

    debate = make_debate(fiona)
    _log, outcome = while_held(
        lambda: moderation.block(actor=mona, user=alice, reason="Harcèlement", hide_content=True),
        lambda: services.post_comment(author=alice, debate=debate, body="Encore un message pendant le blocage"),
        must_wait=False)
    assert isinstance(outcome, PermissionDenied), outcome
    assert not Comment.objects.filter(author=alice, hidden_at__isnull=True).exists()


def test_a_comment_under_way_while_its_author_erases_their_account_is_refused(fiona, alice):
    """Alice erases her account while a comment of hers is being posted from another tab: the comment waits for
    the erasure, then is refused; her words are not left in the database under the erased account."""
    from live.accounts.services import erase_account
    from tests.helpers import PASSWORD

    debate = make_debate(fiona)
    stale = type(alice).objects.get(pk=alice.pk)  # the other tab's request read her account before the erasure
    _user, outcome = while_held(
        lambda: erase_account(user=alice, password=PASSWORD),
        lambda: services.post_comment(author=stale, debate=debate, body="Mes derniers mots"),
        must_wait=False)
    assert isinstance(outcome, PermissionDenied), outcome
    assert not Comment.objects.filter(body="Mes derniers mots").exists()
