from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "live.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from live.notifications import renderers  # noqa: F401
