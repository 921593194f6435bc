"""A traced application server for development runs: `BENCH_TRACE=<dir> python -m bench.run --full --only S2`.

The daphne process serves `live.asgi.application` unchanged, with timestamps (`time.monotonic_ns()`, the same clock
as the generator's, on one machine) written to `<dir>/server-<pid>.jsonl` for:

- each socket write, by the marker of its post (`zq<i>qz`): the frame handed to the consumer (`arrive`), its worker
  thread starting (`thread`), the session checked (`session`), the service done with its commit and render (`done`),
  the event handed to the channel layer (`publish`, then `sent` once Redis took it), the hub receiving it (`hub_rx`)
  and its fan-out done (`fanout`), the `written` answer sent (`answer`);
- every job of the loop's default executor: what ran (`fn`), when submitted, started and ended, and how many jobs
  were running or queued at submit (`busy`, `queued`);
- event-loop stalls (a 5 ms timer late by more than 15 ms), garbage collections over 2 ms, and waits for a
  database pool connection over 1 ms.

Nothing here runs unless the bench starts the server with it (bench/stack.py, BENCH_TRACE): the product does not
import this module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import json
import os
import re
import threading
import time

from live.asgi import application  # noqa: F401  (what daphne serves)

now = time.monotonic_ns
MARK = re.compile(r"zq(\d+)qz")
_records: list = []
_lock = threading.Lock()
_path = os.path.join(os.environ.get("BENCH_TRACE", "/tmp"), f"server-{os.getpid()}.jsonl")


def rec(kind: str, **fields) -> None:
    fields["k"] = kind
    _records.append(fields)  # list.append is atomic under the GIL


def _flusher() -> None:
    while True:
        time.sleep(1.0)
        flush()


def flush() -> None:
    with _lock:
        batch = _records[:]
        del _records[:len(batch)]
        if batch:
            with open(_path, "a") as fh:
                fh.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in batch))


def marker_of(obj) -> int | None:
    if isinstance(obj, dict):
        for value in obj.values():
            found = marker_of(value)
            if found is not None:
                return found
        return None
    if isinstance(obj, str):
        m = MARK.search(obj)
        return int(m.group(1)) if m else None
    return None


# --- the default executor ------------------------------------------------------------------------------------------

def _name(obj, depth: int = 0) -> str | None:
    if depth > 6:
        return None
    if isinstance(obj, functools.partial):
        for arg in (obj.func, *obj.args):
            found = _name(arg, depth + 1)
            if found:
                return found
        return None
    func = getattr(obj, "func", None)  # asgiref's SyncToAsync / channels' DatabaseSyncToAsync
    if func is not None and not isinstance(obj, type):
        found = _name(func, depth + 1)
        if found:
            return found
    name = getattr(obj, "__qualname__", None)
    module = getattr(obj, "__module__", "") or ""
    if name and not module.startswith(("asgiref", "channels.db", "contextvars", "concurrent")) \
            and name not in ("Context.run", "run"):
        return f"{module}.{name}"
    self = getattr(obj, "__self__", None)
    if self is not None and not isinstance(self, type):
        return _name(self, depth + 1)
    return None


class TracedExecutor(concurrent.futures.ThreadPoolExecutor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.running = 0
        self.pending = 0

    def submit(self, fn, /, *args, **kwargs):
        submitted = now()
        name = _name(functools.partial(fn, *args)) or repr(fn)[:80]
        busy, queued = self.running, self.pending
        self.pending += 1

        def job():
            started = now()
            self.pending -= 1
            self.running += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.running -= 1
                rec("exec", fn=name, sub=submitted, start=started, end=now(), busy=busy, queued=queued,
                    t=threading.get_ident() % 100000)

        return super().submit(job)


# --- the write's phases ------------------------------------------------------------------------------------------------

def _patch() -> None:
    from live import consumers, layers, streams
    from live.accounts import selectors
    from live.hub import Hub

    on_write = consumers.LiveConsumer.on_write

    async def traced_on_write(self, data):
        m = marker_of(data.get("data") or {})
        if m is not None:
            rec("arrive", m=m, t=now())
        return await on_write(self, data)

    consumers.LiveConsumer.on_write = traced_on_write

    write = consumers.LiveConsumer.write

    async def traced_write(self, ident, name, fields, state=None):
        try:
            return await write(self, ident, name, fields, state)
        finally:
            m = marker_of(fields)
            if m is not None:
                rec("answer", m=m, t=now())

    consumers.LiveConsumer.write = traced_write

    local = threading.local()
    run_write = consumers.LiveConsumer.run_write

    def traced_run_write(self, name, fields, signed_in, state=None):
        m = marker_of(fields)
        local.m = m
        t = now()
        try:
            return run_write(self, name, fields, signed_in, state)
        finally:
            if m is not None:
                rec("thread", m=m, t=t, end=now(), session=getattr(local, "session", None))
            local.m = None

    consumers.LiveConsumer.run_write = traced_run_write

    still = selectors.still_signed_in

    def traced_still(*args, **kwargs):
        try:
            return still(*args, **kwargs)
        finally:
            local.session = now()

    selectors.still_signed_in = traced_still

    publish = streams.publish

    def traced_publish(event):
        local.publish_at = now()
        return publish(event)

    streams.publish = traced_publish

    send_to_group = streams.send_to_group

    def traced_send(key, msg):
        m = marker_of(msg.get("frames") or {})
        if m is not None:
            rec("publish", m=m, t=getattr(local, "publish_at", None), rendered=now(), seq=msg.get("seq"),
                key=key)
        return send_to_group(key, msg)

    streams.send_to_group = traced_send

    send_async = streams._send_async

    async def traced_send_async(layer, *args):
        t = now()
        try:
            return await send_async(layer, *args)
        finally:
            sends = args[0] if len(args) == 1 else [tuple(args)]  # [(key, msg)], or (key, msg) before 50c96e3
            for _key, msg in sends:
                m = marker_of(msg.get("frames") or {})
                if m is not None:
                    rec("sent", m=m, t=t, end=now(), seq=msg.get("seq"))

    streams._send_async = traced_send_async

    receive = layers.RedisChannelLayer.receive

    async def traced_receive(self, channel):
        msg = await receive(self, channel)
        m = marker_of(msg.get("frames") or {}) if isinstance(msg, dict) else None
        if m is not None:
            rec("hub_rx", m=m, t=now(), seq=msg.get("seq"))
        return msg

    layers.RedisChannelLayer.receive = traced_receive

    receive_many = getattr(layers.RedisChannelLayer, "receive_many", None)

    async def traced_receive_many(self, channel, limit):
        msgs = await receive_many(self, channel, limit)
        t = now()
        for msg in msgs:
            m = marker_of(msg.get("frames") or {}) if isinstance(msg, dict) else None
            if m is not None:
                rec("hub_rx", m=m, t=t, seq=msg.get("seq"), n=len(msgs))
        return msgs

    if receive_many is not None:
        layers.RedisChannelLayer.receive_many = traced_receive_many

    handle_batch = Hub.handle_batch

    async def traced_batch(self, msgs):
        t = now()
        try:
            return await handle_batch(self, msgs)
        finally:
            end = now()
            for msg in msgs:
                m = marker_of(msg.get("frames") or {})
                if m is not None:
                    rec("fanout", m=m, t=t, end=end, n=len(msgs), subs=len(self.subscribers.get(msg.get("stream"), ())))

    Hub.handle_batch = traced_batch

    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        return
    getconn = ConnectionPool.getconn

    def traced_getconn(self, timeout=None):
        t = now()
        try:
            return getconn(self, timeout)
        finally:
            waited = now() - t
            if waited > 1_000_000:
                stats = self.get_stats()
                rec("pool", t=t, waited=waited, size=stats.get("pool_size"), avail=stats.get("pool_available"),
                    waiting=stats.get("requests_waiting"))

    ConnectionPool.getconn = traced_getconn


# --- stalls: the loop, the collector -------------------------------------------------------------------------------------

def _schedstat() -> tuple[int, int]:
    """This thread's (CPU time, time waiting for a CPU on the run queue), ns (/proc: the kernel's schedstat)."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as fh:
        cpu, wait, _slices = fh.read().split()
    return int(cpu), int(wait)


