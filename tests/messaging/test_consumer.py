"""Over the real socket: the conversation stream and the personal stream carry what a participant must see."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from live import streams
from live.messaging import services
from tests.helpers import connect, events, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


async def follow(ws, *keys):
    positions = {}
    for key in keys:
        cursor = await sync_to_async(streams.cursor)(key)
        positions[key] = {"epoch": cursor.epoch, "seq": cursor.seq}
    await ws.send_json_to({"type": "resume", "streams": positions})
    for _ in keys:
        await receive_until(ws, lambda f: f["type"] == "subscribed")


async def start(alice, names, body="Bonjour"):
    return await sync_to_async(services.start_conversation)(author=alice, recipients=names, body=body,
                                                            client_id=uuid.uuid4())


async def test_a_message_reaches_the_conversation_and_the_recipients_badge(alice, bob):
    first = await start(alice, ["bob"])
    key = first.conversation.stream_key
    ws = await connect(bob)
    await follow(ws, key, bob.stream_key)
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation,
                                               body="Tu as vu **ça** ?", client_id=uuid.uuid4())
    frames = await events(ws, key, 1)
    assert "<strong>ça</strong>" in frames[0]["html"]
    assert 'hx-swap-oob="beforeend:#message-list"' in frames[0]["html"]
    assert "live-announcer" in frames[0]["html"]
    badge = None
    while badge is None:
        [frame] = await events(ws, bob.stream_key, 1)
        if "messages-badge" in frame.get("html", ""):
            badge = frame
    assert 'id="messages-badge"' in badge["html"] and "<span aria-hidden=\"true\">2</span>" in badge["html"]
    assert f"inbox-conversation-{first.conversation_id}" in badge["html"]
    await ws.disconnect()


async def test_the_author_gets_their_own_message_without_an_announcement(alice, bob):
    first = await start(alice, ["bob"])
    ws = await connect(alice)
    await follow(ws, first.conversation.stream_key)
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation, body="Moi",
                                               client_id=uuid.uuid4())
    [frame] = await events(ws, first.conversation.stream_key, 1)
    assert "Moi" in frame["html"] and "live-announcer" not in frame["html"]
    await ws.disconnect()


async def test_seen_by_goes_live(alice, bob):
    first = await start(alice, ["bob"])
    ws = await connect(alice)
    await follow(ws, first.conversation.stream_key)
    await sync_to_async(services.mark_read)(user=bob, conversation=first.conversation)
    [frame] = await events(ws, first.conversation.stream_key, 1)
    assert 'id="conversation-seen"' in frame["html"] and "bob" in frame["html"]
    await ws.disconnect()


async def test_typing_reaches_the_others_and_is_not_logged(alice, bob):
    first = await start(alice, ["bob"])
    key = first.conversation.stream_key
    ws_alice, ws_bob = await connect(alice), await connect(bob)
    await follow(ws_alice, key)
    await follow(ws_bob, key)
    await ws_alice.send_json_to({"type": "typing", "stream": key})
    frame, _ = await receive_until(ws_bob, lambda f: f["type"] == "ephemeral")
    assert f'id="typing-{alice.pk}"' in frame["html"] and "alice" in frame["html"]
    assert 'lang="fr"' in frame["html"] and 'lang="en"' in frame["html"]
    cursor = await sync_to_async(streams.cursor)(key)
    assert cursor.seq == 1  # only the first message was logged
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def frames_until_quiet(ws) -> list[dict]:
    out = []
    while not await ws.receive_nothing(timeout=1):
        out.append(await ws.receive_json_from())
    return out


async def test_a_blocker_is_not_told_that_the_blocked_person_is_writing_in_a_group(alice, bob, carol):
    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    await sync_to_async(services.block_user)(blocker=bob, blocked=alice)
    ws_alice, ws_bob, ws_carol = await connect(alice), await connect(bob), await connect(carol)
    for ws in (ws_alice, ws_bob, ws_carol):
        await follow(ws, key)
    await ws_alice.send_json_to({"type": "typing", "stream": key})
    frame, _ = await receive_until(ws_carol, lambda f: f["type"] == "ephemeral")
    assert f'id="typing-{alice.pk}"' in frame["html"]
    assert not [f for f in await frames_until_quiet(ws_bob) if f.get("html")]
    for ws in (ws_alice, ws_bob, ws_carol):
        await ws.disconnect()


async def test_a_blocker_is_not_told_that_the_blocked_person_is_writing_in_their_one_to_one(alice, bob):
    first = await start(alice, ["bob"])
    key = first.conversation.stream_key
    await sync_to_async(services.block_user)(blocker=bob, blocked=alice)
    ws_alice, ws_bob = await connect(alice), await connect(bob)
    await follow(ws_alice, key)
    await follow(ws_bob, key)
    await ws_alice.send_json_to({"type": "typing", "stream": key})
    assert not [f for f in await frames_until_quiet(ws_bob) if f.get("html")]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_a_blocker_gets_nothing_of_the_blocked_authors_new_group_message(alice, bob, carol):
    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    await sync_to_async(services.block_user)(blocker=bob, blocked=alice)
    ws_bob, ws_carol = await connect(bob), await connect(carol)
    await follow(ws_bob, key)
    await follow(ws_carol, key)
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation, body="Caché pour Bob",
                                               client_id=uuid.uuid4())
    [for_carol] = await events(ws_carol, key, 1)
    [for_bob] = await events(ws_bob, key, 1)
    assert "Caché pour Bob" in for_carol["html"]
    assert "html" not in for_bob and for_bob["seq"] == for_carol["seq"]  # the seq advances, nothing shows
    await ws_bob.disconnect()
    await ws_carol.disconnect()


async def test_leaving_drops_the_leavers_subscription_and_tells_the_others(alice, bob, carol):
    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    ws_bob, ws_carol = await connect(bob), await connect(carol)
    await follow(ws_bob, key, bob.stream_key)
    await follow(ws_carol, key)
    await sync_to_async(services.leave_conversation)(user=bob, conversation=first.conversation)
    [line] = await events(ws_carol, key, 1)
    assert "bob" in line["html"] and 'id="conversation-participants"' in line["html"]
    frame, _ = await receive_until(ws_bob, lambda f: f["type"] == "error" and f.get("stream") == key, timeout=3)
    assert frame["code"] == "forbidden"
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation, body="Sans Bob",
                                               client_id=uuid.uuid4())
    [after] = await events(ws_carol, key, 1)
    assert "Sans Bob" in after["html"]
    later = []
    while not await ws_bob.receive_nothing(timeout=1):
        later.append(await ws_bob.receive_json_from())
    assert not [f for f in later if f.get("stream") == key or "Sans Bob" in f.get("html", "")]
    await ws_bob.disconnect()
    await ws_carol.disconnect()


async def test_what_is_written_after_someone_left_is_not_shown_on_their_socket_before_it_drops_the_stream(
        alice, bob, carol, settings, monkeypatch):
    """The leaver's socket used to drop the conversation only when the control event on their own stream arrived;
    the layer may lose that event (Redis over capacity, restarting), and then the sweep brought it a sweep or two
    later, while what the others wrote meanwhile reached the leaver's page (rendered for every participant). The
    "left" line on the conversation's own stream re-checks its sockets, before any later event of the stream."""
    settings.LIVE_SWEEP_SECONDS = 0.5
    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    ws_bob = await connect(bob)
    await follow(ws_bob, key)
    publish = streams.publish

    def controls_lost_in_transit(event):
        if "_control" not in event.data:
            publish(event)

    monkeypatch.setattr(streams, "publish", controls_lost_in_transit)
    await sync_to_async(services.leave_conversation)(user=bob, conversation=first.conversation)
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation, body="Sans Bob",
                                               client_id=uuid.uuid4())
    frames = []
    while not await ws_bob.receive_nothing(timeout=2):
        frames.append(await ws_bob.receive_json_from())
    assert not [f for f in frames if "Sans Bob" in f.get("html", "")], frames
    assert any(f["type"] == "error" and f.get("stream") == key and f["code"] == "forbidden" for f in frames)
    await ws_bob.disconnect()


