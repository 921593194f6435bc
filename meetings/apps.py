from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    label = "meetings"
    verbose_name = _("Meetings")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from live import features
        from meetings import moderation, notifications, reactions, renderers, streams  # noqa: F401  (registrations)
        from meetings.models import Meeting
        from meetings.services import claim_guest_participations, erase_participant

        features.add_sign_in_step(claim_guest_participations)
        features.add_erasure_step(erase_participant)
        notifications.register_subject_checks()
        features.add_home_section(template="meetings/home_section.html",
                                  items=lambda: Meeting.objects.home_page()[:5])
