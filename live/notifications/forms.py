from django import forms

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
        if not push:  # without VAPID keys nothing would be pushed: not offered
            for name in CATEGORIES:
                self.fields[name].choices = OFFERED
            del self.fields["push_message_text"]
