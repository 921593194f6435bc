"""Notifications: the personal stream's first feature; other apps call `notify`."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from live import streams
from live.accounts.models import ERASED_NAME
from live.notifications.models import Notification


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@transaction.atomic
def notify(*, user, kind: str, text: str, url: str = "") -> Notification:
    """Tell `user` something; the badge and list of every tab they have open update at once."""
    notification = Notification.objects.create(user=user, kind=kind, text=text[:300], url=url[:300])
    streams.append(user.stream_key, "notification.created", notification=notification.pk)
    return notification


@transaction.atomic
def mark_read(*, user, ids=None) -> int:
    """Mark some (ids) or all of the user's notifications read; other people's ids are ignored."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    marked_ids = list(qs.values_list("pk", flat=True))
    if marked_ids:
        Notification.objects.filter(pk__in=marked_ids).update(read_at=timezone.now())
        streams.append(user.stream_key, "notifications.read", notifications=marked_ids)
    return len(marked_ids)


def erase_recipient(*, user, former: dict) -> None:
    """An erasure step (live.features): `user`'s notifications go; those of others that name them ("alice replied
    to you") name "Deleted participant" instead, and no longer link to their profile."""
    Notification.objects.filter(user=user).delete()
    name = former["nickname"]
    for notification in Notification.objects.filter(Q(text__contains=name) | Q(url__contains=f"/{name}/")):
        notification.text = notification.text.replace(name, str(ERASED_NAME))
        notification.url = "" if f"/{name}/" in notification.url else notification.url
        notification.save(update_fields=["text", "url"])
