from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Agora Live"

    def ready(self):
        from live import checks  # noqa: F401  (registers the production system checks)
