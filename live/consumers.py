"""The one WebSocket endpoint (`/ws/`): authenticate, authorize each stream, join, replay, forward bytes.

Client -> server frames (JSON objects): `resume`, `typing`, `ping`, and `write` (a write registered in
live/socket_writes.py, answered by `written` or `refused`; the same write also goes through an HTTP POST without
JavaScript). Server -> client: `event` (a stream's seq and HTML fragments), `ephemeral`, `reset`, `error`, `pong`,
`subscribed`, `written`, `refused`. docs/realtime.md is the reference.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import json
import logging
import random
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import DatabaseError
from django.utils import translation

from live import actions, internals, metrics, ratelimit, socket_writes, streams, thread_redis, wire
from live.accounts import selectors, socket_auth
from live.close_codes import Close
from live.hub import get_hub
from live.text import storable

logger = logging.getLogger(__name__)
UNAVAILABLE_DETAIL = "The service is briefly unavailable; reconnecting."
# The live events a subscription holds while it catches up (its replay follows the reader's pace): past this, only
# the latest is kept, and the catch-up reads the others from the log (a hole), so a slow replay's memory is bounded.
MAX_BUFFERED = 256


def in_pool(fn):
    """A socket's database work (authorize, replay, a session check) in the thread pool, not in the one thread that
    thread-sensitive calls share, where the HTTP views' sync code queues: a reconnect storm's thousand resumes then
    overlap their queries instead of queueing behind each other (bench S7)."""
    return database_sync_to_async(fn, thread_sensitive=False)


_write_pool: list[concurrent.futures.ThreadPoolExecutor] = []


def in_write_pool(fn):
    """A socket's `write` in a pool of its own (LIVE_WRITE_THREADS): in the shared pool, each second's reconnects
    (their connection slots, authorizations and replays) queued ahead of the writes, up to 61 jobs deep, and a
    comment waited 230 ms (p99) for a thread (bench S2 under 5% churn per second, BENCH_TRACE)."""
    if settings.LIVE_WRITE_THREADS <= 0:
        return in_pool(fn)
    if not _write_pool:
        _write_pool.append(concurrent.futures.ThreadPoolExecutor(max_workers=settings.LIVE_WRITE_THREADS,
                                                                 thread_name_prefix="live-write",
                                                                 initializer=thread_redis.keep_connections))
    return database_sync_to_async(fn, thread_sensitive=False, executor=_write_pool[0])


def write_id(text_data: str) -> str | None:
    """The id of a `write` frame (what `on_write` would answer with), or None for any other or unusable frame."""
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        return None
    ident = data.get("id") if isinstance(data, dict) and data.get("type") == "write" else None
    return ident if isinstance(ident, str) and 0 < len(ident) <= 64 and storable(ident) else None


class Subscription:
    __slots__ = ("key", "audience", "last", "catching_up", "buffer", "silent")

    def __init__(self, key: str, audience: str, last: int, silent: bool = False):
        self.key, self.audience, self.last = key, audience, last
        self.catching_up = not silent
        self.buffer: list[dict] = []
        # A silent subscription only listens for control events (the user's own stream, joined on connect so
        # that blocking or signing out closes every socket, whatever page it belongs to).
        self.silent = silent


def session_hash(session_key: str | None) -> str:
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:16]


def language_of(scope) -> str:
    supported = [code for code, _ in settings.LANGUAGES]
    cookies = scope.get("cookies") or {}
    lang = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if lang in supported:
        return lang
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            for part in value.decode("latin-1").split(","):
                code = part.split(";")[0].strip().lower()[:2]
                if code in supported:
                    return code
    return settings.LANGUAGE_CODE


class CatchUpStuck(RuntimeError):
    """A catch-up that cannot move: the log has nothing after the socket's position, yet a later event arrived."""


class _Abandoned(RuntimeError):
    """A shared authorization whose asker was cancelled (its socket went away): the others ask again."""


