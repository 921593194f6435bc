"""Agora Live settings, read from the environment.

With no environment at all the app runs on the embedded default: SQLite and the in-memory channel layer in one
process (`make run`). `DATABASE_URL` and `REDIS_URL` switch to the production stack (PostgreSQL, Redis), which
tests and CI use too. `DJANGO_ENV=production` turns on the strict checks in `live/checks.py`.

One style for every setting, Django's own and the apps' alike:
- A setting is a flat module-level name in this file, prefixed by its app: `LIVE_SWEEP_SECONDS`,
  `DEBATES_COMMENT_MAX_LENGTH`, `MEETINGS_SCREEN_ITEMS`, `MESSAGING_MAX_LENGTH`, `MODERATION_AUTO_HIDE_THRESHOLD`.
  No per-app dicts, no conf modules.
- It is read from the environment variable of the same name through a typed helper below (`env_str`, `env_bool`,
  `env_int`, `env_float`, `env_list`), whose second argument is the default: stated here, and nowhere else.
- Code reads it as `settings.DEBATES_COMMENT_MAX_LENGTH` (never `getattr(settings, ..., default)`, which would state
  the default a second time); tests override it with pytest-django's `settings` fixture.
- A value the helper cannot read (`DEBUG=flase`, `EMAIL_PORT=abc`) stops the start with ImproperlyConfigured
  naming the variable: a typo never silently becomes a default or False.
- docs/deploy.md lists the variables an operator sets; each app's doc names its own.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise ImproperlyConfigured(f"{name}={value!r} is neither true ({', '.join(sorted(TRUE_WORDS))}) "
                               f"nor false ({', '.join(sorted(FALSE_WORDS))}).")


def _env_number(name: str, default, kind):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number ({kind.__name__}).") from None


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"

# In production an absent key is caught by the live.E001 system check; never fall back to a known key there.
SECRET_KEY = env_str("SECRET_KEY") or ("" if PRODUCTION else "dev-only-insecure-key-agora-live")
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "live",
    "live.accounts",
    "live.notifications",
    "live.messaging",
    "live.moderation",
    "debates",
    "meetings",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "decidim",
    "django_tasks",
    "django_tasks_db",
    "privacy",
    "opendata",
]

MIDDLEWARE = [
    # First: every log line of the request and its response carry its id (X-Request-ID); LOG_REQUESTS logs it.
    "live.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # First to read the request: NUL and undecodable bytes are refused before the session lookup uses a cookie.
    "live.middleware.RequestInputMiddleware",
    # daphne serves no static files; WhiteNoise does, with far-future caching of hashed names in production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "live.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Remembers the language a signed-in person browses in, for their notifications (once per session and change).
    "live.notifications.middleware.LastLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # allauth requires it; only the Decidim sign-in uses allauth
    # After MessageMiddleware: it leaves the blocked person a message on the sign-in page.
    "live.accounts.middleware.BlockedUserMiddleware",
    "live.moderation.middleware.BlockedSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "live.urls"
ASGI_APPLICATION = "live.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "live.context_processors.live",
                "live.moderation.context_processors.moderation",
            ],
        },
    }
]

# --- Database: SQLite by default, PostgreSQL from DATABASE_URL -------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# DB_POOL_MAX_SIZE > 0: a psycopg connection pool per process (Django 5.1+). Under ASGI each request runs in a
# thread of its own, so persistent connections (DB_CONN_MAX_AGE) leak one connection per thread; a pool is the
# way to stop opening a PostgreSQL connection per request and per socket read (docs/performance.md).
if env_int("DB_POOL_MAX_SIZE", 0) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, env_int("DB_POOL_MAX_SIZE", 0)), "max_size": env_int("DB_POOL_MAX_SIZE", 0),
        "timeout": 10}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_PREPARED_STATEMENTS", True):
    # The write paths' hot statements (live/database.py server_bound_cursor) prepared on their connection once used
    # five times: PostgreSQL stops planning them on every call. Django's own cursors bind on the client and are never
    # prepared. DB_PREPARED_STATEMENTS=0 behind PgBouncer in transaction mode before 1.21 (or without its
    # max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of one process write (views, the channel layer's sync bridges): wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
# A file (not memory) for SQLite tests, so the daphne process that browser tests start sees the same data.
DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("TEST_DATABASE_NAME") or (
    str(BASE_DIR / "test-db.sqlite3") if DATABASES["default"]["ENGINE"].endswith("sqlite3") else None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache and rate limits ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")


def _next_redis_db(url: str) -> str:
    """The same Redis server, the next database number: the cache (which tests flush) never touches the layer's
    keys."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + 1}"))