async def _watch_loop() -> None:
    """A 5 ms timer: when it fires more than 15 ms late, how much of that the loop's thread ran (`cpu`: Python
    code or a collection holding the loop) and how long it waited for a CPU the machine gave to others
    (`runq`); the rest it was off the CPU for another reason (the GIL held by a worker thread, a blocking call)."""
    while True:
        due = now() + 5_000_000
        cpu0, wait0 = _schedstat()
        await asyncio.sleep(0.005)
        late = now() - due
        if late > 15_000_000:
            cpu1, wait1 = _schedstat()
            rec("stall", t=due, late=late, cpu=cpu1 - cpu0, runq=wait1 - wait0)


_gc_started = [0, 0, 0]


def _gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[0] = now()
        _gc_started[1], _gc_started[2] = _schedstat()
    else:
        took = now() - _gc_started[0]
        if took > 2_000_000 or info.get("generation", 0) > 0:
            cpu, wait = _schedstat()
            rec("gc", t=_gc_started[0], took=took, cpu=cpu - _gc_started[1], runq=wait - _gc_started[2],
                gen=info.get("generation"), collected=info.get("collected"), loop=threading.current_thread() is
                threading.main_thread(), counts=gc.get_count())


def _garbage_edges(garbage: list) -> list:
    """The references between the garbage objects around one closed socket's daphne protocol: (from type,
    attribute or index, to type), the cycles that make a closed socket wait for the cyclic collector."""
    from daphne.ws_protocol import WebSocketProtocol

    ids = {id(o) for o in garbage}
    start = next((o for o in garbage if isinstance(o, WebSocketProtocol)), None)
    if start is None:
        return []

    def label(o):
        return f"{type(o).__module__.split('.')[0]}.{type(o).__qualname__}"

    def named(o):
        if isinstance(o, dict):
            return [(repr(k)[:30], v) for k, v in o.items()]
        if isinstance(o, (list, tuple, set, frozenset)) or type(o).__name__ == "deque":
            return [(f"[{i}]", v) for i, v in enumerate(o)]
        out = []
        d = getattr(o, "__dict__", None)
        if isinstance(d, dict):
            out += [(f".{k}", v) for k, v in d.items()]
        for slot in getattr(type(o), "__slots__", ()) or ():
            if hasattr(o, slot):
                out.append((f".{slot}", getattr(o, slot)))
        if not out:
            out = [("?", v) for v in gc.get_referents(o)]
        return out

    seen, todo, edges = {id(start)}, [start], []
    while todo and len(edges) < 400:
        o = todo.pop()
        for name, v in named(o):
            if id(v) in ids:
                edges.append((label(o), name, label(v)))
                if id(v) not in seen:
                    seen.add(id(v))
                    todo.append(v)
    return edges


