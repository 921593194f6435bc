"""The stream core: append events in the writer's transaction, publish them after commit, replay them on demand.

This module is the ONE publishing seam: nothing else sends stream events to the channel layer. `git grep
"streams.append("` lists every event the application emits.

A stream is named `<type>.<id>[.<part>]` (`debate.42`, `meeting.7.screen`, `conversation.9`, `user.5`). Each
stream type registers, from its app:

- who may follow it, and as which audience (`register_stream`); the audience decides which rendering a socket
  receives, e.g. "public" and "moderators";
- how each kind of event renders for each audience (`renderer`): HTML fragments with `hx-swap-oob`, once per
  audience and language that some socket follows (live/variants.py), the same bytes for every socket of that
  audience. The renderings of one event read the database once between them (`Rendering.once`).

Events carry only ids; they render from the database, on publish and on replay alike, so a replay never
resurrects content that was hidden since. On publish, the writer may hand over what it already holds, as it
commits (`append(..., known={"comment": comment})`): a later change has its own, later event, rendered after it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Exists, F, QuerySet
from django.utils import timezone, translation
from django.utils.html import conditional_escape

from live import effects, internals, metrics, variants
from live.database import server_bound_cursor
from live.models import Event, StreamCounter
from live.outage import Breaker

logger = logging.getLogger(__name__)

STREAM_KEY_RE = re.compile(r"^[a-z][a-z_]{0,30}(\.[A-Za-z0-9_-]{1,40}){1,3}$")
ALL = "*"  # the audience key of a rendering that every audience receives


class Reset(Exception):
    """The client's position cannot be replayed (too old, from the future, or another epoch): reload instead."""

    def __init__(self, key: str, epoch: str, seq: int):
        super().__init__(key)
        self.key, self.epoch, self.seq = key, epoch, seq


@dataclass
class Viewer:
    """Who is asking to follow a stream: the signed-in user (or AnonymousUser) and their session."""

    user: object
    session: object = None
    lang: str = "fr"
    socket_state: dict = field(default_factory=dict)  # what a stream type keeps for this socket (debates: its tab)


@dataclass
class StreamType:
    authorize: Callable[[Viewer, str], str]
    typing: Callable[[Viewer, str, dict], str | dict | None] | None = None
    audiences: Callable[[str], Iterable[str]] | None = None


class Rendering:
    """One rendering of an event, for one audience (`ALL`: the rendering every audience shares) in the active
    language, and what the event's renderings read from the database, read once (`once`)."""

    __slots__ = ("audience", "_reads")

    def __init__(self, audience: str, reads: dict):
        self.audience, self._reads = audience, reads

    def once(self, name, read: Callable[[], object]):
        """`read()` the first time any rendering of this event asks for `name`, its result afterwards. An event
        renders once per (audience, language) that some socket follows, one right after the other: only the texts
        and the audience's view differ, so name data here, never a rendering. Events appended together
        (`append_together`) share these reads; an event read again from the log (a replay) reads afresh."""
        reads = self._reads
        if name not in reads:
            reads[name] = read()
        return reads[name]


Renderer = Callable[[Event, Rendering], "str | dict[str, str | None] | None"]

_stream_types: dict[str, StreamType] = {}
_renderers: dict[str, dict[str, Renderer]] = {}  # kind -> {audience, or ALL: renderer}


def register_stream(prefix: str, *, authorize, typing=None, audiences=None) -> None:
    """Declare a stream type. `authorize(viewer, rest)` gets the key without its prefix (`"42"` for `debate.42`)
    and returns the viewer's audience, or raises PermissionDenied / ObjectDoesNotExist. `audiences(rest)`, when a
    key's audiences are fewer than the type's (one per meeting stream), names them: events of that key render
    only for those."""
    _stream_types[prefix] = StreamType(authorize=authorize, typing=typing, audiences=audiences)


def renderer(kind: str, *, audience: str | Iterable[str] = ALL):
    """Register how events of `kind` render for `audience` (or each of several; by default the one rendering
    every audience shares): `fn(event, rendering) -> html | None`, called in the language being rendered.

    None shows nothing (the seq still advances on the client). An `ALL` renderer may return
    `{ALL: html, audience: html_or_None, ...}` instead, for exceptions among audiences not known in advance
    (a conversation's participants)."""

    def decorator(fn):
        for name in [audience] if isinstance(audience, str) else audience:
            _renderers.setdefault(kind, {})[name] = fn
        return fn

    return decorator


