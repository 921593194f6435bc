"""The /ws/ endpoint: origin check, authorization per stream, resume and replay, bad input."""

import asyncio
import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from live import streams
from live.notifications.services import notify
from tests.helpers import connect, events, follow, position, receive, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


async def notify_n(user, n, prefix="note"):
    def work():
        for i in range(n):
            notify(user=user, kind="test", text=f"{prefix} {i + 1}")

    await sync_to_async(work)()


async def drain(ws, quiet=0.5):
    """Frames until the socket stays quiet (receive_nothing does not cancel the app, unlike a receive timeout)."""
    frames = []
    while not await ws.receive_nothing(timeout=quiet):
        output = await ws.receive_output()
        frames.append(json.loads(output["text"]) if output["type"] == "websocket.send" else output)
    return frames


# --- origin -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", [None, b"http://evil.example", b"null", b"http://127.0.0.1.evil.example",
                                    b"http://localhost.evil.example:8000"])
async def test_it_refuses_a_handshake_without_our_origin(alice, origin):
    ws = await connect(alice, origin=origin)
    assert not ws.connected_ok


async def test_it_accepts_our_own_origin(alice):
    ws = await connect(alice)
    assert ws.connected_ok
    await ws.disconnect()


# --- authorization ------------------------------------------------------------------------------------------------

async def test_anonymous_visitors_cannot_follow_a_personal_stream(alice):
    ws = await connect(None)
    assert ws.connected_ok
    frame = await follow(ws, alice.stream_key, {"epoch": "", "seq": 0})
    assert frame["type"] == "error" and frame["code"] == "not_signed_in"
    await sync_to_async(notify)(user=alice, kind="test", text="secret")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_bob_cannot_follow_alices_personal_stream(alice, bob):
    ws = await connect(bob)
    frame = await follow(ws, alice.stream_key, {"epoch": "", "seq": 0})
    assert frame == {"type": "error", "code": "not_found", "stream": alice.stream_key, "detail": "No such stream."}
    await sync_to_async(notify)(user=alice, kind="test", text="secret")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_unknown_streams_are_not_found(alice):
    ws = await connect(alice)
    for key in ["nope.1", "user", "user.1.2.3.4.5", "../etc", "x" * 500]:
        frame = await follow(ws, key, {"epoch": "", "seq": 0})
        assert frame["type"] == "error" and frame["code"] == "not_found"
    await ws.disconnect()


# --- resume and replay ---------------------------------------------------------------------------------------------

async def test_fifty_missed_events_arrive_exactly_once_in_order_then_live(alice):
    start = await sync_to_async(position)(alice.stream_key)
    await notify_n(alice, 50)
    ws = await connect(alice)
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: start}})
    replayed = await events(ws, alice.stream_key, 50)
    assert [f["seq"] for f in replayed] == list(range(start["seq"] + 1, start["seq"] + 51))
    assert "note 1" in replayed[0]["html"] and "note 50" in replayed[-1]["html"]
    await receive_until(ws, lambda f: f["type"] == "subscribed")
    await sync_to_async(notify)(user=alice, kind="test", text="live one")
    [live] = await events(ws, alice.stream_key, 1)
    assert live["seq"] == start["seq"] + 51 and "live one" in live["html"]
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_events_committed_during_the_replay_are_delivered_once(alice):
    start = await sync_to_async(position)(alice.stream_key)
    await notify_n(alice, 30, prefix="before")
    ws = await connect(alice)
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: start}})
    # Writers keep going while the socket replays.
    await asyncio.gather(notify_n(alice, 20, prefix="during"), asyncio.sleep(0))
    got = await events(ws, alice.stream_key, 50, timeout=15)
    assert [f["seq"] for f in got] == list(range(start["seq"] + 1, start["seq"] + 51))
    assert [f for f in await drain(ws) if f["type"] == "event"] == []
    await ws.disconnect()


async def test_a_second_socket_of_the_same_user_receives_the_same_bytes(alice):
    first, second = await connect(alice), await connect(alice)
    await follow(first, alice.stream_key)
    await follow(second, alice.stream_key)
    await sync_to_async(notify)(user=alice, kind="test", text="both tabs")
    [a] = await events(first, alice.stream_key, 1)
    [b] = await events(second, alice.stream_key, 1)
    assert a == b
    await first.disconnect()
    await second.disconnect()


