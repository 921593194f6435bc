"""The client side of Decidim's OAuth 2 (Doorkeeper), on allauth's OAuth2Adapter: endpoints from the organization's
address, and a strict reading of what comes back, so that an answer we cannot understand is an error page and
never a half-made account."""

from urllib.parse import urljoin, urlsplit

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter
from allauth.utils import build_absolute_uri
from django.urls import reverse

from decidim.organizations import PROVIDER_PREFIX


class DecidimOAuth2Adapter(OAuth2Adapter):
    provider_id = "decidim"

    def __init__(self, request, provider_id: str):
        self.provider_id = provider_id  # "decidim-<key>": allauth finds the organization's app by it
        super().__init__(request)

    @property
    def base_url(self) -> str:
        return self.get_provider().app.settings["url"].rstrip("/")

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/oauth/authorize"

    @property
    def access_token_url(self) -> str:
        return self.base_url + "/oauth/token"

    @property
    def profile_url(self) -> str:
        return self.base_url + "/oauth/me"

    def get_callback_url(self, request, app):
        url = reverse("decidim:callback", kwargs={"org": self.provider_id.removeprefix(PROVIDER_PREFIX)})
        return build_absolute_uri(request, url, self.redirect_uri_protocol)

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        try:
            return super().get_access_token_data(request, app, client, pkce_code_verifier=pkce_code_verifier)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # JSON that is not an object
            raise OAuth2Error(f"unreadable token answer: {exc!r}") from exc

    def parse_token(self, data):
        if not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise OAuth2Error("the token answer has no access_token")
        try:
            return super().parse_token(data)
        except (TypeError, ValueError) as exc:  # expires_in that is not a number
            raise OAuth2Error(f"unreadable token answer: {exc!r}") from exc

    def complete_login(self, request, app, token, **kwargs):
        with get_adapter().get_requests_session() as session:
            response = session.get(self.profile_url, headers={"Authorization": f"Bearer {token.token}",
                                                              "Accept": "application/json"})
        if response.status_code != 200:
            raise ProviderException(f"/oauth/me answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderException("/oauth/me did not answer JSON") from exc
        return self.get_provider().sociallogin_from_response(request, clean_profile(data, self.base_url))


def clean_profile(data, base_url: str) -> dict:
    """Decidim's /oauth/me, checked: {"id", "email", "name", "nickname", "image"} with `image` made absolute, or
    None when absent or Decidim's default avatar (nothing of the person's own to show)."""
    if not isinstance(data, dict):
        raise ProviderException("/oauth/me did not answer an object")
    uid = data.get("id")
    if isinstance(uid, bool) or not isinstance(uid, int | str) or not str(uid).strip():
        raise ProviderException("/oauth/me has no id")
    fields = {}
    for name in ("email", "name", "nickname"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ProviderException(f"/oauth/me has a {name} that is not text")
        fields[name] = (value or "").strip()
    return {"id": str(uid).strip(), **fields, "image": absolute_image(data.get("image"), base_url)}


def absolute_image(image, base_url: str) -> str | None:
    if not isinstance(image, str) or not image.strip():
        return None
    url = urljoin(base_url + "/", image.strip())
    if urlsplit(url).scheme not in ("http", "https") or "default-avatar" in urlsplit(url).path:
        return None
    return url
