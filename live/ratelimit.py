"""One rate-limit mechanism for every write path, HTTP and socket.

Counters live in Django's cache: Redis in production (shared by every process), local memory in development.
Services call `enforce(action, who)`; it raises `RateLimited` with the seconds to wait, which views turn into a
429 with a clear message (live.middleware) and consumers into an `error` frame.

Limits are set in `settings.RATE_LIMITS` as `"count/seconds"`, e.g. `"3/5"` = at most 3 in any 5-second window
(a sliding-window estimate over two fixed windows: two cache keys per actor and action, no per-attempt rows).
Sockets have their own caps: `acquire_connection`/`release_connection` count open sockets per user and per IP.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
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
    limits = {**DEFAULT_LIMITS, **settings.RATE_LIMITS}
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
    if not settings.RATE_LIMITS_ENABLED:
        return
    allowed, retry_after = hit(action, who)
    if not allowed:
        raise RateLimited(retry_after, action)


def blocked_for(action: str, who) -> int:
    """Seconds until `who` may try `action` again (0: allowed now), without counting an attempt. For checks that
    count only failures, like sign-in: look first, `hit` after a failure."""
    if not settings.RATE_LIMITS_ENABLED:
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


SLOT_SECONDS = 86400  # a counter left behind by a killed process expires by itself

# One round trip per socket for the caps (bench S7): every counter is taken, or none. Each INCR is checked against
# its cap and, past one, the counters taken so far are given back before answering. A counter gets its expiry when
# it has none (it was just created), as `cache.add(key, 0, timeout)` did. The values are plain integers, the way
# Django's RedisCache stores ints, so `cache.get("conn:user:<pk>")` (live/messaging/digest.py) reads them.
_ACQUIRE_LUA = """
local ttl = tonumber(ARGV[#ARGV])
for i, key in ipairs(KEYS) do
  local used = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ttl) end
  if used > tonumber(ARGV[i]) then
    for j = 1, i do
      if redis.call('DECR', KEYS[j]) < 0 then redis.call('SET', KEYS[j], 0, 'EX', ttl) end
    end
    return 0
  end
end
return 1
"""
# Never below zero, and a counter that expired meanwhile is not re-created by its release.
_RELEASE_LUA = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and redis.call('DECR', key) < 0 then
    redis.call('SET', key, 0, 'EX', tonumber(ARGV[1]))
  end
end
return 1
"""


class _SlotStore:
    """The socket counters, in the cache's Redis when the cache is Redis: one process-wide client (one connection
    pool), each acquire or release one script call, batched with the others of the same moment (_SlotBatches).

    Going through `django.core.cache.cache` cost a new Redis connection per socket (Django's cache handler keeps
    one cache object per asyncio context, i.e. per consumer, each with its own connection pool, and redis-py's
    connection setup is not cheap), and three round trips: a quarter of the server's CPU in a reconnect storm
    (bench S7, docs/performance.md). The calls stay in the thread pool: an asyncio Redis client on daphne's loop
    can hang on connect, because Twisted's asyncio reactor unregisters the old descriptor number of a socket it
    closed, which a new connection may be reusing."""

    def __init__(self):
        self._backend = None

    def reset(self, **_kwargs) -> None:
        self._backend = None

    def backend(self):
        if self._backend is None:
            from django.core.cache import caches

            self._backend = caches.create_connection("default")
        return self._backend


_slots = _SlotStore()
setting_changed.connect(lambda setting, **kw: _slots.reset() if setting == "CACHES" else None, weak=False)


def _acquire(keys_and_caps: list[tuple[str, int]]) -> list[str] | None:
    """Through the cache API: other cache backends (local memory in development)."""
    taken = []
    for key, cap in keys_and_caps:
        cache.add(key, 0, timeout=SLOT_SECONDS)
        try:
            used = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=SLOT_SECONDS)
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
                cache.set(key, 0, timeout=SLOT_SECONDS)
        except ValueError:
            pass
        except Exception:  # the cache is down: the counter expires by itself
            logger.warning("could not release socket slot %s", key, exc_info=True)


def _local_cache() -> bool:
    from django.core.cache.backends.locmem import LocMemCache

    return isinstance(_slots.backend(), LocMemCache)


class _SlotBatches:
    """The acquires and releases asked for in the same turn of the event loop go to Redis together: one thread hop
    and one pipelined round trip for the lot, each still its own atomic script (a reconnect storm's thousand
    handshakes arrive in bursts: bench S7)."""

    def __init__(self):
        self.queues: dict[asyncio.AbstractEventLoop, list] = {}

    def submit(self, script: str, keys: list[str], args: list[int]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        queue = self.queues.get(loop)
        if queue is None:
            queue = self.queues[loop] = []
            loop.call_soon(self._flush, loop)
        queue.append((script, keys, args, future))
        return future

    def _flush(self, loop) -> None:
        batch = self.queues.pop(loop, [])
        if batch:
            loop.create_task(self._run(batch))

    @staticmethod
    async def _run(batch: list) -> None:
        calls = [(script, keys, args) for script, keys, args, _future in batch]
        try:
            results = await sync_to_async(_run_scripts, thread_sensitive=False)(calls)
        except BaseException as exc:
            for *_call, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                    future.exception()  # retrieved: a caller that went away leaves no warning
            if not isinstance(exc, Exception):
                raise
        else:
            for (*_call, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


_batches = _SlotBatches()


def _run_scripts(calls: list[tuple[str, list[str], list[int]]]) -> list:
    backend = _slots.backend()
    pipe = backend._cache.get_client(write=True).pipeline(transaction=False)
    for script, keys, args in calls:
        pipe.eval(script, len(keys), *[backend.make_key(key) for key in keys], *args)
    return pipe.execute()


def _is_redis() -> bool:
    from django.core.cache.backends.redis import RedisCache

    return isinstance(_slots.backend(), RedisCache)


async def acquire_connection(scope) -> list[str] | None:
    """Take a socket slot for the user and the IP; None when either cap is reached."""
    caps = [(f"conn:ip:{client_ip(scope)}", settings.LIVE_MAX_SOCKETS_PER_IP)]
    user = scope.get("user")
    if getattr(user, "is_authenticated", False):
        caps.append((f"conn:user:{user.pk}", settings.LIVE_MAX_SOCKETS_PER_USER))
    if _is_redis():
        keys = [key for key, _cap in caps]
        future = _batches.submit(_ACQUIRE_LUA, keys, [*(cap for _key, cap in caps), SLOT_SECONDS])
        try:
            ok = await asyncio.shield(future)
        except asyncio.CancelledError:  # the socket went away while waiting: give back what it may still get
            future.add_done_callback(lambda f: _give_back(f, keys))
            raise
        return keys if ok else None
    if _local_cache():  # in-process and quick: no thread hop
        return _acquire(caps)
    return await sync_to_async(_acquire, thread_sensitive=False)(caps)


def _give_back(future: asyncio.Future, keys: list[str]) -> None:
    if not future.cancelled() and future.exception() is None and future.result():
        asyncio.ensure_future(release_connection(keys))


async def release_connection(slot: list[str]) -> None:
    if _is_redis():
        try:
            await asyncio.shield(_batches.submit(_RELEASE_LUA, slot, [SLOT_SECONDS]))
        except Exception:  # the cache is down: the counters expire by themselves
            logger.warning("could not release socket slots %s", slot, exc_info=True)
        return
    if _local_cache():
        return _release(slot)
    await sync_to_async(_release, thread_sensitive=False)(slot)
