"""Comments, replies, votes and stance changes written over the page's socket (`write` frames, live.socket_writes):
the same service as the HTTP form, so the same result on every page and the same refusals, in the socket's
language; and within the same statement budget as the HTTP path (issue 17)."""

import contextlib
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db.backends import utils
from django.utils import timezone

from debates import services
from debates.models import Comment, Stance, Vote
from live import streams
from tests.debates.conftest import make_debate
from tests.helpers import connect, events, receive_until
from tests.live.write_cost import MAX_QUERIES

pytestmark = [pytest.mark.django_db(transaction=True)]


async def follow(user, debate, lang="en"):
    cursor = await sync_to_async(streams.cursor)(debate.stream_key)
    ws = await connect(user, lang=lang)
    assert ws.connected_ok
    await ws.send_json_to({"type": "resume", "streams": {debate.stream_key: {"epoch": cursor.epoch,
                                                                              "seq": cursor.seq}}})
    await receive_until(ws, lambda f: f["type"] == "subscribed")
    return ws


async def write(ws, action, data, id="w1", timeout=10):
    """Send a `write` frame; its answer (`written` or `refused`). The event frames that came first (the write's own
    push may overtake its answer) are kept for `events_of`."""
    await ws.send_json_to({"type": "write", "id": id, "action": action, "data": data})
    frame, seen = await receive_until(ws, lambda f: f["type"] in {"written", "refused"} and f.get("id") == id,
                                      timeout=timeout)
    ws.early = getattr(ws, "early", []) + [f for f in seen if f["type"] == "event"]
    return frame


async def events_of(ws, stream, count):
    """The next `count` event frames of `stream`, those that came before a write's answer first."""
    early = [f for f in getattr(ws, "early", []) if f["stream"] == stream][:count]
    ws.early = [f for f in getattr(ws, "early", []) if f not in early]
    return early + (await events(ws, stream, count - len(early)) if count > len(early) else [])


def comment_data(debate, body, **extra):
    return {"debate": str(debate.pk), "body": body, "alignment": "0", "client_id": "clientid0001", **extra}


