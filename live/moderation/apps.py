from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "live.moderation"
    label = "moderation"
    verbose_name = _("Moderation")

    def ready(self):
        from live import features
        from live.moderation import moderation, renderers, streams  # noqa: F401  (the "user" kind, the moderation streams)
        from live.moderation.services import erase_person

        features.add_erasure_step(erase_person)
