"""A comment (with its stance), a reply and a vote, each through its view as htmx posts it, cost at most
MAX_QUERIES SQL statements with their push rendered for every variant of the debate (public and moderators, French
and English): the write path cannot drift back (issue 17)."""

import secrets

import pytest
from django.urls import reverse

from debates.models import Comment, Stance
from tests.debates.conftest import make_debate
from tests.live.write_cost import MAX_QUERIES, follow, pushes
from tests.meetings.conftest import signed_in

pytestmark = [pytest.mark.needs_postgres, pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

VARIANTS = {"public:fr", "public:en", "moderators:fr", "moderators:en"}
NOTIFICATION_QUERIES = 6
# A vote or an edit reads the comment locked, its author, its debate under a share lock (and the voter's vote, in a
# second statement of the same round trip, read once the lock is held) in one round trip since #17's `render` work
# (three before): 11 -> 9 for a vote, 10 -> 9 for a stance change; the vote's read a statement of its own in that
# round trip since the pipeline of prepared statements: 10.
LOCKED_COMMENT_QUERIES = 10


@pytest.fixture
def debate(fiona):
    debate = make_debate(fiona)
    follow((debate.stream_key, "public"), (debate.stream_key, "moderators"))
    return debate


def post(client, url, data):
    """As the page's form does it with htmx (a comment form carries its idempotency key)."""
    if url.endswith("/comments/"):
        data = {"client_id": secrets.token_urlsafe(12), **data}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 204), response.content[:300]
    return response


def test_it_posts_a_comment_with_its_stance_within_budget(alice, debate, monkeypatch,
        django_assert_max_num_queries):
    client = signed_in(alice)
    url = reverse("debates:comment_create", args=[debate.pk])
    post(client, url, {"body": "D'abord, une première idée."})  # warm: the first write creates what lasts
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(MAX_QUERIES):
        post(client, url, {"body": "La place doit rester ouverte aux voitures le samedi.",
                           "alignment": str(Stance.AGAINST)})
    comment = Comment.objects.latest("pk")
    assert comment.alignment == Stance.AGAINST
    assert pushed[debate.stream_key] == VARIANTS


def test_it_posts_a_reply_within_budget(alice, debate, monkeypatch,
        django_assert_max_num_queries):
    from debates import services

    parent = services.post_comment(author=alice, debate=debate, body="Qui est pour des bancs ?")
    client = signed_in(alice)
    url = reverse("debates:comment_create", args=[debate.pk])
    post(client, url, {"body": "Un premier mot.", "parent": str(parent.pk)})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(MAX_QUERIES):
        post(client, url, {"body": "Moi, à l'ombre des platanes.", "parent": str(parent.pk)})
    assert Comment.objects.filter(parent=parent).latest("pk").body == "Moi, à l'ombre des platanes."
    assert pushed[debate.stream_key] == VARIANTS
    parent.refresh_from_db()
    assert (parent.reply_count, parent.thread_size) == (2, 2)


def test_a_reply_that_notifies_costs_the_notification_on_top(alice, bob, debate, monkeypatch,
                                                              django_assert_max_num_queries):
    """Bob is told that alice replied: live.notifications.notify() writes his notification and its event on his
    own stream (NOTIFICATION_QUERIES statements, his preferences read and a savepoint included)."""
    from debates import services

    parent = services.post_comment(author=bob, debate=debate, body="Qui est pour des bancs ?")
    client = signed_in(alice)
    url = reverse("debates:comment_create", args=[debate.pk])
    post(client, url, {"body": "Un premier mot.", "parent": str(parent.pk)})
    with pushes(monkeypatch), django_assert_max_num_queries(MAX_QUERIES + NOTIFICATION_QUERIES):
        post(client, url, {"body": "Moi, à l'ombre des platanes.", "parent": str(parent.pk)})
    assert bob.notifications.filter(kind="debate.reply").count() == 2


def test_it_counts_a_vote_within_budget(alice, bob, debate, monkeypatch,
        django_assert_max_num_queries):
    from debates import services

    comments = [services.post_comment(author=bob, debate=debate, body=f"Idée numéro {i}") for i in range(2)]
    client = signed_in(alice)
    post(client, reverse("debates:vote", args=[debate.pk, comments[0].pk]), {"value": "up"})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(LOCKED_COMMENT_QUERIES):
        response = post(client, reverse("debates:vote", args=[debate.pk, comments[1].pk]), {"value": "down"})
    comments[1].refresh_from_db()
    assert (comments[1].upvotes, comments[1].downvotes, comments[1].score) == (0, 1, -1)
    assert 'aria-pressed="true" data-vote="down"' in response.content.decode()
    assert pushed[debate.stream_key] == {"*:fr", "*:en"}  # the score: the same for every audience


