"""One rate-limit mechanism for every write path, HTTP and socket.

Counters live in Django's cache: Redis in production (shared by every process), local memory in development.
Services call `enforce(action, who)`; it raises `RateLimited` with the seconds to wait, which views turn into a
429 with a clear message (live.middleware) and consumers into an `error` frame.

Limits are set in `settings.RATE_LIMITS` as `"count/seconds"`, e.g. `"3/5"` = at most 3 in any 5-second window
(a sliding-window estimate over two fixed windows: two cache keys per actor and action, no per-attempt rows).
Sockets have their own caps: `acquire_connection`/`release_connection` count open sockets per user and per IP, in
slots owned by the process that holds them. While Redis is down every limiter counts in this process instead
(`_counted`, `degraded`): nobody is refused, or kept waiting, because a server is down.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.utils.translation import gettext as _

from live import internals, metrics, thread_redis
from live.outage import Breaker

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_LIMITS = {
    "comment": "3/5",
    "debate": "10/3600",     # debates opened per person
    "debate_edit": "60/60",  # edits, updates, closes and reopens of a debate
    "comment_delete": "60/60",
    "vote": "30/60",
    "message": "20/60",
    "read": "300/60",       # read receipts (private messages): one per message seen, at most
    "conversation": "10/3600",
    "contribution": "5/30",
    "reaction": "20/10",    # reaction taps per phone: twice a second, sustained
    "join": "20/60",
    "join_ip": "300/300",   # anonymous meeting joins and join-code tries per IP (a whole room shares the venue wifi)
    "report": "10/600",
    "signup": "20/3600",    # accounts created per IP (and reset e-mails): a meeting room signs up together
    # Failed sign-ins: per account and IP together, so that guessing from one address never locks the owner out of
    # theirs; per account across addresses (slower: a distributed attack still gets few guesses); per IP across
    # accounts (a meeting's wifi shares one IP: keep it higher). Successful sign-ins count nothing.
    "login": "5/300",
    "login_account": "30/900",
    "login_ip": "30/300",
    "join_code": "20/300",  # wrong join codes per IP; the right code still gets in (counted by join_ip)
    "registration_code": "10/3600",  # wrong registration codes per person (the default quota allowed 86,400 a day)
    "erase": "5/300",       # account erasure attempts (each checks the password again)
    "password_change": "5/300",  # password changes tried (each checks the current password: no guessing from a session)
    "export": "3/3600",     # "download my data" archives asked for (each reads everything the person has)
    "export_download": "20/3600",
    # Notification e-mails sent at once per person; past it they wait for the next digest (a flood of replies: one
    # digest). Counted by the sender, never refused to anyone's request.
    "notification_email": "3/900",
    # Pushes per person (each device gets them); past it a flood stays on the site (badge, list), nothing buzzes.
    "notification_push": "10/900",
    "unsubscribe": "20/3600",  # one-click unsubscribe links followed, per person the link names
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


# --- when the shared counters are down ----------------------------------------------------------------------------
#
# Every limiter decides the same way while Redis is down: it fails open onto this process's own counters. The limits
# still hold per process (a flooder gets at most the quota from each process instead of from all of them together),
# nobody is refused because a server is down, and nobody waits for it: after a failure the shared counters are left
# alone for the breaker's cooldown. The first failure is logged, each decision taken locally is counted
# (`degraded`, per action), and the return is logged with that count.

_breaker = Breaker()
_fallback = LocMemCache("agora-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000, "CULL_FREQUENCY": 4}})
degraded: Counter[str] = Counter()


def _shared_down(action: str) -> None:
    if not _breaker.failures:
        logger.warning("rate-limit counters unavailable; %s and every other limit count in this process until they "
                       "return", action, exc_info=True)
    _breaker.failed()


def _shared_up() -> None:
    if _breaker.failures:
        logger.warning("rate-limit counters back; %d decisions were taken locally (%s)", sum(degraded.values()),
                       dict(degraded))
        _breaker.succeeded()


def _counted(action: str, decide: Callable[[BaseCache], T]) -> T:
    """`decide` on the shared counters, or on this process's own ones while they are down (see above)."""
    if _breaker.allows():
        try:
            result = decide(cache)
        except Exception:
            _shared_down(action)
        else:
            _shared_up()
            return result
    degraded[action] += 1
    return decide(_fallback)