async def test_a_resume_behind_the_live_position_replays_what_the_page_lacks(alice):
    """A page whose regions were reloaded (after a `reset`) carries the cursor of the page it fetched, which may be
    behind what the socket already sent it live (those frames went into the regions replaced since), and a page that
    saw a hole resumes from the last seq it applied: either way the server must send what follows that position,
    then `subscribed`. It used to answer nothing when the socket was live and further along, so the page waited for
    ever, and each later event was a new hole, resumed and ignored again: the stream stopped updating."""
    ws = await connect(alice)
    start = (await follow(ws, alice.stream_key))["seq"]
    await notify_n(alice, 3)
    assert [f["seq"] for f in await events(ws, alice.stream_key, 3)] == [start + 1, start + 2, start + 3]
    pos = await sync_to_async(position)(alice.stream_key)
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: {"epoch": pos["epoch"],
                                                                            "seq": start + 1}}})
    frame, before = await receive_until(ws, lambda f: f["type"] == "subscribed")
    assert frame["seq"] == start + 3
    assert [f["seq"] for f in before if f["type"] == "event"] == [start + 2, start + 3]
    await sync_to_async(notify)(user=alice, kind="test", text="after the resume")
    [live] = await events(ws, alice.stream_key, 1)
    assert live["seq"] == start + 4
    await ws.disconnect()


async def test_a_slow_replay_holds_a_bounded_number_of_live_events_and_still_delivers_each_once(alice, monkeypatch):
    """A replay follows its reader's pace (live/wire.py drain: a reader that keeps taking a little is never cut),
    and the live events of the stream arriving meanwhile wait in the subscription's buffer. That buffer had no bound:
    a slow phone replaying a busy meeting held every event of the room for as long as its replay lasted, in this
    process, beside the backlog limit that bounds a live socket. Past a bound the buffer keeps only the latest, and
    the catch-up reads the rest from the log: the same events, each once, in order."""
    from live import consumers, metrics

    monkeypatch.setattr(consumers, "MAX_BUFFERED", 5, raising=False)

    async def slow_reader(self):
        await asyncio.sleep(0.2)

    monkeypatch.setattr(consumers.LiveConsumer, "pace", slow_reader)
    start = await sync_to_async(position)(alice.stream_key)
    await notify_n(alice, 5, prefix="before")
    ws = await connect(alice)
    [consumer] = [c for c in metrics.sockets if getattr(c, "user", None) == alice]
    buffered = [0]

    async def watch():
        while True:
            sub = consumer.subs.get(alice.stream_key)
            if sub is not None:
                buffered[0] = max(buffered[0], len(sub.buffer))
            await asyncio.sleep(0.005)

    watcher = asyncio.ensure_future(watch())
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: start}})
    await notify_n(alice, 30, prefix="during")
    got = await events(ws, alice.stream_key, 35, timeout=30)
    watcher.cancel()
    assert [f["seq"] for f in got] == list(range(start["seq"] + 1, start["seq"] + 36))
    assert [f for f in await drain(ws) if f["type"] == "event"] == []
    assert 0 < buffered[0] <= 5
    await ws.disconnect()


async def test_a_socket_that_joins_a_stream_while_the_process_starts_following_it_misses_nothing(alice, monkeypatch):
    """The first socket of a process on a stream makes the hub join the stream's group, then read the log's head:
    what commits before that read counts as delivered, the first socket replaying it from the log. A second socket
    arriving meanwhile (a reconnect storm: every page of a restarted process at once) used to go straight to its
    replay and be told `subscribed`; an event committed between its replay and the hub's read of the head then
    reached neither (the hub dropped it as already delivered): the page lacked it until the stream's next event."""
    import threading

    await notify_n(alice, 2, prefix="earlier")
    real_heads, calls, gate = streams.heads, [], threading.Event()

    def slow_first_heads(keys):
        calls.append(list(keys))
        if len(calls) == 1:  # the hub's read of the head, for the first socket
            gate.wait(5)
        return real_heads(keys)

    monkeypatch.setattr(streams, "heads", slow_first_heads)
    first = await connect(alice)  # accepted; its connect() now waits for the head of alice's stream
    while not calls:
        await asyncio.sleep(0.01)
    second = await connect(alice)
    pos = await sync_to_async(position)(alice.stream_key)
    await second.send_json_to({"type": "resume", "streams": {alice.stream_key: pos}})
    await asyncio.sleep(0.3)
    await sync_to_async(notify)(user=alice, kind="test", text="between the two")
    gate.set()  # the hub reads the head now, this event included
    [frame] = await events(second, alice.stream_key, 1, timeout=5)
    assert frame["seq"] == pos["seq"] + 1 and "between the two" in frame["html"]
    await first.disconnect()
    await second.disconnect()


