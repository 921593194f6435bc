from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "live.messaging"
    label = "messaging"
    verbose_name = _("Private messages")

    def ready(self):
        from live import features
        from live.messaging import moderation, renderers, streams  # noqa: F401  (registrations)
        from live.messaging.services import erase_author

        features.add_erasure_step(erase_author)
