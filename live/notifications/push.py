"""Web Push (RFC 8030/8291/8292) through pywebpush: the payload (RFC 8291 aes128gcm) is the notification's text and
link, in the recipient's language — a private message's own words only if the person chose it (off by default). A
subscription the push service answers 404 or 410 for is deleted, and so is one whose session no longer signs its
person in (a device's pushes last as long as the session that asked for them). Sent by a task
(live/notifications/tasks.py)."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from pywebpush import WebPushException, webpush

from live import ratelimit
from live.notifications.models import Notification, Preferences, PushSubscription

logger = logging.getLogger(__name__)


def configured() -> bool:
    return bool(settings.WEBPUSH_VAPID_PRIVATE_KEY and settings.WEBPUSH_VAPID_PUBLIC_KEY)


def payload(notification: Notification, *, with_text: bool = False) -> str:
    """The pushed JSON; `with_text`: the private message's own words too (the person chose it)."""
    from live.notifications.services import subject_text

    body = notification.text
    if with_text and (words := subject_text(notification.subject)):
        body = f"{body}\n{words[:200]}"
    url = notification.url
    if url.startswith("/"):
        url = settings.PUBLIC_URL.rstrip("/") + url
    return json.dumps({"title": "Agora Live", "body": body, "url": url, "tag": f"n{notification.pk}"})


def send(notification_id: int) -> int:
    """Push one notification to every device of its recipient; returns how many accepted it."""
    from live.notifications.services import push_session_live, subject_shown

    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not configured() or not subject_shown(notification.subject):
        return 0  # gone, or about something hidden or deleted since
    if not ratelimit.hit("notification_push", notification.user)[0]:
        return 0  # a flood of replies: the first ones buzz, the rest wait on the site (the badge, the list)
    preferences = Preferences.objects.filter(user_id=notification.user_id).first()
    data = payload(notification, with_text=bool(preferences and preferences.push_message_text))
    delivered = 0
    for subscription in PushSubscription.objects.filter(user_id=notification.user_id):
        if not push_session_live(subscription):
            subscription.delete()  # its session ended (expired, cleared, signed out elsewhere): so do its pushes
            continue
        try:
            webpush(subscription_info={"endpoint": subscription.endpoint,
                                       "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                    data=data, vapid_private_key=settings.WEBPUSH_VAPID_PRIVATE_KEY,
                    vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT}, ttl=settings.WEBPUSH_TTL,
                    content_encoding="aes128gcm", timeout=10)
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                subscription.delete()  # the browser dropped it: never try it again
                continue
            logger.warning("push to subscription %s failed (%s)", subscription.pk, status)
            continue
        delivered += 1
    return delivered