async def test_an_event_arriving_while_the_process_starts_following_a_long_stream_resets_nobody(
        alice, settings, monkeypatch):
    """Until the hub has read the head of a stream its first socket just joined, it has no position there. An event
    of the stream arriving meanwhile looked like a hole after seq 0: read from the log from the start, which for a
    stream longer than LIVE_REPLAY_LIMIT (or pruned) was a Reset, sent to every socket of the stream (their pages
    reload the stream's regions; a page that shows none of them, as for one's own stream followed only for its
    control events, reloads whole). The hole is looked at once the head is known."""
    import threading

    settings.LIVE_REPLAY_LIMIT = 3
    await notify_n(alice, 5, prefix="earlier")
    real_heads, calls, gate = streams.heads, [], threading.Event()

    def slow_first_heads(keys):
        calls.append(list(keys))
        if len(calls) == 1:  # the hub's read of the head, for the first socket
            gate.wait(5)
        return real_heads(keys)

    monkeypatch.setattr(streams, "heads", slow_first_heads)
    ws = await connect(alice)
    while not calls:
        await asyncio.sleep(0.01)
    await sync_to_async(notify)(user=alice, kind="test", text="while joining")
    await asyncio.sleep(0.5)  # its publish reaches the hub, which waits GAP_WAIT for what precedes it
    gate.set()
    frames = await drain(ws)
    assert not [f for f in frames if f.get("type") == "reset"], frames
    await ws.disconnect()


