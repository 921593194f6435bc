"""What a client of a real daphne sees (RELIABILITY 1, 2, 13): the documented close codes, with nothing logged at
ERROR, and a password change that closes the other sessions' sockets within 2 s."""

import json
import re
import time

import httpx
import pytest
import websockets.sync.client as ws_client
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from live import streams
from live.close_codes import Close
from live.messaging.services import start_conversation
from tests.helpers import PASSWORD, LiveServer, daphne_env, free_port, session_cookie

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    server = LiveServer(free_port(), daphne_env()).start()
    yield server
    server.stop()


def open_socket(server, cookie=None):
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else {}
    return ws_client.connect(server.url.replace("http", "ws") + "/ws/", origin=server.url, max_size=None,
                             additional_headers=headers, open_timeout=5)


def frames_until(ws, predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if predicate(frame):
            return frame


def close_code(ws, timeout=5) -> int:
    """Read until the server closes; the code it sent."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def follow(ws, key):
    cursor = streams.cursor(key)
    ws.send(json.dumps({"type": "resume", "streams": {key: {"epoch": cursor.epoch, "seq": cursor.seq}}}))
    return frames_until(ws, lambda f: f.get("stream") == key and f["type"] in {"subscribed", "error", "reset"})


def new_log(server, start: int) -> str:
    return server.log.read_bytes()[start:].decode(errors="replace")


@pytest.mark.parametrize("send, code", [
    (lambda ws: ws.send("x" * (64 * 1024 + 1)), Close.TOO_BIG),
    (lambda ws: [ws.send("nope") for _ in range(6)], Close.POLICY),
    (lambda ws: [ws.send(b"\x00\x01") for _ in range(6)], Close.UNSUPPORTED),
])
def test_the_client_receives_the_documented_close_code_and_nothing_is_logged_at_error(server, alice, send, code):
    start = server.log.stat().st_size
    with open_socket(server, session_cookie(alice)) as ws:
        send(ws)
        assert close_code(ws) == code
    time.sleep(0.2)  # let daphne flush what it would log about this close (its log is a file written by another process)
    log = new_log(server, start)
    assert "ERROR" not in log and "Traceback" not in log, log


def test_a_password_change_closes_the_other_sessions_socket_within_two_seconds(server, alice, bob):
    phone, laptop = session_cookie(alice), session_cookie(alice)
    with open_socket(server, phone) as phone_ws:
        assert follow(phone_ws, alice.stream_key)["type"] == "subscribed"

        with httpx.Client(base_url=server.url, cookies={settings.SESSION_COOKIE_NAME: laptop}) as browser:
            page = browser.get("/accounts/password/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            response = browser.post("/accounts/password/", data={
                "csrfmiddlewaretoken": token, "old_password": PASSWORD,
                "new_password1": "another-Horse-battery-7", "new_password2": "another-Horse-battery-7"})
            assert response.status_code == 302, response.text[:500]
            started = time.monotonic()  # the change is committed (hashing the passwords took its own time)

        frame = frames_until(phone_ws, lambda f: f["type"] == "error", timeout=2)
        assert frame["code"] == "password_changed"
        assert close_code(phone_ws, timeout=2) == Close.NOT_SIGNED_IN
        assert time.monotonic() - started < 2
        with pytest.raises(ConnectionClosed):
            phone_ws.send(json.dumps({"type": "resume", "streams": {alice.stream_key: {"epoch": "", "seq": 0}}}))

    # The stolen cookie opens only an anonymous socket now: a conversation started after cannot be followed.
    message = start_conversation(author=bob, recipients=["alice"], body="New secret")
    with open_socket(server, phone) as again:
        frame = follow(again, message.conversation.stream_key)
        assert frame["type"] == "error" and frame["code"] == "not_found"  # a private stream looks like none
        assert follow(again, alice.stream_key)["code"] == "not_signed_in"
