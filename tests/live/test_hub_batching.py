"""Batching under bursts (live/hub.py): consecutive events of a stream that arrive together reach each live socket
in one write, the very same frames in order; sockets that are catching up, and events that do not follow on, take
the general path one by one."""

import asyncio
import json

import pytest

from live import streams, wire
from live.consumers import LiveConsumer, Subscription
from live.hub import Hub

KEY = "debate.1"


class Transport:
    TLS = False

    def __init__(self):
        self.sends: list[bytes] = []
        self.dataBuffer, self.offset, self._tempDataLen = b"", 0, 0
        self.connected, self.disconnecting = True, False
        self.socket = self

    def send(self, data):
        self.sends.append(bytes(data))
        return len(data)


class Protocol:
    STATE_OPEN = 1

    def __init__(self):
        self.state, self.transport = self.STATE_OPEN, Transport()


class Socket:
    """What the hub needs of a LiveConsumer: reads(), write_live() (the consumer's own, on its subscriptions, its
    viewer and its daphne protocol), push()."""

    reads, write_live, write_direct = LiveConsumer.reads, LiveConsumer.write_live, LiveConsumer.write_direct

    def __init__(self, last: int, *, catching_up: bool = False, lang: str = "fr", daphne: bool = True):
        sub = Subscription(KEY, "public", last)
        sub.catching_up = catching_up
        self.subs = {KEY: sub}
        self.viewer = streams.Viewer(user=None, lang=lang)
        self._wire_protocol = Protocol() if daphne else None
        self.pushed: list[int] = []

    async def push(self, key, msg):
        self.pushed.append(msg["seq"])


def event(seq: int) -> dict:
    frames = {f"public:{lang}": json.dumps({"type": "event", "stream": KEY, "seq": seq, "html": f"<p>{lang} {seq}</p>"})
              for lang in ("fr", "en")}
    return {"type": "live.event", "stream": KEY, "seq": seq, "frames": frames, "control": None, "refs": [f"c{seq}"]}


def hub_with(*sockets, last=10) -> Hub:
    hub = Hub(asyncio.get_running_loop())
    hub.subscribers[KEY] = set(sockets)
    hub.last[KEY] = last
    hub.epochs[KEY] = "e1"
    return hub


@pytest.mark.asyncio
async def test_a_run_of_events_is_one_write_per_live_socket_with_the_same_frames_in_order():
    french, english = Socket(10), Socket(10, lang="en")
    hub = hub_with(french, english)
    burst = [event(seq) for seq in range(11, 16)]
    await hub.handle_batch(burst)
    for sock, lang in ((french, "fr"), (english, "en")):
        sends = sock._wire_protocol.transport.sends
        assert len(sends) == 1
        assert sends[0] == b"".join(wire.frame_bytes(msg["frames"][f"public:{lang}"]) for msg in burst)
        assert sock.subs[KEY].last == 15 and sock.pushed == []
    assert hub.last[KEY] == 15
    # Sockets that resume now replay the burst from the hub's memory.
    assert [m["seq"] for m in hub.replay_from_memory(KEY, 12, "e1")] == [13, 14, 15]


@pytest.mark.asyncio
async def test_sockets_catching_up_or_outside_daphne_get_each_event_through_push():
    live, catching_up, elsewhere = Socket(10), Socket(7, catching_up=True), Socket(10, daphne=False)
    hub = hub_with(live, catching_up, elsewhere)
    await hub.handle_batch([event(seq) for seq in range(11, 14)])
    assert len(live._wire_protocol.transport.sends) == 1
    assert catching_up.pushed == [11, 12, 13] and catching_up._wire_protocol.transport.sends == []
    assert elsewhere.pushed == [11, 12, 13]


@pytest.mark.asyncio
async def test_events_already_delivered_are_skipped_and_a_hole_waits_for_its_predecessor():
    sock = Socket(10)
    hub = hub_with(sock)
    await hub.handle_batch([event(9), event(10), event(11), event(12)])  # 9 and 10 were delivered (by the sweep)
    assert sock._wire_protocol.transport.sends == [
        wire.frame_bytes(event(11)["frames"]["public:fr"]) + wire.frame_bytes(event(12)["frames"]["public:fr"])]
    hub.tasks = [None]  # as if started: a hole schedules its gap filler
    try:
        await hub.handle_batch([event(14), event(15)])  # 13 is missing: held, nothing written
        assert len(sock._wire_protocol.transport.sends) == 1 and sorted(hub.held[KEY]) == [14, 15]
        await hub.handle_batch([event(13)])  # the predecessor arrives: all three follow, in order
        frames = b"".join(sock._wire_protocol.transport.sends[1:])
        assert frames == b"".join(wire.frame_bytes(event(s)["frames"]["public:fr"]) for s in (13, 14, 15))
        assert hub.last[KEY] == 15 and not hub.held.get(KEY)
    finally:
        for task in hub.gap_tasks.values():
            task.cancel()


