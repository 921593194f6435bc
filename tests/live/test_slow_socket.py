"""A socket that stops reading (a frozen projector, a phone on a saturated network) costs the server a bounded
amount of memory, delays nobody else, and loses nothing: it is cut past LIVE_SOCKET_BACKLOG_BYTES waiting in
the process, and its page resumes by replay (RELIABILITY 22, bench S4)."""

import base64
import json
import os
import socket
import struct
import time

import pytest
import websockets.sync.client as ws_client

from debates import services
from live import streams, wire
from tests.debates.conftest import make_debate
from tests.helpers import LiveServer, daphne_env, free_port

LIMIT = 256 * 1024


# --- the guard itself, on a stand-in for daphne's protocol and Twisted's transport ---------------------------------

class Transport:
    TLS = False

    def __init__(self, kernel_takes: int):
        self.kernel_takes = kernel_takes  # bytes the socket accepts before it is full
        self.sent = b""
        self.dataBuffer, self.offset, self._tempDataLen, self._tempDataBuffer = b"", 0, 0, []
        self.connected, self.disconnecting, self.aborted = True, False, False
        self.socket = self

    def send(self, data):
        n = min(len(data), self.kernel_takes)
        self.kernel_takes -= n
        self.sent += data[:n]
        return n

    def write(self, data):  # Twisted's FileDescriptor.write: queued until the loop can send
        self._tempDataBuffer.append(data)
        self._tempDataLen += len(data)

    def abortConnection(self):  # as Twisted: the buffer and the flags go on the next loop iteration
        self.aborted = self._aborting = True

    def getPeer(self):
        raise OSError


class Protocol:
    STATE_OPEN = 1

    def __init__(self, transport):
        self.state, self.transport = self.STATE_OPEN, transport


def test_a_reading_socket_is_written_directly(settings):
    settings.LIVE_SOCKET_BACKLOG_BYTES = LIMIT
    transport = Transport(kernel_takes=10**9)
    frame = wire.frame_bytes("x" * 5000)
    for _ in range(100):
        assert wire.write(Protocol(transport), frame)
    assert transport.sent == frame * 100 and wire.backlog(transport) == 0 and not transport.aborted


def test_a_socket_that_stops_reading_is_cut_once_its_backlog_passes_the_limit(settings):
    settings.LIVE_SOCKET_BACKLOG_BYTES = LIMIT
    transport = Transport(kernel_takes=8000)
    frame = wire.frame_bytes("x" * 5000)
    before = wire.SLOW_ABORTS[0]
    written = 0
    while not transport.aborted:
        queued = wire.backlog(transport)
        assert wire.write(Protocol(transport), frame)  # handled: the caller must not fall back to ASGI send
        written += 1
        assert wire.backlog(transport) <= LIMIT
        assert written < 100
    # Cut at the first frame that would have taken the backlog past the limit, not before.
    assert queued + len(frame) > LIMIT >= queued
    assert written > LIMIT // len(frame)
    assert wire.SLOW_ABORTS[0] == before + 1
    # A cut socket is no longer open for writing: the next frame is refused, not queued, and not counted again.
    assert not wire.write(Protocol(transport), frame)
    assert wire.SLOW_ABORTS[0] == before + 1


# --- the same under a real daphne, with a client that stops reading -------------------------------------------------

def open_raw_socket(port: int, resume: dict) -> socket.socket:
    """A WebSocket client by hand, with a tiny receive buffer, that follows a stream and then reads no more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n")
                 .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n", 1)[0], head
    payload = json.dumps({"type": "resume", "streams": resume}).encode()
    mask = os.urandom(4)
    header = struct.pack("!BB", 0x81, 0x80 | len(payload)) if len(payload) < 126 else \
        struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


def wait_until_subscribed(sock: socket.socket, stream: str, timeout: float = 20) -> None:
    """Read the hand-made client's socket up to the server's `subscribed` frame for `stream`, and not further."""
    sock.settimeout(timeout)
    marker = json.dumps({"type": "subscribed", "stream": stream}, separators=(",", ":"))[:-1].encode()
    received = b""
    while marker not in received:
        chunk = sock.recv(1)  # byte by byte: nothing after the frame is taken off the kernel's buffer
        if not chunk:
            raise AssertionError(f"closed before subscribing: {received[-200:]!r}")
        received += chunk


def events_until_subscribed(ws, stream: str, timeout: float = 20) -> list[int]:
    seqs = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if frame.get("stream") != stream:
            continue
        if frame["type"] == "event":
            seqs.append(frame["seq"])
        elif frame["type"] == "subscribed":
            return seqs
        elif frame["type"] in ("reset", "error"):
            raise AssertionError(frame)
    raise AssertionError(f"not subscribed after {timeout} s; got {len(seqs)} events")


@pytest.fixture
def small_backlog_server(django_db_setup):
    server = LiveServer(free_port(), daphne_env(LIVE_SOCKET_BACKLOG_BYTES=str(LIMIT),
                                                        LIVE_SOCKET_SNDBUF=str(64 * 1024))).start()
    yield server
    server.stop()


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_frozen_client_is_cut_others_get_everything_and_it_resumes_by_replay(small_backlog_server, fiona, alice,
                                                                               settings):
    settings.RATE_LIMITS_ENABLED = False
    server = small_backlog_server
    debate = make_debate(fiona)
    key = debate.stream_key
    start = streams.cursor(key)
    position = {key: {"epoch": start.epoch, "seq": start.seq}}
    url = f"ws://127.0.0.1:{server.port}/ws/"
    with ws_client.connect(url, origin=server.url, max_size=None, max_queue=None) as reader:
        reader.send(json.dumps({"type": "resume", "streams": position}))
        assert events_until_subscribed(reader, key) == []
        frozen = open_raw_socket(server.port, position)
        wait_until_subscribed(frozen, key)  # its resume is handled before the burst; it reads nothing more

        posts = 250
        body = "Le tramway devrait s'arrêter devant le marché, et la place a besoin d'ombre en été. " * 11
        for i in range(posts):
            services.post_comment(author=alice, debate=debate, body=f"{i} {body}"[:1000])

        # The reading client got every event, once, in order, while the other one was frozen.
        received = []
        deadline = time.monotonic() + 30
        while len(received) < posts and time.monotonic() < deadline:
            frame = json.loads(reader.recv(timeout=deadline - time.monotonic()))
            if frame.get("type") == "event" and frame.get("stream") == key:
                received.append(frame["seq"])
        assert received == list(range(start.seq + 1, start.seq + posts + 1))

    # The frozen client was cut: what it reads now ends with the connection closed, far short of everything sent.
    frozen.settimeout(10)
    got = 0
    try:
        while chunk := frozen.recv(65536):
            got += len(chunk)
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"not cut; read {got} bytes") from None
    frozen.close()
    assert got < posts * 1000
    assert "too slow" in server.log.read_text()

    # Its page reconnects and resumes from the last seq it had: the whole burst is replayed, once, in order.
    # (a replay of 1.3 MB to a reading client keeps to its pace: it is not cut like the frozen one.)
    with ws_client.connect(url, origin=server.url, max_size=None, max_queue=None) as again:
        again.send(json.dumps({"type": "resume", "streams": position}))
        assert events_until_subscribed(again, key) == list(range(start.seq + 1, start.seq + posts + 1))
