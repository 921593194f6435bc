"""Reactions, coalesced per meeting: 300 phones tapping twice a second make at most one screen frame per
MEETINGS_REACTION_FRAME_MS (250 ms: 4 frames a second), whatever the number of taps.

A tap adds one to a Redis hash of the meeting's pending counts ("<agenda item>:<kind>" -> n) and, in the same
script, tries to open the meeting's frame window (SET NX). The tap that opens it schedules the frame: one
`flush` after MEETINGS_REACTION_FRAME_MS, which takes the pending counts and closes the window in one script, adds
them to the database (ReactionCount rows: counts, never a row per tap) and appends one `reactions.changed` event
carrying the frame's counts per kind (services.add_reactions). Because taking the counts and closing the window
are one atomic step, every tap is either in a frame already taken or opens (or finds open) a window whose flush is
still to come: none is lost, and the final count is exact. If the database write fails, the counts go back into
the hash for the next frame. If the process that scheduled a frame dies before it, its window expires after
WINDOW_FRAMES frames and the next tap takes the counts left behind. While Redis is down, each tap is written
directly (one frame per tap: correct, not coalesced; the per-phone rate limit still holds).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.cache import caches
from django.db import connection

logger = logging.getLogger(__name__)

WINDOW_FRAMES = 20  # a window whose flush never came (its process died) expires after this many frames

_TAP_LUA = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_TAKE_LUA = """
local counts = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return counts
"""
_PUT_BACK_LUA = """
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], 86400000)
"""


def _keys(meeting_pk: int) -> list[str]:
    backend = caches["default"]
    return [backend.make_key(f"meetings:reactions:{meeting_pk}:pending"),
            backend.make_key(f"meetings:reactions:{meeting_pk}:window")]


def _redis():
    """The cache's Redis client, or None (development on the local-memory cache)."""
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    return backend._cache.get_client(write=True) if isinstance(backend, RedisCache) else None


# The local-memory stand-in (development without Redis): the same two steps under one process's lock.
_local_lock = threading.Lock()
_local_pending: dict[int, dict[str, int]] = {}
_local_windows: set[int] = set()


def _schedule(delay: float, meeting_pk: int) -> None:
    """The frame of `meeting_pk`, `delay` seconds from now, in a thread of its own."""
    timer = threading.Timer(delay, _flush_in_thread, args=(meeting_pk,))
    timer.daemon = True
    timer.start()


def tap(meeting_pk: int, item_pk: int | None, kind: str) -> None:
    field = f"{item_pk or 0}:{kind}"
    frame_ms = settings.MEETINGS_REACTION_FRAME_MS
    try:
        client = _redis()
        if client is None:
            with _local_lock:
                pending = _local_pending.setdefault(meeting_pk, {})
                pending[field] = pending.get(field, 0) + 1
                opened = meeting_pk not in _local_windows
                _local_windows.add(meeting_pk)
        else:
            opened = bool(client.eval(_TAP_LUA, 2, *_keys(meeting_pk), field, max(1, frame_ms * WINDOW_FRAMES)))
    except Exception:
        logger.warning("reaction counters unavailable; this tap is written directly", exc_info=True)
        _write(meeting_pk, {field: 1})
        return
    if opened:
        if frame_ms <= 0:
            flush(meeting_pk)
        else:
            _schedule(frame_ms / 1000, meeting_pk)


def _take(meeting_pk: int) -> dict[str, int]:
    client = _redis()
    if client is None:
        with _local_lock:
            _local_windows.discard(meeting_pk)
            return _local_pending.pop(meeting_pk, {})
    flat = client.eval(_TAKE_LUA, 2, *_keys(meeting_pk))
    return {(flat[i].decode() if isinstance(flat[i], bytes) else flat[i]): int(flat[i + 1])
            for i in range(0, len(flat), 2)}


def _put_back(meeting_pk: int, counts: dict[str, int]) -> None:
    client = _redis()
    if client is None:
        with _local_lock:
            pending = _local_pending.setdefault(meeting_pk, {})
            for field, n in counts.items():
                pending[field] = pending.get(field, 0) + n
        return
    client.eval(_PUT_BACK_LUA, 1, _keys(meeting_pk)[0], *[v for pair in counts.items() for v in pair])


def _write(meeting_pk: int, counts: dict[str, int]) -> None:
    from meetings import services

    parsed = {}
    for field, n in counts.items():
        item, _sep, kind = field.partition(":")
        parsed[(int(item) or None, kind)] = parsed.get((int(item) or None, kind), 0) + n
    services.add_reactions(meeting_pk, parsed)


def flush(meeting_pk: int) -> dict[str, int]:
    """One frame: the pending counts go to the database and the screen. Returns what it wrote."""
    counts = _take(meeting_pk)
    if not counts:
        return {}
    try:
        _write(meeting_pk, counts)
    except Exception:
        logger.exception("reactions of meeting %s could not be written; kept for the next frame", meeting_pk)
        _put_back(meeting_pk, counts)
        raise
    return counts


def _flush_in_thread(meeting_pk: int) -> None:
    try:
        flush(meeting_pk)
    except Exception:
        _schedule(settings.MEETINGS_REACTION_FRAME_MS / 1000, meeting_pk)
    finally:
        connection.close()  # this timer thread's own connection
