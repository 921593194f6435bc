from django import forms
from django.utils.translation import gettext_lazy as _

from decidim.organizations import organizations


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DebateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=150, min_length=5,
                            help_text=_("The question put to debate, e.g. “Should the market square go car-free?”"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 8}),
                                  max_length=10000, min_length=10,
                                  help_text=_("Markdown-lite: *emphasis*, **strong**, [link](https://…), "
                                              "lists with “- ”, quotes with “> ”."))
    instructions = forms.CharField(label=_("Instructions for participants (optional)"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    starts_at = forms.DateTimeField(label=_("Comments open on (optional)"), required=False,
                                    widget=DateTimeLocalInput(), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    ends_at = forms.DateTimeField(label=_("Comments close on (optional)"), required=False,
                                  widget=DateTimeLocalInput(), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])


    decidim_url = forms.URLField(label=_("Decidim page (optional)"), required=False, max_length=500,
                                 assume_scheme="https",
                                 help_text=_("The page of the process, assembly or meeting on the city's Decidim "
                                             "this debate belongs to: shown as a link back."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not organizations():  # no Decidim configured: nothing to link to
            del self.fields["decidim_url"]


class CloseForm(forms.Form):
    conclusions = forms.CharField(label=_("Conclusions"), widget=forms.Textarea(attrs={"rows": 10}),
                                  min_length=10, max_length=10000,
                                  help_text=_("10 to 10,000 characters. Everyone who took part is notified."))
