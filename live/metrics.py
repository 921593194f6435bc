"""Prometheus metrics of this process (docs/deploy.md, Metrics), served at /metrics to the configured networks or
to a scraper that brings METRICS_TOKEN; anyone else gets a 404.

Each daphne process serves its own figures (Prometheus scrapes every port). Labels are bounded: stream kinds
(`debate`, `meeting`...), event kinds (`comment.posted`), rate-limit actions (`comment`, `vote`...), reasons;
never a stream id, a user id or any text.

The hot path only adds to plain dicts here, read when Prometheus scrapes (`LiveCollector`): no lock and no label
lookup, and nothing per socket: the hub counts a fan-out's frames once. Histograms (a write's latency, an event's rendering)
are observed once per request or per published event.

With METRICS_ENABLED off, each call below returns before touching anything (what is left is the call itself),
writes are not timed, the loop timer does not run, /metrics answers 404 and no status snapshot is sent: the bench
compares the two (bench/metrics_overhead.py). The process's set of open sockets is kept either way: the graceful
stop (live/drain.py) closes them.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import json
import logging
import os
import socket
import time
import weakref
from collections import Counter, defaultdict

from django.conf import settings
from django.core.signals import setting_changed
from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from redis.exceptions import RedisError

from live import logs

logger = logging.getLogger(__name__)
_on = settings.METRICS_ENABLED


def enabled() -> bool:
    return _on


def _switch(setting, value, **kwargs) -> None:
    global _on
    if setting == "METRICS_ENABLED":
        _on = bool(value)


setting_changed.connect(_switch, weak=False)  # tests switch it with the settings fixture

# --- counted in plain dicts, exposed by LiveCollector ------------------------------------------------------------------

appended: Counter[tuple[str, str]] = Counter()  # (stream kind, event kind) -> events published after commit
# stream kind -> event frames written to sockets (live and replayed), added once per fan-out (live/hub.py) and per
# frame only where sockets are served one by one (catching up, replays, the ASGI send)
delivered: defaultdict[str, int] = defaultdict(int)
replays: Counter[str] = Counter()  # stream kind -> resumes answered with a replay
replayed: Counter[str] = Counter()  # stream kind -> events sent by those replays
resets: Counter[str] = Counter()  # stream kind -> positions that could not be replayed
holes: Counter[str] = Counter()  # "sweep" / "gap" -> holes found
repaired: Counter[str] = Counter()  # "sweep" / "gap" -> events read from the log to fill them
layer_failures: Counter[str] = Counter()  # "send" (the layer raised) / "skipped" (breaker open)
rejections: Counter[str] = Counter()  # "origin" / "auth" / "limit" / "unavailable" -> sockets refused
refusals: Counter[tuple[str, str]] = Counter()  # (action, reason) -> write refusals answered by live/actions.py
socket_writes: Counter[tuple[str, str]] = Counter()  # (socket action, outcome) -> `write` frames answered
rate_limited: Counter[str] = Counter()  # rate-limit action -> refusals
sockets: weakref.WeakSet = weakref.WeakSet()  # this process's open sockets (their consumers)
loop_lag = [0.0]  # the last measured delay of the loop timer, seconds

REJECTION_REASONS = ("origin", "auth", "limit", "unavailable")
HOLE_SOURCES = ("sweep", "gap")

# --- histograms --------------------------------------------------------------------------------------------------------

WRITE_SECONDS = Histogram(
    "agora_http_write_seconds", "Writes from arrival to answer (HTTP POST, or a socket `write` in its worker thread), "
    "by rate-limit action",
    ["action"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
RENDER_SECONDS = Histogram(
    "agora_render_seconds", "Rendering of a published event for the variants some socket follows, by event kind",
    ["kind"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
LOOP_LAG_SECONDS = Histogram(
    "agora_event_loop_lag_seconds", "Delay of a periodic timer on the event loop beyond its due time",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
LOOP_TICK = 0.5  # seconds between two lag measurements


def stream_kind(key: str) -> str:
    return key.partition(".")[0]


# --- one-line calls from the live layer --------------------------------------------------------------------------------

def published(event, started: float) -> None:
    """streams.publish: one event committed and rendered (`started`: time.perf_counter() before the rendering)."""
    if not _on:
        return
    RENDER_SECONDS.labels(event.kind).observe(time.perf_counter() - started)
    appended[(stream_kind(event.stream), event.kind)] += 1


def frames_delivered(key: str, count: int = 1) -> None:
    """Event frames written to sockets: the hub adds a fan-out's sockets at once, a replay or a push each frame."""
    if _on:
        delivered[key.partition(".")[0]] += count


