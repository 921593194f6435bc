"""One subscription per stream per process, fanned out locally to that process's sockets.

Stock Channels gives every socket its own channel and makes the layer copy each message once per socket (a Redis
round trip each). Here a process joins a stream's group once, receives each event once, and hands the same
pre-rendered bytes to every local socket following the stream. The hub also guarantees each stream arrives here
complete and in order: a gap (a dropped or reordered layer message) is filled from the log before delivery, and a
periodic sweep compares what it delivered with the log, which covers a Redis restart or an overflowing layer.

Two measured details (bench/, docs/performance.md): an event that arrives ahead of its predecessor (concurrent
requests publish in whatever order their threads reach Redis) is held up to GAP_WAIT for it before the hole is
read from the log, which used to cost a query and a render per reordering; and sockets that are live on a stream
get the event through `live.wire`, one pre-built frame written straight to the socket, instead of the per-socket
ASGI send chain.

Nothing that reads the log blocks the dispatcher: a hole, the sweep and an event rendered without a variant a
socket here reads (`_lacks`) are read by a task holding that stream's lock, in one read for all its held events,
while the dispatcher goes on with the other streams and holds that stream's new events for the task. (The
dispatcher used to read such an event itself, one at a time under one lock for every stream: a slow read of one
stream, 50-260 ms under load, stopped all of them; docs/performance.md, "The hub's receive".)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from live import metrics, streams, variants, wire
from live.layers import BUNDLE, cancelling

logger = logging.getLogger(__name__)

GAP_WAIT = 0.1  # seconds an early event waits for its predecessor before the hole is read from the log
# The hub's reads of the log (holes, the sweep's fills, completions) run one at a time, whatever the streams: each
# renders every variant in a worker thread, and S2 under overload (load 9-15) with one per stream at once queued up
# to 900 jobs in the loop's thread pool, where the replays and authorizations of reconnecting sockets waited 10 s
# and more (sockets refused, events lost): reads in parallel help nothing when the machine is what is short.
LOG_READS = 1
# The last events each followed stream delivered here, kept for sockets that resume (a reconnect storm replays
# them from memory instead of querying and rendering once per socket). Only recent ones: an older position is
# replayed from the log, rendered from the current state.
RECENT_EVENTS = 256
RECENT_SECONDS = 10.0
# Batching under bursts. A fan-out to many sockets blocks this process for milliseconds, and events pile up in
# the layer meanwhile. After such a fan-out (longer than BUSY_FANOUT) the dispatcher lets the receiver pull what is
# waiting, LINGER_STEP at a time while more keeps coming (at most BATCH_LINGER_MS), and writes each socket the run of
# consecutive events of a stream in one send: the same frames, one system call instead of one per event. A quiet
# process fans each event out at once. LIVE_BATCH_LINGER_MS = 0 turns the gathering off.
BUSY_FANOUT = 0.005
LINGER_STEP = 0.0005
MAX_BATCH = 64
STOP_SECONDS = 5.0  # a stopping hub's tasks get this long to end (`stop`)


class Hub:
    """This process's subscription to each stream its sockets follow, in named parts (the sections below):
    membership, lifecycle, receiving, ordering/holes/sweep, recent-events memory, variants, fan-out. The sockets'
    own positions belong to their consumers (live/consumers.py): the hub only asks them (`reads`, `write_live`,
    `push`, `reset`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.subscribers: dict[str, set] = defaultdict(set)
        self.last: dict[str, int] = {}  # highest seq delivered locally, per stream
        self.joined: set[str] = set()
        self.tasks: list[asyncio.Task] = []
        # One lock per stream serializes its deliveries (its events never overtake each other). Only the hub's own
        # tasks wait for one (a gap fill, the sweep, a completion from the log: `_reading`); the dispatcher never
        # does: it holds an event of a stream that is busy so, and the task delivers it after (`handle`). Taken
        # through `_locked` only, which counts who holds or waits for it (`lock_users`): a stream's lock is dropped
        # when its last socket leaves and nobody holds or waits for it, else when the last of those lets it go.
        self.locks: dict[str, asyncio.Lock] = {}
        self.lock_users: dict[str, int] = {}
        self.log_reads = asyncio.Semaphore(LOG_READS)
        self.reading: dict[str, int] = {}  # stream -> the hub's tasks holding or waiting for its lock (`_reading`)
        self.layer_ok = True
        self.held: dict[str, dict[int, dict]] = {}  # stream -> {seq: msg} arrived ahead of a missing predecessor
        self.gap_tasks: dict[str, asyncio.Task] = {}
        self.gap_wakes: dict[str, asyncio.Event] = {}  # stream -> what ends its gap task's wait early
        self.recent: dict[str, deque] = {}  # stream -> deque of (seq, monotonic time, msg), contiguous
        self.touched: dict[str, dict[str, int]] = {}  # stream -> {ref: last seq in `recent` touching it}
        self.epochs: dict[str, str] = {}
        self.replays: dict[tuple, asyncio.Future] = {}  # log replays in flight, shared by identical resumes
        self.joining: dict[str, asyncio.Future] = {}  # stream -> its first socket's join, until the head is read
        self.inbox: deque[dict] = deque()  # received from the layer, not yet handled
        self.arrived = asyncio.Event()
        self.busy = False  # the last fan-out took longer than BUSY_FANOUT: events are probably waiting
        self.linger = settings.LIVE_BATCH_LINGER_MS / 1000
        self.swept: dict[str, int] = {}  # the log's heads at the previous sweep
        self.needed: dict[str, set[tuple[str, str]]] = {}  # stream -> (audience, lang) of its sockets, computed
        self.marked: dict[tuple[str, str], float] = {}  # (stream, variant) -> when this hub last marked it
        self.to_mark: set[tuple[str, str]] = set()  # marks waiting for the next hand-off to Redis
        self.stopping: asyncio.Future | None = None  # set while `stop` waits for its tasks to end

    # --- membership: which local sockets follow which stream; the layer's groups joined once per stream -----------

    async def subscribe(self, key: str, consumer) -> None:
        """Join first (the caller replays after), so nothing committed from now on can be missed. The first
        socket's join ends with the log's head read: what committed before it counts as delivered here, so a socket
        arriving meanwhile waits for that read before it replays (its replay then reaches past that head)."""
        await self._ensure_started()
        first = not self.subscribers[key]
        self.subscribers[key].add(consumer)
        self.variant_changed(key, consumer, first=first)
        if not first:
            joining = self.joining.get(key)
            if joining is not None:
                await asyncio.shield(joining)
            return
        joining = self.joining[key] = self.loop.create_future()
        try:
            await self._join(key)
            if key not in self.last:
                head = (await database_sync_to_async(streams.heads, thread_sensitive=False)([key])).get(key)
                self.last[key] = head[1] if head else 0
                if head:
                    self.epochs[key] = head[0]
        finally:
            joining.set_result(None)
            if self.joining.get(key) is joining:
                del self.joining[key]

    async def unsubscribe(self, key: str, consumer) -> None:
        subs = self.subscribers.get(key)
        if not subs:
            return
        subs.discard(consumer)
        self.needed.pop(key, None)
        if not subs:
            del self.subscribers[key]
            self.last.pop(key, None)
            self.held.pop(key, None)
            self.recent.pop(key, None)
            self.touched.pop(key, None)
            self.epochs.pop(key, None)
            if not self.lock_users.get(key):
                # A task inside (or waiting for) the lock keeps it, and drops it as it leaves (`_locked`): dropped
                # here, a socket following the stream again meanwhile made a second lock, and two tasks delivered
                # the stream at once.
                self.locks.pop(key, None)
            task = self.gap_tasks.pop(key, None)
            if task is not None:
                task.cancel()
            if key in self.joined:
                self.joined.discard(key)
                try:
                    await self.layer.group_discard(streams.group_name(key), self.channel)
                except Exception:
                    logger.debug("group_discard failed for %s", key, exc_info=True)
        if not self.subscribers:
            # Never stop inline: this may run inside the hub's own tasks (a control event closing a socket).
            self.loop.create_task(self._stop_if_idle())

    async def _join(self, key: str) -> None:
        try:
            await self.layer.group_add(streams.group_name(key), self.channel)
            self.joined.add(key)
        except Exception:
            # The sweep keeps delivering from the log meanwhile and retries the join.
            self.layer_ok = False
            logger.warning("channel layer unavailable, %s will be swept", key, exc_info=True)

    async def _rejoin(self) -> None:
        """Join every followed stream's group again (a Redis restart forgets them): in one script call per chunk of
        groups where the layer can (live/layers.py `group_add_many`), else one group_add each."""
        keys = list(self.subscribers)
        add_many = getattr(self.layer, "group_add_many", None)
        if add_many is not None:
            try:
                await add_many([streams.group_name(key) for key in keys], self.channel)
            except Exception:
                self.layer_ok = False  # the sweep delivers meanwhile and the next turn rejoins
                return
            self.joined.update(key for key in keys if key in self.subscribers)
            self.layer_ok = True
            return
        ok = True
        for key in keys:
            try:
                await self.layer.group_add(streams.group_name(key), self.channel)
                self.joined.add(key)
            except Exception:
                ok = False
        self.layer_ok = ok

    async def _stop_if_idle(self) -> None:
        if not self.subscribers and self.tasks:
            await self.stop()

    # --- lifecycle ------------------------------------------------------------------------------------------------
    # One hub per event loop for the loop's whole life (`get_hub`): it stops its tasks when its last socket leaves
    # and starts them again for the next one, never replaced. A second hub on the loop would receive on the same
    # Redis key as the first (the process's channels share one: live/layers.py), and each would drop what it popped
    # for the other: events then came late from the log, and typing and count frames, which have no log, never.
    # A start waits for a stop in progress, so two receive loops never overlap either.

    async def _ensure_started(self) -> None:
        while self.stopping is not None:
            await asyncio.shield(self.stopping)
        if self.tasks:
            return
        self.channel = await self.layer.new_channel(prefix="hub")
        self.tasks = [
            self.loop.create_task(self._receive_loop(), name="live-hub-receive"),
            self.loop.create_task(self._dispatch_loop(), name="live-hub-dispatch"),
            self.loop.create_task(self._sweep_loop(), name="live-hub-sweep"),
        ]

    async def stop(self) -> None:
        tasks, self.tasks = self.tasks + list(self.gap_tasks.values()), []
        self.gap_tasks = {}
        self.stopping = stopping = self.loop.create_future()
        try:
            # Cancelled again until they end: a cancellation can be lost inside redis-py's blocking read (seen in
            # the browser tests: the receive task "cancelling" yet waiting in a read, 2 stops in 50), and that
            # receive loop then went on for ever beside the next start's, each dropping what the other was sent.
            pending = set(tasks)
            deadline = time.monotonic() + STOP_SECONDS
            while pending and time.monotonic() < deadline:
                for task in pending:
                    task.cancel()
                _done, pending = await asyncio.wait(pending, timeout=0.1)
            if pending:
                logger.error("hub tasks still running %.0f s after their cancellation: %s", STOP_SECONDS,
                             ", ".join(task.get_name() for task in pending))
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    logger.error("hub task %s had failed", task.get_name(), exc_info=task.exception())
            self.inbox.clear()
            self.arrived.clear()
        finally:
            self.stopping = None
            stopping.set_result(None)

    # --- receiving: the layer's messages queued, then handled in arrival order, gathered under bursts -------------

    async def _receive_loop(self) -> None:
        backoff = 0.1
        many = getattr(self.layer, "receive_many", None)  # what is waiting, at once (live/layers.py)
        while True:
            try:
                msgs = await many(self.channel, MAX_BATCH) if many else [await self.layer.receive(self.channel)]
            except asyncio.CancelledError:
                raise
            except Exception:
                if cancelling():  # redis-py turns a cancellation mid-read into ConnectionError: stop anyway
                    raise asyncio.CancelledError from None
                self.layer_ok = False
                logger.warning("channel layer receive failed; retrying in %.1fs", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
                continue
            if not self.layer_ok:
                self.layer_ok = True
                await self._rejoin()
            backoff = 0.1
            for msg in msgs:
                if msg.get("type") == BUNDLE:  # the events of one write on several streams (layers.group_send_many)
                    self.inbox.extend(msg["messages"])
                else:
                    self.inbox.append(msg)
            self.arrived.set()

    def publish_here(self, sends: list[tuple[str, dict]]) -> str | None:
        """This process's own events (live/streams.py `_send_async`, on this hub's loop): those of the streams
        whose groups it joined are queued as the receive loop queues what the layer brings, and the layer is to
        skip this hub's channel (the channel returned; None when the hub is not running, for the layer to carry
        everything). A copy of each message: the layer serializes the original after this returns, and the fan-out
        caches its frames in the one it delivers (live/wire.py)."""
        if not self.tasks or self.channel is None:
            return None
        mine = [dict(msg) for key, msg in sends if key in self.joined]
        if mine:
            self.inbox.extend(mine)
            self.arrived.set()
        return self.channel

    async def _dispatch_loop(self) -> None:
        """Handle what the receiver queued, in arrival order; after a long fan-out, gather a burst first."""
        while True:
            await self.arrived.wait()
            if self.busy and self.linger:
                # At most `linger` of real time: each step is a turn of the loop, which a busy process (the very
                # case of lingering) takes 10-300 ms to come back from, so counting the steps' nominal 0.5 ms let
                # six of them hold what was gathered for as many turns.
                until = time.monotonic() + self.linger
                while len(self.inbox) < MAX_BATCH and time.monotonic() < until:
                    before = len(self.inbox)
                    await asyncio.sleep(LINGER_STEP)
                    if len(self.inbox) == before:
                        break
            self.arrived.clear()
            batch = list(self.inbox)
            self.inbox.clear()
            started = time.monotonic()
            try:
                await self.handle_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub failed to handle a batch of %d", len(batch))
            self.busy = time.monotonic() - started > BUSY_FANOUT

    async def handle_batch(self, msgs: list[dict]) -> None:
        """Runs of consecutive events of one stream go out together; anything else goes through handle()."""
        run: list[dict] = []
        for msg in msgs:
            if run and _follows(run[-1], msg):
                run.append(msg)
                continue
            if run:
                await self._deliver_run(run)
            run = [msg]
        if run:
            await self._deliver_run(run)

    async def _deliver_run(self, run: list[dict]) -> None:
        key = run[0].get("stream")
        if len(run) > 1 and key in self.subscribers and not self.held.get(key) and not self.reading.get(key):
            async with self._locked(key):
                last = self.last.get(key, 0)
                fresh = [msg for msg in run if msg["seq"] > last]
                if fresh and fresh[0]["seq"] == last + 1 and not any(self._lacks(key, msg) for msg in fresh):
                    for msg in fresh:
                        self._remember(key, msg)
                    self.last[key] = fresh[-1]["seq"]
                    await self._fanout_run(key, fresh)
                    return
        for msg in run:  # a hole, held events, or a single event: the general path
            try:
                await self.handle(msg)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub failed to handle %s", key)

    # --- ordering, holes and the sweep: each stream complete and in order, the log is the truth -------------------

    async def handle(self, msg: dict) -> None:
        key = msg.get("stream")
        if key not in self.subscribers:
            return
        seq = msg.get("seq")
        if seq is None:  # ephemeral: typing, presence; no order to keep
            await self._fanout(key, msg)
            return
        if self.reading.get(key):
            # A task of this hub is reading this stream's log (a hole, the sweep, a completion): the event waits
            # with the held ones, which that task delivers when it is done, instead of this dispatcher (and every
            # other stream behind it) waiting for the read.
            if seq > self.last.get(key, 0):
                self.held.setdefault(key, {})[seq] = msg
                self._fill_later(key, GAP_WAIT)
            return
        async with self._locked(key):  # free: only the hub's tasks take it besides this dispatcher (`_reading`)
            last = self.last.get(key, 0)
            if seq <= last:
                return  # already delivered (by the sweep or a gap fill)
            if seq > last + 1:
                # Most holes are a reordering between publishing threads or processes: wait a little for the
                # missing events before reading them from the log.
                self.held.setdefault(key, {})[seq] = msg
                self._fill_later(key, GAP_WAIT)
                return
            if self._lacks(key, msg):
                # Rendered without a variant a socket here reads: read it from the log in a task of its own.
                self.held.setdefault(key, {})[seq] = msg
                self._fill_later(key, 0)
                return
            await self._deliver(key, msg)
            await self._release_held(key, reads=False)

    @contextlib.asynccontextmanager
    async def _locked(self, key: str):
        """The stream's lock, counted while held or waited for: it outlives an unsubscribe until the last of them
        leaves, so that a socket following the stream again meanwhile gets the same lock."""
        lock = self.locks.get(key)
        if lock is None:
            lock = self.locks[key] = asyncio.Lock()
        self.lock_users[key] = self.lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            if self.lock_users[key] > 1:
                self.lock_users[key] -= 1
            else:
                del self.lock_users[key]
                if key not in self.subscribers:
                    self.locks.pop(key, None)

    @contextlib.asynccontextmanager
    async def _reading(self, key: str):
        """The stream's lock, for a task of the hub that reads its log: the dispatcher holds the stream's events
        meanwhile instead of waiting (`handle`)."""
        self.reading[key] = self.reading.get(key, 0) + 1
        try:
            async with self._locked(key):
                yield
        finally:
            if self.reading[key] > 1:
                self.reading[key] -= 1
            else:
                del self.reading[key]

    def _fill_later(self, key: str, wait: float) -> None:
        """Make sure a task will deliver `key`'s held events: after `wait` (a hole: its events may still come),
        or at once (an event to be read again from the log), which ends an existing task's wait early."""
        if key not in self.gap_tasks:
            self.gap_tasks[key] = self.loop.create_task(self._close_gap(key, wait))
        elif not wait and (wake := self.gap_wakes.get(key)) is not None:
            wake.set()  # the task waiting for a hole's events: now

    async def _release_held(self, key: str, reads: bool = True) -> None:
        """Deliver the held events that now follow on; forget those already delivered. Without `reads` (the
        dispatcher), an event that must be read from the log stays held for a task (`_fill_later`)."""
        held = self.held.get(key)
        while held:
            last = self.last.get(key, 0)
            msg = held.get(last + 1)
            if msg is not None and not reads and self._lacks(key, msg):
                self._fill_later(key, 0)
                return
            msg = held.pop(last + 1, None)
            if msg is None:
                for seq in [seq for seq in held if seq <= last]:
                    del held[seq]
                break
            await self._deliver(key, msg)
        if not held:
            self.held.pop(key, None)
            task = self.gap_tasks.pop(key, None)
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    async def _close_gap(self, key: str, wait: float = GAP_WAIT) -> None:
        """Deliver `key`'s held events: the hole before them read from the log after `wait` (in one read, with
        every held event that must be read again for a variant: `_fill_upto`), the rest as they follow."""
        try:
            if wait:
                wake = self.gap_wakes[key] = asyncio.Event()
                try:
                    async with asyncio.timeout(wait):
                        await wake.wait()
                except TimeoutError:
                    pass
                finally:
                    if self.gap_wakes.get(key) is wake:
                        del self.gap_wakes[key]
            joining = self.joining.get(key)
            if joining is not None:  # no position here yet: the head being read says which held events are new
                await asyncio.shield(joining)
            if key not in self.subscribers:
                return
            async with self._reading(key):
                held = self.held.get(key)
                if held and key in self.subscribers:
                    last = self.last.get(key, 0)
                    if min(held) > last + 1:
                        metrics.hole("gap", min(held) - 1 - last)
                    upto = self._fill_upto(key, held)
                    if upto > last:
                        await self._fill(key, last, upto=upto)
                    await self._release_held(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("filling a hole in %s failed; the sweep will", key, exc_info=True)
        finally:
            if self.gap_tasks.get(key) is asyncio.current_task():
                del self.gap_tasks[key]
            if self.tasks and self.held.get(key) and key not in self.gap_tasks and key in self.subscribers:
                self._fill_later(key, GAP_WAIT)

    def _fill_upto(self, key: str, held: dict[int, dict]) -> int:
        """How far the log must be read for `key`: the hole before the first held event, and on through the held
        events that follow on from there while some of them lacks a variant (one read for all of them)."""
        upto = min(held) - 1
        seq = upto + 1
        lacking = upto
        while seq in held:
            if self._lacks(key, held[seq]):
                lacking = seq
            seq += 1
        return max(upto, lacking)

    async def _deliver(self, key: str, msg: dict) -> None:
        if key not in self.subscribers:
            return  # its last socket left during a read of its log: nothing of it is kept (`unsubscribe`)
        if msg["seq"] <= self.last.get(key, 0):
            return
        msg = await self._complete(key, msg)
        self._remember(key, msg)
        self.last[key] = msg["seq"]
        await self._fanout(key, msg)

    async def _fill(self, key: str, after: int, upto: int | None = None) -> None:
        try:
            async with self.log_reads:
                messages = await database_sync_to_async(_messages_after, thread_sensitive=False)(key, after, upto)
        except streams.Reset as reset:
            if key not in self.subscribers:
                return  # its last socket left meanwhile
            # Too far behind to replay: every local socket on this stream must reload its region.
            self.last[key] = reset.seq
            for consumer in list(self.subscribers.get(key, ())):
                await consumer.reset(reset)
            return
        for msg in messages:
            await self._deliver(key, msg)

    async def _sweep_loop(self) -> None:
        interval = settings.LIVE_SWEEP_SECONDS
        rejoin_every = max(1, int(30 / interval))
        refresh_every = max(1, int(variants.REFRESH_SECONDS / interval))
        n = 0
        while True:
            await asyncio.sleep(interval)
            n += 1
            try:
                if n % refresh_every == 0:
                    await self._refresh_marks()
                await self.sweep()
                if n % rejoin_every == 0 or not self.layer_ok:
                    # Redis restarts forget group memberships while our sockets stay open.
                    await self._rejoin()
            except asyncio.CancelledError:
                raise
            except Exception:
                if cancelling():
                    raise asyncio.CancelledError from None
                logger.warning("sweep failed", exc_info=True)

    async def sweep(self) -> None:
        """Deliver from the log what was committed at least one sweep ago and never arrived. Fresher events are
        left alone: their publish is on its way (rendering, then Redis), and a fill would render them all from the
        current state at once, so a bounded view (the screen's latest six) would skip some of them."""
        keys = list(self.subscribers)
        if not keys:
            return
        current = await database_sync_to_async(streams.heads, thread_sensitive=False)(keys)
        previous, self.swept = self.swept, {key: seq for key, (_epoch, seq, _low) in current.items()}
        for key, (_epoch, seq, _low) in current.items():
            upto = min(seq, previous.get(key, 0))
            if key in self.subscribers and upto > self.last.get(key, 0):
                async with self._reading(key):
                    if upto > self.last.get(key, 0):
                        metrics.hole("sweep", upto - self.last.get(key, 0))
                        await self._fill(key, self.last.get(key, 0), upto=upto)
                        await self._release_held(key)

    # --- recent-events memory: replays for resuming sockets without a query ---------------------------------------

    def _remember(self, key: str, msg: dict, stamp: float | None = None) -> None:
        seq = msg["seq"]
        recent = self.recent.get(key)
        if recent is None or (recent and recent[-1][0] != seq - 1):
            recent = self.recent[key] = deque(maxlen=RECENT_EVENTS)
            self.touched[key] = {}
        touched = self.touched[key]
        refs = msg.get("refs")
        if refs is None:
            recent.clear()  # cannot tell what it changed: replay anything older from the log
            touched.clear()
        else:
            stale = max((touched.get(ref, 0) for ref in refs), default=0)
            while recent and recent[0][0] <= stale:
                recent.popleft()  # an earlier frame shows something this event changed
            for ref in refs:
                touched[ref] = seq
            if len(touched) > 4 * RECENT_EVENTS:
                low = recent[0][0] if recent else seq
                self.touched[key] = {ref: s for ref, s in touched.items() if s >= low}
        recent.append((seq, time.monotonic() if stamp is None else stamp, msg))

    async def shared_replay(self, key: str, after: int, epoch: str | None, fetch) -> list[dict]:
        """One log replay for every socket resuming `key` from the same position at the same time (a reconnect
        storm): the first runs `fetch()`, the others wait for its result. The caller completes it with what the
        hub delivered meanwhile (`replay_from_memory`), see LiveConsumer.catch_up."""
        token = (key, after, epoch or "")
        future = self.replays.get(token)
        if future is not None:
            try:
                return await asyncio.shield(future)
            except _ReplayAbandoned:  # the socket reading it went away: read it for this one
                return await self.shared_replay(key, after, epoch, fetch)
        future = self.replays[token] = self.loop.create_future()
        try:
            result = await fetch()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, Exception) else _ReplayAbandoned("replay cancelled"))
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self.replays.pop(token, None)

    def learn_replay(self, key: str, msgs: list[dict]) -> None:
        """A socket's replay read from the log (and rendered now) extends the memory backwards when it ends where
        the memory starts: the next sockets resuming from the same position then need no query at all."""
        if not msgs or key not in self.subscribers:
            return
        end = msgs[-1]["seq"]
        last = self.last.get(key, 0)
        recent = self.recent.get(key) or deque()
        if end > last or (end < last and (not recent or recent[0][0] > end + 1)):
            return
        if any(b["seq"] != a["seq"] + 1 for a, b in zip(msgs, msgs[1:], strict=False)):
            return
        now = time.monotonic()
        entries = [(m["seq"], now, m) for m in msgs] + [entry for entry in recent if entry[0] > end]
        if entries[-1][0] != last:
            return
        self.recent[key], self.touched[key] = deque(maxlen=RECENT_EVENTS), {}
        for entry in entries:  # the same staleness rule as live deliveries
            self._remember(key, entry[2], stamp=entry[1])

    def replay_from_memory(self, key: str, after: int, epoch: str | None,
                           variant: tuple[str, str] | None = None) -> list[dict] | None:
        """The events of `key` after `after` as delivered here, when the hub holds all of them, recent and
        rendered for `variant` (audience, lang); None when the log must be asked (older position, other epoch,
        not followed here, or delivered before anyone here read that variant)."""
        last = self.last.get(key)
        known_epoch = self.epochs.get(key)
        if last is None or known_epoch is None or (epoch and epoch != known_epoch) or after > last:
            return None
        if after == last:
            return []
        recent = self.recent.get(key)
        if not recent or recent[0][0] > after + 1 or recent[-1][0] != last:
            return None
        first = after + 1 - recent[0][0]
        if recent[first][1] < time.monotonic() - RECENT_SECONDS:
            return None
        out = [recent[i][2] for i in range(first, len(recent))]
        if variant is not None and not all(variants.covers(msg, *variant) for msg in out):
            return None
        return out

    # --- variants: render only what some socket reads (live/variants.py) ------------------------------------------

    def variant_changed(self, key: str, consumer, first: bool = False) -> None:
        """`consumer` follows `key` now, or as another audience: note its variant, and mark it if it is new. The
        first socket of this process on `key` always marks: what this hub marked before its sockets there closed may
        be gone from Redis since (a Redis restart; a test's cleared cache), and an ephemeral frame (the debate list's
        comment count) is skipped on a missing mark, with no log to render it from."""
        self.needed.pop(key, None)
        reads = consumer.reads(key)
        if reads is None or not variants.enabled():
            return
        pair = (key, variants.variant(*reads))
        if not first and time.monotonic() - self.marked.get(pair, -1e9) < variants.REFRESH_SECONDS:
            return
        self.marked[pair] = time.monotonic()
        if not self.to_mark:
            self.loop.call_soon(self._flush_marks)
        self.to_mark.add(pair)

    def _flush_marks(self) -> None:
        pairs, self.to_mark = list(self.to_mark), set()
        if pairs:
            self.loop.create_task(self._mark(pairs))

    async def _mark(self, pairs: list[tuple[str, str]]) -> None:
        try:
            await sync_to_async(variants.mark, thread_sensitive=False)(pairs)
        except Exception:  # a hint only: the events rendered without these variants are completed here
            logger.warning("could not mark followed variants", exc_info=True)
            for pair in pairs:
                self.marked.pop(pair, None)

    async def _refresh_marks(self) -> None:
        now = time.monotonic()
        pairs = [(key, variants.variant(audience, lang)) for key in list(self.subscribers)
                 for audience, lang in self._needed(key)]
        self.marked = {pair: now for pair in pairs}
        await self._mark(pairs)

    def _needed(self, key: str) -> set[tuple[str, str]]:
        needed = self.needed.get(key)
        if needed is None:
            needed = {reads for consumer in self.subscribers.get(key, ()) if (reads := consumer.reads(key))}
            self.needed[key] = needed
        return needed

    def _lacks(self, key: str, msg: dict) -> bool:
        """`msg` was rendered without a variant this process's sockets need (a socket began following a variant
        nobody else did while the event was on its way): it must be read again from the log."""
        return msg.get("only") is not None and not all(variants.covers(msg, *pair) for pair in self._needed(key))

    async def _complete(self, key: str, msg: dict) -> dict:
        """`msg` if it holds every variant this process's sockets need, else the event rendered again from the
        log for all of them. Only in the hub's tasks, holding the stream's lock (a held event whose variant came
        after its task's read); the dispatcher holds such events for them (`handle`)."""
        if not self._lacks(key, msg):
            return msg
        seq = msg["seq"]
        async with self.log_reads:
            full = await database_sync_to_async(_messages_after, thread_sensitive=False)(key, seq - 1, seq)
        if not full or full[-1]["seq"] != seq:
            raise LookupError(f"{key}#{seq} is not in the log")  # the sweep will deliver it
        return full[-1]

    # --- fan-out: each live socket writes its frames itself (LiveConsumer.write_live), the others get push() ------

    async def _fanout(self, key: str, msg: dict) -> None:
        seq = msg.get("seq")
        # Control and ephemeral messages always take push(): the consumer acts on them.
        frames = wire.Frames(key, [msg]) if seq is not None and not msg.get("control") else None
        written = 0
        for consumer in list(self.subscribers.get(key, ())):
            try:
                if frames is not None and consumer.write_live(key, seq, seq, frames):
                    written += 1
                    continue
                await consumer.push(key, msg)
            except Exception:
                logger.exception("push to a socket failed")
        if written:
            metrics.frames_delivered(key, written)  # once per fan-out, not once per socket

    async def _fanout_run(self, key: str, run: list[dict]) -> None:
        """Consecutive events to every local socket: live sockets get their frames in one write."""
        frames = wire.Frames(key, run)
        first, end = run[0]["seq"], run[-1]["seq"]
        written = 0
        for consumer in list(self.subscribers.get(key, ())):
            try:
                if consumer.write_live(key, first, end, frames):
                    written += 1
                    continue
                for msg in run:
                    await consumer.push(key, msg)
            except Exception:
                logger.exception("push to a socket failed")
        if written:
            metrics.frames_delivered(key, written * len(run))


class _ReplayAbandoned(RuntimeError):
    """A shared replay whose reader was cancelled (its socket went away): the others read it again."""


def _follows(prev: dict, msg: dict) -> bool:
    """`msg` is the event right after `prev` on the same stream (control and ephemeral messages travel alone)."""
    seq = prev.get("seq")
    return (seq is not None and msg.get("seq") == seq + 1 and msg.get("stream") == prev.get("stream")
            and not prev.get("control") and not msg.get("control"))


def _messages_after(key: str, after: int, upto: int | None) -> list[dict]:
    return streams.replay_messages(key, after, upto=upto)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def running_hub() -> Hub | None:
    """The running event loop's hub if it has one (never made here)."""
    return _hubs.get(asyncio.get_running_loop())


def get_hub() -> Hub:
    """This event loop's hub, the same one for the loop's whole life (the lifecycle section of `Hub`)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for closed in [other for other in _hubs if other.is_closed()]:  # tests: one loop each
            del _hubs[closed]
        hub = _hubs[loop] = Hub(loop)
    return hub
