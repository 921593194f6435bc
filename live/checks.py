"""System checks for production (`DJANGO_ENV=production manage.py check --deploy --fail-level WARNING`)."""

import os

from django.conf import settings
from django.core.checks import Error, Warning, register


@register(deploy=True)
def production_settings(app_configs, **kwargs):
    if not settings.PRODUCTION:
        return []
    problems = []
    if not settings.SECRET_KEY or settings.SECRET_KEY.startswith("dev-only"):
        problems.append(Error("SECRET_KEY is not set.", hint="Set the SECRET_KEY environment variable.",
                              id="live.E001"))
    if not settings.REDIS_URL:
        problems.append(Error("REDIS_URL is not set: production needs Redis for the channel layer, the cache and "
                              "rate limits shared by every process.", id="live.E002"))
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if "InMemory" in layer:
        problems.append(Error("The in-memory channel layer only reaches sockets of one process.", id="live.E003"))
    if not settings.ALLOWED_HOSTS or "*" in settings.ALLOWED_HOSTS:
        problems.append(Error('ALLOWED_HOSTS must list the real host names, never "*": the WebSocket origin '
                              "check uses it.", id="live.E004"))
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(Error("Production runs on PostgreSQL (DATABASE_URL=postgres://...).", id="live.E005"))
    if not os.environ.get("PUBLIC_URL"):
        problems.append(Error("PUBLIC_URL is not set: e-mail links and meeting QR codes would point to "
                              f"{settings.PUBLIC_URL}.", hint="Set PUBLIC_URL to the site's https:// address.",
                              id="live.E007"))
    plain = [origin for origin in sorted(set(settings.CSP_FRAME_ANCESTORS) | set(settings.CSP_IMG_SRC))
             if origin.startswith("http://")]
    if plain:
        problems.append(Error(f"Decidim addresses over plain http: {', '.join(plain)}. Pages allowed to frame the "
                              "embeds, to receive the sign-in or to serve pictures must be https in production: a "
                              "page open to tampering in transit could frame the write forms or read the sign-in, "
                              "and an https page does not show http pictures.",
                              hint="Use https:// in DECIDIM_URL, DECIDIM_<KEY>_URL, DECIDIM_EMBED_ORIGINS and "
                                   "DECIDIM_PICTURE_ORIGINS.",
                              id="live.E009"))
    return problems


@register()
def live_layer(app_configs, **kwargs):
    problems = []
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(Warning('ALLOWED_HOSTS contains "*": AllowedHostsOriginValidator then accepts any Origin.',
                                id="live.W001"))
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    expiry = config.get("group_expiry")
    if expiry is not None and expiry < settings.DAPHNE_WEBSOCKET_TIMEOUT:
        problems.append(Warning("channels-redis group_expiry is shorter than daphne's websocket timeout: long "
                                "open sockets would silently stop receiving.", id="live.W002"))
    for host in config.get("hosts", []):
        if isinstance(host, dict) and host.get("socket_timeout", 15) <= 5:
            problems.append(Warning("Redis socket_timeout must exceed the layer's 5 s blocking pop.", id="live.W003"))
    if settings.HTTP_MAX_CONCURRENCY < 1:
        problems.append(Error("HTTP_MAX_CONCURRENCY must be at least 1: HTTP requests beyond it wait, and with none "
                              "allowed every request would wait for ever.", id="live.E008"))
    from channels.security.websocket import OriginValidator

    from live.asgi import application

    if not isinstance(application.application_mapping.get("websocket"), OriginValidator):
        problems.append(Error("The websocket router must be wrapped in AllowedHostsOriginValidator.", id="live.E006"))
    return problems
