from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "live.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from live.accounts import renderers, streams  # noqa: F401  (the user.<id> stream and its control events)
