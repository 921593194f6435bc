"""One rate-limit mechanism for every write path, HTTP and socket.

Counters live in Django's cache: Redis in production (shared by every process), local memory in development.
Services call `enforce(action, who)`; it raises `RateLimited` with the seconds to wait, which views turn into a
429 with a clear message (live.middleware) and consumers into an `error` frame.

Limits are set in `settings.RATE_LIMITS` as `"count/seconds"`, e.g. `"3/5"` = at most 3 in any 5-second window
(a sliding-window estimate over two fixed windows: two cache keys per actor and action, no per-attempt rows).
Sockets have their own caps: `acquire_connection`/`release_connection` count open sockets per user and per IP.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = {
    "comment": "3/5",
    "debate": "10/3600",     # debates opened per person
    "vote": "30/60",
    "message": "20/60",
    "read": "300/60",       # read receipts (private messages): one per message seen, at most
    "conversation": "10/3600",
    "contribution": "5/30",
    "join": "20/60",
    "join_ip": "300/300",   # anonymous meeting joins and join-code tries per IP (a whole room shares the venue wifi)
    "report": "10/600",
    "signup": "20/3600",    # accounts created per IP (and reset e-mails): a meeting room signs up together
    "login": "5/300",       # failed sign-ins per account name
    "login_ip": "30/300",   # failed sign-ins per IP (a public meeting's wifi shares one IP: keep it higher)
    "moderate": "120/60",
    "facilitate": "240/60",
    "default": "60/60",
}


class RateLimited(Exception):
    def __init__(self, retry_after: int, action: str = ""):
        self.retry_after = max(1, int(math.ceil(retry_after)))
        self.action = action
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return _("Too many attempts. Please try again in %(seconds)s seconds.") % {"seconds": self.retry_after}


def parse(rate: str) -> tuple[int, int]:
    count, _sep, seconds = rate.partition("/")
    return int(count), int(seconds or 1)


def limit_for(action: str) -> tuple[int, int]:
    limits = {**DEFAULT_LIMITS, **getattr(settings, "RATE_LIMITS", {})}
    return parse(limits.get(action, limits["default"]))


def identity(who) -> str:
    """A user (by pk), or any string (an IP, a session) for anonymous actors."""
    pk = getattr(who, "pk", None)
    return f"u{pk}" if pk is not None else f"k{who}"


def _keys(action: str, who, now: float) -> tuple[int, int, str, str, float]:
    """(count, seconds, current window's key, previous window's key, fraction of the current window elapsed)."""
    count, seconds = limit_for(action)
    window = int(now // seconds)
    base = f"rl:{action}:{identity(who)}:"
    return count, seconds, f"{base}{window}", f"{base}{window - 1}", (now - window * seconds) / seconds


def _wait(count: int, seconds: int, previous: int, current: int, elapsed: float) -> float:
    """Seconds until one more attempt fits: the previous window's weight fades linearly over the current one."""
    if count <= 0:  # a "0/N" limit switches the action off: nothing ever fits
        return float(seconds)
    if current + 1 <= count:  # later in this window, once enough of the previous one has faded
        fraction = 1 - (count - current - 1) / previous if previous else elapsed
        return max(0.0, (fraction - elapsed) * seconds)
    # next window, where this one weighs as the previous one
    return (1 - elapsed) * seconds + max(0.0, 1 - (count - 1) / current) * seconds


def hit(action: str, who) -> tuple[bool, float]:
    """Count one attempt; returns (allowed, retry_after in seconds).

    A sliding window: the attempts of the current fixed window plus those of the previous one, weighted by how much
    of it still overlaps the last `seconds` — so a burst straddling two windows cannot reach twice the quota, and a
    refused attempt is not counted (a flooder gets nothing past the quota, and gets back in once it has aged out).
    The cache being down fails open: rate limits must not turn a Redis outage into refused writes."""
    now = time.time()
    count, seconds, key, previous_key, elapsed = _keys(action, who, now)
    try:
        cache.add(key, 0, timeout=2 * seconds + 1)  # kept through the next window, where it is the previous one
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=2 * seconds + 1)
            used = 1
        previous = int(cache.get(previous_key) or 0)
        if previous * (1 - elapsed) + used <= count + 1e-9:
            return True, 0
        try:
            cache.decr(key)
        except ValueError:
            pass
    except Exception:
        logger.warning("rate limit counters unavailable; allowing %s", action, exc_info=True)
        return True, 0
    return False, max(1.0, _wait(count, seconds, previous, used - 1, elapsed))