def has_renderer(kind: str) -> bool:
    return kind in _renderers


def stream_type(key: str) -> StreamType | None:
    prefix, _, _rest = key.partition(".")
    return _stream_types.get(prefix)


def authorize(viewer: Viewer, key: str) -> str:
    """The audience `viewer` follows `key` as. Raises PermissionDenied or ObjectDoesNotExist."""
    from django.core.exceptions import ObjectDoesNotExist

    if not STREAM_KEY_RE.match(key):
        raise ObjectDoesNotExist(key)
    kind = stream_type(key)
    if kind is None:
        raise ObjectDoesNotExist(key)
    return kind.authorize(viewer, key.partition(".")[2])


def group_name(key: str) -> str:
    return f"live.{key}"


# --- writing -------------------------------------------------------------------------------------------------------

def _insert_event(key: str, kind: str, data: dict) -> tuple[Event, str]:
    """The stream's next event, numbered from its counter row, and the stream's epoch: one statement (the counter's
    increment and the event's insert together), the row locked until the transaction ends (gap-free, commit order).
    The counter row is created on the first event (a concurrent creator is absorbed by ON CONFLICT)."""
    if connection.vendor != "postgresql":
        return _insert_event_portable(key, kind, data)
    counters, events = StreamCounter._meta.db_table, Event._meta.db_table
    created_at = timezone.now()
    params = [key, key, kind, Event._meta.get_field("data").get_db_prep_value(data, connection), created_at]
    sql = (f"WITH counter AS (UPDATE {counters} SET seq = seq + 1 WHERE key = %s RETURNING seq, epoch) "
           f"INSERT INTO {events} (stream, seq, kind, data, created_at) SELECT %s, counter.seq, %s, %s, %s "
           f"FROM counter RETURNING id, seq, (SELECT epoch FROM counter)")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:  # the stream's first event
            cursor.execute(
                f"INSERT INTO {counters} (key, seq, low_seq, epoch) VALUES (%s, 0, 1, %s) ON CONFLICT (key) DO NOTHING",
                [key, secrets.token_hex(4)],
            )
            cursor.execute(sql, params)
            row = cursor.fetchone()
    event = Event(id=row[0], stream=key, seq=row[1], kind=kind, data=data, created_at=created_at)
    event._state.adding, event._state.db = False, connection.alias
    return event, row[2]


def _insert_event_portable(key: str, kind: str, data: dict) -> tuple[Event, str]:
    """`_insert_event` for the embedded SQLite of `make run` (no UPDATE inside a WITH): the same rows, in two
    statements; SQLite serialises writers, so the counter cannot be advanced twice for one seq."""
    counter, _created = StreamCounter.objects.get_or_create(key=key, defaults={"seq": 0, "low_seq": 1,
                                                                               "epoch": secrets.token_hex(4)})
    StreamCounter.objects.filter(key=key).update(seq=F("seq") + 1)
    seq = StreamCounter.objects.values_list("seq", flat=True).get(key=key)
    event = Event.objects.create(stream=key, seq=seq, kind=kind, data=data)
    return event, counter.epoch