CACHE_URL = env_str("CACHE_URL") or (_next_redis_db(REDIS_URL) if REDIS_URL else "")
# Daphne closes a socket after this many seconds (default 86400); channels-redis' group_expiry must not be shorter,
# or a long-open projector silently stops receiving (checked by live.W002).
DAPHNE_WEBSOCKET_TIMEOUT = env_int("DAPHNE_WEBSOCKET_TIMEOUT", 86400)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "live.layers.RedisChannelLayer",  # group_send in two round trips (live/layers.py)
            "CONFIG": {
                # redis-py >= 8 defaults socket_timeout to 5 s, the same as the layer's blocking pop (BZPOPMIN 5):
                # keep it above, and let bursts of (dis)connections open connections instead of raising.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 3,
                           "max_connections": env_int("REDIS_MAX_CONNECTIONS", 10000)}],
                "capacity": env_int("CHANNEL_CAPACITY", 1000),
                "expiry": 30,
                "group_expiry": DAPHNE_WEBSOCKET_TIMEOUT,
                "prefix": env_str("CHANNEL_PREFIX", "agora"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "live.cache.RedisCache",  # one connection pool per process (live/cache.py)
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "agora"),
            "OPTIONS": {"socket_timeout": 3, "socket_connect_timeout": 3},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "agora"}}

# --- Accounts ----------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "live.accounts.sessions"  # database sessions that refuse keys Django never makes (NUL...)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Agora Live <no-reply@agora.localhost>")

# --- Internationalization: French first, English second ----------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

# --- Static files --------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only production collects static files; elsewhere WhiteNoise serves them from the apps (no STATIC_ROOT to warn about).
STATIC_ROOT = env_str("STATIC_ROOT") or (str(BASE_DIR / "staticfiles") if PRODUCTION else None)
WHITENOISE_USE_FINDERS = not PRODUCTION  # development and tests serve straight from the apps, no collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security ------------------------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
# Origins pages may connect to besides their own (CSP connect-src), e.g. "wss://live.example.org".
CSP_CONNECT_SRC = env_list("CSP_CONNECT_SRC")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- The site ----------------------------------------------------------------------------------------------------
# The site's public address, the one base of every absolute link built without a request: e-mails (digests,
# notices) and the meeting QR codes, which are also rendered for pushes. Required in production (live.E007).
PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000").rstrip("/")
# HTTP requests run at once per process; the rest wait in the event loop (live/admission.py).
HTTP_MAX_CONCURRENCY = env_int("HTTP_MAX_CONCURRENCY", 8)
# Python's youngest-generation GC threshold once start-up objects are frozen (live/asgi.py); 0: CPython's defaults.
GC_THRESHOLD = env_int("GC_THRESHOLD", 20000)

