from django import forms
from django.utils.translation import gettext_lazy as _

from decidim.selectors import picture_loads_here
from live.accounts.models import nickname_validator
from live.text import TextValidator


class PictureChoice(forms.Form):
    show_picture = forms.BooleanField(
        label=_("Show my Decidim picture on my profile here"), required=False,
        help_text=_("It is then loaded from Decidim each time someone opens your profile. You can change this "
                    "later on your profile."))

    def __init__(self, *args, picture=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Decidim has none of theirs (or only its default avatar), or it is on a host our pages may not load images
        # from (not in DECIDIM_PICTURE_ORIGINS): nothing to ask.
        if not picture_loads_here(picture):
            del self.fields["show_picture"]


class NicknameForm(PictureChoice):
    field_order = ["nickname", "show_picture"]
    nickname = forms.CharField(label=_("Nickname"), max_length=30, validators=[nickname_validator,
                                                                                TextValidator(name=True)],
                               help_text=_("Shown next to what you write. 3 to 30 characters."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nickname"].widget.attrs.update({"autocomplete": "nickname", "minlength": 3, "autofocus": True})


class LinkForm(PictureChoice):
    field_order = ["password", "show_picture"]
    password = forms.CharField(label=_("Password of your Agora Live account"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                 "autofocus": True}))


class ImportMeetingForm(forms.Form):
    url = forms.URLField(label=_("Address of the meeting on Decidim"), max_length=500, assume_scheme="https",
                         help_text=_("Open the meeting on Decidim and copy the address of its page, e.g. "
                                     "https://participer.ville.fr/processes/budget/f/12/meetings/34"))
