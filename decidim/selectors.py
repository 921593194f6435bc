from urllib.parse import urlsplit

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user_model

from decidim.organizations import organization
from live.accounts.models import nickname_validator
from live.text import TextValidator

User = get_user_model()


def nickname_is_free(nickname: str) -> bool:
    try:
        nickname_validator(nickname)
        TextValidator(name=True)(nickname)
    except Exception:
        return False
    return not User.objects.named(nickname).exists()


def suggest_nickname(nickname: str, name: str = "") -> str:
    """A free nickname close to the Decidim one: "camille" taken -> "camille-2"; a nickname too short or invalid
    here -> built from the name."""
    base = (nickname or name or "").strip()[:25] or "participant"
    if len(base) < 3:
        base = f"{base}-decidim"
    if nickname_is_free(base):
        return base
    for n in range(2, 100):
        candidate = f"{base}-{n}"
        if nickname_is_free(candidate):
            return candidate
    return f"{base[:20]}-{User.objects.count() + 1}"


def decidim_organizations_of(user) -> list:
    """The configured Decidim organizations whose account is linked to `user`."""
    providers = SocialAccount.objects.filter(user=user, provider__startswith="decidim-").values_list("provider",
                                                                                                   flat=True)
    return [org for org in map(organization, providers) if org is not None]


def decidim_picture(user) -> dict | None:
    """{"url", "shown"} of `user`'s Decidim picture, the most recent sign-in's; None when Decidim has none."""
    account = (SocialAccount.objects.filter(user=user, provider__startswith="decidim-")
               .select_related("picture_consent").order_by("-last_login").first())
    if account is None or not picture_loads_here(account.extra_data.get("image")):
        return None
    return {"url": account.extra_data["image"], "shown": hasattr(account, "picture_consent")}


def picture_loads_here(url: str | None) -> bool:
    """Whether our pages may load the picture at `url`: its origin is in the CSP's img-src (the organizations'
    origins and DECIDIM_PICTURE_ORIGINS). Else the browser would block it: an empty frame, not a picture."""
    if not url:
        return False
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() in {origin.lower() for origin in settings.CSP_IMG_SRC}