def _garbage_census() -> None:
    """BENCH_TRACE_GARBAGE=<s>: that many seconds after start, what the cyclic collector would free (each type's
    count) and how many objects it tracks by generation, once."""
    from collections import Counter

    started = now()
    tracked = [len(gc.get_objects(generation=g)) for g in range(3)]
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        total = len(gc.garbage)
        edges = _garbage_edges(gc.garbage)
    finally:
        gc.set_debug(0)
        del gc.garbage[:]
    rec("garbage", t=started, took=now() - started, tracked=tracked, frozen=gc.get_freeze_count(), total=total,
        top=kinds.most_common(40), edges=edges)


def _install() -> None:
    if os.environ.get("BENCH_SWITCH_MS"):  # experiments: the GIL's switch interval (CPython's default 5 ms)
        import sys

        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_MS"]) / 1000)
    from daphne.server import twisted_loop as loop  # daphne's loop, not running yet

    # daphne's ASGI_THREADS sizes the default executor as daphne itself would; else asyncio's default.
    workers = int(os.environ.get("ASGI_THREADS", "0")) or min(32, (os.cpu_count() or 1) + 4)
    loop.set_default_executor(TracedExecutor(max_workers=workers, thread_name_prefix="asyncio"))
    from django.conf import settings

    from live import consumers

    if hasattr(consumers, "_write_pool") and settings.LIVE_WRITE_THREADS > 0:  # the socket writes' own pool, traced alike
        consumers._write_pool[:] = [TracedExecutor(max_workers=settings.LIVE_WRITE_THREADS,
                                                   thread_name_prefix="live-write")]
    loop.call_soon(lambda: loop.create_task(_watch_loop()))
    if os.environ.get("BENCH_TRACE_GARBAGE"):
        loop.call_later(float(os.environ["BENCH_TRACE_GARBAGE"]), _garbage_census)
    gc.callbacks.append(_gc)
    _patch()
    threading.Thread(target=_flusher, daemon=True, name="bench-trace").start()
    rec("start", t=now(), workers=workers, gc=gc.get_threshold(), frozen=gc.get_freeze_count())


_install()
