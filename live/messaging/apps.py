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

        from live.messaging.models import Message
        from live.notifications.services import add_subject_check, add_subject_text

        def shown_text(pk):
            message = Message.objects.filter(pk=pk, hidden_at__isnull=True).first()
            return message.body if message is not None else ""

        # Pushed only to people who chose to see private message text there; never once hidden.
        add_subject_text("message", shown_text)
        add_subject_check("message", lambda pk: Message.objects.filter(pk=pk, hidden_at__isnull=True).exists())
