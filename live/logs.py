"""Logs an operator can feed to Loki or Elasticsearch (docs/deploy.md, Logs).

- `LOG_FORMAT=json`: one JSON object per line (`JsonFormatter`): time, level, logger, message, the request id, and
  the fields a record carries in `extra` (path, status, duration_ms, user, code, reason).
- Every response carries `X-Request-ID` (`RequestIdMiddleware`): nginx's own id when it sends a sane one, else a
  new one; every log line written while the request is served names it.
- `LOG_REQUESTS=1`: one `live.access` line per request (method, path without its query string, status, duration,
  the user's id) and `live.sockets` lines for sockets opened, closed and refused.
Never logged: message text, query strings, e-mail addresses, IP addresses. A user is their account number.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("agora_request_id", default="")

access = logging.getLogger("live.access")
sockets = logging.getLogger("live.sockets")

SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
FIELDS = ("method", "path", "status", "duration_ms", "user", "code", "reason", "stream")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def user_of(request_or_scope) -> int | None:
    user = getattr(request_or_scope, "user", None)
    if user is None and isinstance(request_or_scope, dict):
        user = request_or_scope.get("user")
    return user.pk if getattr(user, "is_authenticated", False) else None


class RequestIdMiddleware:
    """First in MIDDLEWARE: names the request for every log line and the response header; logs the access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if SANE_ID.match(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            if access.isEnabledFor(logging.INFO):
                access.info("request", extra={
                    "request_id": rid, "method": request.method, "path": request.path, "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1), "user": user_of(request)})
            return response
        finally:
            request_id.reset(token)


def socket_event(what: str, scope: dict, **fields) -> None:
    """A socket opened, closed or refused, without content: its path, its user's id, the close code or reason."""
    if sockets.isEnabledFor(logging.INFO):
        sockets.info(what, extra={"path": scope.get("path"), "user": user_of(scope), **fields})