def _insert_events(events: list[Event], riding=()) -> None:
    """`_insert_event` for several new events (their stream, kind and data set) on distinct streams, in one
    statement: their counter rows locked in key order (any two writers appending to the same streams take them in
    the same order), each advanced, and its event inserted. Each event gets its id, seq, created_at and `epoch` (its
    stream's) in place: the writer's own objects, not copies (a message built its events twice, #17). Streams
    without a counter row yet get theirs one by one (their first event only).
    `riding`: the writer's own data-modifying statements (sql, params), sent in the same statement (`together`)."""
    db = connections[DEFAULT_DB_ALIAS]  # read once: each attribute read through `connection` costs a lookup
    if db.vendor != "postgresql":
        _send_riding(riding)
        for event in sorted(events, key=lambda event: event.stream):
            _took(event, *_insert_event_portable(event.stream, event.kind, event.data))
        return
    assert len({event.stream for event in events}) == len(events), "one event per stream in one statement"
    created_at = timezone.now()
    # The events travel as one JSON array ([{"key", "kind", "data"}], unpacked in SQL) and the statement's
    # parameters apart from its text (server-side binding): psycopg's merging of three arrays and the riding rows'
    # values into the text, quoted and escaped in Python, was most of a message's events' statement (#17).
    wanted = json.dumps([{"key": event.stream, "kind": event.kind, "data": event.data} for event in events],
                        cls=Event._meta.get_field("data").encoder)
    with server_bound_cursor() as cursor:
        cursor.execute(_events_statement(tuple(statement for statement, _params in riding)),
                       [*(param for _statement, params in riding for param in params), wanted, created_at])
        rows = cursor.fetchall()
    found = {key: (pk, seq, epoch) for pk, key, seq, epoch in rows}
    alias = db.alias
    for event in events:
        if event.stream not in found:
            _took(event, *_insert_event(event.stream, event.kind, event.data))
            continue
        event.id, event.seq, event.epoch = found[event.stream]
        event.created_at = created_at
        event._state.adding, event._state.db = False, alias


def _took(event: Event, inserted: Event, epoch: str) -> None:
    """`event` made the row `inserted` is (its id, seq, creation time), of a stream whose epoch is `epoch`."""
    event.id, event.seq, event.created_at, event.epoch = inserted.id, inserted.seq, inserted.created_at, epoch
    event._state.adding, event._state.db = False, inserted._state.db


@functools.lru_cache(maxsize=64)
def _events_statement(riding: tuple[str, ...]) -> str:
    """`_insert_events`' statement: the riding statements' `WITH`s, then the events'. Built once per shape (a
    comment's, a message's, a reply's, a new burst's...)."""
    counters, events = StreamCounter._meta.db_table, Event._meta.db_table
    return (f"WITH {''.join(f'riding{i} AS ({statement}), ' for i, statement in enumerate(riding))}"
            f"wanted AS (SELECT w.e ->> 'key' AS key, w.e ->> 'kind' AS kind, w.e -> 'data' AS data, w.n "
            f"FROM json_array_elements(%s::json) WITH ORDINALITY AS w(e, n)), "
            f"locked AS (SELECT key FROM {counters} WHERE key IN (SELECT key FROM wanted) ORDER BY key FOR UPDATE), "
            f"counter AS (UPDATE {counters} AS c SET seq = c.seq + 1 FROM locked WHERE c.key = locked.key "
            f"RETURNING c.key, c.seq, c.epoch) "
            f"INSERT INTO {events} (stream, seq, kind, data, created_at) "
            f"SELECT counter.key, counter.seq, wanted.kind, wanted.data::jsonb, %s FROM counter "
            f"JOIN wanted ON wanted.key = counter.key ORDER BY wanted.n "
            f"RETURNING id, stream, seq, (SELECT epoch FROM counter WHERE counter.key = stream)")


def _send_riding(riding) -> None:
    """The writer's statements that ride with its events, sent on their own (no events, or not PostgreSQL)."""
    if riding:
        with connection.cursor() as cursor:
            for statement, params in riding:
                cursor.execute(statement, params)


def _push_after_commit(events: list[Event]) -> None:
    """Push `events` (those of one write) once the transaction commits, in one push: their renderings, then one
    hand-off to the layer (`publish_together`). Once: a push the layer missed is delivered by the sweep (publish
    never raises; a renderer might)."""
    effects.after_commit(f"push of {', '.join(f'{e.stream}#{e.seq}' for e in events)}",
                         functools.partial(publish_together, events), attempts=1)


def append(key: str, kind: str, *, known: dict | None = None, **data) -> Event:
    """Record an event on a stream in the current transaction; it is pushed once the transaction commits.

    A rolled-back transaction takes its event and its seq with it, so nothing is pushed and no gap is left.
    `known`: what the writer already holds of what the event's renderings read (`Rendering.once` names, e.g.
    `{"comment": comment}`), as it commits: the push renders from it instead of reading it again. A replay reads
    everything afresh from the database.
    """
    assert STREAM_KEY_RE.match(key), key
    if _together.pending is not None:  # inserted with the others at the end of `together()`
        event = Event(stream=key, kind=kind, data=data)
        event.reads = dict(known) if known else None
        _together.pending.append(event)
        return event
    with transaction.atomic(savepoint=False):
        event, epoch = _insert_event(key, kind, data)
    event.epoch = epoch
    if known:
        event.reads = dict(known)
    _push_after_commit([event])
    return event


