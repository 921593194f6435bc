from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "live.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from live import features
        from live.notifications import renderers  # noqa: F401
        from live.notifications.services import erase_recipient

        features.add_erasure_step(erase_recipient)