# --- Accessibility statement (/accessibility/, RGAA's model) ------------------------------------------------------
# The city's facts; the results of the audit are those of the browser suite's checks (tests/browser/test_a11y_*).
ACCESSIBILITY_ENTITY = env_str("ACCESSIBILITY_ENTITY")  # who publishes the statement, e.g. "Ville de Nanterre"
ACCESSIBILITY_CONTACT_EMAIL = env_str("ACCESSIBILITY_CONTACT_EMAIL")
ACCESSIBILITY_CONTACT_URL = env_str("ACCESSIBILITY_CONTACT_URL")  # a contact form, if the city has one
ACCESSIBILITY_CONTACT_ADDRESS = env_str("ACCESSIBILITY_CONTACT_ADDRESS")  # postal address, one line
ACCESSIBILITY_STATEMENT_DATE = env_str("ACCESSIBILITY_STATEMENT_DATE", "2026-12-05")  # ISO date it was made
ACCESSIBILITY_AUDIT_DATE = env_str("ACCESSIBILITY_AUDIT_DATE", "2026-12-05")  # ISO date of the last audit

# --- The live layer ------------------------------------------------------------------------------------------------
# Events kept per stream: at least RETENTION_DAYS, and never more than RETENTION_EVENTS per stream.
LIVE_RETENTION_DAYS = env_int("LIVE_RETENTION_DAYS", 7)
LIVE_RETENTION_EVENTS = env_int("LIVE_RETENTION_EVENTS", 10000)
# The per-process hub compares what it delivered with the log this often and catches up: the safety net for
# messages the channel layer dropped (over capacity, Redis restart).
LIVE_SWEEP_SECONDS = env_float("LIVE_SWEEP_SECONDS", 2)
LIVE_MAX_FRAME_BYTES = env_int("LIVE_MAX_FRAME_BYTES", 64 * 1024)
LIVE_MAX_STREAMS_PER_SOCKET = env_int("LIVE_MAX_STREAMS_PER_SOCKET", 32)
LIVE_MAX_BAD_FRAMES = env_int("LIVE_MAX_BAD_FRAMES", 5)
# Frames one socket may send (writes, typing, pings, resumes): this many per second on average, this many at once.
LIVE_SOCKET_FRAMES_PER_SECOND = env_float("LIVE_SOCKET_FRAMES_PER_SECOND", 10)
LIVE_SOCKET_FRAMES_BURST = env_int("LIVE_SOCKET_FRAMES_BURST", 40)
# Socket `write` frames one socket may have running at once (live/socket_writes.py); one more is refused
# (rate_limited, retry after 1 s) instead of queueing threads behind a flooding page.
LIVE_MAX_WRITES_IN_FLIGHT = env_int("LIVE_MAX_WRITES_IN_FLIGHT", 8)
# Threads of the process's pool for socket `write` frames (live/consumers.py in_write_pool): writes do not queue
# behind a reconnect burst's authorizations and connection slots in the default pool (bench S2, trace). 0: writes
# share the loop's default pool.
LIVE_WRITE_THREADS = env_int("LIVE_WRITE_THREADS", 8)
# A signed-in socket checks its session again this often (jittered), for the sessions that end outside the
# services (expiry, clearsessions, manage.py changepassword); 0: only before each subscription.
LIVE_SESSION_RECHECK_SECONDS = env_float("LIVE_SESSION_RECHECK_SECONDS", 300)
LIVE_MAX_SOCKETS_PER_USER = env_int("LIVE_MAX_SOCKETS_PER_USER", 30)
LIVE_MAX_SOCKETS_PER_IP = env_int("LIVE_MAX_SOCKETS_PER_IP", 2000)
# A process's socket slots are given back this many seconds after its last heartbeat (it heartbeats every third of
# it): a killed process frees them by itself (live/ratelimit.py).
LIVE_SOCKET_SLOT_TTL = env_int("LIVE_SOCKET_SLOT_TTL", 45)
LIVE_REPLAY_LIMIT = env_int("LIVE_REPLAY_LIMIT", 1000)
# A socket that does not read is cut past this many bytes waiting in the process (its page resumes by replay):
# the bound on a slow client's memory (RELIABILITY 22). The kernel's own socket buffer comes on top.
LIVE_SOCKET_BACKLOG_BYTES = env_int("LIVE_SOCKET_BACKLOG_BYTES", 1024 * 1024)
# Kernel send buffer per socket in bytes (SO_SNDBUF); 0 leaves Linux's autotuning (up to tcp_wmem, 4 MB).
LIVE_SOCKET_SNDBUF = env_int("LIVE_SOCKET_SNDBUF", 0)
# After a long fan-out, wait up to this long for the events queued meanwhile and send them together (live/hub.py);
# 0 sends each event on its own.
LIVE_BATCH_LINGER_MS = env_float("LIVE_BATCH_LINGER_MS", 3)
# Render a published event only for the (audience, language) pairs some socket follows (live/variants.py);
# off: every pair, every time.
LIVE_RENDER_FOLLOWED_ONLY = env_bool("LIVE_RENDER_FOLLOWED_ONLY", True)
# Shortcuts into daphne/Twisted/autobahn/channels/asgiref/redis internals to switch off (live/internals.py names
# them: fast_path, server_loop, redis_client, autobahn_debug_text), e.g. if a library upgrade misbehaves. The
# start-up self-check switches off by itself any whose internals are missing.
LIVE_INTERNALS_OFF = env_list("LIVE_INTERNALS_OFF")

