import json
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from live import actions
from live.ratelimit import RateLimited
from live.text import storable


def content_security_policy(request, frame_ancestors=("'none'",), frame_src=()) -> str:
    """The page's CSP. `connect-src 'self'` does not cover ws:/wss: in every browser, so the socket's origin (the
    page's host, ws: or wss: after the page's scheme) is named; never any host (`ws:`, `wss:`). `frame_src`: the
    origins a page may frame (a meeting's livestream on its remote page); none elsewhere."""
    connect = ["'self'"]
    try:
        connect.append(f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}")
    except DisallowedHost:
        pass  # Django answers 400 already; the header still goes out, without a socket origin
    connect += settings.CSP_CONNECT_SRC
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", *settings.CSP_IMG_SRC]),
        "connect-src " + " ".join(connect),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action " + " ".join(["'self'", *settings.CSP_FORM_ACTION]),
        "frame-ancestors " + " ".join(frame_ancestors),  # 'none' but for the embeds (decidim/views.py)
        *(["frame-src " + " ".join(frame_src)] if frame_src else []),
    ])


class ContentSecurityPolicyMiddleware:
    """No inline scripts anywhere: user content can never run code, and htmx runs with allowEval off.
    Also turns RateLimited raised by any service into a clear 429 (live.actions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return actions.refusal(request, exception)  # a write outside a view the seam wraps
        return None


# --- request input ---------------------------------------------------------------------------------------------

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


class RequestInputMiddleware:
    """Refuse, once for every view, a request whose path, query string or body carries bytes no text column can
    hold: NUL, undecodable UTF-8 (which is how a lone surrogate arrives in a URL or a form) and, in JSON, escaped
    lone surrogates. A NUL in a lookup (a profile URL, the debate search, a message recipient) used to reach
    PostgreSQL and answer 500. Here it gets a clear 400 before any middleware or view can put it in a query (so this
    sits right after SecurityMiddleware, before the session lookup). Text that decodes (bidi controls, very long
    values) is the forms' business: they refuse it with their own messages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _usable_request(request):
            return bad_input_response(request)
        return self.get_response(request)


def _usable_bytes(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_bytes(text: str) -> bytes:
    # WSGI gives bytes decoded as latin-1; ASGI (daphne) an ASCII query string.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _path_bytes(request) -> bytes:
    scope = getattr(request, "scope", None)
    if scope is not None:  # daphne: "path" is already decoded, with U+FFFD for what did not decode
        raw = scope.get("raw_path")
        return unquote_to_bytes(raw) if raw else request.path.encode("utf-8", "surrogatepass")
    return _as_bytes(request.META.get("PATH_INFO", ""))


def _usable_request(request) -> bool:
    if not _usable_bytes(_path_bytes(request)):
        return False
    query = _as_bytes(request.META.get("QUERY_STRING", ""))
    if query and not _usable_bytes(unquote_to_bytes(query.replace(b"+", b" "))):
        return False
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    content_type = request.content_type or ""
    if content_type == _FORM:
        return _usable_bytes(unquote_to_bytes(request.body.replace(b"+", b" ")))
    if content_type == _MULTIPART:
        # Django decodes multipart fields with errors="replace": only NUL can get through to a query.
        return all(storable(key) and storable(values) for key, values in request.POST.lists())
    if content_type == "application/json" or content_type.endswith("+json"):
        if not _usable_bytes(request.body):
            return False
        try:
            return storable(json.loads(request.body))
        except (ValueError, RecursionError):
            return True  # not JSON: the view answers that
    return True


def bad_input_response(request) -> HttpResponse:
    """The 400 page, standalone like 500.html (nothing of the session or the account is known yet), in the
    visitor's language (LocaleMiddleware comes later)."""
    with translation.override(translation.get_language_from_request(request)):
        return HttpResponseBadRequest(loader.render_to_string("400.html", {
            "message": _("This address or form contains characters that cannot be used (such as a NUL byte or text "
                         "that is not valid UTF-8). Remove them and try again.")}))
