"""Coalesced frames per meeting: many small changes of one kind (reaction taps, poll answers) reach the database and
the screen as at most one frame per interval, whatever their number, and none is lost.

A change adds to a Redis hash of the meeting's pending counts (field -> n) and, in the same script, notes since when
the meeting has pending counts (a sorted set per kind of frame) and tries to open the meeting's frame window
(SET NX). The change that opens it schedules the frame: one `flush` after the interval, which takes the pending
counts, closes the window and forgets the "since" in one script, then hands the counts to the frame's writer
(the database and one event). Because taking the counts and closing the window are one atomic step, every change is
either in a frame already taken or opens (or finds open) a window whose flush is still to come: none is lost, and
the counts are exact. If the writer fails, the counts go back into the hash.

The frame of a process that dies before flushing (or whose writer failed) is not waited for: every process that has
received a change or served a screen runs a sweep (one Redis command a second) that flushes the meetings whose
counts have waited for more than a few intervals; an abandoned window expires after WINDOW_FRAMES intervals, so the
next change schedules a frame again. A sweep and a scheduled flush racing take the counts once: at worst one frame
more. While Redis is down, each change is written directly (one frame per change: correct, not coalesced).
Without Redis (development on the local-memory cache) the same steps run under one process's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection

logger = logging.getLogger(__name__)

WINDOW_FRAMES = 20  # a window whose flush never came (its process died) expires after this many intervals
STALE_FRAMES = 4  # counts pending for this many intervals (at least a second) are flushed by the sweep

_ADD_LUA = """
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[5])
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""
_TAKE_LUA = """
local counts = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return counts
"""
_PUT_BACK_LUA = """
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
"""


def _redis():
    """The cache's Redis client, or None (development on the local-memory cache)."""
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    return backend._cache.get_client(write=True) if isinstance(backend, RedisCache) else None


def _now_ms() -> int:
    return int(time.time() * 1000)


