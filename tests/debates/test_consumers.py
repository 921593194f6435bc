"""The debate stream through the real /ws/ endpoint, with two (or three) sockets at once."""

import pytest
from asgiref.sync import sync_to_async

from debates import presence, services
from debates.models import Stance
from live import ratelimit, streams
from tests.debates.conftest import make_debate
from tests.helpers import connect, events, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


async def follow(user, debate, lang="en"):
    cursor = await sync_to_async(streams.cursor)(debate.stream_key)
    ws = await connect(user, lang=lang)
    assert ws.connected_ok
    await ws.send_json_to({"type": "resume", "streams": {debate.stream_key: {"epoch": cursor.epoch,
                                                                              "seq": cursor.seq}}})
    await receive_until(ws, lambda f: f["type"] == "subscribed")
    return ws, cursor


async def test_a_root_comment_reaches_every_reader_including_its_author(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_alice, cursor = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Pour la place piétonne",
                                                         alignment=Stance.FOR)
    for ws in (ws_alice, ws_bob):
        [frame] = await events(ws, debate.stream_key, 1)
        assert frame["seq"] == cursor.seq + 1
        assert 'hx-swap-oob="beforeend:#new-comments"' in frame["html"]
        assert f'id="comment-{comment.pk}"' in frame["html"] and "Pour la place piétonne" in frame["html"]
        assert 'id="debate-tallies" class="tallies" aria-label="Stances" hx-swap-oob="true"' in frame["html"]
        assert "New comment by alice" in frame["html"]  # the polite announcement
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_a_reply_lands_under_its_parent_and_a_vote_updates_the_score(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    root = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Racine")
    ws_alice, _ = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    reply = await sync_to_async(services.post_comment)(author=bob, debate=debate, body="Réponse", parent=root)
    [frame] = await events(ws_alice, debate.stream_key, 1)
    assert f'hx-swap-oob="beforeend:#replies-{root.pk}"' in frame["html"]
    assert f'id="comment-{reply.pk}"' in frame["html"]
    await sync_to_async(services.vote)(comment=root, user=bob, value=1)
    [frame] = await events(ws_alice, debate.stream_key, 1)
    assert f'id="comment-{root.pk}-score"' in frame["html"] and ">1</span>" in frame["html"]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_hidden_comment_disappears_live_for_the_public_and_stays_marked_for_moderators(alice, bob, mona, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Propos injurieux")
    ws_bob, _ = await follow(bob, debate)
    ws_mona, _ = await follow(mona, debate)
    await sync_to_async(services.hide_comment)(comment=comment, actor=mona, reason="Insulte")
    [public] = await events(ws_bob, debate.stream_key, 1)
    [moderators] = await events(ws_mona, debate.stream_key, 1)
    assert f'id="comment-{comment.pk}-main"' in public["html"]
    assert "Propos injurieux" not in public["html"] and "hidden by moderation" in public["html"]
    assert "Propos injurieux" in moderators["html"] and "only moderators see this" in moderators["html"]
    await ws_bob.disconnect()
    await ws_mona.disconnect()


async def test_closing_turns_the_form_into_the_closed_notice(alice, bob):
    debate = await sync_to_async(make_debate)(alice)
    ws_bob, _ = await follow(bob, debate)
    await sync_to_async(services.close_debate)(debate=debate, actor=alice, conclusions="Essai au printemps.")
    [frame] = await events(ws_bob, debate.stream_key, 1)
    assert 'id="comment-form-region" class="comment-form-region" hx-swap-oob="true"' in frame["html"]
    assert "This debate is closed" in frame["html"] and 'id="comment-form"' not in frame["html"]
    assert "Essai au printemps." in frame["html"]
    assert 'class="debate-state state-closed"' in frame["html"]
    await ws_bob.disconnect()


async def test_pushes_are_rendered_in_each_readers_language(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_fr, _ = await follow(alice, debate, lang="fr")
    ws_en, _ = await follow(bob, debate, lang="en")
    await sync_to_async(services.post_comment)(author=fiona, debate=debate, body="Bonjour")
    [fr] = await events(ws_fr, debate.stream_key, 1)
    [en] = await events(ws_en, debate.stream_key, 1)
    assert "New comment by fiona" in en["html"] and "New comment by fiona" not in fr["html"]
    await ws_fr.disconnect()
    await ws_en.disconnect()


async def test_a_reader_who_reconnects_gets_each_missed_comment_once_in_order(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_bob, cursor = await follow(bob, debate)
    await ws_bob.disconnect()
    posted = []
    for i in range(3):
        posted.append(await sync_to_async(services.post_comment)(author=alice, debate=debate, body=f"n°{i}"))
    ws_bob = await connect(bob)
    await ws_bob.send_json_to({"type": "resume", "streams": {debate.stream_key: {"epoch": cursor.epoch,
                                                                                  "seq": cursor.seq}}})
    frames = await events(ws_bob, debate.stream_key, 3)
    assert [f["seq"] for f in frames] == [cursor.seq + 1, cursor.seq + 2, cursor.seq + 3]
    for comment, frame in zip(posted, frames, strict=True):
        assert f'id="comment-{comment.pk}"' in frame["html"]
    await ws_bob.disconnect()


async def test_typing_shows_who_is_writing_to_the_others(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    root = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Racine")
    ws_alice, _ = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "comment": root.pk})
    frame, _ = await receive_until(ws_alice, lambda f: f["type"] == "ephemeral")
    assert f'id="typing-{root.pk}"' in frame["html"] and "bob is writing…" in frame["html"]
    assert f'data-author="{bob.pk}"' in frame["html"]  # bob's own page hides it (per-user CSS rule)
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_a_presence_heartbeat_does_not_use_up_the_typing_frame_that_follows(alice, bob, fiona):
    """The page's first heartbeat goes right after its resume; "is writing…" a moment later still shows."""
    debate = await sync_to_async(make_debate)(fiona)
    root = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Racine")
    ws_alice, _ = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "presence": "tabbobbbbbbb"})
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "comment": root.pk})
    frame, _ = await receive_until(ws_alice, lambda f: f["type"] == "ephemeral" and "typing-" in f["html"])
    assert "bob is writing…" in frame["html"]
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "comment": root.pk})  # within 2 s
    await ws_bob.send_json_to({"type": "ping"})
    await receive_until(ws_bob, lambda f: f["type"] == "pong")
    assert await ws_alice.receive_nothing(timeout=0.3)  # the same purpose again: dropped
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_typing_on_a_closed_debate_or_an_unknown_comment_shows_nothing(alice, bob):
    debate = await sync_to_async(make_debate)(alice)
    ws_alice, _ = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "comment": 999999})
    await ws_bob.send_json_to({"type": "ping"})
    await receive_until(ws_bob, lambda f: f["type"] == "pong")
    assert await ws_alice.receive_nothing(timeout=0.3)
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_presence_counts_readers_across_sockets(alice, bob, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_alice, _ = await follow(alice, debate)
    ws_bob, _ = await follow(bob, debate)
    await ws_alice.send_json_to({"type": "typing", "stream": debate.stream_key, "presence": "tabaliceaaaa"})
    frame, _ = await receive_until(ws_bob, lambda f: f["type"] == "ephemeral")
    assert 'data-count="1"' in frame["html"] and "1 person is reading" in frame["html"]
    await ws_bob.send_json_to({"type": "typing", "stream": debate.stream_key, "presence": "tabbobbbbbbb"})
    frame, _ = await receive_until(ws_alice, lambda f: f["type"] == "ephemeral" and 'data-count="2"' in f["html"])
    assert "2 people are reading" in frame["html"] and "2 personnes lisent" in frame["html"]
    await ws_bob.disconnect()
    await ws_alice.disconnect()


async def test_anyone_may_follow_a_debate_but_not_one_that_does_not_exist(fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws, _ = await follow(None, debate)
    await ws.send_json_to({"type": "resume", "streams": {"debate.999999": {"epoch": "", "seq": 0}}})
    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "not_found"
    await ws.disconnect()


async def test_a_replay_never_resurrects_a_comment_hidden_since(alice, bob, mona, fiona):
    debate = await sync_to_async(make_debate)(fiona)
    ws_bob, cursor = await follow(bob, debate)
    await ws_bob.disconnect()
    comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Propos injurieux")
    await sync_to_async(services.hide_comment)(comment=comment, actor=mona, reason="Insulte")
    ws_bob = await connect(bob, lang="en")
    await ws_bob.send_json_to({"type": "resume", "streams": {debate.stream_key: {"epoch": cursor.epoch,
                                                                                  "seq": cursor.seq}}})
    posted, hidden = await events(ws_bob, debate.stream_key, 2)
    assert f'id="comment-{comment.pk}"' in posted["html"]
    assert "Propos injurieux" not in posted["html"] + hidden["html"]
    assert "hidden by moderation" in posted["html"]
    await ws_bob.disconnect()


async def test_editing_the_debate_never_replaces_the_comment_form_under_a_draft(alice, bob):
    debate = await sync_to_async(make_debate)(alice)
    ws_bob, _ = await follow(bob, debate)
    await sync_to_async(services.edit_debate)(debate=debate, actor=alice, title="Titre précisé du débat",
                                              description="Une description plus complète.")
    [frame] = await events(ws_bob, debate.stream_key, 1)
    assert "Titre précisé du débat" in frame["html"] and "comment-form-region" not in frame["html"]
    await ws_bob.disconnect()


async def test_an_anonymous_socket_counts_once_whatever_tab_ids_it_sends(fiona, alice):
    debate = await sync_to_async(make_debate)(fiona)
    ws_alice, _ = await follow(alice, debate)
    ws_anon, _ = await follow(None, debate)
    await ws_anon.send_json_to({"type": "typing", "stream": debate.stream_key, "presence": "firsttab0001"})
    frame, _ = await receive_until(ws_alice, lambda f: f["type"] == "ephemeral")
    assert 'data-count="1"' in frame["html"]
    ratelimit._local_stamps.clear()  # skip the 2 s typing throttle
    await ws_anon.send_json_to({"type": "typing", "stream": debate.stream_key, "presence": "othertab0002"})
    await ws_anon.send_json_to({"type": "ping"})
    await receive_until(ws_anon, lambda f: f["type"] == "pong")
    assert await sync_to_async(presence.count)(debate.pk) == 1
    await ws_alice.disconnect()
    await ws_anon.disconnect()
