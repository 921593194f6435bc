from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Agora Live"

    def ready(self):
        from django.db.backends.signals import connection_created

        from live import checks, database  # noqa: F401  (checks registers the production system checks)

        connection_created.connect(database.watch, dispatch_uid="live.database.watch")