def replay(key: str, count: int) -> None:
    if not _on:
        return
    replays[stream_kind(key)] += 1
    replayed[stream_kind(key)] += count


def reset(key: str) -> None:
    if not _on:
        return
    resets[stream_kind(key)] += 1


def hole(source: str, missing: int) -> None:
    if not _on:
        return
    holes[source] += 1
    repaired[source] += missing


def layer_failed(how: str = "send") -> None:
    if not _on:
        return
    layer_failures[how] += 1


def rejected(reason: str, scope: dict | None = None) -> None:
    if _on:
        rejections[reason] += 1
    logs.socket_event("socket refused", scope or {}, reason=reason)


def counting_origin_refusals(validator):
    """channels' OriginValidator (AllowedHostsOriginValidator), counting the handshakes it refuses."""
    check = validator.valid_origin

    def valid_origin(parsed_origin):
        valid = check(parsed_origin)
        if not valid:
            rejected("origin")  # logged even with the metrics off
        return valid

    validator.valid_origin = valid_origin
    return validator


def opened(consumer) -> None:
    sockets.add(consumer)
    logs.socket_event("socket opened", consumer.scope)


def closed(consumer, code=None) -> None:
    if consumer in sockets:
        sockets.discard(consumer)
        logs.socket_event("socket closed", consumer.scope, code=code)


# --- the write being served: its action is known once the service is rate limited ---------------------------------

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("agora_request", default=None)


def rate_limit_checked(action: str) -> None:
    """live/ratelimit.py: the request being served is this action (the first one counted names it)."""
    if not _on:
        return
    current = _request.get()
    if current is not None and "action" not in current:
        current["action"] = action


def rate_limit_refused(action: str) -> None:
    if not _on:
        return
    rate_limited[action] += 1


def refused(reason: str) -> None:
    """live/actions.py: a write refused (invalid, forbidden, rate_limited)."""
    if not _on:
        return
    current = _request.get()
    refusals[((current or {}).get("action", "other"), reason)] += 1


def socket_write_arrived() -> dict | None:
    """live/consumers.py: a `write` frame arrived. Its state goes with it: when it arrived, and (set in the worker
    thread by live/ratelimit.py, as for an HTTP write) the rate-limit action its service checked."""
    return {"started": time.perf_counter()} if _on else None


def write_started(state: dict | None = None):
    """live/socket_writes.py: the socket write `state` (socket_write_arrived) runs now in this thread."""
    if not _on:
        return None, None
    state = {} if state is None else state
    return state, _request.set(state)


def write_done(token) -> None:
    if token is not None:
        _request.reset(token)


def socket_written(name: str, state: dict | None, outcome: str) -> None:
    """A socket write ran: counted by (action, outcome)."""
    if not _on:
        return
    socket_writes[(name, outcome)] += 1


def socket_refused(name: str, kind: str) -> None:
    """A socket write answered without running: too many in flight on its socket (`rate_limited`), its session
    ended (`forbidden`), the session's check failed (`unavailable`, not a refusal)."""
    if not _on:
        return
    socket_writes[(name, kind)] += 1
    if kind != "unavailable":
        refusals[(name, kind)] += 1


def socket_answered(name: str, state: dict | None) -> None:
    """A socket write's answer is sent: its time from the frame's arrival (the wait for a worker thread and the
    session's check included, as an HTTP write's from arrival to response) in the writes' histogram, under the
    rate-limit action it checked, else its socket action."""
    if not _on or state is None or name == "unknown":
        return
    WRITE_SECONDS.labels(state.get("action", name)).observe(time.perf_counter() - state["started"])


