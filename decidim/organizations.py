"""The Decidim organizations this site trusts, read from settings.SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"]
(built from the environment in live/settings.py): one place, so that tests override one setting."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

PROVIDER_PREFIX = "decidim-"


@dataclass(frozen=True)
class Organization:
    key: str        # "main" for DECIDIM_URL, else the name listed in DECIDIM_ORGANIZATIONS
    name: str       # shown on the button: "Se connecter avec <name>"
    url: str        # the organization's address, without a trailing slash
    client_id: str

    @property
    def provider_id(self) -> str:
        """The allauth sub-provider id, stored in SocialAccount.provider."""
        return PROVIDER_PREFIX + self.key

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def organizations() -> list[Organization]:
    apps = getattr(settings, "SOCIALACCOUNT_PROVIDERS", {}).get("decidim", {}).get("APPS", [])
    return [Organization(key=app["provider_id"].removeprefix(PROVIDER_PREFIX), name=app["name"],
                         url=app["settings"]["url"].rstrip("/"), client_id=app["client_id"])
            for app in apps]


def organization(key_or_provider_id: str) -> Organization | None:
    key = key_or_provider_id.removeprefix(PROVIDER_PREFIX)
    return next((org for org in organizations() if org.key == key), None)


def organization_for_url(url: str) -> Organization | None:
    """The configured organization whose address `url` is under (same scheme and host, under its path; the most
    specific when one organization's address is under another's)."""
    parts = urlsplit(url)
    found, found_path = None, ""
    for org in organizations():
        base = urlsplit(org.url)
        base_path = base.path.rstrip("/")
        if (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower()) and \
                (parts.path == base_path or parts.path.startswith(base_path + "/")) and \
                (found is None or len(base_path) > len(found_path)):
            found, found_path = org, base_path
    return found


def validate_decidim_url(url: str) -> None:
    """A link back to Decidim must point into a configured organization: never anywhere else (a page that says
    "back to the city's Decidim" must not lead to another site)."""
    if url and organization_for_url(url) is None:
        from django.core.exceptions import ValidationError
        from django.utils.translation import gettext as _

        raise ValidationError(_("This address is not on a Decidim platform configured here."), code="decidim_url")
