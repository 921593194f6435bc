"""The load generator's clients: many WebSocket listeners (picows, one asyncio loop) and HTTP writers (httpx).

Each post carries a marker `zq<index>qz` in its text; a listener that receives a frame containing it records
`receipt - scheduled send time` for that post. Writers run on a fixed schedule (open loop, no coordinated
omission): post i is due at t0 + i/rate whether or not earlier posts have been answered, and its latency counts
from when it was due.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from array import array
from dataclasses import dataclass, field

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

MARK_RE = re.compile(rb"zq(\d+)qz")
SEQ_RE = re.compile(rb'"seq":(\d+)')
TYPE_RE = re.compile(rb'"type":"([a-z_]+)"')

now_ns = time.monotonic_ns


def marker(index: int) -> str:
    return f"zq{index}qz"


class Stats:
    """Per-post send times and per-(listener, post) receipts, filled by the listeners' callbacks."""

    def __init__(self, capacity: int = 200_000):
        self.sent = array("q", [0]) * capacity  # due time (ns) per post index, 0 = not sent
        self.ok = bytearray(capacity)  # 1 when the server accepted the post
        self.latencies = array("d")  # ms, one per delivery
        self.deliveries = 0
        self.duplicates = 0
        self.unknown = 0  # marked frames of posts this run did not send
        self.first_rx = 0
        self.last_rx = 0
        self.posts = 0
        self.marked_frames = 0
        self.marked_bytes = 0

    def reset(self):
        self.__init__(len(self.sent))


class Listener(WSListener):
    __slots__ = ("pool", "idx", "transport", "got", "last_seq", "order_errors", "subscribed", "closed",
                 "connected_at", "subscribed_at", "buf", "resets", "errors", "frames")

    def __init__(self, pool: ListenerPool, idx: int):
        self.pool, self.idx = pool, idx
        self.transport: WSTransport | None = None
        self.got = bytearray(len(pool.stats.sent))
        self.last_seq = pool.start_seq
        self.order_errors = 0
        self.subscribed = asyncio.Event()
        self.closed = asyncio.Event()
        self.connected_at = 0
        self.subscribed_at = 0
        self.buf: bytearray | None = None
        self.resets = 0
        self.errors: list[str] = []
        self.frames = 0

    def on_ws_connected(self, transport: WSTransport):
        self.transport = transport
        self.connected_at = now_ns()
        self.closed.clear()
        if self.pool.resume_frame is not None:
            transport.send(WSMsgType.TEXT, self.pool.resume_frame(self))
        else:
            self.subscribed_at = self.connected_at
            self.subscribed.set()

    def on_ws_disconnected(self, transport: WSTransport):
        self.transport = None
        self.closed.set()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame):
        kind = frame.msg_type
        if kind == WSMsgType.CONTINUATION:
            if self.buf is None:
                return
            self.buf += frame.get_payload_as_bytes()
            if not frame.fin:
                return
            data, self.buf = bytes(self.buf), None
        elif kind == WSMsgType.TEXT:
            if not frame.fin:
                self.buf = bytearray(frame.get_payload_as_bytes())
                return
            data = frame.get_payload_as_bytes()
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        else:
            return
        self.on_message(data, now_ns())

    def on_message(self, data: bytes, t: int):
        self.frames += 1
        pool = self.pool
        if pool.on_frame is not None:  # a scenario's own reaction to a frame (S9: the facilitator approves)
            pool.on_frame(self, data, t)
        stats = pool.stats
        if pool.seq_check:
            head = data[:160]
            m = SEQ_RE.search(head)
            if m is not None and b'"type":"event"' in head:
                seq = int(m.group(1))
                if seq <= self.last_seq:
                    stats.duplicates += 1
                    return
                if seq != self.last_seq + 1:
                    self.order_errors += 1
                self.last_seq = seq
            elif m is not None:
                t_m = TYPE_RE.search(head)
                kind = t_m.group(1) if t_m else b""
                if kind == b"subscribed":
                    if self.subscribed_at == 0:
                        self.subscribed_at = t
                    self.subscribed.set()
                    return
                if kind == b"reset":
                    self.resets += 1
                    self.last_seq = int(m.group(1))
                    self.subscribed_at = self.subscribed_at or t
                    self.subscribed.set()
                    return
            elif b'"type":"error"' in head:
                self.errors.append(data[:200].decode("utf-8", "replace"))
                return
        self.count_marks(data, t)

    def count_marks(self, data: bytes, t: int) -> None:
        """Record the posts a frame names: each once per frame (a frame names its post in the comment and in its
        announcement); a post this listener already has counts as a duplicate."""
        stats = self.pool.stats
        found = False
        for i in dict.fromkeys(int(m.group(1)) for m in MARK_RE.finditer(data)):
            if not found:
                found = True
                stats.marked_frames += 1
                stats.marked_bytes += len(data)
            if i >= len(self.got) or stats.sent[i] == 0:
                stats.unknown += 1
                continue
            if self.got[i]:
                stats.duplicates += 1
                continue
            self.got[i] = 1
            stats.deliveries += 1
            self.delivered(i, t)

    def delivered(self, i: int, t: int) -> None:
        stats = self.pool.stats
        stats.latencies.append((t - stats.sent[i]) / 1e6)
        if stats.first_rx == 0:
            stats.first_rx = t
        stats.last_rx = t
        self.pool.on_delivery(i, t)