async def test_a_reset_of_ones_own_stream_followed_only_for_its_control_events_is_not_sent_to_the_page(
        alice, settings, monkeypatch):
    """Every signed-in socket follows its person's stream silently, for the control events (sign-out, block). When
    the hub cannot fill a hole of that stream (more than LIVE_REPLAY_LIMIT events lost by the layer, or pruned) it
    resets its sockets there: a silent subscription used to pass the `reset` frame on to a page that follows no such
    stream, and live.js, finding no region of it, reloads the whole page (a half-written comment lost). The silent
    subscription moves its position and says nothing; it still gets the control events after it."""
    from live.accounts.services import end_sessions

    settings.LIVE_SWEEP_SECONDS = 0.2
    settings.LIVE_REPLAY_LIMIT = 3
    ws = await connect(alice)
    await ws.send_json_to({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    publish = streams.publish
    monkeypatch.setattr(streams, "publish", lambda event: None)  # the layer loses them
    await notify_n(alice, 5)
    await asyncio.sleep(1)  # the sweep finds them missing, too many to read
    monkeypatch.setattr(streams, "publish", publish)
    assert [f for f in await drain(ws) if f.get("type") == "reset"] == []
    await sync_to_async(end_sessions)(user=alice, reason="signed_out")
    frame = await receive(ws, timeout=3)
    assert frame["code"] == "signed_out"


@pytest.mark.parametrize("shift", [+5, "other-epoch"])
async def test_a_position_from_the_future_or_another_epoch_gets_a_reset(alice, shift):
    await notify_n(alice, 3)
    pos = await sync_to_async(position)(alice.stream_key)
    if shift == "other-epoch":
        bad = {"epoch": "deadbeef", "seq": 1}
    else:
        bad = {"epoch": pos["epoch"], "seq": pos["seq"] + shift}
    ws = await connect(alice)
    frame = await follow(ws, alice.stream_key, bad)
    assert frame == {"type": "reset", "stream": alice.stream_key, "epoch": pos["epoch"], "seq": pos["seq"]}
    await sync_to_async(notify)(user=alice, kind="test", text="after reset")
    [live] = await events(ws, alice.stream_key, 1)
    assert live["seq"] == pos["seq"] + 1
    await ws.disconnect()


async def test_a_position_older_than_retention_gets_a_reset(alice, settings):
    settings.LIVE_RETENTION_EVENTS = 3
    start = await sync_to_async(position)(alice.stream_key)
    await notify_n(alice, 10)
    await sync_to_async(streams.prune)()
    ws = await connect(alice)
    frame = await follow(ws, alice.stream_key, start)
    assert frame["type"] == "reset" and frame["seq"] == start["seq"] + 10
    await ws.disconnect()


async def test_an_event_the_layer_dropped_is_recovered_by_the_sweep(alice, settings, monkeypatch):
    settings.LIVE_SWEEP_SECONDS = 0.2
    ws = await connect(alice)
    await follow(ws, alice.stream_key)

    def lost_in_transit(event):  # as if Redis dropped it (over capacity, restart)
        return None

    monkeypatch.setattr(streams, "publish", lost_in_transit)
    await sync_to_async(notify)(user=alice, kind="test", text="dropped by the layer")
    [frame] = await events(ws, alice.stream_key, 1, timeout=5)
    assert "dropped by the layer" in frame["html"]
    await ws.disconnect()


async def test_a_rollback_pushes_nothing(alice):
    ws = await connect(alice)
    await follow(ws, alice.stream_key)

    def fail():
        with transaction.atomic():
            notify(user=alice, kind="test", text="never")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await sync_to_async(fail)()
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_database_failure_while_a_signed_in_socket_connects_closes_it_with_4503_and_leaks_nothing(
        alice, monkeypatch):
    """A signed-in socket's first step after its session lookup joins its own stream, which reads the stream's head
    in PostgreSQL. That read failing (a restart just after the lookup, the pool's timeout) used to escape `connect`:
    the application crashed (a traceback, close 1011, the page retrying at once) and its disconnect never ran, so
    the process kept the socket's connection slots (the person's and the address's caps: after a few, 4429 until
    the process restarts), the hub kept the dead consumer among its subscribers, and the socket gauge counted it."""
    from django.db import OperationalError

    from live import metrics, ratelimit
    from live.hub import get_hub

    def down(keys):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(streams, "heads", down)
    ws = await connect(alice)
    assert ws.connected_ok
    frame = await receive(ws)
    assert frame["type"] == "error" and frame["code"] == "unavailable"
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4503}
    for _ in range(100):  # its disconnect runs right after the close
        if not +ratelimit._slots.held:
            break
        await asyncio.sleep(0.02)
    assert not get_hub().subscribers.get(alice.stream_key)
    assert not +ratelimit._slots.held
    assert not [s for s in metrics.sockets if getattr(s, "user", None) == alice]


async def test_a_consumer_that_fails_unexpectedly_still_gives_back_its_slots_and_subscriptions(alice, monkeypatch):
    """An exception no handler expects (a bug in a stream type's authorize, a library's) ends the application:
    daphne closes the socket with 1011, and channels never dispatches its disconnect. The process used to keep that
    socket's connection slots for its whole life (heartbeated, never expired: enough of them and the person, or
    everyone behind the same address, gets 4429) and the hub its subscriptions. They are given back however the
    consumer ends."""
    from live import ratelimit
    from live.hub import get_hub

    ws = await connect(alice)
    assert +ratelimit._slots.held and get_hub().subscribers.get(alice.stream_key)

    def broken(viewer, key):
        raise RuntimeError("a bug in a stream type")

    monkeypatch.setattr(streams, "authorize", broken)
    await ws.send_json_to({"type": "resume", "streams": {"debate.1": {"epoch": "", "seq": 0}}})
    with pytest.raises(RuntimeError):
        await ws.receive_output(timeout=5)
    assert not +ratelimit._slots.held
    assert not get_hub().subscribers.get(alice.stream_key)


async def test_overlapping_disconnects_give_back_the_connection_slots_once(alice):
    """A socket's disconnect can run more than once: `end()` runs it (a control event, a failed catch-up, a write
    whose session ended), then the client's close runs it again, and both may overlap while the first gives the
    slots back to Redis. The slots used to be given back by each call: alice's two sockets then counted as none,
    and the caps admitted more sockets than configured. Now the first call gives them back, the others wait for it."""
    from django.core.cache import cache

    from live import ratelimit
    from live.close_codes import Close
    from live.hub import get_hub

    first = await connect(alice)
    [consumer] = get_hub().subscribers[alice.stream_key]
    second = await connect(alice)
    keys = list(consumer.conn_slot)
    assert all(ratelimit._slots.held[key] == 2 for key in keys)
    await asyncio.gather(consumer.disconnect(1000), consumer.end(Close.UNAVAILABLE, "unavailable", "test"),
                         consumer.disconnect(1000))
    await first.disconnect()  # the client's close: a fourth call
    assert all(ratelimit._slots.held[key] == 1 for key in keys)
    for key in keys:
        assert await sync_to_async(cache.get)(key) == 1
    await second.disconnect()
    assert not +ratelimit._slots.held
    for key in keys:
        assert await sync_to_async(cache.get)(key) == 0


async def test_a_socket_closed_during_its_resume_follows_nothing_more(alice):
    """A socket closed by the server (a control event: a block, a sign-out) while its `resume` was authorizing a
    stream: the resume went on after the disconnect had given everything back, joined the stream and replayed it,
    and the hub kept the closed socket among the stream's subscribers for the process's life. A closed socket now
    follows nothing more."""
    from live.close_codes import Close
    from live.hub import get_hub

    ws = await connect(alice)
    [consumer] = get_hub().subscribers[alice.stream_key]
    asked, go_on = asyncio.Event(), asyncio.Event()
    authorize = consumer.authorize

    async def slow_authorize(key):
        asked.set()
        await go_on.wait()
        return await authorize(key)

    consumer.authorize = slow_authorize
    await ws.send_json_to({"type": "resume", "streams": {"debates.all": {"epoch": "", "seq": 0}}})
    await asyncio.wait_for(asked.wait(), 5)
    await consumer.end(Close.FORBIDDEN, "blocked", "Your account was blocked.")  # as the hub's control does
    go_on.set()
    await ws.disconnect()
    hub = get_hub()
    assert not [key for key, followers in hub.subscribers.items() if consumer in followers]
    assert not consumer.subs


async def test_a_socket_closed_while_it_connects_starts_no_session_watch(alice, monkeypatch):
    """A control event closing a signed-in socket while it joins its own stream (the last step of its connect):
    its connect then started the session watch after the disconnect, a task checking a closed socket's session
    every few minutes for the process's life."""
    from live.close_codes import Close
    from live.hub import Hub

    subscribe = Hub.subscribe
    closed = []

    async def subscribe_then_blocked(hub, key, consumer):
        await subscribe(hub, key, consumer)
        await consumer.end(Close.FORBIDDEN, "blocked", "Your account was blocked.")  # as the hub's control does
        closed.append(consumer)

    monkeypatch.setattr(Hub, "subscribe", subscribe_then_blocked)
    ws = await connect(alice)
    await ws.disconnect()
    [consumer] = closed
    assert getattr(consumer, "session_watch", None) is None


async def hole_for(key):
    """The socket following `key` (this test's only one) and a live event one ahead of what it holds: a hole it
    fills with a catch-up of its own, in a task, while it goes on reading its frames."""
    from live.hub import get_hub

    hub = get_hub()
    [consumer] = hub.subscribers[key]
    seq = consumer.subs[key].last + 2
    return hub, consumer, {"type": "live.event", "stream": key, "seq": seq, "frames": {}, "control": None,
                           "refs": []}


async def test_a_catch_up_that_fails_in_its_task_is_logged_and_the_page_comes_back(alice, monkeypatch, caplog):
    """The catch-up a hole starts runs in a task of its own. Its exception used to be lost (at best "Task exception
    was never retrieved" when the task was collected) and the stream stayed catching up for the socket's life: every
    later event of it buffered, never shown. Now it is logged and the socket closes with 4503: the page comes back
    with backoff and resumes from its last seq."""
    from live import consumers

    ws = await connect(alice)
    await follow(ws, alice.stream_key)
    hub, consumer, event = await hole_for(alice.stream_key)

    def broken(key, after, epoch):
        raise RuntimeError("a bug in a renderer")

    monkeypatch.setattr(hub, "replay_from_memory", lambda *args: None)
    monkeypatch.setattr(consumers, "_replay", broken)
    log = logging.getLogger("live.consumers")
    log.addHandler(caplog.handler)  # on the logger itself: importing the ASGI application reconfigures the root's
    try:
        await consumer.push(alice.stream_key, event)
        frame = await receive(ws)
        assert frame["type"] == "error" and frame["code"] == "unavailable"
        assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4503}
    finally:
        log.removeHandler(caplog.handler)
    logged = [r for r in caplog.records if r.name == "live.consumers" and r.exc_info]
    assert logged and "a bug in a renderer" in str(logged[0].exc_info[1])
    assert not consumer.catch_ups
    await ws.disconnect()


