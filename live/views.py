import asyncio
import sys

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults
from django.views.decorators.cache import never_cache

from live import features

RETRY_AFTER_SECONDS = 2  # a PostgreSQL restart or failover: the pool has new connections within a second or two


def home(request):
    """The lists the feature apps registered (live/features.py), each in its own template."""
    return render(request, "live/home.html", {
        "sections": [{"template": s.template, "items": s.items()} for s in features.home_sections()],
    })


@never_cache
async def healthz(request):
    """Database and channel-layer health as JSON; 503 when either is down. Async, so a busy sync thread pool
    cannot make the load balancer think the process is dead."""
    checks = {}
    try:
        await sync_to_async(_database_roundtrip, thread_sensitive=False)()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await _layer_roundtrip()
        checks["channel_layer"] = "ok"
    except Exception as exc:
        checks["channel_layer"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


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
    await asyncio.wait_for(layer.group_send("live.healthz", {"type": "healthz"}), timeout=2)


def server_error(request):
    """The 500 page; when the database could not be reached (a restart, a failover), a 503 that says to try again
    in a moment, with Retry-After. Nothing is retried here: a write that failed inside its transaction was rolled
    back or its outcome is unknown, and only the client can send it again (its client id makes that safe)."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
