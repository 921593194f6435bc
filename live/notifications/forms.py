from django import forms

from live.notifications.models import Channel, Preferences

# "Push on my devices" is offered once Web Push is built (issue #19 part 5): until then nothing would reach them.
OFFERED = [(value, label) for value, label in Channel.choices if value != Channel.PUSH]
CATEGORIES = ["reply", "mention", "conclusion", "message", "meeting", "moderation"]


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["language", *CATEGORIES, "email_rhythm"]
        widgets = {name: forms.RadioSelect for name in fields}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in CATEGORIES:
            self.fields[name].choices = OFFERED
