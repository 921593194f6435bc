"""Accounts made from, or linked to, a Decidim account. Nothing here talks to Decidim: the OAuth exchange is done
and checked (decidim/oauth.py) before any of these run."""

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from decidim.models import PictureConsent
from decidim.organizations import Organization
from live import ratelimit

User = get_user_model()


def email_is_usable(email: str) -> bool:
    """Whether an account here can have the address a Decidim profile sent (none at all is fine). Decidim accepts
    addresses our accounts refuse ("someone@intranet", no dot in the domain): caught before the nickname page, whose
    form could only fail on a field it does not show."""
    if not email:
        return True
    field = User._meta.get_field("email")
    try:
        field.clean(User.objects.normalize_email(email).lower(), None)
    except ValidationError:
        return False
    return True


@transaction.atomic
def sign_up_with_decidim(*, organization: Organization, profile: dict, nickname: str, ip: str = "",
                         show_picture: bool = False) -> User:
    """Create the local account of a person who signed in with Decidim for the first time, linked to their Decidim
    account. It has no password here: they sign in through Decidim (or set one with "forgot your password")."""
    ratelimit.enforce("signup", ip or "unknown")
    nickname = nickname.strip()
    email = User.objects.normalize_email(profile["email"]).lower() or None
    if User.objects.named(nickname).exists():
        raise ValidationError({"nickname": _("This nickname is already taken.")})
    if email and User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account already uses this email address.")})
    user = User(username=email or f"{organization.provider_id}-{profile['id']}", nickname=nickname, email=email)
    user.set_unusable_password()
    user.full_clean(exclude=["username", "password"])
    try:
        with transaction.atomic():
            user.save()
            account = SocialAccount.objects.create(user=user, provider=organization.provider_id,
                                                   uid=profile["id"], extra_data=profile)
            if show_picture and profile.get("image"):
                PictureConsent.objects.create(account=account)
    except IntegrityError:  # the same nickname, address or Decidim account in the same instant
        raise ValidationError(_("This nickname or email address was just taken. Please choose another.")) from None
    from live.notifications.services import notify

    notify(user=user, kind="welcome", text=gettext_lazy("Welcome to Agora Live, %(name)s!"),
           params={"name": nickname}, url="/")
    return user


@transaction.atomic
def link_decidim_account(*, user, organization: Organization, profile: dict,
                         show_picture: bool = False) -> SocialAccount:
    """Link a Decidim account to an existing local one, once its owner has proved it is theirs (signed in with
    the local password: decidim/views.py)."""
    account, created = SocialAccount.objects.get_or_create(
        provider=organization.provider_id, uid=profile["id"], defaults={"user": user, "extra_data": profile})
    if not created and account.user_id != user.pk:
        raise ValidationError(_("This Decidim account is already linked to another account here."))
    if show_picture and profile.get("image"):
        PictureConsent.objects.get_or_create(account=account)
    return account


@transaction.atomic
def show_decidim_picture(*, user, shown: bool) -> None:
    """Give or take back the consent to show one's Decidim picture on one's profile here."""
    ratelimit.enforce("default", user)
    accounts = SocialAccount.objects.filter(user=user, provider__startswith="decidim-")
    if shown:
        for account in accounts:
            PictureConsent.objects.get_or_create(account=account)
    else:
        PictureConsent.objects.filter(account__in=accounts).delete()


def import_meeting(*, actor, url: str):
    """Open an Agora meeting from a meeting already published on Decidim: read it (decidim/graphql.py), then create
    it in one transaction. Any failure (bad address, private meeting, Decidim down) raises before anything is
    written."""
    from decidim import graphql
    from meetings import services as meetings

    meetings.ensure_can_create_meeting(actor)
    ratelimit.enforce("default", actor)  # each import calls Decidim
    fields = graphql.fetch_meeting(url)
    return meetings.create_meeting(actor=actor, **fields)


def erase_links(*, user, former: dict) -> None:
    """An erasure step (live.features): the Decidim accounts linked to `user` (their id, name and e-mail as Decidim
    sent them) and the addresses allauth kept go. Signing in with Decidim again makes a new person."""
    SocialAccount.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()


def unlink_on_first_password(*, user) -> None:
    """A first-password step (live.features): an account made through Decidim has just got a password by e-mail.
    That proves the mailbox, not the Decidim account: Decidim lets an address sign in before it is confirmed, so
    whoever made the account may not be its owner. Its Decidim links go; signing in with Decidim then asks the new
    password once (the link page) and links again."""
    SocialAccount.objects.filter(user=user, provider__startswith="decidim-").delete()
