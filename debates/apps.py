from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DebatesConfig(AppConfig):
    name = "debates"
    label = "debates"
    verbose_name = _("Debates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from debates import moderation, renderers, streams  # noqa: F401  (registrations)
        from debates.models import Comment, Debate
        from debates.services import erase_author
        from live import features
        from live.notifications.services import add_subject_check

        # No e-mail about a comment hidden or deleted (or a debate gone) since its notification.
        add_subject_check("comment", lambda pk: Comment.objects.visible().filter(pk=pk).exists())
        add_subject_check("debate", lambda pk: Debate.objects.filter(pk=pk).exists())

        features.add_erasure_step(erase_author)
        features.add_home_section(template="debates/home_section.html", items=lambda: Debate.objects.home_page()[:5])