@pytest.mark.asyncio
async def test_the_frames_a_fan_out_writes_are_counted_once_per_fan_out(settings, monkeypatch):
    """agora_frames_delivered_total counts every frame written to a live socket, added once per fan-out rather than
    once per socket (live/metrics.py: the hot path of S1); frames pushed one by one (catching up) are counted where
    the consumer sends them."""
    from live import metrics

    calls = []
    count = metrics.frames_delivered
    monkeypatch.setattr(metrics, "frames_delivered", lambda key, n=1: (calls.append(n), count(key, n)))
    settings.METRICS_ENABLED = True
    before = metrics.delivered["debate"]
    sockets = [Socket(10) for _ in range(3)] + [Socket(7, catching_up=True)]
    hub = hub_with(*sockets)
    await hub.handle_batch([event(seq) for seq in range(11, 14)])  # a run: 3 live sockets x 3 events
    await hub.handle_batch([event(14)])  # a single event: 3 live sockets
    assert calls == [9, 3]
    assert metrics.delivered["debate"] - before == 12
    settings.METRICS_ENABLED = False
    await hub.handle_batch([event(15)])
    assert metrics.delivered["debate"] - before == 12


@pytest.mark.asyncio
async def test_a_log_read_of_one_stream_stops_neither_the_others_nor_its_own_later_events(monkeypatch):
    """Events rendered without a variant a socket here reads are read again from the log by a task, in one read
    for all of them; meanwhile the dispatcher goes on with the other streams and holds this stream's new events,
    which the task delivers in order after its read."""
    from live import hub as hub_module

    other_key = "debate.2"
    french, english = Socket(10), Socket(10, lang="en")
    other = Socket(10)
    other.subs = {other_key: Subscription(other_key, "public", 10)}
    hub = hub_with(french, english)
    hub.subscribers[other_key] = {other}
    hub.last[other_key] = 10
    hub.tasks = [None]
    reads, release = [], asyncio.Event()

    async def slow_read(key, after, upto):
        reads.append((key, after, upto))
        await release.wait()
        return [event(seq) for seq in range(after + 1, upto + 1)]

    class Thread:
        def __init__(self, func, **kwargs):
            pass

        def __call__(self, *args):
            return slow_read(*args)

    monkeypatch.setattr(hub_module, "database_sync_to_async", Thread)

    def french_only(seq):  # published when only French readers were marked
        msg = event(seq)
        msg["only"] = ["public:fr"]
        del msg["frames"]["public:en"]
        return msg

    other_event = {**event(11), "stream": other_key}
    await hub.handle_batch([french_only(11), french_only(12), other_event])
    await asyncio.sleep(0.01)  # the task starts its read
    assert reads == [(KEY, 10, 12)]  # one read for both
    assert hub.last[other_key] == 11  # the other stream was not stopped
    assert len(other._wire_protocol.transport.sends) + len(other.pushed) == 1
    await hub.handle_batch([event(13)])  # arrives during the read: held for the task
    assert french._wire_protocol.transport.sends == [] and 13 in hub.held[KEY]
    release.set()
    for _ in range(20):
        await asyncio.sleep(0.005)
        if hub.last[KEY] == 13:
            break
    for sock, lang in ((french, "fr"), (english, "en")):
        frames = b"".join(sock._wire_protocol.transport.sends)
        assert frames == b"".join(wire.frame_bytes(event(s)["frames"][f"public:{lang}"]) for s in (11, 12, 13))
    assert reads == [(KEY, 10, 12)] and not hub.held.get(KEY) and not hub.gap_tasks


@pytest.mark.asyncio
async def test_gathering_a_burst_lasts_the_linger_in_real_time_not_in_turns_of_a_busy_loop():
    """After a long fan-out the dispatcher gathers what keeps arriving for at most LIVE_BATCH_LINGER_MS of real
    time. Its steps are turns of the loop: in a busy process (20 ms a turn here) six nominal 0.5 ms steps held the
    batch for six turns."""
    import time

    hub = hub_with(Socket(10))
    hub.linger, hub.busy = 0.003, True
    handled: list[float] = []

    async def handle_batch(msgs):
        handled.append(time.monotonic())

    hub.handle_batch = handle_batch

    async def busy_turns():
        seq = 12
        while True:
            time.sleep(0.02)  # the rest of a busy loop's turn
            hub.inbox.append(event(seq))
            hub.arrived.set()
            seq += 1
            await asyncio.sleep(0)

    hub.inbox.append(event(11))
    hub.arrived.set()
    started = time.monotonic()
    tasks = [asyncio.ensure_future(busy_turns()), asyncio.ensure_future(hub._dispatch_loop())]
    try:
        while not handled and time.monotonic() - started < 2:
            await asyncio.sleep(0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert handled and handled[0] - started < 0.09  # one or two turns, not six (>= 120 ms)
