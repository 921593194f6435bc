"""Web Push (RFC 8030/8291/8292) through pywebpush: the payload (RFC 8291 aes128gcm) is the notification's text and
link, in the recipient's language — a private message's own words only if the person chose it (off by default). A
subscription the push service answers 404 or 410 for is deleted, and so is one whose session no longer signs its
person in (a device's pushes last as long as the session that asked for them). A push service that cannot be reached
(connection refused, timeout, no such host) fails that device only: it is logged and the next devices get theirs;
the subscription is kept (the network may come back) until every try has failed for UNREACHABLE_FOR, then deleted.
Sent by a task (live/notifications/tasks.py)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.utils import timezone
from pywebpush import WebPushException, webpush

from live import ratelimit
from live.notifications.models import Notification, Preferences, PushSubscription

logger = logging.getLogger(__name__)

# A subscription whose push service has been unreachable at every try for this long is deleted: long enough for an
# outage (ours or theirs) to pass, short enough not to try a dead host with every notification for ever.
UNREACHABLE_FOR = timedelta(days=7)


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
    for subscription in PushSubscription.objects.filter(user_id=notification.user_id).order_by("pk"):
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
        except requests.RequestException as exc:  # refused, timed out, no such host: this device only
            _unreachable(subscription, exc)
            continue
        if subscription.failing_since is not None:
            PushSubscription.objects.filter(pk=subscription.pk).update(failing_since=None)
        delivered += 1
    return delivered


def _unreachable(subscription: PushSubscription, exc: Exception) -> None:
    """`subscription`'s push service could not be reached: remember since when, or delete it past UNREACHABLE_FOR."""
    now = timezone.now()
    if subscription.failing_since is not None and subscription.failing_since <= now - UNREACHABLE_FOR:
        logger.warning("push subscription %s deleted: its push service unreachable since %s (%s)",
                       subscription.pk, subscription.failing_since.isoformat(), type(exc).__name__)
        subscription.delete()
        return
    if subscription.failing_since is None:
        PushSubscription.objects.filter(pk=subscription.pk).update(failing_since=now)
    logger.warning("push to subscription %s failed: its push service unreachable (%s)", subscription.pk,
                   type(exc).__name__)
