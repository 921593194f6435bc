"""The one writer of open data preferences."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from live import ratelimit
from opendata.models import NamePreference


def hides_name(user) -> bool:
    return NamePreference.objects.filter(user=user, hide_name=True).exists()


@transaction.atomic
def set_hide_name(*, user, hide: bool) -> NamePreference:
    """Leave `user`'s nickname out of the open data (or put it back); the next download reflects it (the datasets'
    cache key holds the preferences' latest change)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to choose how your name appears in the open data."))
    ratelimit.enforce("default", user)
    preference, _created = NamePreference.objects.update_or_create(
        user=user, defaults={"hide_name": bool(hide), "changed_at": timezone.now()})
    return preference


def erase_preference(*, user, former: dict) -> None:
    """An erasure step (live.features): the choice goes with the account (an erased author is never named)."""
    NamePreference.objects.filter(user=user).delete()