@dataclass
class ListenerPool:
    url: str  # ws://127.0.0.1:port/ws/
    origin: str | None = None
    cookie: str | None = None
    stream: str | None = None  # follow this stream with the resume protocol (None: a baseline, no protocol)
    epoch: str = ""
    start_seq: int = 0
    stats: Stats = field(default_factory=Stats)
    listeners: list[Listener] = field(default_factory=list)
    seq_check: bool = True
    connect_concurrency: int = 200
    on_post_complete: object = None
    on_frame: object = None  # callable(listener, data: bytes, t_ns), called with every text message

    def __post_init__(self):
        self.pending: dict[int, int] = {}  # post index -> deliveries still expected
        self.complete_at: dict[int, int] = {}  # post index -> time of the last listener's receipt
        self.resume_frame = self._resume_frame if self.stream else None
        self.expect_per_post = 0

    def _resume_frame(self, listener: Listener) -> bytes:
        return json.dumps({"type": "resume", "streams": {
            self.stream: {"epoch": self.epoch, "seq": listener.last_seq}}}).encode()

    def headers(self) -> list[tuple[str, str]]:
        h = []
        if self.origin:
            h.append(("Origin", self.origin))
        if self.cookie:
            h.append(("Cookie", self.cookie))
        return h

    async def _connect_one(self, listener: Listener, sem: asyncio.Semaphore):
        async with sem:
            for attempt in range(5):
                try:
                    await ws_connect(lambda: listener, self.url, extra_headers=self.headers(),
                                     websocket_handshake_timeout=30, max_frame_size=16 * 1024 * 1024)
                    return
                except Exception as exc:  # noqa: BLE001 - reported below when all attempts fail
                    err = exc
                    await asyncio.sleep(0.2 * (attempt + 1))
            listener.errors.append(f"connect failed: {err!r}")

    async def connect(self, n: int, timeout: float = 60) -> float:
        """Open n listeners (at most connect_concurrency handshakes at once); wait until each follows the stream.
        Returns the seconds it took."""
        t0 = time.monotonic()
        start = len(self.listeners)
        new = [Listener(self, start + k) for k in range(n)]
        self.listeners.extend(new)
        sem = asyncio.Semaphore(self.connect_concurrency)
        await asyncio.gather(*(self._connect_one(lst, sem) for lst in new))
        await asyncio.wait_for(asyncio.gather(*(lst.subscribed.wait() for lst in new if lst.transport)), timeout)
        failed = [lst for lst in new if lst.transport is None]
        if failed:
            raise RuntimeError(f"{len(failed)} of {n} listeners failed to connect: {failed[0].errors[-1:]}")
        return time.monotonic() - t0

    def connected(self) -> list[Listener]:
        return [lst for lst in self.listeners if lst.transport is not None]

    async def drop_all(self):
        """Cut every socket at once, as a network failure or a server restart would (no close handshake)."""
        for lst in self.listeners:
            if lst.transport is not None:
                lst.subscribed = asyncio.Event()
                lst.subscribed_at = 0
                lst.transport.underlying_transport.abort()
        await asyncio.gather(*(lst.closed.wait() for lst in self.listeners))

    async def close(self):
        for lst in self.listeners:
            if lst.transport is not None:
                try:
                    lst.transport.send_close()
                    lst.transport.disconnect()
                except Exception:  # noqa: BLE001
                    pass
        try:
            await asyncio.wait_for(asyncio.gather(*(lst.closed.wait() for lst in self.listeners)), 10)
        except TimeoutError:
            pass
        self.listeners = []

    # --- completion tracking --------------------------------------------------------------------------------------

    def expect(self, index: int, count: int):
        self.pending[index] = count

    def on_delivery(self, index: int, t: int):
        left = self.pending.get(index)
        if left is None:
            return
        if left <= 1:
            del self.pending[index]
            self.complete_at[index] = t
        else:
            self.pending[index] = left - 1

    def order_errors(self) -> int:
        return sum(lst.order_errors for lst in self.listeners)

    def errors(self) -> list[str]:
        out = []
        for lst in self.listeners:
            out.extend(lst.errors)
        return out