class SharedAudiences:
    """One authorization query for the sockets without a user and without a session that ask for the same stream
    at the same time (a reconnect storm of a public debate's readers, bench S7).

    Such sockets are interchangeable (same AnonymousUser, same empty session): the answer of `streams.authorize`
    for one is the answer for all, and it depends only on the stream's current state. A socket that asks while
    another's query for the stream is running waits for that query's answer (or its refusal) instead of running
    its own; nothing is kept once the query is done, so no answer is older than the query it came from."""

    def __init__(self):
        self.pending: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future] = {}

    async def get(self, key: str, viewer: streams.Viewer) -> str:
        loop = asyncio.get_running_loop()
        token = (loop, key)
        future = self.pending.get(token)
        if future is not None:
            try:
                return await asyncio.shield(future)
            except _Abandoned:  # the socket asking went away: ask for this one
                return await self.get(key, viewer)
        future = self.pending[token] = loop.create_future()
        try:
            audience = await in_pool(streams.authorize)(viewer, key)
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, Exception) else _Abandoned("authorization cancelled"))
                future.exception()  # retrieved: no warning when nobody else waits
            raise
        else:
            future.set_result(audience)
            return audience
        finally:
            self.pending.pop(token, None)


PUBLIC_AUDIENCES = SharedAudiences()


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket: the process's hub receives each stream once and calls push() on the
    # sockets that follow it. This saves a Redis blocking pop per socket, and a Redis outage cannot kill sockets.
    channel_layer_alias = "live.no-per-socket-channel"

    async def connect(self):
        self.subs: dict[str, Subscription] = {}
        self.bad_frames = 0
        self.user = self.scope.get("user")
        session = self.scope.get("session")
        self.session_id = session_hash(getattr(session, "session_key", None))
        self.viewer = streams.Viewer(user=self.user, session=session, lang=language_of(self.scope))
        self.bucket = ratelimit.TokenBucket(rate=settings.LIVE_SOCKET_FRAMES_PER_SECOND,
                                            burst=settings.LIVE_SOCKET_FRAMES_BURST)
        self.actor = socket_writes.Actor.from_scope(self.scope, lang=self.viewer.lang)
        self.writes: set[asyncio.Task] = set()  # writes in flight
        self.catch_ups: set[asyncio.Task] = set()  # catch-ups of holes, in tasks of their own (`push`)
        self.signer = None  # what signs this socket's session in (selectors.session_signer), read at its first write
        self.gone = False
        self.hub = get_hub()
        self.accepted = False
        self.conn_slot = None
        if self.scope.get(socket_auth.UNAVAILABLE):  # the database is down: come back later (not anonymously)
            self.accepted = True
            await self.accept()
            metrics.rejected("unavailable", self.scope)
            return await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)
        if getattr(self.user, "is_authenticated", False) and not self.user.is_active:
            metrics.rejected("auth", self.scope)
            await self.close(code=Close.FORBIDDEN)
            return
        self.conn_slot = await ratelimit.acquire_connection(self.scope)
        self.accepted = True
        await self.accept()
        if self.conn_slot is None:  # accepted first: a close before accepting reaches the browser as HTTP 403
            metrics.rejected("limit", self.scope)
            await self.close(code=Close.RATE_LIMITED)
            return
        metrics.opened(self)
        if getattr(self.user, "is_authenticated", False):
            key = self.user.stream_key
            self.subs[key] = Subscription(key, "self", 0, silent=True)
            try:
                await self.hub.subscribe(key, self)  # reads the stream's head when this process did not follow it
            except DatabaseError:  # as a session lookup that failed: come back later; disconnect() gives all back
                logger.warning("database unavailable while a socket connected", exc_info=True)
                return await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)
            if settings.LIVE_SESSION_RECHECK_SECONDS > 0 and not self.gone:  # a control may have closed it already
                self.session_watch = asyncio.ensure_future(self.watch_session())

    async def __call__(self, scope, receive, send):
        """channels' consumer, whose disconnect() runs however it ends: an exception no handler expected ends the
        application (daphne closes with 1011) without a `websocket.disconnect` dispatched, and the socket's
        connection slots and subscriptions would outlive it for the process's life."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            if getattr(self, "gone", True) is False:
                await self.disconnect(1011)

    async def dispatch(self, message):
        if not internals.usable("lean_consumer"):
            return await super().dispatch(message)
        # channels hops to the sync thread before every message to close stale database connections (15% of the
        # server's time in a reconnect storm, bench S7); this consumer reaches the database only through
        # database_sync_to_async, which does that around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        if not internals.usable("lean_consumer"):
            return await super().websocket_disconnect(message)
        # channels' version then hops to the thread-sensitive worker to close stale database connections (one
        # queue for a storm's thousand closes); this consumer has no channel-layer groups and reaches the
        # database only through database_sync_to_async, which does that around each call.
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        """Gives back what the socket holds, once however often it is called: `end()` calls it, then the client's
        close does, and `__call__` as a last resort; from a control event, a catch-up or a write, two calls may
        overlap. A later call waits for the first to finish (cancelled meanwhile, it leaves the first running).
        Run twice, the connection slots were given back twice: the counts drifted low and the caps admitted more
        sockets than configured."""
        running = getattr(self, "disconnecting", None)
        if running is not None:
            return await asyncio.shield(running)
        self.disconnecting = asyncio.get_running_loop().create_future()
        try:
            await self.give_back(code)
        finally:
            self.disconnecting.set_result(None)

    async def give_back(self, code):
        self.gone = True  # writes still running in a thread find no socket to answer
        metrics.closed(self, code)
        # Every task this socket started ends here, cancelled and waited for (but the one running this, which may
        # be what ends the socket): its session watch, its catch-ups still reading the log, its writes. A write's
        # thread cannot be stopped: what it writes commits or not as it would have; nobody is answered.
        tasks = [task for task in (getattr(self, "session_watch", None), *getattr(self, "catch_ups", ()),
                                   *getattr(self, "writes", ()))
                 if task is not None and task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for key in list(getattr(self, "subs", {})):
            await self.hub.unsubscribe(key, self)
        self.subs = {}
        slot, self.conn_slot = getattr(self, "conn_slot", None), None  # taken before the wait: released once
        if slot:
            await ratelimit.release_connection(slot)

    # --- client -> server -------------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            return await self.bad("binary_not_supported", "Frames must be JSON text.", close=Close.UNSUPPORTED)
        if len(text_data.encode("utf-8", "surrogatepass")) > settings.LIVE_MAX_FRAME_BYTES:
            await self.send_json({"type": "error", "code": "frame_too_large",
                                  "detail": f"Frames are limited to {settings.LIVE_MAX_FRAME_BYTES} bytes."})
            return await self.close(code=Close.TOO_BIG)
        if not self.bucket.take():
            return await self.too_many_frames(text_data)
        try:
            data = json.loads(text_data)
        except (ValueError, RecursionError):
            return await self.bad("invalid_json", "The frame is not valid JSON.")
        if not isinstance(data, dict):
            return await self.bad("invalid_frame", "A frame must be a JSON object.")
        if not storable(data):  # else an error frame echoing a stream key with a lone surrogate cannot be sent
            return await self.bad("invalid_text", "Frames must not contain NUL or lone surrogates (\\u0000, \\ud800).")
        kind = data.get("type")
        handler = {"write": self.on_write, "resume": self.on_resume, "ping": self.on_ping,
                   "typing": self.on_typing}.get(kind) if isinstance(kind, str) else None  # {"type": []} is a frame too
        if handler is None:
            return await self.bad("unknown_type", "Unknown frame type; expected resume, write, typing or ping.")
        try:
            await handler(data)
        except ValidationError as exc:
            await self.bad("invalid_frame", "; ".join(exc.messages))
        except DatabaseError:  # PostgreSQL is down or restarting: the page reconnects with backoff and resumes
            logger.warning("database unavailable during a %s frame", kind, exc_info=True)
            await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)
        except CatchUpStuck:  # the page reconnects with backoff and resumes on a fresh socket
            logger.exception("a %s frame's catch-up could not move", kind)
            await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)

    async def too_many_frames(self, text_data: str):
        """Over the socket's frame budget (LIVE_SOCKET_FRAMES_PER_SECOND): the frame is not handled. A `write` is
        refused with its id, as when too many are in flight, so that its form says "wait a second" at once instead
        of waiting for an answer that never comes (live.js then sends a keyed form again over HTTP, 8 s later); any
        other frame gets an error. Either counts as a bad frame: a socket that keeps flooding is closed."""
        ident = write_id(text_data)
        if ident is not None:
            await self.send_json({**socket_writes.busy(self.viewer.lang), "id": ident})
        else:
            await self.send_json({"type": "error", "code": "rate_limited", "detail": "Too many frames.",
                                  "retry_after": 1})
        self.bad_frames += 1
        if self.bad_frames > settings.LIVE_MAX_BAD_FRAMES:
            await self.close(code=Close.RATE_LIMITED)

    async def bad(self, code: str, detail: str, close: int = Close.POLICY):
        self.bad_frames += 1
        await self.send_json({"type": "error", "code": code, "detail": detail})
        if self.bad_frames > settings.LIVE_MAX_BAD_FRAMES:
            await self.close(code=close)

    # --- writes (live/socket_writes.py) -------------------------------------------------------------------------

    async def on_write(self, data):
        """A `write` frame: checked here, run in the thread pool as a task of its own (the socket keeps reading its
        frames meanwhile), answered `written` or `refused` with its id. A malformed frame is a `refused` "invalid"
        counted as a bad frame (repeated, the socket closes with 4408), never an `error` the page cannot match."""
        ident, name, fields = data.get("id"), data.get("action"), data.get("data", {})
        if not isinstance(ident, str) or not 0 < len(ident) <= 64:
            return await self.malformed_write(None, "id must be a string of 1 to 64 characters")
        if not isinstance(name, str) or not socket_writes.NAME.match(name) or not isinstance(fields, dict):
            return await self.malformed_write(ident, "expected {type: write, id, action: '<app>.<verb>', data: {}}")
        if len(self.writes) >= settings.LIVE_MAX_WRITES_IN_FLIGHT:
            metrics.socket_refused(socket_writes.label(name), "rate_limited")
            return await self.send_json({**socket_writes.busy(self.viewer.lang), "id": ident})
        task = asyncio.ensure_future(self.write(ident, name, fields, metrics.socket_write_arrived()))
        self.writes.add(task)
        task.add_done_callback(self.writes.discard)

    async def malformed_write(self, ident: str | None, detail: str):
        with translation.override(self.viewer.lang):
            frame = socket_writes.malformed(detail)
        await self.refuse_bad(ident, frame)

    async def refuse_bad(self, ident: str | None, frame: dict):
        self.bad_frames += 1
        await self.send_json({**frame, "id": ident})
        if self.bad_frames > settings.LIVE_MAX_BAD_FRAMES:
            await self.close(code=Close.POLICY)

    async def write(self, ident: str, name: str, fields: dict, state: dict | None = None):
        signed_in = getattr(self.user, "is_authenticated", False)
        try:
            # One trip to the pool for the session's check and the write: before a write as before a resume, the
            # socket's session must still sign its person in.
            user, (frame, outcome) = await in_write_pool(self.run_write)(name, fields, signed_in, state)
        except DatabaseError as exc:  # the session could not be checked: nothing was written
            logger.warning("database unavailable before the socket write %s: %s", name, socket_writes.where(exc))
            user, (frame, outcome) = self.user, (actions.unavailable_frame(), "unavailable")
            metrics.socket_refused(socket_writes.label(name), "unavailable")
        if self.gone:
            return
        if outcome == "session_ended":
            metrics.socket_refused(socket_writes.label(name), "forbidden")
            await self.send_json({**frame, "id": ident})
            return await self.end(Close.NOT_SIGNED_IN, "session_ended", "Your session has ended; sign in again.")
        if signed_in:
            self.user = self.viewer.user = self.actor.user = user
        if outcome in ("unknown", "malformed"):
            return await self.refuse_bad(ident, frame)
        await self.send_json({**frame, "id": ident})
        metrics.socket_answered(socket_writes.label(name), state)  # its time, from arrival to answer sent

    def run_write(self, name: str, fields: dict, signed_in: bool, state: dict | None = None):
        """In a worker thread: the user read afresh (signed-in sockets), and the answer with its outcome."""
        actor = self.actor
        if signed_in:
            key = getattr(self.viewer.session, "session_key", None)
            # The session's signer is taken once per socket, from the session its connect read; each write then
            # checks the session and reads its user afresh in one statement (what signed_in_user decides, in two).
            if self.signer is None:
                self.signer = selectors.session_signer(self.viewer.session)
            user = selectors.still_signed_in(key, self.signer)
            if user is None or user.pk != self.user.pk:
                with translation.override(actor.lang):
                    frame = actions.refusal_frame(PermissionDenied(
                        translation.gettext("Your session has ended: sign in again to send this.")))
                return None, (frame, "session_ended")
            actor = socket_writes.Actor(user=user, session=actor.session, lang=actor.lang, ip=actor.ip)
        return actor.user, socket_writes.perform(name, actor, fields, state)

    async def on_ping(self, data):
        await self.send_json({"type": "pong"})

    async def on_resume(self, data):
        wanted = data.get("streams")
        if not isinstance(wanted, dict):
            raise ValidationError("resume.streams must be an object of {stream: {epoch, seq}}.")
        if len(wanted) + len(set(self.subs) - set(wanted)) > settings.LIVE_MAX_STREAMS_PER_SOCKET:
            raise ValidationError(f"At most {settings.LIVE_MAX_STREAMS_PER_SOCKET} streams per socket.")
        for key, position in wanted.items():
            if not isinstance(position, dict):
                raise ValidationError(f"{str(key)[:100]}: position must be an object {{epoch, seq}}.")
            seq, epoch = position.get("seq"), position.get("epoch", "")
            if not isinstance(seq, int) or isinstance(seq, bool) or not (0 <= seq < 2**53):
                raise ValidationError(f"{str(key)[:100]}: seq must be a non-negative integer.")
            if not isinstance(epoch, str) or len(epoch) > 16:
                raise ValidationError(f"{str(key)[:100]}: epoch must be a short string.")
        if not await self.session_still_valid():
            return
        for key, position in wanted.items():
            if self.gone:  # closed meanwhile (a control event): nothing more to follow
                return
            await self.follow(key, position["seq"], position.get("epoch", ""))

    async def follow(self, key: str, seq: int, epoch: str):
        try:
            audience = await self.authorize(key)
        except PermissionDenied:
            await self.unfollow(key)
            code = "not_signed_in" if not getattr(self.user, "is_authenticated", False) else "forbidden"
            return await self.send_json({"type": "error", "code": code, "stream": key[:100],
                                         "detail": "You may not follow this stream."})
        except ObjectDoesNotExist:
            await self.unfollow(key)
            return await self.send_json({"type": "error", "code": "not_found", "stream": key[:100],
                                         "detail": "No such stream."})
        if self.gone:  # closed while authorizing (a control event): its disconnect has given everything back
            return
        old = self.subs.get(key)
        if old is not None and not old.silent and not old.catching_up and old.audience == audience \
                and old.last == seq:
            return  # already live on this stream at this very position: nothing to replay
        # Behind what this socket sent (a page that reloaded its regions, or saw a hole): what follows its position
        # is replayed, the frames it already holds are dropped by the page (their seq is not above its own).
        sub = Subscription(key, audience, seq)
        self.subs[key] = sub
        await self.hub.subscribe(key, self)  # join first ...
        if self.gone:  # closed while joining: the disconnect did not see this subscription
            self.subs.pop(key, None)
            return await self.hub.unsubscribe(key, self)
        await self.catch_up(sub, epoch=epoch)  # ... then replay what was missed, then live

    async def unfollow(self, key: str):
        """A stream this socket may no longer follow (its resume was refused): the subscription it had ends too."""
        sub = self.subs.get(key)
        if sub is not None and not sub.silent:
            del self.subs[key]
            await self.hub.unsubscribe(key, self)

    async def authorize(self, key: str) -> str:
        """The audience this socket follows `key` as (raises PermissionDenied / ObjectDoesNotExist).

        Sockets without a user and without a session are interchangeable: whatever they may follow depends on the
        stream alone, and those asking at the same time share one query (PUBLIC_AUDIENCES)."""
        if getattr(self.user, "is_authenticated", False) or getattr(self.viewer.session, "session_key", None):
            return await in_pool(streams.authorize)(self.viewer, key)
        return await PUBLIC_AUDIENCES.get(key, self.viewer)

    async def on_typing(self, data):
        key = data.get("stream")
        sub = self.subs.get(key) if isinstance(key, str) else None
        if sub is None:
            raise ValidationError("typing: follow the stream first.")
        kind = streams.stream_type(key)
        if kind is None or kind.typing is None:
            raise ValidationError("typing is not available on this stream.")
        # One frame per 2 s of each purpose: a presence heartbeat ({presence}) does not use up the "is writing…"
        # frame that follows it, nor the other way round.
        purpose = "presence" if "presence" in data else "typing"
        if not ratelimit.hit_async_local(f"typing:{id(self)}:{key}:{purpose}", per_seconds=2):
            return  # throttled silently: typing indicators are best effort
        if not await self.session_still_valid():
            return
        try:
            await database_sync_to_async(kind.typing)(self.viewer, key.partition(".")[2], data)
        except (ValidationError, DatabaseError):
            raise
        except Exception:  # best effort: presence kept in a Redis that is down costs nobody their socket
            logger.warning("typing/presence on %s failed", key, exc_info=True)

    # --- server -> client -------------------------------------------------------------------------------------

    # The one place that chooses between the fast path (a pre-built frame written straight to daphne's socket,
    # live/wire.py) and the ASGI send: a socket without it (tests, other servers, internals that changed,
    # live/internals.py) or closing takes the ASGI send, which knows what to do with a closing socket.

    def write_direct(self, frame: bytes) -> bool:
        protocol = wire.daphne_protocol(self)
        return protocol is not None and wire.write(protocol, frame)

    async def send_text(self, text: str, frame: bytes | None = None):
        if self.write_direct(wire.frame_bytes(text) if frame is None else frame):
            return  # in order with the events written by the hub
        await self.send_asgi(text)

    async def send_asgi(self, text: str):
        """The ASGI send, unless the connection is closing (closed by us or by the client, its disconnect not
        handled yet): daphne's WebSocket library refuses a send then (it raises), which would end this consumer
        without its disconnect (slots, subscriptions). Nothing is lost: the page resumes from the last seq it got."""
        protocol = wire.daphne_protocol(self)
        if protocol is not None and not internals.is_open(protocol):
            return
        await self.send(text_data=text)

    def reads(self, key: str) -> tuple[str, str] | None:
        """The (audience, lang) in which this socket reads `key`, or None if it does not (the hub renders those
        variants, live/variants.py)."""
        sub = self.subs.get(key)
        return None if sub is None else (sub.audience, self.viewer.lang)

    def write_live(self, key: str, first: int, end: int, frames: wire.Frames) -> bool:
        """The hub's fan-out: the events `first`..`end` of `key` in one write, when this socket is live on `key`,
        expects `first` next and has the fast path. False otherwise (catching up, silent, a hole, no fast path):
        the hub then calls push() for each event. Only this consumer moves its subscriptions' positions."""
        sub = self.subs.get(key)
        if sub is None or sub.catching_up or sub.silent or first != sub.last + 1:
            return False
        if not self.write_direct(frames.of(sub.audience, self.viewer.lang)):
            return False
        sub.last = end  # counted by the hub, once per fan-out (live/metrics.py frames_delivered)
        return True

    async def send_json(self, payload: dict):
        await self.send_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    async def push(self, key: str, msg: dict):
        """Called by the hub with one layer message, already in order for this process."""
        sub = self.subs.get(key)
        if sub is None:
            return
        control = msg.get("control")
        if control:
            if await self.apply_control(control, key, msg.get("seq")):
                return
            sub = self.subs.get(key)  # a re-authorization may have just dropped this stream
            if sub is None:
                return
        if sub.silent:
            return
        seq = msg.get("seq")
        if seq is None:
            text = streams.pick(msg["frames"], sub.audience, self.viewer.lang)
            if text:
                await self.send_text(text)
            return
        if sub.catching_up:
            self.buffer(sub, msg)
            return
        if seq <= sub.last:
            return
        if seq > sub.last + 1:  # cannot happen through the hub, but never skip: replay the hole
            sub.catching_up = True
            self.buffer(sub, msg)
            task = asyncio.ensure_future(self.catch_up_apart(sub))
            self.catch_ups.add(task)
            task.add_done_callback(self.catch_ups.discard)
            return
        await self.send_event(sub, msg)

    @staticmethod
    def buffer(sub: Subscription, msg: dict):
        """Hold a live event until the catch-up is done; past MAX_BUFFERED, only the latest (the catch-up then
        finds a hole before it and reads what it lacks from the log: the same events, once each)."""
        if len(sub.buffer) >= MAX_BUFFERED:
            sub.buffer = [max(sub.buffer, key=lambda m: m["seq"])]
        sub.buffer.append(msg)

    async def send_event(self, sub: Subscription, msg: dict):
        sub.last = msg["seq"]
        metrics.frames_delivered(sub.key)
        # The frame built once for every socket of this audience (live/wire.py); the ASGI send takes its text.
        frame = wire.encoded(msg, sub.key, sub.audience, self.viewer.lang)
        if self.write_direct(frame):
            return
        text = streams.pick(msg["frames"], sub.audience, self.viewer.lang)
        if text is None:  # nothing for this audience: still advance the client's seq
            text = json.dumps({"type": "event", "stream": sub.key, "seq": msg["seq"]})
        await self.send_asgi(text)

    async def catch_up(self, sub: Subscription, epoch: str | None = None):
        """Replay from the log what this socket misses, then drain what arrived live meanwhile, without doubles.

        Each turn of the loop moves the position or reads the log: a turn that moved nothing (the hub's memory
        answered nothing up to a buffered event more than one ahead) is followed by one that reads the log itself,
        not shared with other sockets (a shared read may have begun before the event was committed). Without
        this, such a turn came round again at once, awaiting nothing: the process's event loop froze."""
        fresh = False  # this turn reads the log itself
        while True:
            before = sub.last
            try:
                # A reconnect storm resumes from recent positions: the hub serves those from memory, the
                # frames it delivered live; older ones come from the log.
                variant = (sub.audience, self.viewer.lang)
                missed = None if fresh else self.hub.replay_from_memory(sub.key, sub.last, epoch, variant)
                if fresh:
                    missed = await in_pool(_replay)(sub.key, sub.last, epoch)
                elif missed is None:
                    after = sub.last
                    missed = await self.hub.shared_replay(
                        sub.key, after, epoch, functools.partial(in_pool(_replay), sub.key, after, epoch))
                    self.hub.learn_replay(sub.key, missed)
                    # A shared replay may have been read before this socket joined: add what the hub delivered
                    # since (anything later reaches this socket live, it has joined).
                    end = missed[-1]["seq"] if missed else after
                    if end < self.hub.last.get(sub.key, 0):
                        more = self.hub.replay_from_memory(sub.key, end, None, variant)
                        if more is None:
                            more = await in_pool(_replay)(sub.key, end, None)
                        missed = missed + more
            except streams.Reset as reset:
                await self.reset(reset)
                return
            epoch = None
            if self.subs.get(sub.key) is not sub:
                return  # unfollowed or superseded meanwhile
            metrics.replay(sub.key, len(missed))
            for msg in missed:
                if msg["seq"] == sub.last + 1:
                    await self.send_event(sub, msg)
                    await self.pace()
            pending, sub.buffer = sorted(sub.buffer, key=lambda m: m["seq"]), []
            gap = False
            for msg in pending:
                if msg["seq"] <= sub.last:
                    continue
                if msg["seq"] != sub.last + 1:
                    gap = True
                    sub.buffer = [m for m in pending if m["seq"] > sub.last]
                    break
                await self.send_event(sub, msg)
                await self.pace()
            if not gap and not sub.buffer:
                sub.catching_up = False
                await self.send_json({"type": "subscribed", "stream": sub.key, "seq": sub.last})
                return
            if sub.last == before and fresh:
                # The log itself holds nothing after this position, yet a later event arrived: a log rebuilt
                # under the socket. The page comes back and resumes (or gets a reset) on a fresh socket.
                raise CatchUpStuck(f"{sub.key}: nothing in the log after {sub.last}, a later event buffered")
            fresh = sub.last == before

    async def catch_up_apart(self, sub: Subscription):
        """`catch_up` in a task of its own (a hole met by `push`), whose failure no frame handler sees: it ends
        the socket as a failed frame would (the stream would otherwise stay catching up, its events buffered and
        never shown), and the page comes back with backoff and resumes from its last seq."""
        try:
            await self.catch_up(sub)
        except asyncio.CancelledError:
            raise
        except DatabaseError:
            logger.warning("database unavailable during the catch-up of %s", sub.key, exc_info=True)
        except Exception:
            logger.exception("the catch-up of %s failed", sub.key)
        else:
            return
        self.catch_ups.discard(asyncio.current_task())  # done: a disconnect meanwhile must not cut this one short
        if not self.gone:
            await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)

    async def pace(self):
        """A replay writes many frames in a row: keep to the reader's pace (live/wire.py drain)."""
        protocol = wire.daphne_protocol(self)
        if protocol is not None:
            await wire.drain(protocol)

    async def reset(self, reset: streams.Reset):
        sub = self.subs.get(reset.key)
        if sub is None:
            return
        if sub.silent:  # followed for its control events only: the page has no region of it to reload
            sub.last = reset.seq
            return
        sub.last = reset.seq
        sub.buffer = [m for m in sub.buffer if m["seq"] > reset.seq]
        sub.catching_up = False
        metrics.reset(reset.key)
        await self.send_json({"type": "reset", "stream": reset.key, "epoch": reset.epoch, "seq": reset.seq})
        # Anything buffered past the reset point is live again.
        pending, sub.buffer = sub.buffer, []
        for msg in sorted(pending, key=lambda m: m["seq"]):
            if msg["seq"] == sub.last + 1:
                await self.send_event(sub, msg)

    async def end(self, code: int, reason: str, detail: str):
        await self.send_json({"type": "error", "code": reason, "detail": detail})
        await self.close(code=code)
        await self.disconnect(code)  # stop receiving now; the client's close may never come

    async def session_still_valid(self) -> bool:
        """Before following anything new, a signed-in socket's session must still sign its person in (still in the
        store, the account active and not blocked, the auth hash still the account's): the user cached at connect
        never outlives its session. The user read afresh replaces the cached one (roles, name)."""
        if not getattr(self.user, "is_authenticated", False):
            return True
        user = await in_pool(selectors.signed_in_user)(getattr(self.viewer.session, "session_key", None))
        if user is None or user.pk != self.user.pk:
            await self.end(Close.NOT_SIGNED_IN, "session_ended", "Your session has ended; sign in again.")
            return False
        self.user = self.viewer.user = user
        return True

    async def watch_session(self):
        """Sessions also end outside the services (expiry, `clearsessions`, `manage.py changepassword`, the
        shell): no control event closes their sockets, so a signed-in socket checks its session again every
        LIVE_SESSION_RECHECK_SECONDS, jittered so that the sockets of a reconnect storm do not check together."""
        while True:
            await asyncio.sleep(settings.LIVE_SESSION_RECHECK_SECONDS * (0.5 + random.random()))
            try:
                if not await self.session_still_valid():
                    return
            except DatabaseError:
                logger.warning("database unavailable for a session check; next one later", exc_info=True)

    async def apply_control(self, control: dict, key: str | None = None, seq: int | None = None) -> bool:
        """Control events on a user's stream: end sockets (block, logout) or re-check every subscription (role
        change). Returns True when the socket was closed.

        A re-check covers every control committed before it began: it reads the heads of the streams it re-checks
        before anything else, so a control whose seq is at most its stream's head then changes nothing it did not
        see. One Django-admin save changing several rights appends a control per service call (and the moderation
        streams theirs): each socket re-checks once for the burst, not once per control. Nothing waits: a control
        that no re-check covers is re-checked at once, and a revocation closes the socket before anything else."""
        session = control.get("session")
        if "close" in control and (session is None or session == self.session_id):
            # The sockets of the session that made the change (its key renewed) reconnect instead of ending.
            code = Close.RECONNECT if self.session_id in control.get("reconnect", ()) else int(control["close"])
            await self.end(code, control.get("reason", "session_ended"),
                           control.get("detail", "Your session has ended."))
            return True
        if control.get("reauthorize") and not self.rechecked_after(key, seq):
            try:
                heads, audiences = await in_pool(_recheck)(self.viewer, list(self.subs))
                dropped = []
                for stream, audience in audiences.items():  # every subscription changed before the next await
                    sub = self.subs.get(stream)
                    if sub is None:
                        continue  # unfollowed meanwhile
                    if audience is not None:
                        sub.audience = audience
                        self.hub.variant_changed(stream, self)
                    else:
                        del self.subs[stream]
                        dropped.append(stream)
                for stream in dropped:
                    await self.hub.unsubscribe(stream, self)
                    await self.send_json({"type": "error", "code": "forbidden", "stream": stream,
                                          "detail": "You may no longer follow this stream."})
                checked = getattr(self, "checked", {})
                for stream, (epoch, head, _low) in heads.items():
                    if checked.get(stream, ("", 0))[0] != epoch or checked[stream][1] < head:
                        checked[stream] = (epoch, head)
                self.checked = checked
            except DatabaseError:
                # Not checked is not allowed: the page comes back with backoff and is authorized afresh.
                logger.warning("database unavailable for a re-authorization; the socket reconnects", exc_info=True)
                await self.end(Close.UNAVAILABLE, "unavailable", UNAVAILABLE_DETAIL)
                return True
        return False

    def rechecked_after(self, key: str | None, seq: int | None) -> bool:
        """A re-check began after the control `seq` of `key` committed (`apply_control`). The epoch is compared
        when the hub knows it (a stream without events when the process joined it has none there yet)."""
        noted = getattr(self, "checked", {}).get(key)
        epoch = self.hub.epochs.get(key)
        return (seq is not None and noted is not None and (epoch is None or noted[0] == epoch)
                and seq <= noted[1])


def _recheck(viewer: streams.Viewer, keys: list[str]) -> tuple[dict, dict[str, str | None]]:
    """In a worker thread: the heads of `keys` (read first: what the re-check covers), then the user read afresh
    and the audience of each stream (None: no longer allowed)."""
    heads = streams.heads(keys)
    user = viewer.user
    if getattr(user, "is_authenticated", False):
        user.refresh_from_db()
    audiences = {}
    for key in keys:
        try:
            audiences[key] = streams.authorize(viewer, key)
        except (PermissionDenied, ObjectDoesNotExist):
            audiences[key] = None
    return heads, audiences


def _replay(key: str, after: int, epoch: str | None) -> list[dict]:
    return streams.replay_messages(key, after, epoch=epoch or None)


def monotonic() -> float:
    return time.monotonic()
