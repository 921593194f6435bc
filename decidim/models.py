from allauth.socialaccount.models import SocialAccount
from django.db import models
from django.utils.translation import gettext_lazy as _


class PictureConsent(models.Model):
    """The person agreed to show their Decidim picture on their profile here. Without it the picture is only
    linked: loading it from Decidim's host would tell that host who reads our pages. The address itself stays in
    the account's extra_data, refreshed at each sign-in."""

    account = models.OneToOneField(SocialAccount, on_delete=models.CASCADE, related_name="picture_consent")
    given_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consent to show the Decidim picture")

    def __str__(self):
        return f"{self.account} picture"