def percentile(values, q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return round(ordered[k], 2)


def summarize(values) -> dict:
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95), "p99_ms": percentile(values, 99),
            "max_ms": round(max(values), 2) if values else None}


# --- several streams per socket, one session per socket (S2, S3) -------------------------------------------------------

STREAM_RE = re.compile(rb'"stream":"([^"]+)"')


class MultiListener(Listener):
    """A socket of its own page: its own session cookie (or none), its own URL, and every stream the page follows
    with its own cursor (`data-live-stream` / `data-live-cursor`). Like live.js it names every stream in one
    `resume` frame on each (re)connect, with the last seq it holds per stream, and checks the order per stream.

    Latency: besides `stats.latencies` (receipt - due time), the pool records each delivery as *live* (the socket
    was connected when the post was due) or *replayed* (the post was due before this connection opened: it came
    through the resume protocol), the latter also counted from the moment the socket reconnected."""

    __slots__ = ("cookie", "ws_url", "seqs", "epochs", "waiting", "reconnects")

    def __init__(self, pool: MultiStreamPool, idx: int, cookie: str | None, streams: dict[str, tuple[str, int]],
                 ws_url: str | None = None):
        super().__init__(pool, idx)
        self.cookie, self.ws_url = cookie, ws_url
        self.seqs = {key: seq for key, (_epoch, seq) in streams.items()}
        self.epochs = {key: epoch for key, (epoch, _seq) in streams.items()}
        self.waiting: set[str] = set()
        self.reconnects = 0

    def on_ws_connected(self, transport: WSTransport):
        self.transport = transport
        self.connected_at = now_ns()
        self.closed.clear()
        if self.seqs:
            self.waiting = set(self.seqs)
            transport.send(WSMsgType.TEXT, json.dumps({"type": "resume", "streams": {
                key: {"epoch": self.epochs[key], "seq": seq} for key, seq in self.seqs.items()}}).encode())
        else:
            self.subscribed_at = self.connected_at
            self.subscribed.set()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame):
        if frame.msg_type == WSMsgType.CLOSE:
            self.errors.append(f"closed by the server: {frame.get_close_code()} "
                               f"{frame.get_close_message() or b''!r}")
        super().on_ws_frame(transport, frame)

    def _subscribed(self, stream: str, t: int):
        self.waiting.discard(stream)
        if not self.waiting:
            if self.subscribed_at == 0:
                self.subscribed_at = t
            self.subscribed.set()

    def on_message(self, data: bytes, t: int):
        self.frames += 1
        pool = self.pool
        stats = pool.stats
        counted = True
        if self.seqs:
            head = data[:200]
            s_m = STREAM_RE.search(head)
            stream = s_m.group(1).decode() if s_m else ""
            m = SEQ_RE.search(head)
            if m is not None and b'"type":"event"' in head and stream in self.seqs:
                seq = int(m.group(1))
                last = self.seqs[stream]
                if seq <= last:
                    stats.duplicates += 1
                    return
                if seq != last + 1:
                    self.order_errors += 1
                self.seqs[stream] = seq
                counted = pool.mark_prefix is None or stream.startswith(pool.mark_prefix.decode())
            elif m is not None:
                t_m = TYPE_RE.search(head)
                kind = t_m.group(1) if t_m else b""
                if kind == b"subscribed":
                    self._subscribed(stream, t)
                elif kind == b"reset":
                    self.resets += 1
                    self.seqs[stream] = int(m.group(1))
                    e_m = re.search(rb'"epoch":"([^"]*)"', head)
                    if e_m:
                        self.epochs[stream] = e_m.group(1).decode()
                    self._subscribed(stream, t)
                return
            elif b'"type":"error"' in head:
                self.errors.append(data[:200].decode("utf-8", "replace"))
                return
        if not counted:
            if MARK_RE.search(data):
                pool.other_marked += 1
            return
        self.count_marks(data, t)

    def delivered(self, i: int, t: int) -> None:
        due = self.pool.stats.sent[i]
        live = due >= self.connected_at
        if live:
            self.pool.live_latencies.append((t - due) / 1e6)
        else:
            self.pool.replay_latencies.append((t - self.connected_at) / 1e6)
        if self.pool.trace is not None:  # BENCH_TRACE (bench/trace_report.py)
            self.pool.trace.append((i, t, live))
        super().delivered(i, t)


