from django import forms
from django.utils.translation import gettext_lazy as _

from live.notifications.models import Channel, Preferences

# "Push on my devices" is offered only when Web Push is configured (VAPID keys).
OFFERED = [(value, label) for value, label in Channel.choices if value != Channel.PUSH]
CATEGORIES = ["reply", "mention", "conclusion", "message", "meeting", "moderation"]


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["language", *CATEGORIES, "email_rhythm", "push_message_text"]
        widgets = {name: forms.RadioSelect for name in fields if name != "push_message_text"}

    def __init__(self, *args, push=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].help_text = _("A reminder the day before and an hour before, the live session open, "
                                             "the closing report published.")
        self.fields["email_rhythm"].help_text = _("Reminders of a meeting and its live session opening come at once "
                                                  "(a digest would be too late), unless you choose “Never”.")
        if not push:  # without VAPID keys nothing would be pushed: not offered
            for name in CATEGORIES:
                self.fields[name].choices = OFFERED
            del self.fields["push_message_text"]
