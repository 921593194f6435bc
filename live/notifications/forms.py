from django import forms

from live.notifications.models import Preferences


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["language", "reply", "mention", "conclusion", "message", "meeting", "moderation", "email_rhythm"]
        widgets = {name: forms.RadioSelect for name in fields}
