"""Writes over the open WebSocket: the one registry of the `write` frame's actions (docs/realtime.md, "Writes").

A write that a page can send over its socket registers the socket side of its HTTP view here:

    @socket_write("messages.send")
    def send_message(actor: Actor, data) -> dict | None:
        message = parse_and_send(actor, data)      # the SAME function the HTTP view calls
        return {"id": message.pk}

The function runs in a worker thread of the pool (sync ORM allowed), in the socket's language; `data` is a
QueryDict of the form's fields, as `request.POST` would be. The HTTP view and the socket action of one write share
one function (parse + service call): permissions and rate limits stay in the services. A refusal is the services'
own exception (ValidationError, PermissionDenied, RateLimited, ObjectDoesNotExist or Http404), answered with
live/actions.py's words as a `refused` frame; the result (JSON-able, or None) as a `written` frame. The consumer
(live/consumers.py) checks the frame, the socket's session and the writes it has in flight, then calls `perform`.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import QueryDict
from django.utils import translation

from live import actions, metrics, ratelimit

logger = logging.getLogger(__name__)

# "<app>.<verb>": a bounded name, also the label of the write's metrics when no rate limit names it.
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}\Z")
MAX_FIELDS = 64  # fields of a write's data
MAX_VALUES = 100  # values of one field (a multiple choice)

_writes: dict[str, Callable[[Actor, QueryDict], dict | None]] = {}
_discovered = threading.Event()
_discovering = threading.Lock()


@dataclass(slots=True)
class Actor:
    """Who writes: the user (AnonymousUser for a guest), their session (where a meeting's guest participant is
    found), the language answers are given in, and the address that rate limits keyed by address count.
    Built once per socket (from its scope) and once per request."""

    user: Any
    session: Any = None
    lang: str = settings.LANGUAGE_CODE
    ip: str = "unknown"

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls(user=request.user, session=getattr(request, "session", None),
                   lang=getattr(request, "LANGUAGE_CODE", None) or translation.get_language() or settings.LANGUAGE_CODE,
                   ip=request.META.get("REMOTE_ADDR") or "unknown")

    @classmethod
    def from_scope(cls, scope, lang: str | None = None) -> Actor:
        if lang is None:
            from live.consumers import language_of

            lang = language_of(scope)
        return cls(user=scope.get("user"), session=scope.get("session"), lang=lang, ip=ratelimit.client_ip(scope))


def socket_write(name: str):
    """Register `fn(actor, data)` as the socket write `name` (one function per name, for the whole process)."""
    if not NAME.match(name):
        raise ValueError(f"socket write names are '<app>.<verb>' in lower case: {name!r}")

    def register(fn):
        known = _writes.get(name)
        if known is not None and known.__qualname__ != fn.__qualname__:  # a module imported twice re-registers
            raise ValueError(f"socket write {name!r} is already registered by {known.__module__}.{known.__qualname__}")
        _writes[name] = fn
        return fn

    return register


def registered() -> list[str]:
    discover()
    return sorted(_writes)


def discover() -> None:
    """Import every module that may register socket writes, once per process: the views (through the URLconf, as
    the first request would) and any app's `socket_writes` module. A socket may write before this process served
    any page."""
    if _discovered.is_set():
        return
    with _discovering:
        if _discovered.is_set():
            return
        from django.urls import get_resolver
        from django.utils.module_loading import autodiscover_modules

        get_resolver().url_patterns  # noqa: B018  (imports every app's urls, hence views)
        autodiscover_modules("socket_writes")
        _discovered.set()


def parse_id(value) -> int | None:
    """A row's id as a write's field gives it ("42" from a form, 42 from a socket's JSON): a positive integer that
    fits a database key, else None (absent, a word, a bool, out of range). The one parse of ids in writes' data."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def form_data(data: dict) -> QueryDict:
    """The write's fields as the HTTP view reads them (`request.POST`): each value a string, or a list of them."""
    if len(data) > MAX_FIELDS:
        raise ValueError(f"at most {MAX_FIELDS} fields")
    query = QueryDict(mutable=True)
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_VALUES:
            raise ValueError(f"at most {MAX_VALUES} values per field")
        texts = []
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise ValueError("field values are strings (or numbers)")
            texts.append(item if isinstance(item, str) else str(item))
        query.setlist(key, texts)
    query._mutable = False
    return query


def perform(name: str, actor: Actor, data: dict, state: dict | None = None) -> tuple[dict, str]:
    """Run the write `name` for `actor` in this thread: (the answer frame without its id, the outcome: "written",
    a refusal's kind, "unknown" for an action nobody registered, "malformed" for data that is not a form's).
    `state`: the write's metrics (live/metrics.py socket_write_arrived), timed by the consumer once answered."""
    state, token = metrics.write_started(state)
    try:
        with translation.override(actor.lang):
            frame, outcome = _perform(name, actor, data)
    finally:
        metrics.write_done(token)
    metrics.socket_written(label(name), state, outcome)
    return frame, outcome


def label(name: str) -> str:
    """`name` as the metrics see it: a registered write's name, else "unknown" (labels stay bounded)."""
    return name if name in _writes else "unknown"


def _perform(name: str, actor: Actor, data: dict) -> tuple[dict, str]:
    fn = _writes.get(name)
    if fn is None:
        discover()
        fn = _writes.get(name)
        if fn is None:
            return malformed("unknown action"), "unknown"
    try:
        fields = form_data(data)
    except ValueError as exc:
        return malformed(str(exc)), "malformed"
    try:
        result = fn(actor, fields)
    except actions.SOCKET_REFUSALS as exc:
        frame = actions.refusal_frame(exc)
        metrics.refused(frame["kind"])
        return frame, frame["kind"]
    except DatabaseError as exc:  # PostgreSQL down or restarting: nothing committed; sent again, it counts once
        logger.warning("database unavailable during the socket write %s: %s", name, where(exc))
        return actions.unavailable_frame(), "unavailable"
    except Exception as exc:
        logger.error("the socket write %s failed: %s", name, where(exc))
        return actions.unavailable_frame(), "unavailable"
    return {"type": "written", "result": result}, "written"


def where(exc: BaseException) -> str:
    """An exception's type and traceback without its message: no content in the logs (a message may quote what
    was written, a database error the row's values)."""
    return f"{type(exc).__name__}\n" + "".join(traceback.format_tb(exc.__traceback__))


def malformed(detail: str) -> dict:
    """A write frame that names no registered action or carries unusable data (in the active language)."""
    return {"type": "refused", "kind": "invalid",
            "message": translation.gettext("This action cannot be sent this way: reload the page."),
            "detail": detail}


def busy(lang: str) -> dict:
    """More writes in flight on one socket than LIVE_MAX_WRITES_IN_FLIGHT: the last one waits a second."""
    with translation.override(lang):
        return actions.refusal_frame(ratelimit.RateLimited(1))
