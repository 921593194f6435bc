import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


def home(request):
    from debates.models import Debate
    from meetings.models import Meeting

    return render(request, "live/home.html", {
        "debates": Debate.objects.home_page()[:5],
        "meetings": Meeting.objects.home_page()[:5],
    })


@never_cache
def healthz(request):
    """Database and channel-layer health as JSON; 503 when either is down."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        async_to_sync(_layer_roundtrip)()
        checks["channel_layer"] = "ok"
    except Exception as exc:
        checks["channel_layer"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


async def _layer_roundtrip():
    layer = get_channel_layer()
    channel = await layer.new_channel(prefix="healthz")
    await asyncio.wait_for(layer.send(channel, {"type": "healthz"}), timeout=2)
    await asyncio.wait_for(layer.receive(channel), timeout=2)
