from django.conf.urls.i18n import i18n_patterns  # noqa: F401  (URLs stay language-neutral: set_language switches)
from django.contrib import admin
from django.urls import include, path

from live import views
from live.notifications import views as notification_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("live-status/", views.live_status, name="live_status"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("live.accounts.urls")),
    path("decidim/", include("decidim.urls")),
    path("notifications/", include("live.notifications.urls")),
    path("sw.js", notification_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", notification_views.manifest, name="manifest"),
    path("messages/", include("live.messaging.urls")),
    path("moderation/", include("live.moderation.urls")),
    path("debates/", include("debates.urls")),
    path("meetings/", include("meetings.urls")),
    path("privacy/", include("privacy.urls")),
    path("opendata/", include("opendata.urls")),
]

handler500 = "live.views.server_error"  # a database restart answers 503 + Retry-After, not 500
