"""The fan-out fast path (live/wire.py) reaches into daphne, autobahn, Twisted and channels (live/internals.py):
under a real daphne it is checked at start-up and actually taken, said so in the log; when its internals are
missing (or it is switched off) the log says so at start-up and at the first socket, and every frame goes through
the ASGI send, with the same result for the reader."""

import json
import time

import pytest
import websockets.sync.client as ws_client

from debates import services
from live import internals, streams, wire
from tests.debates.conftest import make_debate
from tests.helpers import LiveServer, daphne_env, free_port
from tests.live.test_slow_socket import events_until_subscribed


def serve(**env):
    server = LiveServer(free_port(), daphne_env(**env))
    offset = server.log.stat().st_size if server.log.exists() else 0
    server.start()
    return server, offset


def new_log(server, offset) -> str:
    with server.log.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def a_comment_reaches_a_reader(server, fiona, alice):
    debate = make_debate(fiona)
    key = debate.stream_key
    start = streams.cursor(key)
    with ws_client.connect(f"ws://127.0.0.1:{server.port}/ws/", origin=server.url) as reader:
        reader.send(json.dumps({"type": "resume", "streams": {key: {"epoch": start.epoch, "seq": start.seq}}}))
        assert events_until_subscribed(reader, key) == []
        services.post_comment(author=alice, debate=debate, body="Des bancs à l'ombre sur la place")
        deadline = time.monotonic() + 20
        while True:
            frame = json.loads(reader.recv(timeout=deadline - time.monotonic()))
            if frame.get("type") == "event" and frame.get("stream") == key:
                break
    assert frame["seq"] == start.seq + 1 and "ombre sur la place" in frame["html"]


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_under_daphne_the_self_check_passes_and_sockets_are_written_directly(fiona, alice, settings):
    settings.RATE_LIMITS_ENABLED = False
    server, offset = serve()
    try:
        a_comment_reaches_a_reader(server, fiona, alice)
    finally:
        server.stop()
    log = new_log(server, offset)
    for shortcut in internals.CHECKS:
        assert f"live.internals: {shortcut} on" in log, log
    assert "sockets are written directly (fast path)" in log
    assert " OFF: " not in log and "not the fast path" not in log


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_without_the_fast_path_the_log_says_so_and_readers_get_the_same_frames(fiona, alice, settings):
    settings.RATE_LIMITS_ENABLED = False
    server, offset = serve(LIVE_INTERNALS_OFF="fast_path")
    try:
        a_comment_reaches_a_reader(server, fiona, alice)
    finally:
        server.stop()
    log = new_log(server, offset)
    assert "live.internals: fast_path OFF: switched off by LIVE_INTERNALS_OFF" in log
    assert "sockets go through the ASGI send, not the fast path" in log
    assert "written directly" not in log


def test_missing_internals_switch_the_fast_path_off_at_start_up(monkeypatch, caplog):
    from twisted.internet import abstract

    monkeypatch.delattr(abstract.FileDescriptor, "_writeDisconnected")  # as if a Twisted upgrade renamed it
    monkeypatch.setattr(internals, "STATUS", {})
    with caplog.at_level("INFO", logger="live.internals"):
        status = internals.self_check()
    assert status["fast_path"] == "missing: Twisted's write buffer fields"
    assert "fast_path OFF: missing: Twisted's write buffer fields" in caplog.text
    assert "Twisted" in caplog.text and status["server_loop"] is None

    class Consumer:  # a socket served by daphne, whose protocol the fast path would otherwise use
        scope = {"server": ("127.0.0.1", 8000)}
        base_send = None

    assert wire.daphne_protocol(Consumer()) is None  # its frames take the ASGI send


@pytest.mark.django_db(transaction=True)
async def test_with_every_shortcut_off_a_signed_in_reader_still_gets_the_comment(monkeypatch, fiona, alice, bob):
    """channels' own dispatch, disconnect and AuthMiddleware instead of the lean ones (live/internals.py)."""
    from asgiref.sync import sync_to_async

    from tests.helpers import connect, events, receive_until

    monkeypatch.setattr(internals, "STATUS", {name: "off for the test" for name in internals.CHECKS})
    debate = await sync_to_async(make_debate)(fiona)
    cursor = await sync_to_async(streams.cursor)(debate.stream_key)
    ws = await connect(bob)
    assert ws.connected_ok
    await ws.send_json_to({"type": "resume", "streams": {debate.stream_key: {"epoch": cursor.epoch,
                                                                              "seq": cursor.seq}}})
    await receive_until(ws, lambda f: f["type"] == "subscribed")
    await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Des arbres, pas des voitures")
    [frame] = await events(ws, debate.stream_key, 1)
    assert frame["seq"] == cursor.seq + 1 and "Des arbres, pas des voitures" in frame["html"]
    await ws.disconnect()
