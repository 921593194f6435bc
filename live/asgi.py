"""ASGI entry point: HTTP through Django, WebSockets through the live consumer(s).

`AllowedHostsOriginValidator` refuses sockets whose Origin is missing or not in ALLOWED_HOSTS (cross-site
WebSocket hijacking); `SocketAuthMiddlewareStack` (channels' AuthMiddlewareStack, cheaper in reconnect storms:
live/accounts/socket_auth.py) reads the session cookie, so every stream is authorized server-side.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")


def _lazy_autobahn_debug_text() -> None:
    """autobahn pretty-prints its whole configuration for a debug log line on every new connection, whether or
    not debug logging is on (`self.log.debug("\\n{attrs}", attrs=pformat(...))`): 14% of the server's CPU in a
    reconnect storm (bench S7, py-spy). The text is now built only if the line is actually logged. Same log
    output; nothing else in that module uses pformat but Timings.__str__, which keeps returning a string."""
    import pprint

    try:
        from autobahn.websocket import protocol
    except ImportError:  # pragma: no cover - daphne depends on autobahn
        return
    if getattr(protocol, "pformat", None) is not pprint.pformat:
        return  # already done, or an autobahn that formats otherwise: leave it alone

    class LazyPformat:
        __slots__ = ("obj",)

        def __init__(self, obj):
            self.obj = obj

        def __str__(self):
            return pprint.pformat(self.obj)

        def __format__(self, spec):
            return format(str(self), spec)

    if hasattr(protocol, "Timings"):
        protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)
    protocol.pformat = LazyPformat


_lazy_autobahn_debug_text()

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from live.accounts.socket_auth import SocketAuthMiddlewareStack  # noqa: E402
from live.admission import AdmissionLimit  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AdmissionLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


def _tune_gc() -> None:
    """Shorter pauses for a process that holds thousands of sockets (bench S4, docs/performance.md).

    CPython's cyclic collector stops the event loop while it walks the tracked objects: with 1000 sockets the
    full (oldest-generation) collections stalled delivery to every socket for up to ~100 ms. Freezing what
    the start-up created (Django, the URL conf, templates: never garbage) takes it out of every collection, and a
    larger youngest generation makes collections rarer (each still short: 5-13 ms measured). Set GC_THRESHOLD=0 to
    keep CPython's defaults."""
    import gc

    threshold = settings.GC_THRESHOLD
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, 20, 20)


_tune_gc()