# --- Operations: metrics, readiness, restarts (docs/deploy.md) -----------------------------------------------------
# Off: the live layer counts nothing (every collector call returns at once), /metrics answers 404 and the process
# sends no figures to the staff page "État du direct". For measuring what the metrics cost (bench METRICS,
# docs/performance.md) or for a deployment without Prometheus.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# Who may read /metrics (Prometheus): clients in these networks ("10.0.0.0/8,127.0.0.1/32"), as daphne sees their
# address (with --proxy-headers, the client's, not nginx's), or a scraper sending "Authorization: Bearer
# <METRICS_TOKEN>". Anyone else gets a 404. Both empty: nobody.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS")
METRICS_TOKEN = env_str("METRICS_TOKEN")
# /readyz waits this long for PostgreSQL and for Redis before naming it as failed.
READYZ_TIMEOUT_SECONDS = env_float("READYZ_TIMEOUT_SECONDS", 1)
# On SIGTERM: seconds over which the process closes its sockets (spread, so that the other processes are not hit by
# every page at once), then the bound on the requests in flight before it exits anyway.
LIVE_DRAIN_SECONDS = env_float("LIVE_DRAIN_SECONDS", 2)
LIVE_DRAIN_REQUESTS_SECONDS = env_float("LIVE_DRAIN_REQUESTS_SECONDS", 10)

# --- Rate limits (live/ratelimit.py) -------------------------------------------------------------------------------
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# Per action, "count/seconds": overrides of live/ratelimit.py's DEFAULT_LIMITS, where every action is declared.
RATE_LIMITS: dict[str, str] = {}

# --- Debates (docs/debates.md) -------------------------------------------------------------------------------------
DEBATES_COMMENT_MAX_LENGTH = env_int("DEBATES_COMMENT_MAX_LENGTH", 1000)  # characters of Markdown-lite source
DEBATES_PARTICIPANTS_CAN_CREATE = env_bool("DEBATES_PARTICIPANTS_CAN_CREATE", True)  # else facilitators only
DEBATES_PAGE_SIZE = env_int("DEBATES_PAGE_SIZE", 20)  # root comments per page ("load more")
DEBATES_REPLIES_SHOWN = env_int("DEBATES_REPLIES_SHOWN", 3)  # replies under a comment before "show N more replies"
DEBATES_PRESENCE_TTL = env_int("DEBATES_PRESENCE_TTL", 50)  # seconds a reader counts as present after a heartbeat
# Lifetime of a comment's cached HTML (debates/fragments.py); 0: no cache.
DEBATES_COMMENT_CACHE_SECONDS = env_int("DEBATES_COMMENT_CACHE_SECONDS", 3600)

