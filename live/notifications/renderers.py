"""The notifications on their owner's `user.<pk>` stream: the new item, the unread badge, the announcement."""

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from live.notifications.models import Notification
from live.notifications.services import unread_count


def _owner_and_unread(event, r):
    def read():
        user = get_user_model().objects.filter(pk=int(event.stream.split(".")[1])).first()
        return user, (unread_count(user) if user is not None else 0)

    return r.once("owner", read)


def created_html(notification, unread: int) -> str:
    """A new notification on its owner's tabs: the item, the badge, the announcement. Also for an event of another
    app that carries a notification recorded with it (services.record)."""
    return render_to_string("notifications/push.html", {
        # "NOTPROVIDED": the forms in pushed bytes carry no per-user CSRF token (htmx sends it as a header); without
        # it Django warns of a missing token on every push in development.
        "csrf_token": "NOTPROVIDED",
        "notification": notification,
        "unread_notifications": unread,
        "announce": _("New notification: %(text)s") % {"text": notification.text},
    })


@streams.renderer("notification.created")
def render_created(event, r):
    notification = r.once("notification", lambda: Notification.objects.filter(pk=event.data["notification"]).first())
    user, unread = _owner_and_unread(event, r)
    if notification is None or user is None:
        return None
    return created_html(notification, unread)


@streams.renderer("notifications.read")
@streams.renderer("notifications.changed")  # their text changed (a person named in them erased their account)
def render_read(event, r):
    user, unread = _owner_and_unread(event, r)
    if user is None:
        return None
    read = r.once("read", lambda: list(Notification.objects.filter(pk__in=event.data["notifications"], user=user)))
    return render_to_string("notifications/push.html", {"read": read, "unread_notifications": unread,
                                                        "csrf_token": "NOTPROVIDED"})