def _hit(store: BaseCache, action: str, who) -> tuple[bool, float]:
    now = time.time()
    count, seconds, key, previous_key, elapsed = _keys(action, who, now)
    store.add(key, 0, timeout=2 * seconds + 1)  # kept through the next window, where it is the previous one
    try:
        used = store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=2 * seconds + 1)
        used = 1
    previous = int(store.get(previous_key) or 0)
    if previous * (1 - elapsed) + used <= count + 1e-9:
        return True, 0
    try:
        store.decr(key)
    except ValueError:
        pass
    return False, max(1.0, _wait(count, seconds, previous, used - 1, elapsed))


# `_hit` in one round trip when the counters are in Redis (every write checks one: through the cache API it was
# four commands, one after the other). The same keys and values as the cache API's (Django stores integers as
# such), so the two agree while the script is in use and after.
_HIT_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local previous = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if previous * (1 - tonumber(ARGV[3])) + used <= tonumber(ARGV[1]) + 1e-9 then
    return {1, used, previous}
end
redis.call('DECR', KEYS[1])
return {0, used, previous}
"""
_hit_script = None


def _hit_in_redis(action: str, who) -> tuple[bool, float]:
    global _hit_script
    now = time.time()
    count, seconds, key, previous_key, elapsed = _keys(action, who, now)
    backend, client = _slots.redis()
    if _hit_script is None:
        _hit_script = client.register_script(_HIT_SCRIPT)
    allowed, used, previous = thread_redis.run_script(_hit_script, [backend.make_key(key), backend.make_key(previous_key)],
                                                      [count, 2 * seconds + 1, repr(elapsed)], client)
    if allowed:
        return True, 0
    return False, max(1.0, _wait(count, seconds, int(previous), int(used) - 1, elapsed))


def hit(action: str, who) -> tuple[bool, float]:
    """Count one attempt; returns (allowed, retry_after in seconds).

    A sliding window: the attempts of the current fixed window plus those of the previous one, weighted by how much
    of it still overlaps the last `seconds` — so a burst straddling two windows cannot reach twice the quota, and a
    refused attempt is not counted (a flooder gets nothing past the quota, and gets back in once it has aged out)."""
    def decide(store):
        if store is cache and internals.usable("redis_client") and _is_redis():
            return _hit_in_redis(action, who)
        return _hit(store, action, who)

    return _counted(action, decide)


def enforce(action: str, who) -> None:
    """Raise RateLimited when `who` is over the quota for `action`. Call before writing anything."""
    metrics.rate_limit_checked(action)
    if not settings.RATE_LIMITS_ENABLED:
        return
    allowed, retry_after = hit(action, who)
    if not allowed:
        metrics.rate_limit_refused(action)
        raise RateLimited(retry_after, action)


def give_back(action: str, who) -> None:
    """Uncount the attempt `enforce` just counted, for a write refused after it by a check that must come last (a
    debate's slow mode, whose slot only a written comment takes): a refused write spends nothing."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    key = _keys(action, who, time.time())[2]

    def decide(store):
        try:
            store.decr(key)
        except ValueError:  # its window has turned since: the attempt is in the previous one, fading anyway
            pass

    _counted(action, decide)


def _blocked_for(store: BaseCache, action: str, who) -> int:
    now = time.time()
    count, seconds, key, previous_key, elapsed = _keys(action, who, now)
    values = store.get_many([key, previous_key])
    used, previous = int(values.get(key) or 0), int(values.get(previous_key) or 0)
    if previous * (1 - elapsed) + used + 1 <= count + 1e-9:
        return 0
    return max(1, int(math.ceil(_wait(count, seconds, previous, used, elapsed))))


def blocked_for(action: str, who) -> int:
    """Seconds until `who` may try `action` again (0: allowed now), without counting an attempt. For checks that
    count only failures, like sign-in: look first, `hit` after a failure."""
    if not settings.RATE_LIMITS_ENABLED:
        return 0
    return _counted(action, lambda store: _blocked_for(store, action, who))


def reset(action: str, who) -> None:
    _count, _seconds, key, previous_key, _elapsed = _keys(action, who, time.time())
    _fallback.delete_many([key, previous_key])
    _counted(action, lambda store: store.delete_many([key, previous_key]))


def forget(who) -> None:
    """Drop every counter of `who` (an erased account's): nothing of theirs is left in the shared counters. Keys that
    also name an IP (sign-in per account and IP) cannot be listed here; they expire within two windows."""
    for action in {**DEFAULT_LIMITS, **settings.RATE_LIMITS}:
        reset(action, who)


def once_per(action: str, who, seconds: int, *, where: object = "") -> bool:
    """True at most once per `seconds` for (action, who, where): slow mode's "one comment every N seconds" in a
    debate."""
    key = f"rl:{action}:{where}:{identity(who)}"
    return _counted(action, lambda store: store.add(key, 1, timeout=seconds))


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


SLOT_SECONDS = 86400  # the counters' own expiry: the last resort, when no process is left to give a dead one's back
PROCESSES = "conn:procs"

# Socket slots belong to the process that holds them. Besides the counters (plain integers, "conn:ip:<ip>" and
# "conn:user:<pk>", which `cache.get` reads: live/messaging/digest.py), each process records its own share in a hash
# ("conn:proc:<id>": counter -> sockets) and says it is alive in PROCESSES (a sorted set: hash -> time of its last
# heartbeat, every third of LIVE["SOCKET_SLOT_TTL"]). A process silent for longer than SOCKET_SLOT_TTL is dead: the
# next acquire or heartbeat of any process subtracts its share and drops its hash, so a kill -9, an OOM kill or a
# lost machine frees its slots within SOCKET_SLOT_TTL without anyone's help. Every change moves a counter and the
# owner's share together, so a counter is always the sum of the shares; a release gives back only what its process's
# share holds (nothing twice, even after its process was taken for dead).
#
# Scripts: KEYS[1] the process's hash, KEYS[2] PROCESSES, KEYS[3..] counters; ARGV[1] SLOT_SECONDS, ARGV[2]
# SOCKET_SLOT_TTL, then per script. Redis's own clock (TIME) dates the heartbeats: processes on several machines
# agree on it.
_LUA_PREAMBLE = """
local slot_seconds, alive = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local function take_back(key, n)
  if redis.call('EXISTS', key) == 1 and redis.call('DECRBY', key, n) < 0 then
    redis.call('SET', key, 0, 'EX', slot_seconds)
  end
end
local function reap()
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - alive, 'LIMIT', 0, 16)) do
    local share = redis.call('HGETALL', dead)
    for i = 1, #share, 2 do take_back(share[i], tonumber(share[i + 1])) end
    redis.call('DEL', dead)
    redis.call('ZREM', KEYS[2], dead)
  end
end
"""
# One round trip per socket for the caps (bench S7): every counter is taken, or none. Each INCR is checked against
# its cap (ARGV[i] for KEYS[i]) and, past one, the counters taken so far are given back before answering.
_ACQUIRE_LUA = _LUA_PREAMBLE + """
reap()
for i = 3, #KEYS do
  local used = redis.call('INCR', KEYS[i])
  if redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], slot_seconds) end
  if used > tonumber(ARGV[i]) then
    for j = 3, i do take_back(KEYS[j], 1) end
    return 0
  end
end
for i = 3, #KEYS do redis.call('HINCRBY', KEYS[1], KEYS[i], 1) end
redis.call('EXPIRE', KEYS[1], slot_seconds)
redis.call('ZADD', KEYS[2], now, KEYS[1])
return 1
"""
# Never below zero, a counter that expired meanwhile is not re-created, and only what this process's share holds.
_RELEASE_LUA = _LUA_PREAMBLE + """
for i = 3, #KEYS do
  if (tonumber(redis.call('HGET', KEYS[1], KEYS[i])) or 0) > 0 then
    if redis.call('HINCRBY', KEYS[1], KEYS[i], -1) <= 0 then redis.call('HDEL', KEYS[1], KEYS[i]) end
    take_back(KEYS[i], 1)
  end
end
return 1
"""
# The heartbeat: alive now, and this process's share set to what it holds (ARGV[3..]: counter, sockets, ...), the
# counters moved by the difference. This also puts back what Redis lost (a restart) or never saw (sockets accepted
# while it was down), and what a release or an acquire racing the previous heartbeat left off by one.
_HEARTBEAT_LUA = _LUA_PREAMBLE + """
redis.call('ZADD', KEYS[2], now, KEYS[1])
local recorded = {}
local share = redis.call('HGETALL', KEYS[1])
for i = 1, #share, 2 do recorded[share[i]] = tonumber(share[i + 1]) end
for i = 3, #ARGV, 2 do
  local key, n = ARGV[i], tonumber(ARGV[i + 1])
  local diff = n - (recorded[key] or 0)
  if diff > 0 then
    redis.call('INCRBY', key, diff)
    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, slot_seconds) end
  elseif diff < 0 then
    take_back(key, -diff)
  end
  redis.call('HSET', KEYS[1], key, n)
  recorded[key] = nil
end
for key, n in pairs(recorded) do
  take_back(key, n)
  redis.call('HDEL', KEYS[1], key)
end
redis.call('EXPIRE', KEYS[1], slot_seconds)
reap()
return 1
"""

# A clean exit (a restart: systemd's SIGTERM) gives back this process's share at once.
_LEAVE_LUA = _LUA_PREAMBLE + """
local share = redis.call('HGETALL', KEYS[1])
for i = 1, #share, 2 do take_back(share[i], tonumber(share[i + 1])) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
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
    closed, which a new connection may be reusing.

    `held` is what this process holds (counter -> sockets), whatever Redis knows: the heartbeat writes it back, and
    the caps are checked against it while Redis is down."""

    def __init__(self):
        self._backend = None
        self._redis = None
        self._owner: tuple[int, str] | None = None
        self.held: Counter[str] = Counter()

    def reset(self, **_kwargs) -> None:
        self._backend = self._redis = None

    def backend(self):
        if self._backend is None:
            from django.core.cache import caches

            self._backend = caches.create_connection("default")
        return self._backend

    def redis(self):
        """(backend, its redis-py client), or None when the cache is not Redis. The client is kept: Django's
        `get_client` builds a new one (on the same connection pool) at each call, about 35 Python calls that every
        rate limit and every publish's marks read paid (#17). Not kept when `redis_client` is off (it raises)."""
        if self._redis is None:
            self._redis = (self.backend(), internals.redis_client(self.backend())) if _is_redis() else False
        return self._redis or None

    def owner(self) -> str:
        """This process's hash ("conn:proc:<host>:<pid>:<random>"): a new one after a fork."""
        if self._owner is None or self._owner[0] != os.getpid():
            self._owner = (os.getpid(), f"conn:proc:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
        return self._owner[1]

    def hold(self, keys: list[str]) -> None:
        self.held.update(keys)

    def unhold(self, keys: list[str]) -> None:
        self.held.subtract(keys)
        for key in keys:
            if self.held[key] <= 0:
                del self.held[key]


_slots = _SlotStore()
setting_changed.connect(lambda setting, **kw: _slots.reset() if setting == "CACHES" else None, weak=False)


def _alive_seconds() -> int:
    return int(settings.LIVE_SOCKET_SLOT_TTL)


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
    return isinstance(_slots.backend(), LocMemCache)


class _SlotBatches:
    """The acquires and releases asked for in the same turn of the event loop go to Redis together: one thread hop
    and one pipelined round trip for the lot, each still its own atomic script (a reconnect storm's thousand
    handshakes arrive in bursts: bench S7)."""

    def __init__(self):
        self.queues: dict[asyncio.AbstractEventLoop, list] = {}

    def submit(self, script: str, keys: list[str], args: list) -> asyncio.Future:
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


def _run_scripts(calls: list[tuple[str, list[str], list]]) -> list:
    backend, client = _slots.redis()
    pipe = client.pipeline(transaction=False)
    for script, keys, args in calls:
        pipe.eval(script, len(keys), *[backend.make_key(key) for key in keys], *args)
    return pipe.execute()


def _is_redis() -> bool:
    from django.core.cache.backends.redis import RedisCache

    return isinstance(_slots.backend(), RedisCache)


def cache_redis():
    """(backend, redis-py client) of this process's cache connection, for pipelines and sorted sets the cache API
    lacks (keys through `backend.make_key`); None when the cache is not Redis (the embedded default)."""
    return _slots.redis()


def _script(script: str, counters: list[str], args: list) -> asyncio.Future:
    return _batches.submit(script, [_slots.owner(), PROCESSES, *counters], [SLOT_SECONDS, _alive_seconds(), *args])


class _Heartbeat:
    """While this process holds sockets, it says so every third of SOCKET_SLOT_TTL (one task per event loop)."""

    def __init__(self):
        self.tasks: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self.leaving_registered = False

    def ensure(self) -> None:
        loop = asyncio.get_running_loop()
        task = self.tasks.get(loop)
        if task is None or task.done():
            if not self.leaving_registered:
                self.leaving_registered = True
                atexit.register(_leave)
            self.tasks = {other: task for other, task in self.tasks.items() if not other.is_closed()}
            self.tasks[loop] = loop.create_task(self._run(), name="live-socket-slots-heartbeat")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(_alive_seconds() / 3)
            await beat()
            if not _slots.held:
                return


_heartbeat = _Heartbeat()


async def beat() -> None:
    """One heartbeat: this process is alive and holds `_slots.held`; dead processes' slots are given back."""
    if not _is_redis() or not _breaker.allows():
        return
    backend = _slots.backend()
    share = [item for key, n in _slots.held.items() if n > 0 for item in (backend.make_key(key), n)]
    try:
        await asyncio.shield(_script(_HEARTBEAT_LUA, [], share))
    except Exception:
        _shared_down("sockets")
    else:
        _shared_up()


def _leave() -> None:
    """At a clean exit (a rolling restart), this process's slots are given back at once, not SOCKET_SLOT_TTL later:
    its pages reconnect to the other processes right away, and would otherwise count twice against the caps."""
    if not _slots.held or not _is_redis():
        return
    try:
        _run_scripts([(_LEAVE_LUA, [_slots.owner(), PROCESSES], [SLOT_SECONDS, _alive_seconds()])])
    except Exception:
        logger.warning("could not give back this process's socket slots; they expire by themselves", exc_info=True)


async def acquire_connection(scope) -> list[str] | None:
    """Take a socket slot for the user and the IP; None when either cap is reached."""
    caps = [(f"conn:ip:{client_ip(scope)}", settings.LIVE_MAX_SOCKETS_PER_IP)]
    user = scope.get("user")
    if getattr(user, "is_authenticated", False):
        caps.append((f"conn:user:{user.pk}", settings.LIVE_MAX_SOCKETS_PER_USER))
    keys = [key for key, _cap in caps]
    if _breaker.allows():
        try:
            if _is_redis():
                _heartbeat.ensure()
                future = _script(_ACQUIRE_LUA, keys, [cap for _key, cap in caps])
                try:
                    taken = keys if await asyncio.shield(future) else None
                except asyncio.CancelledError:  # the socket went away while waiting: give back what it may get
                    future.add_done_callback(lambda f: _give_back(f, keys))
                    raise
            elif _local_cache():  # in-process and quick: no thread hop
                taken = _acquire(caps)
            else:
                taken = await sync_to_async(_acquire, thread_sensitive=False)(caps)
        except Exception:
            _shared_down("sockets")
        else:
            _shared_up()
            if taken:
                _slots.hold(taken)
            return taken
    # The shared counters are down: this process's own sockets against the caps (the heartbeat tells Redis of them
    # once it is back).
    degraded["sockets"] += 1
    if any(_slots.held[key] >= cap for key, cap in caps):
        return None
    _slots.hold(keys)
    return keys


def _give_back(future: asyncio.Future, keys: list[str]) -> None:
    if not future.cancelled() and future.exception() is None and future.result():
        _slots.hold(keys)
        asyncio.ensure_future(release_connection(keys))


async def release_connection(slot: list[str]) -> None:
    _slots.unhold(slot)
    if not _breaker.allows():
        return  # the shared counters are down: the next heartbeat after their return gives these back
    if _is_redis():
        try:
            await asyncio.shield(_script(_RELEASE_LUA, slot, []))
        except Exception:  # the next heartbeat gives them back
            _shared_down("sockets")
        return
    if _local_cache():
        return _release(slot)
    await sync_to_async(_release, thread_sensitive=False)(slot)
