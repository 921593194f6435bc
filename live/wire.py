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

import functools
import json
import logging
import struct

logger = logging.getLogger(__name__)

_UNSET = object()


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
    consumer._wire_protocol = protocol
    return protocol


def _usable(protocol) -> bool:
    transport = getattr(protocol, "transport", None)
    if transport is None or getattr(transport, "TLS", False):
        return False
    needed = ("socket", "dataBuffer", "offset", "_tempDataLen", "connected", "disconnecting", "write")
    if not all(hasattr(transport, name) for name in needed):
        return False
    # Extensions (permessage-deflate) would make a plain frame invalid; daphne negotiates none.
    return not getattr(protocol, "websocket_extensions_in_use", None)


def write(protocol, frame: bytes) -> bool:
    """Send one pre-built frame on daphne's socket. False when the socket is not open (the caller then uses the
    ASGI path, which knows what to do with a closing socket)."""
    if protocol.state != protocol.STATE_OPEN:
        return False
    transport = protocol.transport
    if transport is None or not transport.connected or transport.disconnecting \
            or getattr(transport, "_writeDisconnected", False):
        return False
    if transport.offset == len(transport.dataBuffer) and not transport._tempDataLen:
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
