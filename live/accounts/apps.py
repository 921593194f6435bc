from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "live.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from live.accounts import streams  # noqa: F401  (registers the user.<id> stream)