def test_it_changes_a_comments_stance_within_budget(alice, debate, monkeypatch, django_assert_max_num_queries):
    """Alice edits her root comment to take the other side: the comment and the tallies change on every page."""
    from debates import services

    mine = services.post_comment(author=alice, debate=debate, body="Je suis pour, à condition d'avoir des bancs.",
                                 alignment=Stance.FOR)
    client = signed_in(alice)
    url = reverse("debates:comment_edit", args=[debate.pk, mine.pk])
    post(client, url, {"body": mine.body, "alignment": str(Stance.NEUTRAL)})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(LOCKED_COMMENT_QUERIES):
        post(client, url, {"body": mine.body, "alignment": str(Stance.AGAINST)})
    mine.refresh_from_db()
    assert mine.alignment == Stance.AGAINST
    assert pushed[debate.stream_key] == VARIANTS


# --- the same writes over the page's socket (live.socket_writes.perform, as the consumer calls it after its
# session check): the service, its event and its pushes for every variant, without the request's own reads. -----

# BEGIN, the debate under a share lock (and a retry's comment), the comment, its event, COMMIT, then the tallies
# the push shows (the list's count is not read: no socket follows the list here).
SOCKET_COMMENT_QUERIES = 6
# BEGIN, the comment locked with its author and debate, then the voter's vote (two statements in one round trip:
# live/database.py lock_then_read), the change (a vote's row and counts in one), the event, COMMIT; an edit's push
# reads the tallies too.
SOCKET_VOTE_QUERIES = 6
SOCKET_EDIT_QUERIES = 7


def over_socket(user, name, data):
    from live import socket_writes

    frame, outcome = socket_writes.perform(name, socket_writes.Actor(user=user, lang="fr"), data)
    assert outcome == "written", frame
    return frame["result"]


def test_it_posts_a_comment_over_the_socket_within_budget(alice, debate, monkeypatch,
                                                          django_assert_max_num_queries):
    over_socket(alice, "debates.comment", {"debate": debate.pk, "body": "D'abord, une première idée.",
                                          "client_id": secrets.token_urlsafe(12)})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(SOCKET_COMMENT_QUERIES):
        result = over_socket(alice, "debates.comment", {
            "debate": debate.pk, "body": "La place doit rester ouverte.", "alignment": str(Stance.AGAINST),
            "client_id": secrets.token_urlsafe(12)})
    assert Comment.objects.get(pk=result["id"]).alignment == Stance.AGAINST
    assert pushed[debate.stream_key] == VARIANTS


def test_it_counts_a_vote_over_the_socket_within_budget(alice, bob, debate, monkeypatch,
                                                         django_assert_max_num_queries):
    from debates import services

    comments = [services.post_comment(author=bob, debate=debate, body=f"Idée numéro {i}") for i in range(2)]
    over_socket(alice, "debates.vote", {"comment": comments[0].pk, "value": "up"})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(SOCKET_VOTE_QUERIES):
        result = over_socket(alice, "debates.vote", {"comment": comments[1].pk, "value": "down"})
    assert (result["my_vote"], result["score"]) == (-1, -1)
    assert pushed[debate.stream_key] == {"*:fr", "*:en"}


def test_it_changes_a_stance_over_the_socket_within_budget(alice, debate, monkeypatch,
                                                           django_assert_max_num_queries):
    from debates import services

    mine = services.post_comment(author=alice, debate=debate, body="Je suis pour, à condition d'avoir des bancs.",
                                 alignment=Stance.FOR)
    over_socket(alice, "debates.edit", {"comment": mine.pk, "body": mine.body, "alignment": str(Stance.NEUTRAL)})
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(SOCKET_EDIT_QUERIES):
        over_socket(alice, "debates.edit", {"comment": mine.pk, "body": mine.body,
                                            "alignment": str(Stance.AGAINST)})
    mine.refresh_from_db()
    assert mine.alignment == Stance.AGAINST
    assert pushed[debate.stream_key] == VARIANTS
