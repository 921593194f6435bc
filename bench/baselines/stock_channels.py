"""Baseline (b), the typical deployment: stock Channels under daphne, a consumer per socket joining one group,
and `group_send` over channels-redis (RedisChannelLayer, the same settings as the application's layer).

Sockets on `/ws/` join the group "room"; `POST /post` group_sends its body to it; `GET /healthz` answers ok.
Several rooms (S2, S3): sockets on `/ws/<room>/` join the group "room.<room>", and `POST /post?room=<room>`
group_sends to it.
Run: REDIS_URL=redis://... daphne bench.baselines.stock_channels:application
"""

import os
from urllib.parse import parse_qs

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={"default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 10000}],
                       "capacity": 1000, "expiry": 30, "prefix": "stockbench"},
        }},
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "room"


def group_of(room: str | None) -> str:
    return f"{GROUP}.{room}" if room else GROUP


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = group_of(self.scope.get("url_route", {}).get("kwargs", {}).get("room"))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def room_message(self, event):
        await self.send(text_data=event["text"])


async def http_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "POST" and scope["path"] == "/post":
        room = parse_qs(scope.get("query_string", b"").decode()).get("room", [None])[0]
        await get_channel_layer().group_send(group_of(room), {"type": "room.message", "text": body.decode()})
        status = 204
    else:
        status = 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"" if status == 204 else b"ok"})


application = ProtocolTypeRouter({
    "http": http_app,
    "websocket": URLRouter([path("ws/", RoomConsumer.as_asgi()), path("ws/<slug:room>/", RoomConsumer.as_asgi())]),
})
