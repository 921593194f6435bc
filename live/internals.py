"""Every use of another library's private internals, in one place, checked when the server starts.

A few measured shortcuts (docs/performance.md) reach below public APIs:

- the fan-out fast path (live/wire.py) finds the daphne protocol behind a consumer's ASGI `send` (channels keeps it
  as `base_send`, its session middleware wraps it in `InstanceSessionWrapper.send` whose `real_send` is the next
  one down, daphne's is `functools.partial(Server.handle_reply, protocol)`), checks autobahn's connection state and
  negotiated extensions, and writes to the Twisted transport's socket, reading its buffer fields (`dataBuffer`,
  `offset`, `_tempDataLen`) and closing flags (`_writeDisconnected`, `_aborting`);
- autobahn builds a debug text on every connection whether or not it is logged (`protocol.pformat`, `Timings`):
  made lazy (`quiet_autobahn_debug_text`);
- a server worker thread queues its channel-layer sends on the server's event loop instead of waiting for it, which
  needs asgiref's `SyncToAsync.threadlocal` (`server_loop`);
- the connection caps (live/ratelimit.py) and the followed variants (live/variants.py) pipeline commands on the
  Redis client of Django's cache backend (`RedisCache._cache.get_client`, `redis_client`);
- a sync view's middleware chain runs in one thread hop (live/handlers.py) through Django's ASGIHandler
  `run_get_response` (`one_hop`);
- the channel layer (live/layers.py) sends to a group in two round trips with channels-redis' `_group_key`,
  `_map_channel_keys_to_connection` and `connection` (`layer_group_send`), and receives without its in-flight
  backup by replacing `_brpop_with_clean` and `_clean_receive_backup` (`layer_receive`);
- the cache backend (live/cache.py) shares one client, hence one connection pool, between Django's per-context
  cache objects, built from RedisCache's `_class`, `_servers` and `_options` (`shared_cache_client`);
- the socket consumer skips channels' stale-connection hop on every message and on disconnect
  (`AsyncConsumer.dispatch`, `AsyncWebsocketConsumer.websocket_disconnect` re-done without it: `lean_consumer`);
- the socket's user lookup runs channels' `get_user` in the thread pool (its `.func`) and fills channels'
  `UserLazyObject` (`_wrapped`) as channels' AuthMiddleware does (`socket_auth`, live/accounts/socket_auth.py);
- the database pool checks the connections it hands out with a round trip only when they have something to read
  (psycopg_pool's `ConnectionPool._check`: `pool_check`, see `lighten_pool_checks`);
- a closed WebSocket connection's objects are freed as soon as daphne forgets it, instead of waiting for the
  cyclic garbage collector (`connection_cycles`: daphne's `WebRequest.process` upgrade and
  `Server.application_checker` reaping, see `free_closed_connections`).

pyproject.toml bounds these libraries' versions. `self_check()` runs when the server starts (live/asgi.py) and logs
what it found, one line per shortcut: each one whose internals are missing is switched off and its public path is
used instead (the same behaviour, slower). The first socket a process serves through daphne also logs whether it
gets the fast path, so a silent degradation shows in the log (tests/live/test_fast_path.py).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import socket
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_UNSET = object()
# What self_check() found: shortcut -> None when usable, else the reason it is off. Until it runs, everything is
# assumed usable (a shell, a test that never starts a server) and each shortcut still guards itself.
STATUS: dict[str, str | None] = {}
_socket_reported = [False]


def usable(shortcut: str) -> bool:
    return STATUS.get(shortcut) is None


# --- the self-check ----------------------------------------------------------------------------------------------

def _source_mentions(obj, *names: str) -> bool:
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return all(name in source for name in names)


def _check_fast_path() -> str | None:
    try:
        from autobahn.websocket import protocol as autobahn
        from channels.consumer import AsyncConsumer
        from channels.sessions import InstanceSessionWrapper
        from daphne.server import Server
        from twisted.internet import abstract, tcp
    except ImportError as exc:
        return f"not importable: {exc}"
    checks = {
        "channels keeps the ASGI send as AsyncConsumer.base_send": _source_mentions(AsyncConsumer.__call__,
                                                                                    "base_send"),
        "channels' session wrapper keeps real_send": _source_mentions(InstanceSessionWrapper, "real_send"),
        "daphne replies through Server.handle_reply": hasattr(Server, "handle_reply"),
        "autobahn's STATE_OPEN and negotiated extensions": hasattr(autobahn.WebSocketProtocol, "STATE_OPEN")
        and _source_mentions(autobahn.WebSocketServerProtocol, "websocket_extensions_in_use"),
        "Twisted's write buffer fields": all(hasattr(abstract.FileDescriptor, name)
                                            for name in ("dataBuffer", "offset", "_writeDisconnected", "write"))
        and _source_mentions(abstract.FileDescriptor, "_tempDataLen"),
        "Twisted's abortConnection": hasattr(tcp.Connection, "abortConnection")
        and hasattr(tcp.Connection, "_aborting"),
    }
    missing = [what for what, ok in checks.items() if not ok]
    return "missing: " + "; ".join(missing) if missing else None


def _check_server_loop() -> str | None:
    from asgiref.sync import SyncToAsync

    if not hasattr(SyncToAsync, "threadlocal") or not _source_mentions(SyncToAsync, "main_event_loop",
                                                                       "main_event_loop_pid"):
        return "asgiref's SyncToAsync.threadlocal.main_event_loop is gone"
    return None


def _check_redis_client() -> str | None:
    from django.core.cache.backends.redis import RedisCache, RedisCacheClient

    if not hasattr(RedisCacheClient, "get_client") or not _source_mentions(RedisCache, "_cache"):
        return "Django's RedisCache._cache.get_client is gone"
    return None


def _check_shared_cache() -> str | None:
    from django.core.cache.backends.redis import RedisCache

    if not _source_mentions(RedisCache.__init__, "self._class", "self._servers", "self._options") \
            or not _source_mentions(RedisCache._cache.func, "self._class(self._servers, **self._options)"):
        return "Django's RedisCache no longer builds its client from _class, _servers and _options"
    return None


def _check_one_hop() -> str | None:
    from django.core.handlers.asgi import ASGIHandler

    if not _source_mentions(ASGIHandler.handle, "self.run_get_response(") \
            or not _source_mentions(ASGIHandler.run_get_response, "get_response_async", "_handler_class"):
        return "Django's ASGIHandler no longer gets its response through run_get_response"
    return None


def _check_layer_group_send() -> str | None:
    from channels_redis.core import RedisChannelLayer

    for name in ("_group_key", "_map_channel_keys_to_connection", "connection", "consistent_hash"):
        if not hasattr(RedisChannelLayer, name):
            return f"channels-redis has no RedisChannelLayer.{name}"
    if not _source_mentions(RedisChannelLayer.group_send, "zremrangebyscore", "zrange", "ZADD", "ZCOUNT",
                            "_map_channel_keys_to_connection"):
        return "channels-redis' group_send no longer stores messages as live/layers.py does"
    return None


def _check_layer_receive() -> str | None:
    from channels_redis.core import RedisChannelLayer

    if not _source_mentions(RedisChannelLayer.receive_single, "self._brpop_with_clean(", "_clean_receive_backup(") \
            or not _source_mentions(RedisChannelLayer._brpop_with_clean, "bzpopmin", "backup_queue"):
        return "channels-redis no longer receives through _brpop_with_clean and its backup queue"
    return None


def _check_lean_consumer() -> str | None:
    from channels.consumer import AsyncConsumer
    from channels.generic.websocket import AsyncWebsocketConsumer

    # What LiveConsumer.dispatch and websocket_disconnect re-do without the stale-connection hop: if channels'
    # versions do anything else, theirs are used.
    if not _source_mentions(AsyncConsumer.dispatch, "get_handler_name", "aclose_old_connections") \
            or not _source_mentions(AsyncWebsocketConsumer.websocket_disconnect, "self.groups", "self.disconnect",
                                    "aclose_old_connections", "StopConsumer"):
        return "channels' AsyncConsumer.dispatch or websocket_disconnect changed"
    return None


def _check_socket_auth() -> str | None:
    from channels.auth import AuthMiddleware, get_user

    if not callable(getattr(get_user, "func", None)) or not _source_mentions(AuthMiddleware.resolve_scope,
                                                                            '["user"]._wrapped', "get_user"):
        return "channels' get_user.func or AuthMiddleware.resolve_scope changed"
    return None


def _check_connection_cycles() -> str | None:
    from daphne.http_protocol import WebRequest
    from daphne.server import Server

    if not _source_mentions(WebRequest.process, "transport.protocol = protocol", "protocol_disconnected(self)") \
            or not _source_mentions(Server.application_checker, "del self.connections[protocol]"):
        return "daphne no longer upgrades in WebRequest.process or reaps in Server.application_checker"
    return None


def _check_pool_check() -> str | None:
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        return "psycopg_pool is not installed"
    if not _source_mentions(ConnectionPool._check_connection, "self._check(conn)"):
        return "psycopg_pool no longer calls its check through ConnectionPool._check"
    return None


def _check_autobahn_debug_text() -> str | None:
    return None if _quiet_autobahn() else "autobahn no longer formats its debug text with pprint.pformat"


CHECKS: dict[str, tuple[Callable[[], str | None], str]] = {
    "fast_path": (_check_fast_path, "every socket frame goes through the ASGI send (about 38 us more per socket "
                                    "and frame)"),
    "server_loop": (_check_server_loop, "a request waits for the event loop to hand its push to Redis"),
    "redis_client": (_check_redis_client, "connection caps and followed variants cannot use Redis pipelines"),
    "layer_group_send": (_check_layer_group_send, "channels-redis' group_send: four Redis round trips per event"),
    "layer_receive": (_check_layer_receive, "channels-redis' receive: 4 commands and 4 copies per message"),
    "one_hop": (_check_one_hop, "Django's async middleware chain: three thread hops per request to a sync view"),
    "shared_cache": (_check_shared_cache, "a new Redis connection for each request that uses the cache"),
    "autobahn_debug_text": (_check_autobahn_debug_text, "autobahn formats a debug text on every connection"),
    "lean_consumer": (_check_lean_consumer, "channels' own dispatch: a thread hop per socket message"),
    "socket_auth": (_check_socket_auth, "channels' AuthMiddleware: user lookups queue in one thread"),
    "pool_check": (_check_pool_check, "an empty query checks each pooled connection handed out (a round trip more "
                                      "per write, request and replay)"),
    "connection_cycles": (_check_connection_cycles, "each closed socket's objects wait for the cyclic garbage "
                                                    "collector (long pauses under reconnect churn)"),
}


def self_check() -> dict[str, str | None]:
    """Check every shortcut against the installed libraries; log one line each; switch off what is broken."""
    from django.conf import settings

    for name, (check, fallback) in CHECKS.items():
        try:
            reason = "switched off by LIVE_INTERNALS_OFF" if name in settings.LIVE_INTERNALS_OFF else check()
        except Exception as exc:  # noqa: BLE001 - a check must never stop the server
            reason = f"check failed: {exc!r}"
        STATUS[name] = reason
        if reason is None:
            logger.info("live.internals: %s on (%s)", name, _versions())
        else:
            logger.warning("live.internals: %s OFF: %s; fallback: %s (%s)", name, reason, fallback, _versions())
    return dict(STATUS)


@functools.cache
def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for package in ("daphne", "channels", "Twisted", "autobahn", "asgiref", "redis", "psycopg-pool"):
        try:
            out.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


# --- daphne, autobahn, Twisted: the fast path's access to a socket -------------------------------------------------

def daphne_protocol(consumer):
    """The daphne WebSocketProtocol behind a consumer's ASGI `send`, usable for direct writes, or None (tests,
    other servers, TLS in process, a failed self-check). Resolved once per consumer."""
    cached = getattr(consumer, "_wire_protocol", _UNSET)
    if cached is not _UNSET:
        return cached
    protocol = None
    reason = "the fast path is off (see the start-up self-check)"
    if usable("fast_path"):
        protocol, reason = _find_protocol(consumer)
    if protocol is not None:
        _size_send_buffer(protocol.transport)
    consumer._wire_protocol = protocol
    _report_first_socket(consumer, protocol, reason)
    return protocol


def _find_protocol(consumer):
    send = getattr(consumer, "base_send", None)
    for _ in range(8):
        if send is None:
            break
        if isinstance(send, functools.partial):
            candidate = send.args[0] if send.args else None
            if candidate is None or not hasattr(candidate, "sendMessage") or not hasattr(candidate, "STATE_OPEN"):
                return None, "the ASGI send is not daphne's"
            transport = getattr(candidate, "transport", None)
            if transport is None or getattr(transport, "TLS", False):
                return None, "TLS is terminated in the process"
            needed = ("socket", "dataBuffer", "offset", "_tempDataLen", "connected", "disconnecting", "write")
            if not all(hasattr(transport, name) for name in needed):
                return None, "the Twisted transport lacks " + ", ".join(n for n in needed
                                                                        if not hasattr(transport, n))
            # Extensions (permessage-deflate) would make a plain frame invalid; daphne negotiates none.
            if getattr(candidate, "websocket_extensions_in_use", None):
                return None, "a WebSocket extension is in use"
            return candidate, None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
    return None, "no daphne protocol behind the ASGI send"


def _report_first_socket(consumer, protocol, reason) -> None:
    """Once per process, for the first socket served by a real server: whether it gets the fast path."""
    if _socket_reported[0] or not (getattr(consumer, "scope", None) or {}).get("server"):
        return
    _socket_reported[0] = True
    if protocol is not None:
        logger.info("live.internals: sockets are written directly (fast path), pid %s", os.getpid())
    else:
        logger.warning("live.internals: sockets go through the ASGI send, not the fast path: %s (pid %s)", reason,
                       os.getpid())


def _size_send_buffer(transport) -> None:
    """LIVE_SOCKET_SNDBUF bytes of kernel send buffer for this socket instead of Linux's autotuning (up to
    tcp_wmem's 4 MB per socket): with it, a client that stops reading holds at most SNDBUF in the kernel plus
    LIVE_SOCKET_BACKLOG_BYTES in the process. 0 keeps the kernel's choice."""
    from django.conf import settings

    if settings.LIVE_SOCKET_SNDBUF:
        set_send_buffer(transport, settings.LIVE_SOCKET_SNDBUF)


