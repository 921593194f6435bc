"""Faults: a Redis restart while clients are connected loses nothing, and nobody is locked out while it is down
(RELIABILITY 23).

The tests start their own redis-server on a spare port (channel layer, cache, rate limits and socket slots all on
it), so they can stop and restart it without disturbing anyone."""

import shutil
import socket
import subprocess
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.test import Client

from live import ratelimit, streams
from live.notifications.services import notify
from tests.debates.conftest import make_debate
from tests.helpers import closed_at_once, connect, events, follow, position, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

REDIS = shutil.which("redis-server")


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    def __init__(self):
        self.port = spare_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis(settings):
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    redis = Redis()
    redis.start()
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{redis.port}/0", "socket_timeout": 15,
                              "socket_connect_timeout": 1, "max_connections": 1000}]},
    }}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{redis.port}/1",
                                   "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}}
    settings.LIVE_SWEEP_SECONDS = 0.3
    streams.breaker.succeeded()
    yield redis
    redis.stop()
    streams.breaker.succeeded()


async def test_a_redis_restart_loses_nothing_and_live_delivery_comes_back(alice, own_redis):
    cursor = await sync_to_async(streams.cursor)(alice.stream_key)
    ws = await connect(alice)
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: {"epoch": cursor.epoch,
                                                                             "seq": cursor.seq}}})
    await receive_until(ws, lambda f: f["type"] == "subscribed")

    await sync_to_async(notify)(user=alice, kind="test", text="before")
    [first] = await events(ws, alice.stream_key, 1)

    own_redis.stop()
    started = time.monotonic()
    await sync_to_async(notify)(user=alice, kind="test", text="while down 1")
    await sync_to_async(notify)(user=alice, kind="test", text="while down 2")
    assert time.monotonic() - started < 5, "writes must not hang on a dead Redis"
    down = await events(ws, alice.stream_key, 2, timeout=10)  # swept from PostgreSQL meanwhile

    own_redis.start()
    streams.breaker.succeeded()
    await sync_to_async(notify)(user=alice, kind="test", text="after restart")
    [after] = await events(ws, alice.stream_key, 1, timeout=10)

    seqs = [f["seq"] for f in [first, *down, after]]
    assert seqs == list(range(cursor.seq + 1, cursor.seq + 5))
    assert "while down 2" in down[1]["html"] and "after restart" in after["html"]
    await ws.disconnect()


async def test_while_redis_is_down_sockets_connect_resume_and_get_comments_posted_meanwhile(fiona, alice, bob,
                                                                                             own_redis):
    debate = await sync_to_async(make_debate)(fiona)
    key = debate.stream_key
    pos = await sync_to_async(position)(key)
    listener = await connect(bob)
    assert listener.connected_ok and await follow(listener, key, pos) == {"type": "subscribed", "stream": key,
                                                                          "seq": pos["seq"]}
    own_redis.stop()
    await listener.disconnect()  # bob's page dropped during the outage: it comes back at once

    started = time.monotonic()
    again = await connect(bob)
    assert again.connected_ok and await closed_at_once(again) is None
    assert (await follow(again, key, pos))["type"] == "subscribed"
    back_after = time.monotonic() - started
    anonymous = await connect(None)  # a new reader too
    assert anonymous.connected_ok and (await follow(anonymous, key, pos))["type"] == "subscribed"

    # a page's presence heartbeat (kept in Redis) is best effort: it costs nobody their socket
    await again.send_json_to({"type": "typing", "stream": key, "presence": "ongletdebob01"})
    client = Client()
    await sync_to_async(client.force_login)(alice)
    response = await sync_to_async(client.post)(f"/debates/{debate.pk}/comments/",
                                                {"body": "Pendant la panne", "client_id": "c-outage-1"})
    assert response.status_code == 302
    for ws in (again, anonymous):  # delivered by the hubs' sweep from PostgreSQL
        [event] = await events(ws, key, 1, timeout=5)
        assert event["seq"] == pos["seq"] + 1 and "Pendant la panne" in event["html"]
    assert back_after < 2, f"a dropped listener took {back_after:.1f}s to be back"
    assert ratelimit.degraded["sockets"] == 2 and ratelimit.degraded["comment"] == 1
    print(f"listener back {back_after * 1000:.0f} ms after dropping during the outage")

    # Redis is back (empty): the next heartbeat counts the sockets accepted meanwhile, and they are given back on close
    own_redis.start()
    ratelimit._breaker.succeeded()
    await ratelimit.beat()
    assert await sync_to_async(cache.get)(f"conn:user:{bob.pk}") == 1
    for ws in (again, anonymous):
        await ws.disconnect()
    assert await sync_to_async(cache.get)(f"conn:user:{bob.pk}") == 0


@pytest.mark.needs_redis
async def test_while_the_layer_is_skipped_this_process_s_own_events_still_reach_its_sockets_at_once(alice, settings):
    """The layer's breaker open (Redis failing): a process's own events go to its hub without the layer
    (live/streams.py `_send_async`), so its sockets get them at once, not at the next sweep (here a minute away);
    the other processes' sockets get them from the log, by their hubs' sweep."""
    settings.LIVE_SWEEP_SECONDS = 60
    ws = await connect(alice)
    assert (await follow(ws, alice.stream_key))["type"] == "subscribed"
    streams.breaker.failed()
    try:
        assert not streams.breaker.allows()
        await sync_to_async(notify)(user=alice, kind="test", text="sans Redis")
        [event] = await events(ws, alice.stream_key, 1, timeout=3)
    finally:
        streams.breaker.succeeded()
    assert "sans Redis" in event["html"]
    await ws.disconnect()
