"""Through a real daphne: a stream key with a lone surrogate (escaped in JSON, the only way it travels) used to be
echoed in an error frame that daphne could not encode, and the socket died with 1011 and a traceback. Now it is
refused as invalid_text, and the socket lives on."""

import json
import time

import pytest

from tests.helpers import session_cookie
from tests.live.test_daphne_sockets import close_code, frames_until, new_log, open_socket, server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("frame", [
    '{"type": "resume", "streams": {"debate.\\ud800": {"seq": 0}}}',
    '{"type": "resume", "streams": {"\\udfff": {"seq": 0}}}',
    '{"type": "typing", "stream": "debate.1\\u0000"}',
])
def test_a_frame_with_a_lone_surrogate_or_nul_gets_an_error_and_the_socket_lives(server, alice, frame):  # noqa: F811
    start = server.log.stat().st_size
    with open_socket(server, session_cookie(alice)) as ws:
        ws.send(frame)
        error = frames_until(ws, lambda f: f["type"] == "error")
        assert error["code"] == "invalid_text"
        ws.send(json.dumps({"type": "ping"}))
        assert frames_until(ws, lambda f: f["type"] == "pong")
    time.sleep(0.2)  # daphne's log is a file written by another process
    log = new_log(server, start)
    assert "ERROR" not in log and "Traceback" not in log, log


def test_frames_sent_after_the_server_closed_the_socket_crash_nothing_and_its_slots_are_given_back(
        server, alice):  # noqa: F811
    """A client that goes on sending bad frames after the server closed it (4408: it had sent too many) used to get
    an error frame written on a closing connection: daphne's WebSocket library refuses it (autobahn's Disconnected),
    the application died with a traceback, and its disconnect never ran: the process kept the socket's connection
    slots for its life (after a few such clients, everyone behind the same address got 4429), and the hub kept the
    socket as a subscriber of the person's stream. A closing socket is sent nothing more."""
    from django.core.cache import cache

    from live.close_codes import Close

    start = server.log.stat().st_size
    with open_socket(server, session_cookie(alice)) as ws:
        for _ in range(20):
            ws.send("nope")
        assert close_code(ws) == Close.POLICY
    time.sleep(0.5)  # daphne's log is a file written by another process; the slots are given back on disconnect
    log = new_log(server, start)
    assert "ERROR" not in log and "Traceback" not in log, log
    assert not cache.get(f"conn:user:{alice.pk}")