# --- Private messages (live.messaging, docs/messaging.md) ----------------------------------------------------------
MESSAGING_MAX_LENGTH = env_int("MESSAGING_MAX_LENGTH", 1000)  # characters per message
MESSAGING_MAX_PARTICIPANTS = env_int("MESSAGING_MAX_PARTICIPANTS", 10)  # per conversation, the author included
# `manage.py send_message_digests` (every few minutes) e-mails unread messages older than this to people with no
# open connection, at most once per conversation until read; without message text unless INCLUDE_TEXT.
MESSAGING_DIGEST_DELAY_MINUTES = env_int("MESSAGING_DIGEST_DELAY_MINUTES", 15)
MESSAGING_DIGEST_INCLUDE_TEXT = env_bool("MESSAGING_DIGEST_INCLUDE_TEXT", False)

# --- Notifications (live.notifications, docs/notifications.md) -----------------------------------------------------
# `manage.py send_notification_emails` (every few minutes) sends each person who chose the daily digest everything
# pending at most once per DIGEST_HOURS; e-mails "at once" held back by the rate limit (`notification_email`) go out
# together as one digest once the oldest has waited HOLD_MINUTES.
NOTIFICATIONS_DIGEST_HOURS = env_int("NOTIFICATIONS_DIGEST_HOURS", 24)
NOTIFICATIONS_HOLD_MINUTES = env_int("NOTIFICATIONS_HOLD_MINUTES", 15)
# Web Push (live/notifications/push.py): the VAPID key pair (base64url; `vapid --gen` or docs/notifications.md), the
# contact the push services may write to, and how long they keep an undelivered push (seconds). No keys: no push.
WEBPUSH_VAPID_PUBLIC_KEY = env_str("WEBPUSH_VAPID_PUBLIC_KEY", "")
WEBPUSH_VAPID_PRIVATE_KEY = env_str("WEBPUSH_VAPID_PRIVATE_KEY", "")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT", "mailto:contact@agora.localhost")
WEBPUSH_TTL = env_int("WEBPUSH_TTL", 86400)
# Push endpoints must be https, except on these hosts (the test suite's local push service).
WEBPUSH_INSECURE_HOSTS = env_list("WEBPUSH_INSECURE_HOSTS", "")

# --- Moderation (live.moderation, docs/moderation.md) --------------------------------------------------------------
# Distinct people reporting the same item before it is hidden automatically, until a moderator reviews it.
MODERATION_AUTO_HIDE_THRESHOLD = env_int("MODERATION_AUTO_HIDE_THRESHOLD", 3)