class Instrumented:
    """The ASGI wrapper of HTTP requests: times writes (POST) by action, until their response is sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if not _on or scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        state: dict = {}
        token = _request.set(state)
        started = time.perf_counter()

        async def timed_send(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                WRITE_SECONDS.labels(state.get("action", "other")).observe(time.perf_counter() - started)

        try:
            return await self.app(scope, receive, timed_send)
        finally:
            _request.reset(token)


# --- event-loop lag ----------------------------------------------------------------------------------------------------

_timers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def ensure_loop_timer() -> None:
    if not _on:
        return
    loop = asyncio.get_running_loop()
    if loop not in _timers:
        _timers[loop] = loop.create_task(_measure_lag(), name="agora-loop-lag")


async def _measure_lag() -> None:
    from asgiref.sync import sync_to_async

    loop = asyncio.get_running_loop()
    ticks = 0
    while True:
        due = loop.time() + LOOP_TICK
        await asyncio.sleep(LOOP_TICK)
        lag = max(0.0, loop.time() - due)
        loop_lag[0] = lag
        LOOP_LAG_SECONDS.observe(lag)
        ticks += 1
        if ticks % int(SNAPSHOT_SECONDS / LOOP_TICK) == 0:
            try:
                await sync_to_async(publish_snapshot, thread_sensitive=False)(snapshot())
            except (ConnectionError, TimeoutError, OSError, RedisError):
                pass  # Redis down: the status page misses this process for a while, nothing else
            except Exception:  # a bug: said, not swallowed (a snapshot that always raised went unseen)
                logger.exception("the live status snapshot failed")


# --- the staff page "État du direct" (live/views.py: live_status) ------------------------------------------------
# Every SNAPSHOT_SECONDS each daphne process writes its figures to Redis (the cache's server) in one transaction:
# its snapshot under its own key, which expires after SNAPSHOT_TTL, and its name in a sorted set scored by the time
# it reported. Each write is a single atomic command (ZADD, not a read-modify-write of a shared list), so processes
# reporting at the same instant never hide one another; a stopped process leaves the page within SNAPSHOT_TTL, and
# its name leaves the set at the next report of any process. Without Redis (the embedded default, one process) the
# figures stay in this process.

SNAPSHOT_SECONDS = 5
SNAPSHOT_TTL = 15
STATUS_INDEX = "live:status:processes"
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
_local_names: set[str] = set()  # without Redis: the processes that reported to this one's cache


def _status_key(process: str) -> str:
    return f"live:status:{process}"


def snapshot() -> dict:
    """This process's live figures, as the status page shows them."""
    from live import hub, wire

    subs: Counter[str] = Counter()
    for live_hub in list(hub._hubs.values()):
        for key, consumers in list(live_hub.subscribers.items()):
            subs[stream_kind(key)] += len(consumers)
    writes, write_seconds = _count_and_sum(WRITE_SECONDS)
    return {
        "process": PROCESS, "at": time.time(), "sockets": len(sockets), "subscriptions": dict(subs),
        "events": sum(appended.values()), "frames": sum(delivered.values()), "replays": sum(replays.values()),
        "sweep_repaired": repaired["sweep"], "layer_failures": sum(layer_failures.values()),
        "slow_cut": wire.SLOW_ABORTS[0], "rejections": sum(rejections.values()),
        "rate_limited": sum(rate_limited.values()), "loop_lag_ms": round(loop_lag[0] * 1000, 1),
        "write_ms": round(write_seconds / writes * 1000, 1) if writes else None, "writes": int(writes),
    }


def _count_and_sum(histogram) -> tuple[float, float]:
    """Observations and their total over every label of `histogram`, from its public samples (the children's
    `_count`, read here before, does not exist: each snapshot raised once a write was timed, and the process
    vanished from the staff page)."""
    count = total = 0.0
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
    return count, total


def publish_snapshot(figures: dict) -> None:
    """Report `figures` (a snapshot()) for the staff page. Blocking (Redis): call from a thread."""
    from live import ratelimit  # (it imports this module)

    redis = ratelimit.cache_redis()
    if redis is None:  # the embedded default: Django's cache of this process, the same key expiring alike
        from django.core.cache import cache

        cache.set(_status_key(figures["process"]), figures, SNAPSHOT_TTL)
        _local_names.add(figures["process"])
        return
    backend, client = redis
    index, now = backend.make_key(STATUS_INDEX), figures["at"]
    pipe = client.pipeline(transaction=True)
    pipe.set(backend.make_key(_status_key(figures["process"])), json.dumps(figures), ex=SNAPSHOT_TTL)
    pipe.zadd(index, {figures["process"]: now})
    pipe.zremrangebyscore(index, "-inf", now - SNAPSHOT_TTL)
    pipe.expire(index, SNAPSHOT_TTL * 4)
    pipe.execute()


def reported() -> list[dict]:
    """The snapshots of the processes that reported within SNAPSHOT_TTL, by name. Raises when Redis is down."""
    from live import ratelimit

    redis = ratelimit.cache_redis()
    now = time.time()
    if redis is None:
        from django.core.cache import cache

        found = [f for f in cache.get_many([_status_key(name) for name in _local_names]).values()
                 if now - f["at"] < SNAPSHOT_TTL]
    else:
        backend, client = redis
        names = [name.decode() for name in client.zrangebyscore(backend.make_key(STATUS_INDEX), now - SNAPSHOT_TTL,
                                                                "+inf")]
        values = client.mget([backend.make_key(_status_key(name)) for name in names]) if names else []
        found = [json.loads(value) for value in values if value is not None]
    return sorted(found, key=lambda figures: figures["process"])


