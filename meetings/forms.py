from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from decidim.organizations import organizations
from meetings.models import Meeting


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class MeetingForm(forms.ModelForm):
    online_url = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")
    stream_url = forms.URLField(label=_("Livestream"), required=False, assume_scheme="https", max_length=500,
                                help_text=_("A hybrid or online meeting's livestream (PeerTube, YouTube, Jitsi...): "
                                            "shown on the remote participants' page."))
    decidim_url = forms.URLField(label=_("Decidim page"), required=False, max_length=500, assume_scheme="https",
                                 help_text=Meeting._meta.get_field("decidim_url").help_text)
    agenda = forms.CharField(
        label=_("Agenda"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_('One item per line, with its duration in minutes after a bar: "Welcome | 10".'))
    facilitator_names = forms.CharField(
        label=_("Other facilitators"), required=False,
        help_text=_("Nicknames, separated by commas. You facilitate the meetings you create."))

    class Meta:
        model = Meeting
        fields = ["title", "description", "kind", "place", "online_url", "stream_url", "decidim_url", "starts_at",
                  "ends_at",
                  "registration_enabled", "capacity", "registration_code", "allow_anonymous", "premoderation"]
        widgets = {"starts_at": DateTimeInput(), "ends_at": DateTimeInput(),
                   "description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not organizations():  # no Decidim configured: nothing to link to
            del self.fields["decidim_url"]

    def clean_facilitator_names(self):
        names = [n.strip() for n in self.cleaned_data["facilitator_names"].split(",") if n.strip()]
        users = list(get_user_model().objects.filter(nickname__in=names))
        missing = set(names) - {u.nickname for u in users}
        if missing:
            raise forms.ValidationError(_("Unknown nicknames: %(names)s") % {"names": ", ".join(sorted(missing))})
        return users


class ReportForm(forms.Form):
    report_minutes = forms.CharField(label=_("Minutes"), required=False, widget=forms.Textarea(attrs={"rows": 12}),
                                     max_length=20000)
    report_attendees = forms.IntegerField(label=_("Attendees"), required=False, min_value=0)
    publish = forms.BooleanField(label=_("Publish the report on the meeting page"), required=False)


class PollForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=[("single", _("Single choice")),
                                                      ("multiple", _("Multiple choice")),
                                                      ("words", _("Open text (word cloud)")),
                                                      ("scale", _("Scale"))])
    choices = forms.CharField(label=_("Choices"), widget=forms.Textarea(attrs={"rows": 4}), required=False,
                              help_text=_("One choice per line (single or multiple choice)."))
    scale = forms.ChoiceField(label=_("Scale"), choices=[("1-5", _("1 to 5")), ("0-10", _("0 to 10"))],
                              required=False, initial="1-5")
    low_label = forms.CharField(label=_("Label of the lowest value"), max_length=60, required=False,
                                help_text=_('Scale only, e.g. "Not at all".'))
    high_label = forms.CharField(label=_("Label of the highest value"), max_length=60, required=False,
                                 help_text=_('Scale only, e.g. "Completely".'))