# --- Meetings (docs/meetings.md) -----------------------------------------------------------------------------------
# Contributions are short: what fits on a phone screen and on the projector.
MEETINGS_CONTRIBUTION_MAX_LENGTH = env_int("MEETINGS_CONTRIBUTION_MAX_LENGTH", 280)
# Approved contributions the screen keeps (newest first; older ones fade, then leave the page).
MEETINGS_SCREEN_ITEMS = env_int("MEETINGS_SCREEN_ITEMS", 6)
MEETINGS_MAX_SLOW_MODE_SECONDS = env_int("MEETINGS_MAX_SLOW_MODE_SECONDS", 3600)
MEETINGS_MAX_POLL_CHOICES = env_int("MEETINGS_MAX_POLL_CHOICES", 10)
# Every phone lists the whole agenda (the "About" choice of a contribution): a bounded page for the room.
MEETINGS_MAX_AGENDA_ITEMS = env_int("MEETINGS_MAX_AGENDA_ITEMS", 50)
# Open-text questions (word clouds): entries per phone, characters and words per entry (short expressions are kept
# whole), words the cloud shows (the most frequent).
MEETINGS_WORDCLOUD_ENTRIES = env_int("MEETINGS_WORDCLOUD_ENTRIES", 3)
MEETINGS_WORDCLOUD_ENTRY_MAX_LENGTH = env_int("MEETINGS_WORDCLOUD_ENTRY_MAX_LENGTH", 40)
MEETINGS_WORDCLOUD_ENTRY_MAX_WORDS = env_int("MEETINGS_WORDCLOUD_ENTRY_MAX_WORDS", 4)
MEETINGS_WORDCLOUD_MAX_WORDS = env_int("MEETINGS_WORDCLOUD_MAX_WORDS", 50)
# Reactions: the taps of a meeting reach the screen as at most one frame per this many milliseconds.
MEETINGS_REACTION_FRAME_MS = env_int("MEETINGS_REACTION_FRAME_MS", 250)
# Poll answers (word clouds, scales, choices): the screen, the phones and the console get at most one rendering of a
# poll's results per this many milliseconds, showing every answer accepted before it (0: one per answer).
MEETINGS_ANSWER_FRAME_MS = env_int("MEETINGS_ANSWER_FRAME_MS", 500)
# Every process that counts reactions or answers flushes, this often, the frames a dead process left behind
# (meetings/frames.py; 0: no sweep).
MEETINGS_FRAME_SWEEP_SECONDS = env_float("MEETINGS_FRAME_SWEEP_SECONDS", 1.0)
# A reaction tap reads who the phone is from this process's memory (meetings/phones.py): again after every change of
# the meeting's session, agenda or participants, and at least this often.
MEETINGS_PHONE_RECHECK_SECONDS = env_float("MEETINGS_PHONE_RECHECK_SECONDS", 15.0)
# Livestreams a hybrid or online meeting's remote page may embed (the only hosts its CSP frame-src names), and those
# of them that set cookies or trackers: these show only once the person asks (meetings/embeds.py).
MEETINGS_STREAM_HOSTS = env_list("MEETINGS_STREAM_HOSTS", "www.youtube-nocookie.com,meet.jit.si,framatube.org")
MEETINGS_STREAM_COOKIE_HOSTS = env_list("MEETINGS_STREAM_COOKIE_HOSTS", "www.youtube-nocookie.com,meet.jit.si")
# Reminders to the registered people (`manage.py send_meeting_reminders`, meetings/notifications.py): this long
# before the start ("the day before"), then this long before ("an hour before").
MEETINGS_REMINDER_DAY_HOURS = env_int("MEETINGS_REMINDER_DAY_HOURS", 24)
MEETINGS_REMINDER_HOUR_MINUTES = env_int("MEETINGS_REMINDER_HOUR_MINUTES", 60)

# LOG_FORMAT=json: one JSON object per line (live/logs.py); LOG_REQUESTS: a line per request and per socket opened,
# closed or refused (never message text, query strings, e-mails or IP addresses).
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is neither text nor json.")
LOG_REQUESTS = env_bool("LOG_REQUESTS", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "live.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {
        # The start-up self-check says which shortcuts into the servers' internals are on (live/internals.py).
        "live.internals": {"level": "INFO"},
        "live.access": {"level": "INFO" if LOG_REQUESTS else "WARNING"},
        "live.sockets": {"level": "INFO" if LOG_REQUESTS else "WARNING"},
        "live.drain": {"level": "INFO"},
    },
}

AUTHENTICATION_BACKENDS = ["live.accounts.backends.EmailOrNicknameBackend"]

