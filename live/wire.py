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
TLS terminated in process, a closing socket, internals that changed: live/internals.py, checked at start-up)
falls back to the ordinary ASGI send.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time

from live import internals
from live.internals import backlog, daphne_protocol, peer

logger = logging.getLogger(__name__)

__all__ = ["Frames", "backlog", "daphne_protocol", "drain", "encoded", "frame_bytes", "write"]

SLOW_ABORTS = [0]  # sockets aborted for not reading, since the process started (tests, healthz)


def _backlog_limit() -> int:
    from django.conf import settings

    return settings.LIVE_SOCKET_BACKLOG_BYTES


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
    while not internals.closing(transport) and backlog(transport) > low:
        if time.monotonic() > deadline:
            SLOW_ABORTS[0] += 1
            logger.warning("live: socket %s read nothing of its replay for %.0f s, aborted", peer(transport),
                           timeout)
            transport.abortConnection()
            return
        await asyncio.sleep(0.005)


class Frames:
    """The bytes of one event, or of a run of consecutive events of a stream, for each (audience, lang): built
    once per fan-out, whatever the number of sockets reading that variant."""

    __slots__ = ("key", "msgs", "built")

    def __init__(self, key: str, msgs: list[dict]):
        self.key, self.msgs, self.built = key, msgs, {}

    def of(self, audience: str, lang: str) -> bytes:
        slot = (audience, lang)
        data = self.built.get(slot)
        if data is None:
            data = self.built[slot] = b"".join(encoded(msg, self.key, audience, lang) for msg in self.msgs)
        return data


def write(protocol, frame: bytes) -> bool:
    """Send one pre-built frame on daphne's socket. False when the socket is not open (the caller then uses the
    ASGI path, which knows what to do with a closing socket).

    A socket that does not read (a frozen projector, a phone on a saturated network) makes Twisted buffer what
    the kernel will not take, without limit. Past LIVE_SOCKET_BACKLOG_BYTES the connection is aborted: its
    buffer is freed at once, nobody else waits for it, and its page reconnects and resumes from the last seq it
    received, so it loses nothing (a replay from the hub's memory or the log, or a region reload when it is more
    than REPLAY_LIMIT events behind)."""
    if not internals.is_open(protocol):
        return False
    transport = protocol.transport
    queued = backlog(transport)
    if queued and queued + len(frame) > _backlog_limit():
        SLOW_ABORTS[0] += 1
        logger.warning("live: socket %s too slow (%d bytes waiting), aborted; its page will resume",
                       peer(transport), queued)
        transport.abortConnection()
        return True
    if not queued:
        internals.send_now(transport, frame)
        return True
    transport.write(frame)
    return True