class _Together(threading.local):
    pending: list[Event] | None = None
    riding: list[tuple[str, list]] | None = None


_together = _Together()


@contextmanager
def together(riding: list[tuple[str, list]] | None = None):
    """The events `append`ed in this block go to the log in one statement when it ends (a message: its
    conversation's event and each recipient's), instead of one statement each, and are pushed together after the
    commit (`publish_together`: one hand-off to the layer, one layer message per process). The returned events
    have their seq once the block has ended. Two events on one stream keep their order (the second goes in a
    following statement). Nested blocks are one block.

    `riding`: the writer's own INSERTs and UPDATEs, (sql, params), which the block may add to before it ends: sent
    in the same statement as the events on PostgreSQL (data-modifying `WITH`s; a message, its reader's position and
    its notification: ids taken beforehand from their sequences), each its own statement elsewhere. They run after
    the block's other statements, with the events' numbering; as one statement, they change each row once at most
    and none of the stream counters (PostgreSQL applies one change only)."""
    if _together.pending is not None:
        if riding is not None:
            _together.riding.append(riding)
        yield
        return
    _together.pending, _together.riding = [], [] if riding is None else [riding]
    try:
        yield
        pending = _together.pending
        riding = [statement for statements in _together.riding for statement in statements]
    finally:
        _together.pending = _together.riding = None
    pushed: list[Event] = []
    with transaction.atomic(savepoint=False):
        if not pending:
            _send_riding(riding)
        while pending:
            keys, chunk = set(), []
            for event in pending:
                if event.stream in keys:
                    break
                keys.add(event.stream)
                chunk.append(event)
            pending = pending[len(chunk):]
            _insert_events(chunk, riding)
            riding = ()
            pushed.extend(chunk)
    if pushed:
        _push_after_commit(pushed)


def append_together(keys: Iterable[str], kind: str, *, known: dict | None = None, riding: list | None = None,
                    **data) -> list[Event]:
    """One change told on several streams (a meeting's phones, screen and console): `append` to each, in one
    statement for all of them, and their renderings share what they read (`Rendering.once`, seeded with `known`),
    so the data they have in common is loaded once; pushed together after the commit, as `together()`'s.
    `riding`: the writer's own statements, sent in that statement (as `together()`'s)."""
    keys = list(keys)
    for key in keys:
        assert STREAM_KEY_RE.match(key), key
    reads: dict = dict(known or {})
    events = [Event(stream=key, kind=kind, data=data) for key in keys]
    for event in events:
        event.reads = reads
    with transaction.atomic(savepoint=False):
        _insert_events(events, riding or ())
    if events:
        _push_after_commit(events)
    return events


# --- rendering -----------------------------------------------------------------------------------------------------

def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def in_languages(text: Callable[[], str]) -> list[tuple[str, str]]:
    """`[(lang, text())]` for every language: an ephemeral push (`broadcast`) carries the same bytes for every
    page, so it carries each text, and the page's CSS shows the one of its <html lang>
    (templates/live/in_languages.html)."""
    out = []
    for lang in languages():
        with translation.override(lang):
            out.append((lang, text()))
    return out


def announcement(text: str) -> str:
    """The polite live-region update that screen readers announce: `#live-announcer`'s new text, escaped as
    autoescape does. base.html's #live-announcer keeps its element (a region put in anew is not always announced);
    live.js adds a text that comes right after another instead of overwriting it. The one builder of it: pushes
    call it, templates include templates/live/announcer.html, whose tag calls it (the bytes the template wrote
    before, its two comment lines' newlines included)."""
    return f'\n\n<div id="live-announcer" hx-swap-oob="innerHTML">{conditional_escape(text)}</div>\n'


def frame(event: Event, html: str | None) -> str:
    payload = {"type": "event", "stream": event.stream, "seq": event.seq, "epoch": getattr(event, "epoch", "")}
    if html:
        payload["html"] = html
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _nothing(event, rendering):
    return None