async def test_a_socket_that_closes_cancels_its_catch_up(alice, monkeypatch):
    """A socket closing while its catch-up waits for the log: the catch-up used to go on after the socket was gone,
    reading and rendering for nobody (and writing to a closed socket). Its disconnect now cancels it and waits
    for it to end."""
    ws = await connect(alice)
    await follow(ws, alice.stream_key)
    hub, consumer, event = await hole_for(alice.stream_key)
    reading, cancelled = asyncio.Event(), asyncio.Event()

    async def slow_log(key, after, epoch, fetch):
        reading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    monkeypatch.setattr(hub, "replay_from_memory", lambda *args: None)
    monkeypatch.setattr(hub, "shared_replay", slow_log)
    await consumer.push(alice.stream_key, event)
    await asyncio.wait_for(reading.wait(), 5)
    await ws.disconnect()
    assert cancelled.is_set() and not consumer.catch_ups


class MemoryWithoutTheHole:
    """A hub whose memory answers "nothing after your position" whatever the position (the hub never does today:
    it keeps its memory contiguous up to the last event it delivered); the log is read as the real hub does."""

    def __init__(self):
        self.last, self.asked = {}, 0

    def replay_from_memory(self, key, after, epoch, variant=None):
        self.asked += 1
        if self.asked > 50:
            raise AssertionError("the catch-up asks the hub's memory again and again without awaiting anything")
        return []

    async def shared_replay(self, key, after, epoch, fetch):
        return await fetch()

    def learn_replay(self, key, msgs):
        pass


