from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from live.notifications.models import Notification
from live.notifications.services import unread_count


def _owner(event):
    return get_user_model().objects.filter(pk=int(event.stream.split(".")[1])).first()


@streams.renderer("notification.created")
def render_created(event):
    notification = Notification.objects.filter(pk=event.data["notification"]).first()
    user = _owner(event)
    if notification is None or user is None:
        return None
    return render_to_string("notifications/push.html", {
        "notification": notification,
        "unread_notifications": unread_count(user),
        "announce": _("New notification: %(text)s") % {"text": notification.text},
    })


@streams.renderer("notifications.read")
def render_read(event):
    user = _owner(event)
    if user is None:
        return None
    return render_to_string("notifications/push.html", {
        "read": Notification.objects.filter(pk__in=event.data["notifications"], user=user),
        "unread_notifications": unread_count(user),
    })