def frames(event: Event, only: set[str] | None = None) -> dict[str, str]:
    """The encoded frames of an event, keyed `"<audience>:<lang>"`; rendered once per audience and language, or
    only for the variants in `only` (live/variants.py), all of them reading the database once (`Rendering`)."""
    by_audience = _renderers.get(event.kind) or {ALL: _nothing}
    kind = stream_type(event.stream)
    possible = None
    if kind is not None and kind.audiences is not None:
        possible = frozenset(kind.audiences(event.stream.partition(".")[2]))
    reads = event.reads if event.reads is not None else {}
    out: dict[str, str] = {}
    for lang in languages():
        wanted = None
        if only is not None:
            wanted = variants.audiences_for(only, lang)
            if not wanted:
                continue
        with translation.override(lang):
            for audience, render in by_audience.items():
                if audience == ALL:
                    if wanted is not None and wanted <= by_audience.keys():
                        continue  # every wanted audience has a rendering of its own
                elif (possible is not None and audience not in possible) or (wanted is not None
                                                                               and audience not in wanted):
                    continue
                try:
                    rendered = render(event, Rendering(audience, reads))
                except Exception:  # a broken renderer must not stop the stream: the seq still advances
                    logger.exception("renderer for %s (%s) failed on %s#%s", event.kind, audience, event.stream,
                                     event.seq)
                    rendered = None
                for name, html in (rendered.items() if isinstance(rendered, dict) else [(audience, rendered)]):
                    if wanted is None or name == ALL or name in wanted:
                        out[f"{name}:{lang}"] = frame(event, html)
    return out


def pick(frames_by_audience: dict[str, str], audience: str, lang: str) -> str | None:
    return frames_by_audience.get(f"{audience}:{lang}") or frames_by_audience.get(f"{ALL}:{lang}")


def message(event: Event, only: set[str] | None = None) -> dict:
    """What travels through the channel layer for one event: every variant, or those in `only`, named."""
    msg = {
        "type": "live.event",
        "stream": event.stream,
        "seq": event.seq,
        "frames": frames(event, only),
        "control": event.data.get("_control"),
        "refs": refs(event.data),
    }
    if only is not None:
        msg["only"] = sorted(only)
    return msg


def refs(data: dict) -> list[str]:
    """What an event touches, as `name=id` strings (`comment=12`): the hub forgets the remembered frames of
    earlier events that touched the same thing, so a replay never resends content changed (hidden) since."""
    out = []
    for name, value in data.items():
        if name.startswith("_"):
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, (int, str)) and not isinstance(item, bool):
                out.append(f"{name}={item}")
    return out


# --- publishing (after commit) ---------------------------------------------------------------------------------------

# After the channel layer fails, skip it for a few seconds instead of making every request wait for it; the hubs'
# sweep delivers from the log meanwhile.
breaker = Breaker()


def publish(event: Event) -> None:
    """Send a committed event to every process following its stream, rendered for the variants some socket
    follows (live/variants.py). Never raises: the layer is a hint."""
    started = time.perf_counter()
    asked = _handoff.wanted
    only = asked[event.stream] if asked is not None and event.stream in asked else variants.wanted(event.stream)
    msg = message(event, only)
    metrics.published(event, started)
    send_to_group(event.stream, msg)


class _Handoff(threading.local):
    sends: list[tuple[str, dict]] | None = None  # what send_to_group collects within publish_together
    wanted: dict[str, set[str] | None] | None = None  # the marks publish_together read for its events' streams


_handoff = _Handoff()


def publish_together(events: list[Event]) -> None:
    """`publish` the events of one write on several streams (`together()`, `append_together()`) in one hand-off
    to the layer, which sends each process one message for all of those it follows (live/layers.py
    `group_send_many`). Each goes through `publish`, whose sends are collected meanwhile; the marks of all their
    streams are read before, at once (`variants.wanted_many`: one Redis round trip, not one per stream)."""
    if len(events) == 1:
        publish(events[0])
        return
    _handoff.sends, _handoff.wanted = [], variants.wanted_many(event.stream for event in events)
    try:
        for event in events:
            publish(event)
    finally:
        sends, _handoff.sends, _handoff.wanted = _handoff.sends, None, None
        if sends:
            send_to_groups(sends)


