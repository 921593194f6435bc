"""A daphne process killed with its sockets open (kill -9, out of memory, a lost machine) leaks no socket slots
(RELIABILITY 17, 26): its slots are free again within LIVE_SOCKET_SLOT_TTL of its last heartbeat; a process stopped
cleanly (a rolling restart) gives them back as it exits.

Three real daphne processes on the test database and Redis; the slot lifetime is set to a few seconds so that the test
waits seconds, not the production minute."""

import contextlib
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets.sync.client as ws_client
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from tests.helpers import LiveServer, daphne_env, free_port, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.needs_redis]

SLOT_TTL = 3
CAP = 3


@pytest.fixture
def servers(django_db_setup):
    env = daphne_env(LIVE_SOCKET_SLOT_TTL=str(SLOT_TTL), LIVE_MAX_SOCKETS_PER_USER=str(CAP))
    with ThreadPoolExecutor(3) as pool:  # started together: each takes seconds to import Django
        servers = list(pool.map(lambda _: LiveServer(free_port(), env).start(), range(3)))
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def sockets():
    with contextlib.ExitStack() as stack:
        yield stack


def open_socket(sockets, server, cookie):
    """(the socket, None) when it stays open, (None, close code) when it is refused."""
    ws = sockets.enter_context(ws_client.connect(
        f"ws://127.0.0.1:{server.port}/ws/", origin=server.url, open_timeout=5,
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}))
    try:
        frame = ws.recv(timeout=0.3)
    except TimeoutError:
        return ws, None
    except ConnectionClosed as closed:
        return None, closed.rcvd.code if closed.rcvd else None
    raise AssertionError(f"unexpected frame {frame}")


def test_the_slots_of_a_killed_process_are_free_within_the_slot_lifetime(servers, sockets, alice):
    doomed, restarted, survivor = servers
    cookie = session_cookie(alice)
    held = [open_socket(sockets, doomed, cookie) for _ in range(CAP)]
    assert all(ws is not None for ws, _code in held)
    assert open_socket(sockets, survivor, cookie) == (None, 4429)  # alice is at her cap, across processes

    doomed.process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    doomed.process.wait()
    # the dead process's sockets still count until it has missed its heartbeats ...
    assert open_socket(sockets, survivor, cookie) == (None, 4429)
    # ... and no longer once the slot lifetime has passed: alice, at her cap before, connects again
    while True:
        ws, code = open_socket(sockets, survivor, cookie)
        waited = time.monotonic() - killed_at
        if ws is not None:
            break
        assert code == 4429 and waited < SLOT_TTL + 2, f"still refused {waited:.1f}s after the kill"
        time.sleep(0.2)
    print(f"slots of the killed process free {waited:.1f}s after kill -9 (slot lifetime {SLOT_TTL}s)")
    assert waited >= 1
    others = [open_socket(sockets, survivor, cookie)[0] for _ in range(CAP - 1)]
    assert None not in others  # every slot of the dead process came back
    assert open_socket(sockets, survivor, cookie) == (None, 4429)  # and the cap still holds
    time.sleep(SLOT_TTL + 1)  # the time under test: a living process's slots outlast the lifetime (heartbeats)
    assert open_socket(sockets, survivor, cookie) == (None, 4429)

    # a rolling restart: the pages of a process stopped cleanly reconnect elsewhere at once, and are let in
    for sock in [ws, *others]:
        sock.close()
    moved = []
    while len(moved) < CAP:  # as the survivor sees the closes
        sock, code = open_socket(sockets, restarted, cookie)
        assert code in (None, 4429) and time.monotonic() - killed_at < 30
        moved += [sock] if sock else []
    restarted.stop()  # SIGTERM, as systemd stops it
    assert [open_socket(sockets, survivor, cookie)[1] for _ in range(CAP)] == [None] * CAP