# --- Personal data (the privacy app; docs/privacy.md) ---------------------------------------------------------------
# Work off the request path (the "download my data" archives) runs as django-tasks tasks, executed by
# django-tasks-db's worker (`manage.py db_worker`; `make run` starts one beside daphne). Tests use
# "django_tasks.backends.immediate.ImmediateBackend" (the task runs in the request) except where they run the worker.
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
PRIVACY_EXPORT_HOURS = env_int("PRIVACY_EXPORT_HOURS", 48)  # a "download my data" archive can be downloaded this long
# Shown on the "Données personnelles" page: who is responsible for the processing, and how to reach the city's data
# protection officer (an e-mail or postal address). Fill both in production.
PRIVACY_CONTROLLER = env_str("PRIVACY_CONTROLLER", "")
PRIVACY_DPO_CONTACT = env_str("PRIVACY_DPO_CONTACT", "")
# How long personal traces are kept, in days (`manage.py apply_retention`, daily from cron; 0: kept until the
# account is erased). The stream event log has its own (LIVE_RETENTION_DAYS, `manage.py prune_streams`).
PRIVACY_MESSAGES_DAYS = env_int("PRIVACY_MESSAGES_DAYS", 730)  # private messages, from when they were sent
PRIVACY_NOTIFICATIONS_DAYS = env_int("PRIVACY_NOTIFICATIONS_DAYS", 180)
PRIVACY_GUESTS_DAYS = env_int("PRIVACY_GUESTS_DAYS", 30)  # anonymous meeting guests: their nickname and IP
PRIVACY_IP_DAYS = env_int("PRIVACY_IP_DAYS", 30)  # IP addresses kept with meeting participations
PRIVACY_TASK_RESULTS_DAYS = env_int("PRIVACY_TASK_RESULTS_DAYS", 7)  # finished background tasks (their arguments)
PRIVACY_DELETED_DAYS = env_int("PRIVACY_DELETED_DAYS", 30)  # text of comments their authors deleted, from then
# The record of a "download my data" archive (its link and dates; its bytes go at PRIVACY_EXPORT_HOURS), from when it
# expired (or was asked for, when it never was ready).
PRIVACY_EXPORT_RECORDS_DAYS = env_int("PRIVACY_EXPORT_RECORDS_DAYS", 30)

# --- Open data (the opendata app; /opendata/) ------------------------------------------------------------------------
OPENDATA_LICENCE = env_str("OPENDATA_LICENCE", "Licence Ouverte 2.0")
OPENDATA_LICENCE_URL = env_str("OPENDATA_LICENCE_URL", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
OPENDATA_CACHE_SECONDS = env_int("OPENDATA_CACHE_SECONDS", 3600)  # how long the server cache keeps a dataset

# --- Decidim (the decidim app; docs/decidim.md) ----------------------------------------------------------------------
# One organization: DECIDIM_URL, DECIDIM_CLIENT_ID, DECIDIM_CLIENT_SECRET (DECIDIM_NAME names the button). Several (a
# metropolis and its towns): DECIDIM_ORGANIZATIONS=lille,roubaix and, for each, DECIDIM_LILLE_URL,
# DECIDIM_LILLE_CLIENT_ID, DECIDIM_LILLE_CLIENT_SECRET, DECIDIM_LILLE_NAME. None set: no Decidim button, nothing else
# changes.
DECIDIM_URL = env_str("DECIDIM_URL").rstrip("/")
DECIDIM_CLIENT_ID = env_str("DECIDIM_CLIENT_ID")
DECIDIM_CLIENT_SECRET = env_str("DECIDIM_CLIENT_SECRET")
DECIDIM_NAME = env_str("DECIDIM_NAME", "Decidim")
DECIDIM_ORGANIZATIONS = env_list("DECIDIM_ORGANIZATIONS")
DECIDIM_TIMEOUT = env_float("DECIDIM_TIMEOUT", 5.0)  # seconds per call to Decidim (sign-in, meeting import)


def _decidim_app(key: str, name: str, url: str, client_id: str, secret: str) -> dict:
    return {"provider_id": f"decidim-{key}", "name": name, "client_id": client_id, "secret": secret,
            "settings": {"url": url.rstrip("/")}}


# django-allauth reads the organizations from here (decidim/organizations.py too: one source).
SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": (
    [_decidim_app("main", DECIDIM_NAME, DECIDIM_URL, DECIDIM_CLIENT_ID, DECIDIM_CLIENT_SECRET)] if DECIDIM_URL else []
) + [_decidim_app(key.lower(), env_str(f"DECIDIM_{key.upper()}_NAME", f"Decidim {key.title()}"),
                  env_str(f"DECIDIM_{key.upper()}_URL"), env_str(f"DECIDIM_{key.upper()}_CLIENT_ID"),
                  env_str(f"DECIDIM_{key.upper()}_CLIENT_SECRET")) for key in DECIDIM_ORGANIZATIONS]}}