async def test_a_catch_up_whose_hub_memory_lacks_the_hole_reads_the_log_instead_of_spinning(alice):
    """A live event buffered more than one ahead of the socket's position while the hub's memory answers `[]`: the
    catch-up's loop went round again at once, without awaiting anything, for ever (the process's event loop
    frozen, every socket of the process with it). An iteration that moves nothing now reads the log itself."""
    from live.consumers import LiveConsumer, Subscription

    await notify_n(alice, 3)
    key = alice.stream_key
    [third] = await sync_to_async(streams.replay_messages)(key, 2)
    consumer = LiveConsumer()
    consumer._wire_protocol = None  # no daphne socket: frames take the ASGI send, recorded here
    consumer.viewer = streams.Viewer(user=alice, session=None, lang="en")
    consumer.hub = MemoryWithoutTheHole()
    sent = []

    async def record(text):
        sent.append(json.loads(text))

    consumer.send_asgi = consumer.send_text = record
    sub = Subscription(key, "self", 1)
    sub.buffer = [third]
    consumer.subs = {key: sub}
    await asyncio.wait_for(consumer.catch_up(sub), 5)
    assert [(f["type"], f.get("seq")) for f in sent] == [("event", 2), ("event", 3), ("subscribed", 3)]
    assert not sub.catching_up and sub.last == 3


async def test_a_catch_up_that_the_log_cannot_move_either_ends_instead_of_spinning(alice):
    """The same with an event buffered that the log does not hold (a log rebuilt under the socket): the catch-up
    gives up (the frame handler or the catch-up's task then closes the socket with 4503, and the page resumes)."""
    from live.consumers import CatchUpStuck, LiveConsumer, Subscription

    await notify_n(alice, 3)
    key = alice.stream_key
    consumer = LiveConsumer()
    consumer._wire_protocol = None
    consumer.viewer = streams.Viewer(user=alice, session=None, lang="en")
    consumer.hub = MemoryWithoutTheHole()
    sub = Subscription(key, "self", 3)
    sub.buffer = [{"type": "live.event", "stream": key, "seq": 9, "frames": {}, "control": None, "refs": []}]
    consumer.subs = {key: sub}
    with pytest.raises(CatchUpStuck):
        await asyncio.wait_for(consumer.catch_up(sub), 5)
    assert consumer.hub.asked == 1


