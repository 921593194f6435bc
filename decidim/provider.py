"""Decidim as an allauth OAuth 2 provider (Doorkeeper in decidim-core): authorization code on /oauth/authorize and
/oauth/token, the profile from GET /oauth/me. One sub-provider per configured organization (decidim/conf.py)."""

from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from django.urls import reverse

from decidim.oauth import DecidimOAuth2Adapter
from decidim.organizations import PROVIDER_PREFIX


class DecidimAccount(ProviderAccount):
    def get_profile_url(self):
        nickname = self.account.extra_data.get("nickname")
        url = self.account.get_provider().app.settings["url"].rstrip("/")
        return f"{url}/profiles/{nickname}" if nickname else None

    def get_avatar_url(self):
        return self.account.extra_data.get("image")

    def to_str(self):
        return self.account.extra_data.get("nickname") or super().to_str()


class DecidimProvider(OAuth2Provider):
    id = "decidim"
    name = "Decidim"
    account_class = DecidimAccount
    oauth2_adapter_class = DecidimOAuth2Adapter
    # Doorkeeper ignores PKCE parameters where it is not enabled; where it is, they protect the code.
    pkce_enabled_default = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = self.app.name

    @property
    def key(self) -> str:
        return self.app.provider_id.removeprefix(PROVIDER_PREFIX)

    def get_oauth2_adapter(self, request):
        return self.oauth2_adapter_class(request, self.app.provider_id)

    def get_login_url(self, request, **kwargs):
        url = reverse("decidim:login", kwargs={"org": self.key})
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self):
        return reverse("decidim:callback", kwargs={"org": self.key})

    def get_default_scope(self):
        return ["public"]  # Doorkeeper's only scope in Decidim

    def extract_uid(self, data):
        return str(data["id"])

    def extract_common_fields(self, data):
        return {"email": data.get("email") or "", "username": data.get("nickname") or "", "name": data.get("name")}

    def extract_email_addresses(self, data):
        # Not verified: Decidim can let an account sign in (and so authorize us) before its address is confirmed
        # (Decidim.unconfirmed_access_for: 2 days by default in older versions, DECIDIM_UNCONFIRMED_ACCESS_FOR now),
        # and /oauth/me does not say whether it is.
        return [EmailAddress(email=data["email"], verified=False, primary=True)] if data.get("email") else []


provider_classes = [DecidimProvider]
