"""ASGI entry point: HTTP through Django, WebSockets through the live consumer(s).

`AllowedHostsOriginValidator` refuses sockets whose Origin is missing or not in ALLOWED_HOSTS (cross-site
WebSocket hijacking); `AuthMiddlewareStack` reads the session cookie, so every stream is authorized server-side.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from live.admission import AdmissionLimit  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AdmissionLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
