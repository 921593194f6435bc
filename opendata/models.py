from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NamePreference(models.Model):
    """A person's choice about their nickname in the city's open data: left out (their comments and debates are
    published without an author), or shown as on the public pages (no row: shown)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="opendata_preference")
    hide_name = models.BooleanField(_("leave my nickname out of the open data"), default=False)
    # In the datasets' cache key (opendata.views): a change is never served stale.
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"open data name of {self.user_id}: {'hidden' if self.hide_name else 'shown'}"
