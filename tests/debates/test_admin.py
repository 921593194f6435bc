"""The admin's delete goes through the debate services: the counters follow and open pages lose the comment at once.
adminette is the administrator; alice writes a comment, bob replies to it."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.test import Client

from debates import services
from debates.models import Comment
from live import streams
from tests.debates.conftest import make_debate
from tests.debates.test_consumers import follow
from tests.helpers import events

pytestmark = pytest.mark.django_db(transaction=True)


def admin_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def delete_in_bulk(user, *comments):
    """The changelist's "Delete selected comments" action, confirmed."""
    return admin_client(user).post("/admin/debates/comment/", {
        "action": "delete_selected", "post": "yes", "_selected_action": [c.pk for c in comments]})


def delete_one(user, comment):
    """The comment's own "Delete" page, confirmed."""
    return admin_client(user).post(f"/admin/debates/comment/{comment.pk}/delete/", {"post": "yes"})


@pytest.fixture
def thread(fiona, alice, bob):
    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Pour la place piétonne")
    reply = services.post_comment(author=bob, debate=debate, body="Réponse à supprimer", parent=root)
    return debate, root, reply


@pytest.mark.parametrize("delete", [delete_in_bulk, delete_one])
def test_deleting_a_reply_in_the_admin_updates_its_parent(delete, thread, admin_user):
    debate, root, reply = thread
    assert delete(admin_user, reply).status_code == 302
    assert not Comment.objects.filter(pk=reply.pk).exists()
    root.refresh_from_db()
    assert (root.reply_count, root.thread_size) == (0, 0)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(debate.get_absolute_url()).content.decode()
    assert "Pour la place piétonne" in page and "Réponse à supprimer" not in page
    assert "more repl" not in page  # no "Show 1 more reply" leading nowhere


def test_deleting_a_thread_in_the_admin_takes_its_replies_along(thread, admin_user, alice):
    debate, root, reply = thread
    services.post_comment(author=alice, debate=debate, body="Un autre avis")
    assert delete_in_bulk(admin_user, root, reply).status_code == 302
    assert list(Comment.objects.values_list("body", flat=True)) == ["Un autre avis"]


async def test_an_open_page_loses_the_reply_deleted_in_the_admin(thread, admin_user, alice):
    debate, root, reply = thread
    ws, _cursor = await follow(alice, debate)
    response = await sync_to_async(delete_in_bulk)(admin_user, reply)
    assert response.status_code == 302
    [frame] = await events(ws, debate.stream_key, 1)
    assert f'<article id="comment-{reply.pk}" hx-swap-oob="delete">' in frame["html"]
    assert "1 comment" in frame["html"]  # the tallies count what is left
    await ws.disconnect()


def test_a_folded_reply_deleted_in_the_admin_takes_the_show_more_link_along(fiona, alice, bob, admin_user):
    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Racine")
    replies = [services.post_comment(author=bob, debate=debate, body=f"Réponse {n}", parent=root) for n in range(4)]
    delete_one(admin_user, replies[-1])  # the fourth reply: folded under "Show 1 more reply"
    event = streams.events_after(debate.stream_key, 0)[-1]
    html = "".join(json.loads(frame)["html"] for frame in streams.frames(event).values())
    assert f'<p id="more-replies-{root.pk}" hx-swap-oob="delete">' in html


def test_only_administrators_delete_comments(thread, mona, alice):
    debate, root, reply = thread
    mona.is_staff = alice.is_staff = True
    mona.save()
    alice.save()
    for user in (mona, alice):  # a moderator hides (moderation, logged); an author deletes from the site
        assert delete_one(user, reply).status_code in (302, 403)
        assert Comment.objects.filter(pk=reply.pk).exists()
    with pytest.raises(PermissionDenied):
        services.remove_comment(comment=reply, actor=mona)


def test_debates_are_not_deleted_from_the_admin(thread, admin_user):
    debate, root, reply = thread
    client = admin_client(admin_user)
    assert client.post(f"/admin/debates/debate/{debate.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/debates/debate/", {"action": "delete_selected", "post": "yes", "_selected_action": [debate.pk]})
    assert Comment.objects.filter(debate=debate).count() == 2


def test_a_socket_resuming_from_before_a_removed_thread_gets_none_of_its_replies(fiona, alice, bob, admin_user):
    """Bob's page was offline while the thread he replied in was removed: the replay it gets on reconnecting (from
    the log's shared rendering, or from a hub's recent events) shows neither the root nor the replies below it, though
    other sockets had the replies' earlier renderings replayed before."""
    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Racine à supprimer")
    reply = services.post_comment(author=bob, debate=debate, body="Réponse cachée dessous", parent=root)
    below = services.post_comment(author=alice, debate=debate, body="Réponse encore plus bas", parent=reply)
    epoch = streams.cursor(debate.stream_key).epoch

    def replayed():
        return "".join(json.loads(frame).get("html") or "" for msg in streams.replay_messages(
            debate.stream_key, 0, epoch=epoch) for frame in msg["frames"].values())

    assert "Réponse cachée dessous" in replayed()  # rendered now, and kept for the next sockets
    assert delete_one(admin_user, root).status_code == 302
    html = replayed()
    assert "Racine à supprimer" not in html
    assert "Réponse cachée dessous" not in html and "Réponse encore plus bas" not in html
    removed = streams.events_after(debate.stream_key, 0)[-1]
    assert removed.kind == "comment.removed"
    # What a hub's recent events forget (live/hub.py `_remember`): every frame of those three comments.
    assert {f"comment={pk}" for pk in (root.pk, reply.pk, below.pk)} <= set(streams.refs(removed.data))
    assert f'<article id="comment-{root.pk}" hx-swap-oob="delete">' in html


def test_an_older_removal_event_naming_one_id_still_renders(thread):
    debate, root, reply = thread
    event = streams.append(debate.stream_key, "comment.removed", comment=reply.pk, parent=root.pk, rank=1)
    html = "".join(json.loads(frame)["html"] for frame in streams.frames(event).values())
    assert f'<article id="comment-{reply.pk}" hx-swap-oob="delete">' in html
