from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from live.accounts.models import NICKNAME_VALIDATORS
from live.text import clean_user_text

User = get_user_model()


class SignUpForm(forms.Form):
    nickname = forms.CharField(label=_("Nickname"), max_length=30, validators=NICKNAME_VALIDATORS,
                               help_text=_("Shown next to what you write. 3 to 30 characters."))
    email = forms.EmailField(label=_("Email address"), max_length=150, help_text=_("Never shown to others."))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 8 characters; not a common password, not only digits."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nickname"].widget.attrs.update({"autocomplete": "nickname", "minlength": 3})
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            probe = User(nickname=cleaned.get("nickname", ""), email=cleaned.get("email", ""))
            try:
                validate_password(cleaned["password"], probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class SignInForm(AuthenticationForm):
    username = forms.CharField(label=_("Email or nickname"), max_length=254,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))

    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("This email or nickname and password do not match. Check them and try again."),
        "inactive": _("This account is inactive."),
        "blocked": _("Your account has been blocked by moderation."),
    }

    def confirm_login_allowed(self, user):
        if user.is_blocked:
            raise forms.ValidationError(self.error_messages["blocked"], code="blocked")
        super().confirm_login_allowed(user)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["nickname", "bio"]
        labels = {"nickname": _("Nickname"), "bio": _("About me")}
        help_texts = {"nickname": _("Shown next to what you write. 3 to 30 characters."),
                      "bio": _("A few words about yourself, shown on your profile (500 characters at most).")}
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def clean_nickname(self):
        nickname = self.cleaned_data["nickname"].strip()
        if "nickname" not in self.changed_data:
            # The rules on names apply to a name chosen: a nickname kept as it is, even one older than a rule (letters
            # of two alphabets), does not stop its owner saving the bio.
            return nickname
        # The text policy first, so that its refusal names the field ("Your nickname mixes letters of ...").
        clean_user_text(nickname, multiline=False, max_length=30, name=True, field=_("Your nickname"))
        # Case-insensitive, like sign-up: "Alice" must not pass for "alice".
        if User.objects.named(nickname).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This nickname is already taken."), code="taken")
        return nickname

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if "nickname" not in self.changed_data:  # the model's rules too (clean_nickname)
            exclude.add("nickname")
        return exclude


class EraseAccountForm(forms.Form):
    """Confirm the erasure: tick the box, and type the password again (an account made through Decidim has none: a
    fresh Decidim sign-in stands for it, checked by the service)."""

    confirm = forms.BooleanField(label=_("I understand: my account is deleted for good, and this cannot be undone."),
                                 error_messages={"required": _("Tick the box to confirm.")})
    password = forms.CharField(label=_("Your password"), strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.has_usable_password():
            self.fields["password"].required = True
            self.fields["password"].error_messages["required"] = _("Type your password to confirm.")
        else:
            del self.fields["password"]


class ResetForm(PasswordResetForm):
    def get_users(self, email):
        """Django's, without its skipping accounts that have no password: an account made through Decidim has none,
        and this is how its owner sets one (docs/decidim.md; the first-password steps then run)."""
        return (user for user in User._default_manager.filter(email__iexact=email, is_active=True)
                if user.email.casefold() == email.casefold())