def enforce(action: str, who) -> None:
    """Raise RateLimited when `who` is over the quota for `action`. Call before writing anything."""
    if not getattr(settings, "RATE_LIMITS_ENABLED", True):
        return
    allowed, retry_after = hit(action, who)
    if not allowed:
        raise RateLimited(retry_after, action)


def blocked_for(action: str, who) -> int:
    """Seconds until `who` may try `action` again (0: allowed now), without counting an attempt. For checks that
    count only failures, like sign-in: look first, `hit` after a failure."""
    if not getattr(settings, "RATE_LIMITS_ENABLED", True):
        return 0
    now = time.time()
    count, seconds, key, previous_key, elapsed = _keys(action, who, now)
    try:
        values = cache.get_many([key, previous_key])
    except Exception:
        logger.warning("rate limit counters unavailable", exc_info=True)
        return 0
    used, previous = int(values.get(key) or 0), int(values.get(previous_key) or 0)
    if previous * (1 - elapsed) + used + 1 <= count + 1e-9:
        return 0
    return max(1, int(math.ceil(_wait(count, seconds, previous, used, elapsed))))


def reset(action: str, who) -> None:
    _count, _seconds, key, previous_key, _elapsed = _keys(action, who, time.time())
    cache.delete_many([key, previous_key])


# --- sockets -------------------------------------------------------------------------------------------------------

@dataclass
class TokenBucket:
    """Per-socket frame budget (no shared state needed: it is one connection)."""

    rate: float
    burst: float
    tokens: float = -1
    stamp: float = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


_local_stamps: dict[str, float] = {}


def hit_async_local(key: str, per_seconds: float) -> bool:
    """At most one per `per_seconds` for this key in this process (typing indicators: best effort)."""
    now = time.monotonic()
    if now - _local_stamps.get(key, 0.0) < per_seconds:
        return False
    if len(_local_stamps) > 50000:
        _local_stamps.clear()
    _local_stamps[key] = now
    return True


def client_ip(scope) -> str:
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


def _acquire(keys_and_caps: list[tuple[str, int]]) -> list[str] | None:
    taken = []
    for key, cap in keys_and_caps:
        cache.add(key, 0, timeout=86400)
        try:
            used = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=86400)
            used = 1
        taken.append(key)
        if used > cap:
            _release(taken)
            return None
    return taken


def _release(keys: list[str]) -> None:
    for key in keys:
        try:
            if cache.decr(key) < 0:  # the counter expired and was re-created meanwhile: never go below zero
                cache.set(key, 0, timeout=86400)
        except ValueError:
            pass
        except Exception:  # the cache is down: the counter expires by itself
            logger.warning("could not release socket slot %s", key, exc_info=True)


async def acquire_connection(scope) -> list[str] | None:
    """Take a socket slot for the user and the IP; None when either cap is reached."""
    caps = [(f"conn:ip:{client_ip(scope)}", settings.LIVE["MAX_SOCKETS_PER_IP"])]
    user = scope.get("user")
    if getattr(user, "is_authenticated", False):
        caps.append((f"conn:user:{user.pk}", settings.LIVE["MAX_SOCKETS_PER_USER"]))
    # Not thread-sensitive: a reconnect storm's thousand acquires overlap their Redis round trips (bench S7).
    return await sync_to_async(_acquire, thread_sensitive=False)(caps)


async def release_connection(slot: list[str]) -> None:
    await sync_to_async(_release, thread_sensitive=False)(slot)
