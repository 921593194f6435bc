"""The server-side cache of the datasets: the bytes of a download, kept in the cache (Redis in production) in
parts of PART bytes as they are streamed, then replayed part by part to the next downloads. Never a whole dataset in
memory, neither when recording nor when replaying.

A dataset is recorded under its key (its ETag: opendata.views) only once it was streamed to the end: the parts
first, the manifest ({"parts": n, "size": bytes}) last, so a download cut short leaves nothing that could be served.
One process records a key at a time (the others stream from the database meanwhile). Entries expire after
OPENDATA_CACHE_SECONDS; a change to the data is another key, so nothing stale is replayed. With the cache down,
downloads stream from the database as if nothing was cached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PART = 256 * 1024
PREFIX = "opendata:"
RECORDING_SECONDS = 600


class PartMissing(Exception):
    """A part of a recorded dataset left the cache while it was being replayed."""


def _get(key: str):
    try:
        return cache.get(key)
    except Exception:
        logger.warning("cache unavailable: open data streamed from the database", exc_info=True)
        return None


def stream(key: str, produce: Callable[[], Iterator[bytes]]) -> tuple[Iterator[bytes], int | None]:
    """The body of the dataset `key` as an iterator of bytes, and its size when known (replayed from the cache).
    `produce()` streams it from the database, on a miss."""
    key = PREFIX + key
    manifest = _get(key)
    if manifest is not None:
        return _replay(key, manifest), manifest["size"]
    try:
        # Long enough for a slow client; should it pass, a second process records the same bytes, harmlessly.
        recording = cache.add(f"{key}:recording", 1, timeout=RECORDING_SECONDS)
    except Exception:
        recording = False
    return (_record(key, produce()) if recording else produce()), None


def _replay(key: str, manifest: dict) -> Iterator[bytes]:
    for n in range(manifest["parts"]):
        part = _get(f"{key}:{n}")
        if part is None:
            _forget(key)  # recorded again by the next download
            raise PartMissing(f"{key}:{n}")
        yield part


def _forget(key: str, *, manifest: bool = True) -> None:
    try:
        cache.delete_many([key, f"{key}:recording"] if manifest else [f"{key}:recording"])
    except Exception:
        logger.warning("cache unavailable: could not forget %s", key, exc_info=True)


def _set(key: str, value, ttl: int) -> bool:
    try:
        cache.set(key, value, ttl)
    except Exception:
        logger.warning("cache unavailable: open data not recorded", exc_info=True)
        return False
    return True


def _record(key: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Stream `chunks` and record them; a failing cache stops the recording, never the download."""
    ttl = settings.OPENDATA_CACHE_SECONDS
    buffered: list[bytes] = []
    pending = parts = size = 0
    recording, finished = True, False
    try:
        for chunk in chunks:
            yield chunk
            if not recording:
                continue
            buffered.append(chunk)
            pending += len(chunk)
            if pending >= PART:
                recording = _set(f"{key}:{parts}", b"".join(buffered), ttl)
                parts, size, buffered, pending = parts + 1, size + pending, [], 0
        if recording and buffered:
            recording = _set(f"{key}:{parts}", b"".join(buffered), ttl)
            parts, size = parts + 1, size + pending
        # Last: only a whole dataset is ever replayed.
        finished = recording and _set(key, {"parts": parts, "size": size}, ttl)
    finally:
        # Cut short (the client left, the cache failed): nothing is replayed, the next download records it.
        _forget(key, manifest=not finished)