async def test_a_refused_resume_stops_the_subscription_the_socket_already_had(alice, bob, carol):
    """Each resume re-authorizes: when the answer is now `forbidden`/`not_found` (a participation ended where no
    control event told the socket, e.g. in the shell or the admin), the page forgets the stream, and the server must
    stop sending it too. It used to answer the error and keep the earlier subscription live, pushing the
    conversation's next messages to someone who may no longer read them."""
    from django.utils import timezone

    from live.messaging.models import Participant

    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    ws_bob = await connect(bob)
    await follow(ws_bob, key)
    await sync_to_async(Participant.objects.filter(conversation=first.conversation, user=bob).update)(
        left_at=timezone.now())
    cursor = await sync_to_async(streams.cursor)(key)
    await ws_bob.send_json_to({"type": "resume", "streams": {key: {"epoch": cursor.epoch, "seq": cursor.seq}}})
    frame, _ = await receive_until(ws_bob, lambda f: f["type"] == "error" and f.get("stream") == key)
    assert frame["code"] == "not_found"
    await sync_to_async(services.send_message)(author=alice, conversation=first.conversation, body="Plus pour Bob",
                                               client_id=uuid.uuid4())
    later = []
    while not await ws_bob.receive_nothing(timeout=1):
        later.append(await ws_bob.receive_json_from())
    assert not [f for f in later if f.get("stream") == key], later
    await ws_bob.disconnect()


async def test_a_re_check_the_database_cannot_answer_closes_the_socket_instead_of_keeping_the_stream(
        alice, bob, carol, monkeypatch):
    """A control event makes the sockets re-check what they follow (someone left, a role granted). When the database
    cannot answer that check (a restart, the pool's timeout), the socket must not go on as if it had passed: it used
    to log the failure and keep every subscription, so the leaver went on receiving the conversation. It closes
    with 4503 instead (`unavailable`): the page comes back with backoff and is authorized afresh."""
    from django.db import OperationalError

    first = await start(alice, ["bob", "carol"])
    key = first.conversation.stream_key
    ws_bob = await connect(bob)
    await follow(ws_bob, key)

    def down(viewer, key):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(streams, "authorize", down)
    await sync_to_async(services.leave_conversation)(user=bob, conversation=first.conversation)
    frame, _ = await receive_until(ws_bob, lambda f: f["type"] == "error", timeout=3)
    assert frame["code"] == "unavailable"
    assert (await ws_bob.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4503}