def send_to_group(key: str, msg: dict) -> None:
    if _handoff.sends is not None:  # within publish_together: sent with the others
        _handoff.sends.append((key, msg))
        return
    send_to_groups([(key, msg)])


def send_to_groups(sends: list[tuple[str, dict]]) -> None:
    """Hand each (stream, msg) to the channel layer. In a server's worker thread (a view, a database_sync_to_async
    call) the send is queued on the server's event loop and the request does not wait for it: under load, waiting
    for the loop's turn was most of a comment POST's time (bench/, docs/performance.md). Elsewhere (commands,
    shells) it is sent before returning. Queued as a plain callback that starts the send's task, not with
    `run_coroutine_threadsafe`, whose result future nobody reads (its chaining cost about 10 us a write).

    With a layer that can read its groups' members from a thread (live/layers.py `members_now`), the loop is handed
    the sends twice: first for this process's hub (its sockets do not wait for Redis), then, once this thread has
    read the members, for the layer, which then reads nothing on the loop (docs/performance.md, #17)."""
    layer_up = breaker.allows()
    if not layer_up:  # still handed to this process's hub (`_send_async`): its sockets need no Redis
        metrics.layer_failed("skipped")
    layer = get_channel_layer()
    loop = internals.server_loop()
    if loop is not None:
        if not (layer_up and getattr(layer, "members_now", None) is not None and layer.can_skip()):
            loop.call_soon_threadsafe(_start_send, loop, layer, sends, layer_up)
            return
        here: dict = {}  # what the hub took (`_publish_here`), for the layer's send to skip
        loop.call_soon_threadsafe(_publish_here, sends, here)
        members = _members_now(layer, sends)
        if members is not False:  # (False: Redis failed, counted; the hub has them, the others' sweep delivers)
            loop.call_soon_threadsafe(_start_send, loop, layer, sends, True, members, here)
        return
    try:
        async_to_sync(_send_async)(layer, sends, layer_up)
    except Exception:  # not even handed to the layer (a thread running an event loop of its own): publish never raises
        if layer_up:
            _send_failed(sends)


def _members_now(layer, sends: list[tuple[str, dict]]) -> list[list[str]] | None | bool:
    """In the worker thread, right after the commit: the member channels of each send's group, which the loop
    would read otherwise (live/layers.py `members_now`); None when the layer cannot read them so, False when Redis
    failed (counted as a failed send: `_send_failed`)."""
    read = getattr(layer, "members_now", None)
    if read is None:
        return None
    try:
        return read([group_name(key) for key, _msg in sends])
    except Exception:
        _send_failed(sends)
        return False


_sending: set[asyncio.Task] = set()  # the sends under way: the loop holds its tasks only weakly


def _publish_here(sends: list[tuple[str, dict]], here: dict) -> None:
    """On the server's loop: hand this process's hub its own events now (`Hub.publish_here`); `here["skip"]`: the
    channel the layer's send is then to leave out (see `_send_async`)."""
    from live.hub import running_hub

    hub = running_hub()
    here["skip"] = hub.publish_here(sends) if hub is not None else None


def _start_send(loop, layer, sends: list[tuple[str, dict]], layer_up: bool = True,
                members: list[list[str]] | None = None, here: dict | None = None) -> None:
    """On the server's loop: start the send (_send_async catches its own failures)."""
    task = loop.create_task(_send_async(layer, sends, layer_up, members, here))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def _send_async(layer, sends: list[tuple[str, dict]], layer_up: bool = True,
                      members: list[list[str]] | None = None, here: dict | None = None) -> None:
    """Hand the sends to the layer, on the loop that runs this process's hub when there is one: the hub takes the
    events of the streams it follows at once (`Hub.publish_here`), and the layer carries them to the other
    processes only. Through the layer, each of them cost this process a Redis round trip to push it back to its
    own hub, a receive to pop it, and its serialization both ways (docs/performance.md, "Own events"). While the
    layer is skipped (`breaker` open: Redis failing), the hub still takes them, and the other processes' sockets
    get them from the log (their hubs' sweep). `members`: each send's group members, read by the worker thread
    (`_members_now`); the layer reads them itself without. `here`: the hub had them already (`_publish_here`)."""
    from live.hub import running_hub

    skip = None
    if here is not None:
        skip = here.get("skip")
    elif not layer_up or (getattr(layer, "can_skip", None) is not None and layer.can_skip()):
        hub = running_hub()
        if hub is not None:
            skip = hub.publish_here(sends)
    if not layer_up:
        return
    options = {} if skip is None else {"skip": skip}
    try:
        if len(sends) > 1 and hasattr(layer, "group_send_many"):
            await layer.group_send_many([(group_name(key), msg) for key, msg in sends], **options,
                                        **({} if members is None else {"members": members}))
        else:
            for position, (key, msg) in enumerate(sends):
                await layer.group_send(group_name(key), msg, **options,
                                       **({} if members is None else {"members": members[position]}))
    except Exception:
        _send_failed(sends)
    else:
        breaker.succeeded()


