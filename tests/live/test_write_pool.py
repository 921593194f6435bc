"""A socket's writes run in a pool of their own (live/consumers.py in_write_pool): a reconnect burst filling the
shared pool (connection slots, authorizations, replays) does not hold a person's comment back (bench S2)."""

import asyncio
import threading

import pytest

from live.socket_writes import Actor, socket_write
from tests.helpers import connect

pytestmark = [pytest.mark.django_db(transaction=True)]


@socket_write("tests.pool_echo")
def pool_echo(actor: Actor, data):
    return {"text": data.get("text", ""), "thread": threading.current_thread().name}


async def test_a_write_is_answered_while_the_shared_pool_is_busy(alice):
    ws = await connect(alice)
    await ws.send_json_to({"type": "ping"})  # the socket has finished connecting (its own stream joined)
    assert (await ws.receive_json_from(timeout=5))["type"] == "pong"
    loop = asyncio.get_running_loop()
    release = threading.Event()
    # Every thread of the loop's shared pool busy, and more work queued behind them (as after a burst of
    # reconnects): asyncio's default pool has at most 32 threads.
    busy = [loop.run_in_executor(None, release.wait, 20) for _ in range(40)]
    try:
        await ws.send_json_to({"type": "write", "id": "w1", "action": "tests.pool_echo", "data": {"text": "Salut"}})
        frame = await ws.receive_json_from(timeout=5)
        assert frame["type"] == "written" and frame["id"] == "w1"
        assert frame["result"]["text"] == "Salut"
        assert frame["result"]["thread"].startswith("live-write")
    finally:
        release.set()
        await asyncio.gather(*busy)
        await ws.disconnect()