@dataclass
class MultiStreamPool(ListenerPool):
    """Listeners that are each a different page (MultiListener): `add()` them, `open()` them, `churn()` one
    (abrupt drop, then a reconnect that resumes every stream from the last seq held). `mark_prefix` (e.g.
    b"conversation.") counts marked frames of those streams only: another stream may quote the same text (an
    inbox row's preview), which is not the delivery measured."""

    mark_prefix: bytes | None = None
    trace: list | None = None  # (post, receipt, live) per delivery, for BENCH_TRACE runs

    def __post_init__(self):
        super().__post_init__()
        self.live_latencies = array("d")
        self.replay_latencies = array("d")
        self.other_marked = 0
        self.reconnects = 0

    def add(self, cookie: str | None, streams: dict[str, tuple[str, int]], ws_url: str | None = None) -> MultiListener:
        listener = MultiListener(self, len(self.listeners), cookie, streams, ws_url)
        self.listeners.append(listener)
        return listener

    async def _connect_one(self, listener: MultiListener, sem: asyncio.Semaphore):
        headers = [("Origin", self.origin)] if self.origin else []
        if listener.cookie:
            headers.append(("Cookie", listener.cookie))
        async with sem:
            for attempt in range(5):
                try:
                    await ws_connect(lambda: listener, listener.ws_url or self.url, extra_headers=headers,
                                     websocket_handshake_timeout=30, max_frame_size=16 * 1024 * 1024)
                    return
                except Exception as exc:  # noqa: BLE001 - reported below when all attempts fail
                    err = exc
                    await asyncio.sleep(0.2 * (attempt + 1))
            listener.errors.append(f"connect failed: {err!r}")

    async def open(self, listeners: list[MultiListener] | None = None, timeout: float = 120) -> float:
        """Connect `listeners` (default: all added) and wait until each has every stream subscribed."""
        t0 = time.monotonic()
        todo = self.listeners if listeners is None else listeners
        sem = asyncio.Semaphore(self.connect_concurrency)
        await asyncio.gather(*(self._connect_one(lst, sem) for lst in todo))
        await asyncio.wait_for(asyncio.gather(*(lst.subscribed.wait() for lst in todo if lst.transport)), timeout)
        failed = [lst for lst in todo if lst.transport is None]
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(todo)} listeners failed to connect: {failed[0].errors[-1:]}")
        return time.monotonic() - t0

    async def churn(self, listener: MultiListener, delay: float, sem: asyncio.Semaphore | None = None) -> None:
        """Drop the socket abruptly (no close handshake, as a network failure), wait `delay` seconds (the client's
        reconnect backoff), reconnect and resume."""
        if listener.transport is None:
            return
        listener.subscribed = asyncio.Event()
        listener.subscribed_at = 0
        listener.transport.underlying_transport.abort()
        await listener.closed.wait()
        await asyncio.sleep(delay)
        listener.reconnects += 1
        self.reconnects += 1
        await self._connect_one(listener, sem or asyncio.Semaphore(1))