class Frames:
    """The frames of one kind of change. `write(meeting_pk, counts)` stores a frame's counts and appends its event
    (in a transaction of its own); `interval_ms()` is the frame interval (0: every change is its own frame)."""

    def __init__(self, name: str, *, interval_ms: Callable[[], int], write: Callable[[int, dict[str, int]], None]):
        self.name, self.interval_ms, self.write = name, interval_ms, write
        self._lock = threading.Lock()  # the local-memory stand-in
        self._pending: dict[int, dict[str, int]] = {}
        self._windows: set[int] = set()
        self._since: dict[int, int] = {}
        _registry[name] = self

    def _keys(self, meeting_pk: int) -> list[str]:
        backend = caches["default"]
        return [backend.make_key(f"meetings:{self.name}:{meeting_pk}:pending"),
                backend.make_key(f"meetings:{self.name}:{meeting_pk}:window"),
                backend.make_key(f"meetings:{self.name}:since")]

    def _schedule(self, delay: float, meeting_pk: int) -> None:
        """The frame of `meeting_pk`, `delay` seconds from now, in a thread of its own."""
        timer = threading.Timer(delay, self._flush_in_thread, args=(meeting_pk,))
        timer.daemon = True
        timer.start()

    def add(self, meeting_pk: int, field: str, n: int = 1) -> None:
        interval = self.interval_ms()
        try:
            client = _redis()
            if client is None:
                with self._lock:
                    pending = self._pending.setdefault(meeting_pk, {})
                    pending[field] = pending.get(field, 0) + n
                    self._since.setdefault(meeting_pk, _now_ms())
                    opened = meeting_pk not in self._windows
                    self._windows.add(meeting_pk)
            else:
                opened = bool(client.eval(_ADD_LUA, 3, *self._keys(meeting_pk), field, n,
                                          max(1, interval * WINDOW_FRAMES), _now_ms(), meeting_pk))
        except Exception:
            logger.warning("%s counters unavailable; this change is written directly", self.name, exc_info=True)
            self.write(meeting_pk, {field: n})
            return
        ensure_sweeper()
        if opened:
            if interval <= 0:
                self.flush(meeting_pk)
            else:
                self._schedule(interval / 1000, meeting_pk)

    def _take(self, meeting_pk: int) -> dict[str, int]:
        client = _redis()
        if client is None:
            with self._lock:
                self._windows.discard(meeting_pk)
                self._since.pop(meeting_pk, None)
                return self._pending.pop(meeting_pk, {})
        flat = client.eval(_TAKE_LUA, 3, *self._keys(meeting_pk), meeting_pk)
        return {(flat[i].decode() if isinstance(flat[i], bytes) else flat[i]): int(flat[i + 1])
                for i in range(0, len(flat), 2)}

    def _put_back(self, meeting_pk: int, counts: dict[str, int]) -> None:
        client = _redis()
        if client is None:
            with self._lock:
                pending = self._pending.setdefault(meeting_pk, {})
                for field, n in counts.items():
                    pending[field] = pending.get(field, 0) + n
                self._since.setdefault(meeting_pk, _now_ms())
            return
        pending, _window, since = self._keys(meeting_pk)
        client.eval(_PUT_BACK_LUA, 2, pending, since, meeting_pk, _now_ms(),
                    *[v for pair in counts.items() for v in pair])

    def flush(self, meeting_pk: int) -> dict[str, int]:
        """One frame: the pending counts go to the database and the screen. Returns what it wrote."""
        counts = self._take(meeting_pk)
        if not counts:
            return {}
        try:
            self.write(meeting_pk, counts)
        except Exception:
            logger.exception("%s of meeting %s could not be written; kept for the next frame", self.name, meeting_pk)
            self._put_back(meeting_pk, counts)
            raise
        return counts

    def _flush_in_thread(self, meeting_pk: int) -> None:
        try:
            self.flush(meeting_pk)
        except Exception:
            pass  # put back: the sweep flushes it
        finally:
            connection.close()  # this timer thread's own connection

    def stale(self, now_ms: int | None = None) -> list[int]:
        """The meetings whose counts have waited for more than STALE_FRAMES intervals (at least a second)."""
        before = (now_ms or _now_ms()) - max(1000, STALE_FRAMES * self.interval_ms())
        client = _redis()
        if client is None:
            with self._lock:
                return [pk for pk, since in self._since.items() if since <= before]
        return [int(pk) for pk in client.zrangebyscore(self._keys(0)[2], "-inf", before)]

    def sweep(self, now_ms: int | None = None) -> list[int]:
        """Flush the frames nobody flushed (their process died, or their write failed). Returns their meetings."""
        swept = []
        for meeting_pk in self.stale(now_ms):
            try:
                if self.flush(meeting_pk):
                    swept.append(meeting_pk)
            except Exception:
                pass  # logged by flush, put back for the next sweep
        return swept


_registry: dict[str, Frames] = {}
_sweeper: dict[str, threading.Thread] = {}
_sweeper_lock = threading.Lock()


def sweep_all(now_ms: int | None = None) -> dict[str, list[int]]:
    return {name: frames.sweep(now_ms) for name, frames in _registry.items()}


def _sweep_forever() -> None:
    while True:
        every = settings.MEETINGS_FRAME_SWEEP_SECONDS
        time.sleep(every if every > 0 else 1)
        if every <= 0:  # turned off since the thread started (tests)
            continue
        try:
            for name, pks in sweep_all().items():
                if pks:
                    logger.warning("%s left behind in meetings %s (a process died?): flushed by the sweep", name, pks)
        except Exception:
            logger.warning("the frame sweep failed", exc_info=True)
        finally:
            connection.close()


def ensure_sweeper() -> None:
    """Start this process's sweep (once). Called by every change and by the screen's page."""
    if _sweeper or settings.MEETINGS_FRAME_SWEEP_SECONDS <= 0:
        return
    with _sweeper_lock:
        if not _sweeper:
            thread = threading.Thread(target=_sweep_forever, name="meetings-frame-sweep", daemon=True)
            _sweeper["thread"] = thread
            thread.start()