def closing(transport) -> bool:
    return not transport.connected or transport.disconnecting or getattr(transport, "_aborting", False)


def is_open(protocol) -> bool:
    """The connection takes writes: open at the WebSocket level, and its transport not closing or aborted."""
    if protocol.state != protocol.STATE_OPEN:
        return False
    transport = protocol.transport
    return not (transport is None or closing(transport) or getattr(transport, "_writeDisconnected", False))


def backlog(transport) -> int:
    """Bytes written to a Twisted transport that the kernel has not taken yet (they live in this process)."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def send_now(transport, data: bytes) -> None:
    """With nothing queued: send now, as asyncio's own transports do, and queue only what the kernel did not take
    (Twisted's buffer keeps the order)."""
    try:
        sent = transport.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        return  # the connection is dying; Twisted notices on its next read, as with any write
    if sent < len(data):
        transport.write(data[sent:])


def set_send_buffer(transport, size: int) -> None:
    try:
        transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except (OSError, AttributeError):
        pass


def peer(transport) -> str:
    try:
        address = transport.getPeer()
        return f"{address.host}:{address.port}"
    except Exception:  # noqa: BLE001 - only for a log line
        return "?"


# --- asgiref: the server's event loop, from one of its worker threads ----------------------------------------------

def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the ASGI server when this thread is one of its sync workers, else None."""
    if not usable("server_loop"):
        return None
    from asgiref.sync import SyncToAsync

    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return loop  # a worker thread, as expected
    return None  # called from inside a loop's own thread: never queue-and-forget there


# --- Django's Redis cache backend: its client, for pipelines and scripts ------------------------------------------

def redis_client(backend):
    """The redis-py client behind a `django.core.cache.backends.redis.RedisCache`. Raises RuntimeError when the
    self-check found it gone (callers treat it like Redis being unavailable)."""
    if not usable("redis_client"):
        raise RuntimeError(f"redis_client is off: {STATUS['redis_client']}")
    return backend._cache.get_client(write=True)


_cache_clients: dict[tuple, object] = {}
_cache_clients_lock = threading.Lock()


def shared_cache_client(backend):
    """The process's client for a RedisCache object's settings (one per location, options and process), or None
    (the self-check found Django changed: the caller builds its own, as Django does)."""
    if not usable("shared_cache"):
        return None
    key = (os.getpid(), tuple(backend._servers), repr(sorted(backend._options.items())))
    with _cache_clients_lock:
        client = _cache_clients.get(key)
        if client is None:
            client = _cache_clients[key] = backend._class(backend._servers, **backend._options)
    return client


# --- CPython: the exit handlers, for an exit that must not wait for worker threads ----------------------------------

def run_exit_handlers() -> None:
    """What a normal exit runs (`atexit`: the socket slots given back, logging flushed...) for a process about to
    leave with os._exit (live/drain.py). CPython's `atexit._run_exitfuncs`; without it, logging is flushed."""
    import atexit

    run = getattr(atexit, "_run_exitfuncs", None)
    if run is None:
        logging.shutdown()
    else:
        run()


# --- channels: the socket's user, looked up in the thread pool --------------------------------------------------------

def session_user_lookup():
    """channels' `get_user(scope)` as the plain function its `database_sync_to_async` wraps."""
    from channels.auth import get_user

    return get_user.func


def set_scope_user(scope, user) -> None:
    """What channels' AuthMiddleware.resolve_scope does with the user it found."""
    scope["user"]._wrapped = user


# --- autobahn: no debug text built for nobody ------------------------------------------------------------------------

def _quiet_autobahn() -> bool:
    """autobahn pretty-prints its whole configuration for a debug log line on every new connection, whether or
    not debug logging is on (`self.log.debug("\\n{attrs}", attrs=pformat(...))`): 14% of the server's CPU in a
    reconnect storm (bench S7, py-spy). The text is now built only if the line is actually logged. Same log
    output; nothing else in that module uses pformat but Timings.__str__, which keeps returning a string.
    True when done (now or before)."""
    import pprint

    try:
        from autobahn.websocket import protocol
    except ImportError:  # pragma: no cover - daphne depends on autobahn
        return False
    current = getattr(protocol, "pformat", None)
    if getattr(current, "__name__", "") == "LazyPformat":
        return True  # already done
    if current is not pprint.pformat:
        return False  # an autobahn that formats otherwise: leave it alone

    class LazyPformat:
        __slots__ = ("obj",)

        def __init__(self, obj):
            self.obj = obj

        def __str__(self):
            return pprint.pformat(self.obj)

        def __format__(self, spec):
            return format(str(self), spec)

    if hasattr(protocol, "Timings"):
        protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)
    protocol.pformat = LazyPformat
    return True


