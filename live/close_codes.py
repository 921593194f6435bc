"""The close codes the server ends a socket with: one table, mirrored by static/live/live.js and docs/realtime.md.

RFC 6455 lets an application send 1000 and 3000-4999 only; daphne's WebSocket library refuses any other code (1003,
1008, 1009...), logs a traceback and sends 1011 instead. Ours are 4xxx, after the HTTP status they resemble.

A close sent before the handshake is accepted becomes an HTTP 403 on the upgrade in daphne: a browser never sees
its code (it reports 1006, and htmx's ws extension retries with backoff). To give a browser the code, accept first.
"""


class Close:
    """Plain ints: autobahn refuses anything else as a close code, an IntEnum included."""

    RECONNECT = 4012  # the session was renewed (own password change) or the person's rights changed: reconnect now
    NOT_SIGNED_IN = 4401  # signed out, or the session ended (password or e-mail changed elsewhere, reset)
    FORBIDDEN = 4403  # the account was blocked or deactivated
    POLICY = 4408  # repeated invalid frames
    TOO_BIG = 4413  # a frame over LIVE["MAX_FRAME_BYTES"]
    UNSUPPORTED = 4415  # repeated binary frames
    RATE_LIMITED = 4429  # too many frames (or sockets): try again after a long pause
    UNAVAILABLE = 4503  # temporarily unavailable (a dependency is down, the process restarts): retry with backoff


# What a client does on each code; any code not listed here is a permanent refusal (no reconnection).
RETRY = {
    Close.RECONNECT: "at once",
    Close.RATE_LIMITED: "after a long pause",
    Close.UNAVAILABLE: "with backoff",
}
