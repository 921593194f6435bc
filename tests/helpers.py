"""Shared test helpers: users, signed-in sockets, waiting for frames."""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct-horse-battery-9"
ORIGIN = b"http://127.0.0.1:8000"


def make_user(nickname, role="participant", **extra):
    User = get_user_model()
    user = User.objects.create_user(username=f"{nickname}@example.org", email=f"{nickname}@example.org",
                                    password=PASSWORD, nickname=nickname, role=role, **extra)
    return user


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def connect(user=None, origin=ORIGIN, path="/ws/", cookie=None, lang=None):
    """A WebsocketCommunicator through the real ASGI stack (origin check, session auth)."""
    from live.asgi import application

    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None and cookie is None:
        cookie = await database_sync_to_async(session_cookie)(user)
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    if lang:
        headers.append((b"accept-language", lang.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    communicator.connected_ok, communicator.close_code = connected, code
    return communicator


async def receive(communicator, timeout=5):
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(communicator, predicate, timeout=5):
    """Frames until one matches; returns (match, frames seen before it)."""
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {timeout}s; saw {seen}")
        frame = await receive(communicator, timeout=remaining)
        if predicate(frame):
            return frame, seen
        seen.append(frame)


async def events(communicator, stream, count, timeout=10):
    """The next `count` event frames of `stream` (other frames skipped)."""
    got = []
    while len(got) < count:
        frame, _ = await receive_until(communicator, lambda f: f.get("type") == "event" and f.get("stream") == stream,
                                       timeout=timeout)
        got.append(frame)
    return got


async def resume(communicator, **positions):
    await communicator.send_json_to({"type": "resume", "streams": positions})