def _send_failed(sends: list[tuple[str, dict]]) -> None:
    breaker.failed()
    metrics.layer_failed()
    logger.warning("channel layer unavailable; %s will be delivered by the sweep",
                   ", ".join(key for key, _msg in sends), exc_info=True)


def broadcast(key: str, html: str | dict[str, str]) -> None:
    """Push an ephemeral fragment (typing, presence) that is not logged and not replayed."""
    rendered = html if isinstance(html, dict) else {ALL: html}
    payload = {}
    for audience, fragment in rendered.items():
        for lang in languages():
            payload[f"{audience}:{lang}"] = json.dumps({"type": "ephemeral", "stream": key, "html": fragment},
                                                       ensure_ascii=False, separators=(",", ":"))
    send_to_group(key, {"type": "live.event", "stream": key, "seq": None, "frames": payload, "control": None})


# --- reading ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cursor:
    key: str
    epoch: str
    seq: int

    def __str__(self):
        return f"{self.epoch}:{self.seq}"


def cursor(key: str, *, of: QuerySet | None = None) -> Cursor | None:
    """Where a page rendered now stands on a stream. Take it BEFORE reading the data the page shows: anything that
    commits in between is replayed and, being idempotent, merely re-applied.

    `of`: the stream's subject (a queryset of its row) when the key comes from a URL: None when it does not exist,
    and no counter is created for it (a made-up id leaves nothing behind). Checked in the counter's own statement:
    one statement for a page whose stream has a counter."""
    counters = StreamCounter.objects.filter(key=key)
    row = (counters.filter(Exists(of)) if of is not None else counters).values_list("epoch", "seq").first()
    if row is None:
        if of is not None and not of.exists():
            return None
        # Create the counter so the epoch a page carries is the one later events will carry.
        with transaction.atomic():
            StreamCounter.objects.get_or_create(key=key, defaults={"epoch": secrets.token_hex(4)})
        row = StreamCounter.objects.filter(key=key).values_list("epoch", "seq").first()
    return Cursor(key, row[0], row[1])


def heads(keys: Iterable[str]) -> dict[str, tuple[str, int, int]]:
    """`{key: (epoch, seq, low_seq)}` for the streams that exist."""
    return {
        key: (epoch, seq, low)
        for key, epoch, seq, low in StreamCounter.objects.filter(key__in=list(keys)).values_list(
            "key", "epoch", "seq", "low_seq"
        )
    }


def events_after(key: str, after: int, *, upto: int | None = None, epoch: str | None = None) -> list[Event]:
    """Events of `key` with seq > after (and <= upto), in order, each carrying the stream's epoch.

    Raises Reset when they cannot all be replayed: other epoch, a position ahead of the log or behind retention,
    or more than REPLAY_LIMIT events to send (a reload is cheaper)."""
    head = heads([key]).get(key)
    if head is None:
        current_epoch, seq, low = cursor(key).epoch, 0, 1
    else:
        current_epoch, seq, low = head
    if (epoch and epoch != current_epoch) or after > seq or after < low - 1:
        raise Reset(key, current_epoch, seq)
    last = seq if upto is None else min(upto, seq)
    if last - after > settings.LIVE_REPLAY_LIMIT:
        raise Reset(key, current_epoch, seq)
    events = list(Event.objects.filter(stream=key, seq__gt=after, seq__lte=last).order_by("seq"))
    for event in events:
        event.epoch = current_epoch
    return events


