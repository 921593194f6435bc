"""The fan-out fast path: one encoded WebSocket frame, written straight to each socket daphne holds.

Profiling the hub under load (bench/, docs/performance.md) showed that most of a delivery's cost is not ours but
the per-socket ASGI send chain: channels' consumer `send` -> session middleware wrapper -> daphne `handle_reply` ->
autobahn `sendMessage` (UTF-8 encoding and framing, once per socket) -> Twisted `transport.write`, which registers
the socket with the event loop (an epoll_ctl system call) so that a later loop iteration sends it and unregisters
it (another one). About 38 µs per socket and message.

Here the frame is built once per event, audience and language (`frame_bytes`), and each socket gets it with one
non-blocking `send()` when nothing is queued on it (else through Twisted's buffer, which keeps the order). The
bytes on the wire are exactly those daphne would send (a single unmasked text frame, no extension: daphne
negotiates no compression), so the protocol does not change. Anything unexpected (another server than daphne,
TLS terminated in process, a closing socket) falls back to the ordinary ASGI send.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import struct
import time

logger = logging.getLogger(__name__)

_UNSET = object()
SLOW_ABORTS = [0]  # sockets aborted for not reading, since the process started (tests, healthz)


def _backlog_limit() -> int:
    from django.conf import settings

    return settings.LIVE_SOCKET_BACKLOG_BYTES


def _peer(transport) -> str:
    try:
        peer = transport.getPeer()
        return f"{peer.host}:{peer.port}"
    except Exception:  # noqa: BLE001 - only for the log line
        return "?"


def frame_bytes(text: str) -> bytes:
    """A complete, unfragmented, unmasked server-to-client text frame carrying `text`."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def encoded(msg: dict, key: str, audience: str, lang: str) -> bytes:
    """The frame of event `msg` for (audience, lang), built once and kept in the message itself, which every
    socket of the process (live fan-out and replays from the hub's memory alike) shares."""
    from live import streams

    cache = msg.get("_wire")
    if cache is None:
        cache = msg["_wire"] = {}
    slot = (audience, lang)
    frame = cache.get(slot)
    if frame is None:
        text = streams.pick(msg["frames"], audience, lang)
        if text is None:  # nothing for this audience: the seq still advances
            text = json.dumps({"type": "event", "stream": key, "seq": msg["seq"]})
        frame = cache[slot] = frame_bytes(text)
    return frame


def daphne_protocol(consumer):
    """The daphne WebSocketProtocol behind a consumer's ASGI `send`, or None (tests, other servers).

    channels keeps the send callable it was given as `base_send`; the session middleware wraps it in
    `InstanceSessionWrapper.send` (its `real_send` is the next one down); daphne's is
    `functools.partial(server.handle_reply, protocol)`."""
    cached = getattr(consumer, "_wire_protocol", _UNSET)
    if cached is not _UNSET:
        return cached
    protocol = None
    send = getattr(consumer, "base_send", None)
    for _ in range(8):
        if send is None:
            break
        if isinstance(send, functools.partial):
            candidate = send.args[0] if send.args else None
            if candidate is not None and hasattr(candidate, "sendMessage") and hasattr(candidate, "STATE_OPEN"):
                protocol = candidate
            break
        send = getattr(getattr(send, "__self__", None), "real_send", None)
    if protocol is not None and not _usable(protocol):
        protocol = None
    if protocol is not None:
        _size_kernel_buffer(protocol.transport)
    consumer._wire_protocol = protocol
    return protocol


def _size_kernel_buffer(transport) -> None:
    """LIVE_SOCKET_SNDBUF bytes of kernel send buffer for this socket instead of Linux's autotuning (up to
    tcp_wmem's 4 MB per socket): with it, a client that stops reading holds at most SNDBUF in the kernel plus
    SOCKET_BACKLOG_BYTES in the process. 0 keeps the kernel's choice."""
    from django.conf import settings

    size = settings.LIVE_SOCKET_SNDBUF
    if size:
        try:
            transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        except OSError:
            pass


def _usable(protocol) -> bool:
    transport = getattr(protocol, "transport", None)
    if transport is None or getattr(transport, "TLS", False):
        return False
    needed = ("socket", "dataBuffer", "offset", "_tempDataLen", "connected", "disconnecting", "write")
    if not all(hasattr(transport, name) for name in needed):
        return False
    # Extensions (permessage-deflate) would make a plain frame invalid; daphne negotiates none.
    return not getattr(protocol, "websocket_extensions_in_use", None)


def backlog(transport) -> int:
    """Bytes written to a Twisted transport that the kernel has not taken yet (they live in this process)."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


async def drain(protocol, timeout: float = 30.0) -> None:
    """Wait until a socket's backlog is under a quarter of the limit. Replays write many frames in a row: they
    follow the reader's pace instead of being cut like a client that does not read. A client that takes nothing
    for `timeout` seconds is cut all the same."""
    transport = protocol.transport
    if transport is None or not backlog(transport):
        return  # the common case: the kernel took everything
    low = _backlog_limit() // 4
    if backlog(transport) <= low:
        return
    deadline = time.monotonic() + timeout
    while transport.connected and not transport.disconnecting and not getattr(transport, "_aborting", False) \
            and backlog(transport) > low:
        if time.monotonic() > deadline:
            SLOW_ABORTS[0] += 1
            logger.warning("live: socket %s read nothing of its replay for %.0f s, aborted", _peer(transport),
                           timeout)
            transport.abortConnection()
            return
        await asyncio.sleep(0.005)


def write(protocol, frame: bytes) -> bool:
    """Send one pre-built frame on daphne's socket. False when the socket is not open (the caller then uses the
    ASGI path, which knows what to do with a closing socket).

    A socket that does not read (a frozen projector, a phone on a saturated network) makes Twisted buffer what
    the kernel will not take, without limit. Past LIVE_SOCKET_BACKLOG_BYTES the connection is aborted: its
    buffer is freed at once, nobody else waits for it, and its page reconnects and resumes from the last seq it
    received, so it loses nothing (a replay from the hub's memory or the log, or a region reload when it is more
    than REPLAY_LIMIT events behind)."""
    if protocol.state != protocol.STATE_OPEN:
        return False
    transport = protocol.transport
    if transport is None or not transport.connected or transport.disconnecting \
            or getattr(transport, "_writeDisconnected", False) or getattr(transport, "_aborting", False):
        return False
    queued = backlog(transport)
    if queued and queued + len(frame) > _backlog_limit():
        SLOW_ABORTS[0] += 1
        logger.warning("live: socket %s too slow (%d bytes waiting), aborted; its page will resume",
                       _peer(transport), queued)
        transport.abortConnection()
        return True
    if not queued:
        # Nothing queued: send now, as asyncio's own transports do, and queue only what the kernel did not take.
        try:
            sent = transport.socket.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return True  # the connection is dying; Twisted notices on its next read, as with any write
        if sent < len(frame):
            transport.write(frame[sent:])
        return True
    transport.write(frame)
    return True