# --- read at scrape time -----------------------------------------------------------------------------------------------

def _pools() -> list:
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:
        return []
    return list(getattr(DatabaseWrapper, "_connection_pools", {}).values())


class LiveCollector:
    def describe(self):
        return []  # read at scrape time only (collect imports the live layer, which imports this module)

    def collect(self):
        from live import hub, ratelimit, wire

        def counter(name, doc, label, values, fixed=()):
            family = CounterMetricFamily(name, doc, labels=[label] if isinstance(label, str) else list(label))
            for key in {*fixed, *values}:
                family.add_metric([key] if isinstance(label, str) else list(key), values.get(key, 0))
            return family

        yield GaugeMetricFamily("agora_sockets_open", "WebSockets open in this process", value=len(sockets))
        subs = GaugeMetricFamily("agora_subscriptions", "Socket subscriptions in this process, by stream kind",
                                 labels=["stream"])
        by_kind: Counter[str] = Counter()
        for live_hub in list(hub._hubs.values()):
            for key, consumers in list(live_hub.subscribers.items()):
                by_kind[stream_kind(key)] += len(consumers)
        for kind, count in by_kind.items():
            subs.add_metric([kind], count)
        yield subs
        yield counter("agora_events_appended", "Events committed and published, by stream and event kind",
                      ("stream", "kind"), appended)
        yield counter("agora_frames_delivered", "Event frames written to sockets (live and replayed), by stream kind",
                      "stream", delivered)
        yield counter("agora_replays", "Resumes answered by a replay, by stream kind", "stream", replays)
        yield counter("agora_replayed_events", "Events sent by replays, by stream kind", "stream", replayed)
        yield counter("agora_replay_resets", "Positions that could not be replayed (reset), by stream kind",
                      "stream", resets)
        yield counter("agora_holes_found", "Holes in a stream found by the hub (sweep: the periodic check against "
                      "the log; gap: an event arrived ahead of its predecessor)", "source", holes, HOLE_SOURCES)
        yield counter("agora_hole_events_repaired", "Events read from the log to fill the holes", "source",
                      repaired, HOLE_SOURCES)
        yield counter("agora_channel_layer_failures", "Channel-layer sends that failed (send) or were skipped while "
                      "the layer was down (skipped)", "how", layer_failures, ("send", "skipped"))
        yield CounterMetricFamily("agora_slow_sockets_cut", "Sockets cut for not reading their frames",
                                  value=wire.SLOW_ABORTS[0])
        yield counter("agora_socket_rejections", "Sockets refused at the handshake, by reason", "reason",
                      rejections, REJECTION_REASONS)
        yield counter("agora_rate_limit_refusals", "Attempts refused by a rate limit, by action", "action",
                      rate_limited)
        yield counter("agora_write_refusals", "Writes refused (HTTP and socket: invalid, forbidden, rate_limited, "
                      "not_found), by action",
                      ("action", "reason"), refusals)
        yield counter("agora_socket_writes", "Socket `write` frames answered, by action and outcome (written, "
                      "invalid, forbidden, rate_limited, not_found, unavailable, unknown, malformed)", ("action", "outcome"),
                      socket_writes)
        yield counter("agora_rate_limit_degraded", "Rate-limit decisions taken by this process alone while Redis "
                      "was down, by action", "action", dict(ratelimit.degraded))
        yield GaugeMetricFamily("agora_event_loop_lag_last_seconds", "The last measured event-loop lag",
                                value=loop_lag[0])
        in_use = GaugeMetricFamily("agora_db_pool_connections_in_use", "Database pool connections lent out")
        waiting = GaugeMetricFamily("agora_db_pool_requests_waiting", "Requests waiting for a pool connection")
        size = GaugeMetricFamily("agora_db_pool_size", "Database pool connections open")
        used = wait = total = 0
        for pool in _pools():
            stats = pool.get_stats()
            total += stats.get("pool_size", 0)
            used += stats.get("pool_size", 0) - stats.get("pool_available", 0)
            wait += stats.get("requests_waiting", 0)
        in_use.add_metric([], used)
        waiting.add_metric([], wait)
        size.add_metric([], total)
        yield from (in_use, waiting, size)


REGISTRY.register(LiveCollector())


# --- access ------------------------------------------------------------------------------------------------------------

def allowed(request) -> bool:
    """The scraper is in METRICS_ALLOWED_NETWORKS (its address as daphne gives it: with --proxy-headers, the
    client's) or sends `Authorization: Bearer <METRICS_TOKEN>`; nobody when the metrics are off."""
    import hmac

    if not _on:
        return False
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS)
