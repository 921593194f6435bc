from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    label = "meetings"
    verbose_name = _("Meetings")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from meetings import moderation, renderers, streams  # noqa: F401  (registrations)
        from meetings.permissions import claim_guest_participations

        user_logged_in.connect(claim_guest_participations, dispatch_uid="meetings.claim_guest_participations")
