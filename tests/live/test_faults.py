"""Faults: a Redis restart while clients are connected loses nothing (RELIABILITY 23).

The test starts its own redis-server on a spare port, so it can stop and restart it without disturbing anyone."""

import shutil
import socket
import subprocess
import time

import pytest
from asgiref.sync import sync_to_async

from live import streams
from live.notifications.services import notify
from tests.helpers import connect, events, receive_until

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