async def test_one_admin_save_changing_several_rights_rechecks_each_socket_once(alice, admin_user, monkeypatch):
    """One save of alice's account in the Django admin that gives her a role and staff status appends one
    `roles.changed` per service call, in one transaction. Her sockets used to re-check every stream they follow
    once per control: N controls, N times the reads, for every socket of hers (and the hub's dispatcher waiting on
    each). A re-check now covers every control committed before it began (it notes the streams' heads first): one
    re-check for the burst. A revocation still closes at once (its own control, handled before anything)."""
    from django.test import Client

    from tests.accounts.test_admin import change

    ws = await connect(alice)
    await follow(ws, alice.stream_key)
    checked = []
    authorize = streams.authorize

    def counting(viewer, key):
        checked.append(key)
        return authorize(viewer, key)

    monkeypatch.setattr(streams, "authorize", counting)

    def save():
        client = Client()
        client.force_login(admin_user)
        return change(client, alice, role="moderator", is_staff="on")

    assert (await sync_to_async(save)()).status_code == 302
    controls = await sync_to_async(lambda: list(streams.Event.objects.filter(
        stream=alice.stream_key, kind="roles.changed").values_list("seq", flat=True)))()
    assert len(controls) == 2  # one per service call of the save
    await events(ws, alice.stream_key, 2)  # each control's seq reaches the page once its re-check is done
    assert checked == [alice.stream_key]
    await ws.disconnect()


# --- bad input -----------------------------------------------------------------------------------------------------

async def test_a_frame_over_the_limit_closes_with_4413(alice):
    ws = await connect(alice)
    await ws.send_to(text_data="x" * (64 * 1024 + 1))
    frame = await receive(ws)
    assert frame["code"] == "frame_too_large"
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4413}


@pytest.mark.parametrize("text, code", [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('{"type": "launch_missiles"}', "unknown_type"),
    ('{"no": "type"}', "unknown_type"),
    ("[" * 30000 + "]" * 30000, "invalid_json"),
    ('{"type": "resume", "streams": {"user.1": {"seq": 1' + "0" * 5000 + "}}}", "invalid_json"),
    ('{"type": "resume", "streams": {"user.1": {"seq": -1}}}', "invalid_frame"),
    ('{"type": "resume", "streams": {"user.1": {"seq": 1e308}}}', "invalid_frame"),
    ('{"type": "resume", "streams": "all"}', "invalid_frame"),
])
async def test_bad_frames_get_a_clear_error(alice, text, code):
    ws = await connect(alice)
    await ws.send_to(text_data=text)
    frame = await receive(ws)
    assert frame["type"] == "error" and frame["code"] == code and frame["detail"]
    await ws.send_json_to({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}  # the socket and the worker are fine
    await ws.disconnect()


async def test_binary_frames_are_refused(alice):
    ws = await connect(alice)
    await ws.send_to(bytes_data=b"\x00\x01")
    frame = await receive(ws)
    assert frame["code"] == "binary_not_supported"
    await ws.disconnect()


async def test_repeated_binary_frames_close_with_4415(alice):
    ws = await connect(alice)
    for _ in range(6):
        await ws.send_to(bytes_data=b"\x00\x01")
        await receive(ws)
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4415}


async def test_repeated_bad_frames_close_with_4408(alice):
    ws = await connect(alice)
    for _ in range(6):
        await ws.send_to(text_data="nope")
        await receive(ws)
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4408}


async def test_a_frame_flood_is_rate_limited(alice):
    ws = await connect(alice)
    for _ in range(60):
        await ws.send_to(text_data=json.dumps({"type": "ping"}))
    frames = await drain(ws)
    assert any(f.get("code") == "rate_limited" and f.get("retry_after") for f in frames)
    await ws.disconnect()


# --- control events -------------------------------------------------------------------------------------------------

async def test_blocking_closes_every_socket_of_the_user_within_two_seconds(alice, bob):
    from live.accounts.services import end_sessions
    from live.close_codes import Close

    alices = [await connect(alice), await connect(alice)]  # two pages, following nothing in particular
    bobs = await connect(bob)

    def block():
        with transaction.atomic():
            end_sessions(user=alice, reason="blocked", code=Close.FORBIDDEN, detail="Spam.")

    await sync_to_async(block)()
    for ws in alices:
        frame = await receive(ws, timeout=2)
        assert frame["code"] == "blocked"
        assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4403}
    await bobs.send_json_to({"type": "ping"})
    assert await receive(bobs) == {"type": "pong"}
    await bobs.disconnect()
