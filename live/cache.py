"""The cache backend: Django's RedisCache with one Redis client (one connection pool) per process.

Django's cache handler keeps one cache object per asyncio context, so under ASGI one per request (and per socket
consumer), and its RedisCache builds a client with connection pools of its own for each object. Every request that
touched the cache (every write: its rate limit; the comment fragments; presence) opened a new TCP connection to
Redis (connect, HELLO, CLIENT SETINFO twice, SELECT) and left it open until the garbage collector found the
object. This backend shares the process's client between those objects (live/internals.py `shared_cache_client`):
the cache objects stay per context, as Django wants; the connections are pooled. Measured with
`python -m bench.write_cost` (docs/performance.md).

Settings: `CACHES["default"]["BACKEND"] = "live.cache.RedisCache"`, with Django's RedisCache options.
"""

from __future__ import annotations

from django.core.cache.backends import redis
from django.utils.functional import cached_property

from live import internals


class RedisCache(redis.RedisCache):
    @cached_property
    def _cache(self):
        return internals.shared_cache_client(self) or super()._cache
