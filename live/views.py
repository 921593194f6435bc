import asyncio
import logging
import sys

import prometheus_client
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.dateparse import parse_date
from django.views import defaults
from django.views.decorators.cache import never_cache

from live import drain, features, metrics

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2  # a PostgreSQL restart or failover: the pool has new connections within a second or two


def home(request):
    """The lists the feature apps registered (live/features.py), each in its own template."""
    return render(request, "live/home.html", {
        "sections": [{"template": s.template, "items": s.items()} for s in features.home_sections()],
    })


def accessibility(request):
    """The accessibility statement (RGAA's model): the city's facts from settings, the audit from the test suite."""
    return render(request, "live/accessibility.html", {
        "entity": settings.ACCESSIBILITY_ENTITY,
        "email": settings.ACCESSIBILITY_CONTACT_EMAIL,
        "contact_url": settings.ACCESSIBILITY_CONTACT_URL,
        "address": settings.ACCESSIBILITY_CONTACT_ADDRESS,
        "statement_date": parse_date(settings.ACCESSIBILITY_STATEMENT_DATE),
        "audit_date": parse_date(settings.ACCESSIBILITY_AUDIT_DATE),
    })


@never_cache
async def healthz(request):
    """Liveness: the process answers (its event loop turns). Cheap on purpose: a database or Redis outage must not
    make a supervisor restart processes that will recover by themselves; /readyz says whether to send traffic."""
    return JsonResponse({"status": "ok"})


@never_cache
async def readyz(request):
    """Readiness: PostgreSQL, the channel layer and the cache (Redis) each answer within READYZ_TIMEOUT_SECONDS;
    else 503 naming what failed, so the load balancer sends new requests and sockets to another process. A process
    draining for a restart (SIGTERM) answers 503 too."""
    timeout = settings.READYZ_TIMEOUT_SECONDS
    checks = {}
    for name, check in (("database", lambda: sync_to_async(_database_roundtrip, thread_sensitive=False)()),
                        ("channel_layer", _layer_roundtrip),
                        ("cache", lambda: sync_to_async(_cache_roundtrip, thread_sensitive=False)())):
        try:
            await asyncio.wait_for(check(), timeout=timeout)
            checks[name] = "ok"
        except TimeoutError:
            checks[name] = "error: timeout"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    if drain.draining():
        checks["process"] = "error: draining"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)


@never_cache
def live_status(request):
    """"État du direct", for staff: the live figures of every process that reported in the last seconds."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise PermissionDenied
    try:
        processes, unreachable = metrics.reported(), False
    except Exception:  # Redis down: say so rather than show an empty list as if no process ran
        logger.warning("live status: the processes' figures could not be read", exc_info=True)
        processes, unreachable = [], True
    totals = {name: sum(p[name] or 0 for p in processes) for name in
              ("sockets", "events", "frames", "replays", "sweep_repaired", "layer_failures", "rejections",
               "rate_limited")}
    return render(request, "live/status.html", {"processes": processes, "totals": totals, "unreachable": unreachable,
                                                "metrics_enabled": metrics.enabled(),
                                                "refresh": metrics.SNAPSHOT_SECONDS})


@never_cache
def metrics_view(request):
    """This process's Prometheus metrics (live/metrics.py), for the configured networks or the bearer token only."""
    if not metrics.allowed(request):
        raise Http404
    return HttpResponse(prometheus_client.generate_latest(), content_type=prometheus_client.CONTENT_TYPE_LATEST)


def _database_roundtrip():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # a pool thread: do not leave a connection behind


async def _layer_roundtrip():
    """A write and a read on the layer's backend (a group_send to a group nobody is in). Receiving on a fresh
    process-local channel is avoided on purpose: channels-redis serializes such receives behind the hub's own
    blocking receive, which made a busy process look down."""
    layer = get_channel_layer()
    await layer.group_send("live.healthz", {"type": "healthz"})


def _cache_roundtrip():
    """A write and a read on the cache (rate limits, socket slots, presence): an unreachable Redis raises."""
    cache.set("readyz", 1, timeout=10)
    cache.get("readyz")


def server_error(request):
    """The 500 page; when the database could not be reached (a restart, a failover), a 503 that says to try again
    in a moment, with Retry-After. Nothing is retried here: a write that failed inside its transaction was rolled
    back or its outcome is unknown, and only the client can send it again (its client id makes that safe)."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