def quiet_autobahn_debug_text() -> None:
    """Applied before the server accepts connections (live/asgi.py)."""
    from django.conf import settings

    if "autobahn_debug_text" not in settings.LIVE_INTERNALS_OFF:
        _quiet_autobahn()


# --- psycopg_pool: the check of a connection handed out ----------------------------------------------------------------

def lighten_pool_checks() -> bool:
    """Django creates its psycopg pool with psycopg_pool's own check of every connection handed out, an empty query
    (CONN_HEALTH_CHECKS); the pool's `_check` becomes live/database.py's `quick_check`, which sends it only when the
    connection has something to read. True when installed (or no pool is configured)."""
    from django.db import connections

    if not usable("pool_check"):
        return False
    from psycopg_pool import ConnectionPool

    from live.database import quick_check

    for alias in connections:
        pool = getattr(connections[alias], "pool", None)  # Django creates it unopened, once per process and alias
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = quick_check
    return True


# --- daphne: a closed connection's objects freed by reference counting -------------------------------------------------

def free_closed_connections() -> bool:
    """Each WebSocket connection leaves about 50 objects in reference cycles when it closes: daphne's
    WebSocketProtocol with its Deferreds (whose result is the protocol itself), and the HTTP channel and request
    it was upgraded from (each naming the other). Refcounting cannot free them; the cyclic collector finds them
    later, in the middle-aged generation, where one collection under reconnect churn walked 250k objects and freed
    68k (250 ms of CPU with the loop stopped: bench S2, bench/trace_server.py). Once daphne has reaped a closed
    connection (its application done, `Server.application_checker`), nothing uses these objects any more: their
    attributes are dropped, which breaks the cycles, and refcounting frees them at once (the garbage found over
    30 s of S2 churn: 44,671 objects before, 284 after). True when installed."""
    if not usable("connection_cycles"):
        return False
    from daphne.http_protocol import WebRequest
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(Server.application_checker, "frees_closed_connections", False):
        return True
    process, checker = WebRequest.process, Server.application_checker

    @functools.wraps(process)
    def upgrading_process(request):
        channel = request.channel
        try:
            return process(request)
        finally:
            protocol = getattr(getattr(channel, "transport", None), "protocol", None)
            if request.transport is None and isinstance(protocol, WebSocketProtocol):  # upgraded
                protocol._live_upgraded_from = (channel, request)

    @functools.wraps(checker)
    def reaping_checker(server):
        before = list(server.connections)
        try:
            return checker(server)
        finally:
            for protocol in before:
                if protocol not in server.connections and isinstance(protocol, WebSocketProtocol):
                    channel, request = protocol.__dict__.get("_live_upgraded_from", (None, None))
                    if request is not None:
                        request.__dict__.clear()
                    if channel is not None:
                        channel.requests = []
                    protocol.__dict__.clear()

    reaping_checker.frees_closed_connections = True
    WebRequest.process, Server.application_checker = upgrading_process, reaping_checker
    return True
