"""One rate-limit mechanism for every write path, HTTP and socket.

Counters live in Django's cache: Redis in production (shared by every process), local memory in development.
Services call `enforce(action, who)`; it raises `RateLimited` with the seconds to wait, which views turn into a
429 with a clear message (live.middleware) and consumers into an `error` frame.

Limits are set in `settings.RATE_LIMITS` as `"count/seconds"`, e.g. `"3/5"` = at most 3 in any 5-second window.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

DEFAULT_LIMITS = {
    "comment": "3/5",
    "debate": "10/3600",     # debates opened per person
    "vote": "30/60",
    "message": "20/60",
    "conversation": "10/3600",
    "contribution": "5/30",
    "join": "20/60",
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


def hit(action: str, who) -> tuple[bool, int]:
    """Count one attempt; returns (allowed, retry_after). A fixed window per (action, who)."""
    count, seconds = limit_for(action)
    window = int(time.time() // seconds)
    key = f"rl:{action}:{identity(who)}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 1)
        used = 1
    if used > count:
        return False, (window + 1) * seconds - time.time()
    return True, 0


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
    count, seconds = limit_for(action)
    window = int(time.time() // seconds)
    used = cache.get(f"rl:{action}:{identity(who)}:{window}") or 0
    return max(1, int(math.ceil((window + 1) * seconds - time.time()))) if used >= count else 0


def reset(action: str, who) -> None:
    count, seconds = limit_for(action)
    window = int(time.time() // seconds)
    cache.delete(f"rl:{action}:{identity(who)}:{window}")


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
            cache.decr(key)
        except ValueError:
            pass


async def acquire_connection(scope) -> list[str] | None:
    """Take a socket slot for the user and the IP; None when either cap is reached."""
    caps = [(f"conn:ip:{client_ip(scope)}", settings.LIVE["MAX_SOCKETS_PER_IP"])]
    user = scope.get("user")
    if getattr(user, "is_authenticated", False):
        caps.append((f"conn:user:{user.pk}", settings.LIVE["MAX_SOCKETS_PER_USER"]))
    return await sync_to_async(_acquire)(caps)


async def release_connection(slot: list[str]) -> None:
    await sync_to_async(_release)(slot)