for _app in SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"]:
    _prefix = "DECIDIM_" if _app["provider_id"] == "decidim-main" else f"DECIDIM_{_app['provider_id'][8:].upper()}_"
    for _name, _value in (("URL", _app["settings"]["url"]), ("CLIENT_ID", _app["client_id"]),
                          ("CLIENT_SECRET", _app["secret"])):
        if not _value:
            raise ImproperlyConfigured(f"{_prefix}{_name} is missing: a Decidim organization needs its address, "
                                       "client id and secret (docs/decidim.md).")
    # The address goes into the CSP (form-action, img-src, frame-ancestors) and the OAuth endpoints: an http(s)
    # address and nothing else (no space or ";" that would add a CSP directive, no query).
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?", _app["settings"]["url"]):
        raise ImproperlyConfigured(f"{_prefix}URL={_app['settings']['url']!r} is not the address of a Decidim "
                                   "organization (https://host[:port][/path], docs/decidim.md).")
SOCIALACCOUNT_ADAPTER = "decidim.adapter.DecidimSocialAccountAdapter"
SOCIALACCOUNT_REQUESTS_TIMEOUT = DECIDIM_TIMEOUT
SOCIALACCOUNT_STORE_TOKENS = False  # the profile is read once at sign-in; no token is kept
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never link by address alone (decidim/views.py asks the password)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"  # production Decidim accepts https redirects only
# Where forms may send the browser besides this site (CSP form-action): the "Sign in with Decidim" form posts here
# and is redirected to the organization's /oauth/authorize.
CSP_FORM_ACTION = sorted({"://".join(urlsplit(app["settings"]["url"])[:2])
                          for app in SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"] if app["settings"]["url"]})
# Where images may come from besides this site: the Decidim pictures people chose to show (decidim.PictureConsent),
# from the organizations' origins, plus DECIDIM_PICTURE_ORIGINS: the hosts a Decidim serves its uploads from when
# they are not its own (Active Storage on S3 or a CDN, "https://cdn.participez.ville.fr"). A picture elsewhere is
# not shown (decidim.selectors.decidim_picture): the browser would block it.
DECIDIM_PICTURE_ORIGINS = env_list("DECIDIM_PICTURE_ORIGINS")
CSP_IMG_SRC = sorted(set(CSP_FORM_ACTION) | set(DECIDIM_PICTURE_ORIGINS))
# The pages allowed to frame the embeds (CSP frame-ancestors of decidim/views.py's embed views only; every other page
# stays framed-denied): the organizations' origins, plus DECIDIM_EMBED_ORIGINS (e.g. another host of the same
# Decidim, "https://participez.ville.fr"). Never "*".
DECIDIM_EMBED_ORIGINS = env_list("DECIDIM_EMBED_ORIGINS")
CSP_FRAME_ANCESTORS = sorted(set(CSP_FORM_ACTION) | set(DECIDIM_EMBED_ORIGINS))
# Each is one CSP source: exactly an origin, so that nothing else (a wildcard, a keyword, a second directive after
# ";") gets into the header.
for _name, _origins in (("DECIDIM_EMBED_ORIGINS", DECIDIM_EMBED_ORIGINS),
                        ("DECIDIM_PICTURE_ORIGINS", DECIDIM_PICTURE_ORIGINS)):
    if not all(re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?", origin) for origin in _origins):
        raise ImproperlyConfigured(f"{_name}={','.join(_origins)!r} lists origins "
                                   "(https://host[:port], no path), never a wildcard.")
