from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DebatesConfig(AppConfig):
    name = "debates"
    label = "debates"
    verbose_name = _("Debates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from debates import moderation, streams  # noqa: F401