# --- replay, rendered once for every socket that needs it ------------------------------------------------------------

_REPLAY_CACHE_SIZE = 4096
_REPLAY_CACHE_SECONDS = 30.0
_replay_cache: OrderedDict = OrderedDict()  # (stream, seq) -> (msg, epoch, head when rendered, refs, time)
_replay_lock = threading.Lock()
# One lock per stream being replayed, so that the first socket renders and the others wait and reuse its rendering;
# with the count of threads holding or waiting for it, and dropped when that falls to zero (`_rendering`). Kept for
# ever, they were one per stream the process ever replayed: every debate, conversation and person's stream.
_render_locks: dict[str, list] = {}  # stream -> [lock, threads holding or waiting for it]
_render_locks_guard = threading.Lock()


@contextmanager
def _rendering(key: str):
    """The stream's replay lock, for as long as someone holds or waits for it."""
    with _render_locks_guard:
        entry = _render_locks.get(key)
        if entry is None:
            entry = _render_locks[key] = [threading.Lock(), 0]
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _render_locks_guard:
            entry[1] -= 1
            if not entry[1]:
                del _render_locks[key]


def replay_messages(key: str, after: int, *, upto: int | None = None, epoch: str | None = None) -> list[dict]:
    """The layer messages of the events after `after`, for a socket (or a hub) catching up. Raises Reset.

    When a thousand sockets resume at once (a network blip, a restarted process) they all ask for the same
    events: each is rendered once and the rendering reused, unless an event touching the same things (`refs`)
    came after that rendering, in which case it is rendered again from the current state, so a replay never
    shows content hidden since."""
    events = events_after(key, after, upto=upto, epoch=epoch)
    if not events:
        return []
    last_touch: dict[str, int] = {}
    event_refs = []
    for event in events:
        these = refs(event.data)
        event_refs.append(these)
        for ref in these:
            last_touch[ref] = event.seq
    now = time.monotonic()
    out = []
    with _rendering(key):  # the first renders, the others wait and reuse
        head = heads([key]).get(key, ("", events[-1].seq, 0))[1]
        reuse = upto is None or upto >= head  # every later event is in `events`: staleness is decidable
        for event, these in zip(events, event_refs, strict=True):
            cached = _replay_cache.get((key, event.seq)) if reuse else None
            if cached is not None:
                msg, cached_epoch, rendered_at, cached_refs, stamp = cached
                if cached_epoch == event.epoch and now - stamp < _REPLAY_CACHE_SECONDS \
                        and all(last_touch.get(ref, 0) <= rendered_at for ref in cached_refs):
                    out.append(msg)
                    continue
            msg = message(event)
            with _replay_lock:
                _replay_cache[(key, event.seq)] = (msg, event.epoch, head, these, now)
                _replay_cache.move_to_end((key, event.seq))
                while len(_replay_cache) > _REPLAY_CACHE_SIZE:
                    _replay_cache.popitem(last=False)
            out.append(msg)
    return out


# --- retention ---------------------------------------------------------------------------------------------------------

def prune(now=None) -> int:
    """Drop events past retention: older than RETENTION_DAYS, or beyond the last RETENTION_EVENTS of their
    stream. Raises each stream's low_seq so clients further behind get a reset instead of a partial replay."""
    now = now or timezone.now()
    keep_events = settings.LIVE_RETENTION_EVENTS
    cutoff = now - timedelta(days=settings.LIVE_RETENTION_DAYS)
    removed = 0
    for counter in StreamCounter.objects.all().iterator():
        with transaction.atomic():
            floor = counter.seq - keep_events + 1
            old = Event.objects.filter(stream=counter.key, created_at__lt=cutoff).order_by("-seq").values_list(
                "seq", flat=True).first()
            low = max(floor, (old + 1) if old is not None else 0, counter.low_seq)
            if low > counter.low_seq:
                removed += Event.objects.filter(stream=counter.key, seq__lt=low).delete()[0]
                StreamCounter.objects.filter(key=counter.key).update(low_seq=low)
    return removed
