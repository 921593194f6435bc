"""ASGI entry point: HTTP through Django, WebSockets through the live consumer(s).

`AllowedHostsOriginValidator` refuses sockets whose Origin is missing or not in ALLOWED_HOSTS (cross-site
WebSocket hijacking); `SocketAuthMiddlewareStack` (channels' AuthMiddlewareStack, cheaper in reconnect storms:
live/accounts/socket_auth.py) reads the session cookie, so every stream is authorized server-side.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")


from live import internals  # noqa: E402  (no Django models: safe before setup)

internals.quiet_autobahn_debug_text()

import django  # noqa: E402

django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application, with our handler (live/handlers.py)

from live.handlers import OneHopASGIHandler  # noqa: E402

django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from live import metrics  # noqa: E402
from live.accounts.socket_auth import SocketAuthMiddlewareStack  # noqa: E402
from live.admission import AdmissionLimit  # noqa: E402
from live.drain import Drained, when_served  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Requests in flight counted for the graceful stop (live/drain.py), writes timed (live/metrics.py).
        "http": Drained(metrics.Instrumented(AdmissionLimit(django_asgi_app))),
        "websocket": metrics.counting_origin_refusals(
            AllowedHostsOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)
when_served()  # under daphne: the graceful SIGTERM and the event-loop lag timer, once the server runs


def _tune_gc() -> None:
    """Short collector pauses for a process that holds thousands of sockets (live/gc_pauses.py): the start-up
    objects and then each collection's survivors frozen out of later collections, closed connections freed by
    reference counting (live/internals.py). GC_THRESHOLD=0 keeps CPython's defaults."""
    from live import gc_pauses

    if gc_pauses.install(settings.GC_THRESHOLD) is not None:
        internals.free_closed_connections()


internals.self_check()  # logs which shortcuts into daphne/Twisted/autobahn/channels/asgiref/redis are on
internals.lighten_pool_checks()
_tune_gc()
