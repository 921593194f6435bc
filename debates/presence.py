""""N people are reading": who has a debate open, across every server process.

Each open page sends a presence heartbeat through its socket every ~20 s (static/debates/debates.js, a `typing`
frame with `presence`). The readers of a debate are a Redis sorted set (member -> last heartbeat time) in the
cache's Redis, so every process counts the same people; a reader who leaves drops out PRESENCE_TTL seconds after
their last heartbeat. Without Redis (the embedded single-process default) a process-local dict does the same job,
which is exact there because there is only one process.

A signed-in person with three tabs counts once (member "u<pk>"); an anonymous reader counts per tab (member
"a<random tab id>", sent by the page).
"""

from __future__ import annotations

import re
import threading
import time

from django.conf import settings
from django.core.cache import cache

_local: dict[str, dict[str, float]] = {}
_local_lock = threading.Lock()
TAB_ID_RE = re.compile(r"^[A-Za-z0-9]{8,32}$")


def _redis():
    client_factory = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_factory is None:
        return None
    try:
        return client_factory(None, write=True)
    except Exception:
        return None


def _key(debate_id: int) -> str:
    return cache.make_key(f"debates:presence:{debate_id}")


def member_for(user, tab_id: str | None) -> str | None:
    if getattr(user, "is_authenticated", False):
        return f"u{user.pk}"
    if tab_id and TAB_ID_RE.match(tab_id):
        return f"a{tab_id}"
    return None


def touch(debate_id: int, member: str, *, leaving: bool = False) -> int:
    """Record a heartbeat (or a departure) and return how many people are reading now."""
    now = time.time()
    ttl = settings.DEBATES_PRESENCE_TTL
    redis = _redis()
    if redis is not None:
        key = _key(debate_id)
        pipe = redis.pipeline()
        if leaving:
            pipe.zrem(key, member)
        else:
            pipe.zadd(key, {member: now})
        pipe.zremrangebyscore(key, "-inf", now - ttl)
        pipe.zcard(key)
        pipe.expire(key, ttl * 2)
        return int(pipe.execute()[2])
    with _local_lock:
        readers = _local.setdefault(str(debate_id), {})
        if leaving:
            readers.pop(member, None)
        else:
            readers[member] = now
        for gone in [m for m, seen in readers.items() if seen < now - ttl]:
            del readers[gone]
        return len(readers)


def count(debate_id: int) -> int:
    now = time.time()
    ttl = settings.DEBATES_PRESENCE_TTL
    redis = _redis()
    if redis is not None:
        return int(redis.zcount(_key(debate_id), now - ttl, "+inf"))
    with _local_lock:
        return sum(1 for seen in _local.get(str(debate_id), {}).values() if seen >= now - ttl)


def changed(debate_id: int, current: int) -> bool:
    """Whether `current` differs from the count last broadcast (so an unchanged count is not re-sent)."""
    key = f"debates:presence-sent:{debate_id}"
    if cache.get(key) == current:
        return False
    cache.set(key, current, timeout=settings.DEBATES_PRESENCE_TTL * 2)
    return True