async def test_alice_comments_over_her_socket_and_bob_sees_it(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_alice, ws_bob = await follow(alice, debate), await follow(bob, debate)
    answer = await write(ws_alice, "debates.comment", comment_data(debate, "Pour, avec des bancs.", alignment="1"))
    assert answer["type"] == "written"
    comment = await sync_to_async(Comment.objects.get)()
    assert answer["result"] == {"id": comment.pk}
    assert (comment.author_id, comment.alignment, comment.body) == (alice.pk, Stance.FOR, "Pour, avec des bancs.")
    for ws in (ws_alice, ws_bob):  # the author's page too: the push shows it, as for an HTTP post
        [frame] = await events_of(ws, debate.stream_key, 1)
        assert f'id="comment-{comment.pk}"' in frame["html"] and "Pour, avec des bancs." in frame["html"]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_a_write_sent_twice_with_its_client_id_makes_one_comment(alice, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(alice, debate)
    first = await write(ws, "debates.comment", comment_data(debate, "Une seule fois"), id="a")
    again = await write(ws, "debates.comment", comment_data(debate, "Une seule fois"), id="b")
    assert first["result"] == again["result"]
    assert await sync_to_async(Comment.objects.count)() == 1
    await ws.disconnect()


async def test_bob_replies_over_his_socket_under_alices_comment(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    root = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Racine")
    ws_alice, ws_bob = await follow(alice, debate), await follow(bob, debate)
    answer = await write(ws_bob, "debates.comment", comment_data(debate, "Réponse", parent=str(root.pk)))
    reply = await sync_to_async(Comment.objects.get)(parent=root)
    assert answer["result"] == {"id": reply.pk} and reply.author_id == bob.pk
    [frame] = await events_of(ws_alice, debate.stream_key, 1)
    assert f'hx-swap-oob="beforeend:#replies-{root.pk}"' in frame["html"]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_bob_votes_over_his_socket_and_alice_sees_the_score(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Votez")
    ws_alice, ws_bob = await follow(alice, debate), await follow(bob, debate)
    answer = await write(ws_bob, "debates.vote", {"comment": str(comment.pk), "value": "up"})
    assert answer["result"] == {"id": comment.pk, "my_vote": 1, "score": 1}
    [frame] = await events_of(ws_alice, debate.stream_key, 1)
    assert f'id="comment-{comment.pk}-score"' in frame["html"] and ">1</span>" in frame["html"]
    answer = await write(ws_bob, "debates.vote", {"comment": str(comment.pk), "value": "none"}, id="w2")
    assert answer["result"] == {"id": comment.pk, "my_vote": 0, "score": 0}
    assert not await sync_to_async(Vote.objects.exists)()
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_alice_changes_her_stance_over_her_socket(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    mine = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Pour", alignment=Stance.FOR)
    ws_alice, ws_bob = await follow(alice, debate), await follow(bob, debate)
    answer = await write(ws_alice, "debates.edit", {"comment": str(mine.pk),
                                                    "body": "Contre, finalement", "alignment": "-1"})
    assert answer["result"] == {"id": mine.pk}
    await sync_to_async(mine.refresh_from_db)()
    assert (mine.alignment, mine.body) == (Stance.AGAINST, "Contre, finalement")
    [frame] = await events_of(ws_bob, debate.stream_key, 1)
    assert "Contre, finalement" in frame["html"] and 'data-tally="against">1<' in frame["html"]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


# --- refusals: the service's own, in the socket's language; nothing written --------------------------------------------

@pytest.mark.parametrize("body, words", [("   ", "cannot be empty"), ("x" * 1001, "at most 1000")])
async def test_an_empty_or_too_long_comment_is_refused_as_invalid(alice, fiona, body, words):
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(alice, debate)
    answer = await write(ws, "debates.comment", comment_data(debate, body))
    assert answer["type"] == "refused" and answer["kind"] == "invalid"
    assert words in answer["message"]
    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()


async def test_a_refusal_is_worded_in_the_sockets_language(alice, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(alice, debate, lang="fr")
    answer = await write(ws, "debates.comment", comment_data(debate, "x" * 1001))
    assert answer["kind"] == "invalid" and "1000 caractères" in answer["message"]
    await ws.disconnect()


async def test_a_comment_on_a_closed_debate_is_forbidden(alice, bob):
    debate = await sync_to_async(make_debate)(alice)
    ws = await follow(bob, debate)
    await sync_to_async(services.close_debate)(debate=debate, actor=alice, conclusions="Essai au printemps.")
    answer = await write(ws, "debates.comment", comment_data(debate, "Trop tard ?"))
    assert answer["kind"] == "forbidden" and "closed" in answer["message"]
    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()


async def test_a_vote_on_a_hidden_comment_is_refused(alice, bob, mona, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Propos injurieux")
    await sync_to_async(services.hide_comment)(comment=comment, actor=mona, reason="Insulte")
    ws = await follow(bob, debate)
    answer = await write(ws, "debates.vote", {"comment": str(comment.pk), "value": "up"})
    assert answer["kind"] == "invalid" and "no longer available" in answer["message"]
    assert not await sync_to_async(Vote.objects.exists)()
    await ws.disconnect()


async def test_a_vote_on_ones_own_comment_or_a_comment_that_does_not_exist(alice, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    mine = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="À moi")
    ws = await follow(alice, debate)
    answer = await write(ws, "debates.vote", {"comment": str(mine.pk), "value": "up"})
    assert answer["kind"] == "forbidden" and "own comment" in answer["message"]
    for n, bad in enumerate(["999999", "", "abc", "-3"]):
        answer = await write(ws, "debates.vote", {"comment": bad, "value": "up"}, id=f"nf{n}")
        assert answer["kind"] == "not_found", bad
    other = await sync_to_async(make_debate)(fiona, title="Un autre débat encore")
    answer = await write(ws, "debates.vote", {"comment": str(mine.pk), "debate": str(other.pk), "value": "up"},
                         id="od")
    assert answer["kind"] == "not_found"  # a comment named with another debate than its own
    answer = await write(ws, "debates.comment", {**comment_data(debate, "Où ?"), "debate": "999999"}, id="nd")
    assert answer["kind"] == "not_found"
    assert not await sync_to_async(Vote.objects.exists)()
    await ws.disconnect()


async def test_bob_cannot_change_alices_stance(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    hers = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Pour", alignment=Stance.FOR)
    ws = await follow(bob, debate)
    answer = await write(ws, "debates.edit", {"comment": str(hers.pk), "body": "Contre",
                                              "alignment": "-1"})
    assert answer["kind"] == "forbidden"
    await sync_to_async(hers.refresh_from_db)()
    assert (hers.alignment, hers.body) == (Stance.FOR, "Pour")
    await ws.disconnect()


async def test_a_reply_to_a_comment_of_another_debate_is_refused(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    other = await sync_to_async(make_debate)(fiona, title="Un autre débat encore")
    elsewhere = await sync_to_async(services.post_comment)(author=alice, debate=other, body="Ailleurs")
    ws = await follow(bob, debate)
    answer = await write(ws, "debates.comment", comment_data(debate, "Ici ?", parent=str(elsewhere.pk)))
    assert answer["kind"] == "invalid"
    assert not await sync_to_async(Comment.objects.filter(author=bob).exists)()
    await ws.disconnect()


async def test_a_guest_socket_cannot_comment(fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(None, debate)
    answer = await write(ws, "debates.comment", comment_data(debate, "Anonyme"))
    assert answer["type"] == "refused" and answer["kind"] == "forbidden"
    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()


async def test_comments_past_the_rate_limit_are_refused_with_when_to_retry(alice, fiona, rate_limits):
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(alice, debate)
    for i in range(3):  # "comment": 3 in 5 s
        answer = await write(ws, "debates.comment", comment_data(debate, f"n°{i}", client_id=f"clientid000{i}"),
                             id=f"c{i}")
        assert answer["type"] == "written"
    answer = await write(ws, "debates.comment", comment_data(debate, "encore", client_id="clientid0009"), id="c9")
    assert answer["kind"] == "rate_limited" and answer["retry_after"] >= 1
    assert await sync_to_async(Comment.objects.count)() == 3
    await ws.disconnect()


async def test_a_write_past_the_sockets_frame_budget_is_refused_with_its_id(alice, fiona, settings):
    """The socket's frame budget refuses the write before it is read: the page still gets an answer for that write
    (its form says when to retry) instead of waiting for one that never comes; nothing is written."""
    settings.LIVE_SOCKET_FRAMES_PER_SECOND, settings.LIVE_SOCKET_FRAMES_BURST = 0.01, 2
    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(alice, debate)  # its resume took one frame of the two
    await ws.send_json_to({"type": "ping"})  # the second
    answer = await write(ws, "debates.comment", comment_data(debate, "Trop vite"), id="over")
    assert answer["type"] == "refused" and answer["kind"] == "rate_limited" and answer["retry_after"] >= 1
    assert answer["message"]
    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()


async def test_a_blocked_persons_socket_writes_nothing(alice, bob, fiona):
    """Blocked behind the services' back (no control event reaches the socket): the write's session check finds
    it, and the socket ends without writing."""
    from django.contrib.auth import get_user_model

    debate = await sync_to_async(make_debate)(fiona)
    ws = await follow(bob, debate)
    await sync_to_async(get_user_model().objects.filter(pk=bob.pk).update)(blocked_at=timezone.now())
    await ws.send_json_to({"type": "write", "id": "b1", "action": "debates.comment",
                           "data": comment_data(debate, "Encore moi")})
    frame, _ = await receive_until(ws, lambda f: f["type"] in {"error", "refused"})
    assert frame.get("code") == "session_ended" or frame.get("kind") == "forbidden"
    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()


# --- the statement budget of each write over the socket, pushes included ---------------------------------------------

class AllThreadsQueries:
    """SQL statements run by every thread (the socket's write runs in a worker thread, the push's renders where the
    commit happens), counted like bench.write_cost does."""

    def __init__(self):
        self.sql: list[str] = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def counting(self, monkeypatch):
        real = utils.CursorWrapper._execute_with_wrappers

        def counted(wrapper, sql, *args, **kwargs):
            with self.lock:
                self.sql.append(sql)
            return real(wrapper, sql, *args, **kwargs)

        monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", counted)
        try:
            yield self
        finally:
            monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", real)


async def measured(monkeypatch, ws, follower, debate, action, data, id):
    """Statements from the write frame to the follower's event frame of it."""
    queries = AllThreadsQueries()
    with queries.counting(monkeypatch):
        answer = await write(ws, action, data, id=id)
        assert answer["type"] == "written", answer
        await events_of(follower, debate.stream_key, 1)
    return queries.sql


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
async def test_each_socket_write_stays_within_the_statement_budget(alice, bob, mona, fiona, monkeypatch):
    from tests.live.write_cost import follow as mark_followed

    debate = await sync_to_async(make_debate)(fiona)
    await sync_to_async(mark_followed)((debate.stream_key, "public"), (debate.stream_key, "moderators"))
    await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Qui est pour des bancs ?")
    theirs = await sync_to_async(services.post_comment)(author=bob, debate=debate, body="Des bancs, oui")
    mine = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Pour", alignment=Stance.FOR)
    ws, follower = await follow(alice, debate), await follow(mona, debate)
    # Warm: the first write of each kind creates what lasts.
    await write(ws, "debates.comment", comment_data(debate, "Un premier mot.", client_id="warmwarm0001"), id="w0")
    await write(ws, "debates.vote", {"comment": str(theirs.pk), "value": "up"}, id="w00")
    await events_of(follower, debate.stream_key, 2)
    writes = {
        "comment": ("debates.comment", comment_data(debate, "La place doit rester ouverte.", alignment="-1",
                                                    client_id="budgetbudget1")),
        "reply": ("debates.comment", comment_data(debate, "À l'ombre des platanes.", parent=str(mine.pk),
                                                  client_id="budgetbudget2")),
        "vote": ("debates.vote", {"comment": str(theirs.pk), "value": "down"}),
        "stance": ("debates.edit", {"comment": str(mine.pk), "body": "Pour",
                                    "alignment": "-1"}),
    }
    for name, (action, data) in writes.items():
        sql = await measured(monkeypatch, ws, follower, debate, action, data, id=name)
        assert len(sql) <= MAX_QUERIES, (name, len(sql), sql)
    await ws.disconnect()
    await follower.disconnect()
