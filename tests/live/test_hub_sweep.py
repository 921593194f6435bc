"""The sweep (live/hub.py) delivers from the log only what was committed at least one sweep ago and never arrived:
an event whose publish is still on its way (rendering, then Redis) is left to it, so each event keeps its own frame
rendered when it happened (a bounded view such as the meeting screen's latest six would otherwise skip some)."""

import asyncio
import contextlib

import pytest

from live import streams
from live.hub import Hub

KEY = "debate.1"


@pytest.mark.asyncio
async def test_the_sweep_fills_only_what_was_already_missing_at_the_previous_sweep(monkeypatch):
    hub = Hub(asyncio.get_running_loop())
    hub.subscribers[KEY] = {object()}
    hub.last[KEY] = 3
    heads = {KEY: ("e1", 5, 1)}
    monkeypatch.setattr(streams, "heads", lambda keys: {k: heads[k] for k in keys})
    fills = []

    async def fill(key, after, upto=None):
        fills.append((key, after, upto))
        hub.last[key] = upto

    monkeypatch.setattr(hub, "_fill", fill)

    await hub.sweep()  # 4 and 5 were just committed: their publish may be under way
    assert fills == []
    heads[KEY] = ("e1", 7, 1)
    await hub.sweep()  # 4 and 5 are a whole interval old and still missing: read them; 6 and 7 wait
    assert fills == [(KEY, 3, 5)]
    hub.last[KEY] = 7  # 6 and 7 arrive from the layer
    await hub.sweep()
    assert fills == [(KEY, 3, 5)]


@pytest.mark.asyncio
async def test_a_log_read_that_ends_after_the_last_socket_left_leaves_nothing_of_the_stream_behind(monkeypatch):
    """The last socket of a stream may leave while a hub task reads the stream's log (the sweep, a hole). What that
    read returns must not be delivered into the forgotten stream: it used to recreate the stream's position and its
    recent-events memory (up to RECENT_EVENTS rendered events) for a stream nobody here followed any more, kept for
    the process's life; and a later subscriber found that stale position instead of the log's head, read the whole
    difference from the log again as a hole, or was reset when it was more than LIVE_REPLAY_LIMIT behind."""
    from live import hub as hub_module

    loop = asyncio.get_running_loop()
    hub = Hub(loop)
    consumer = object()
    hub.subscribers[KEY] = {consumer}
    hub.last[KEY] = 3
    hub.swept = {KEY: 5}
    monkeypatch.setattr(streams, "heads", lambda keys: {k: ("e1", 5, 1) for k in keys})

    def read_while_the_socket_leaves(key, after, upto):
        asyncio.run_coroutine_threadsafe(hub.unsubscribe(KEY, consumer), loop).result(5)
        return [{"type": "live.event", "stream": KEY, "seq": seq, "frames": {}, "control": None, "refs": []}
                for seq in range(after + 1, upto + 1)]

    monkeypatch.setattr(hub_module, "_messages_after", read_while_the_socket_leaves)
    await hub.sweep()
    assert KEY not in hub.subscribers
    assert KEY not in hub.last and KEY not in hub.recent and KEY not in hub.touched


class Layer:
    """The channel layer's part that subscribing and unsubscribing use."""

    async def group_add(self, group, channel):
        pass

    async def group_discard(self, group, channel):
        pass


class Socket:
    """What the hub asks of a LiveConsumer: reads() (None: no variant to mark) and push()."""

    def __init__(self):
        self.pushed: list[int] = []

    def reads(self, key):
        return None

    def write_live(self, key, first, end, frames):
        return False

    async def push(self, key, msg):
        self.pushed.append(msg["seq"])


@pytest.mark.asyncio
async def test_a_stream_left_and_followed_again_during_a_log_read_keeps_one_lock(monkeypatch):
    """The last socket of a stream leaves while the sweep reads the stream's log holding its lock, and another
    socket follows the stream at once (a page reloaded). The stream's lock used to be dropped as the first left:
    the hole that came next got a new lock and filled the stream while the sweep was still inside the old one,
    two tasks delivering one stream at once (the same event twice, or the position moved back)."""
    from live import hub as hub_module

    loop = asyncio.get_running_loop()
    hub = Hub(loop)
    hub.layer, hub.channel, hub.tasks = Layer(), "hub.test", [loop.create_future()]  # started, without Redis
    alice, bob, carol = Socket(), Socket(), Socket()
    hub.subscribers[KEY] = {alice}
    hub.subscribers["debate.2"] = {carol}  # the hub keeps running
    hub.last[KEY] = 3
    hub.swept = {KEY: 5}
    monkeypatch.setattr(streams, "heads", lambda keys: {k: ("e1", 5, 1) for k in keys})
    monkeypatch.setattr(hub_module, "GAP_WAIT", 0)

    def in_thread(func, **kwargs):
        async def run(*args):
            return func(*args)
        return run

    monkeypatch.setattr(hub_module, "database_sync_to_async", in_thread)
    inside, most, calls = [0], [0], []
    sweep_reads, intruder, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def fill(key, after, upto=None):
        calls.append((after, upto))
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        try:
            if len(calls) == 1:
                sweep_reads.set()
                await release.wait()
            else:
                intruder.set()
            hub.last[key] = max(hub.last.get(key, 0), upto)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(hub, "_fill", fill)
    sweep = loop.create_task(hub.sweep())
    await sweep_reads.wait()  # the sweep holds the stream's lock
    await hub.unsubscribe(KEY, alice)
    await hub.subscribe(KEY, bob)  # at the log's head, 5
    await hub.handle({"type": "live.event", "stream": KEY, "seq": 8, "frames": {}, "control": None, "refs": []})
    gap = hub.gap_tasks[KEY]  # 6 and 7 are missing: a task reads them, under the stream's lock
    async with asyncio.timeout(5):
        while hub.reading.get(KEY, 0) < 2 and not intruder.is_set():  # the hole's task waits, or is inside
            await asyncio.sleep(0)
    with contextlib.suppress(TimeoutError):  # a second task inside the lock gets there at once
        await asyncio.wait_for(intruder.wait(), 0.2)
    assert most[0] == 1, "the hole was read while the sweep was still reading under the stream's lock"
    release.set()
    await asyncio.wait_for(asyncio.gather(sweep, gap), 5)
    assert most[0] == 1 and calls == [(3, 5), (5, 7)]
    assert bob.pushed == [8] and hub.last[KEY] == 8
    await hub.unsubscribe(KEY, bob)
    assert KEY not in hub.locks  # once nobody holds or waits for it, it goes with the stream
