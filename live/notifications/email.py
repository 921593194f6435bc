"""Notification e-mails, sent off the request path.

- At once (rhythm "now"): `notify` enqueues the `send_notification_emails` task (live/notifications/tasks.py, run
  by django-tasks-db's worker) after its commit. Past the `notification_email` rate limit (3 per 15 minutes) the
  rest wait, and the next `manage.py send_notification_emails` run sends them together as one digest: a flood of
  replies is one e-mail, not fifty.
- Daily digest: `manage.py send_notification_emails` (every few minutes from cron or a systemd timer, see
  docs/deploy.md) sends each person who chose it everything pending, at most once per NOTIFICATIONS_DIGEST_HOURS.
- Time-sensitive items (`notify(at_once=True)`, `Notification.at_once`) go at once to digest readers too; held back
  by the rate limit, the same run sends them together after NOTIFICATIONS_HOLD_MINUTES, not in the next digest.

Every e-mail is in its recipient's language, HTML and text, with a one-click unsubscribe (RFC 8058) that needs no
sign-in. An item about something hidden or deleted since (services.subject_shown) is dropped, never sent.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from live import ratelimit
from live.notifications import services
from live.notifications.models import Notification, Preferences, Rhythm, category_of


def _absolute(path: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + path if path.startswith("/") else path


def _claim(preferences: Preferences, only=None) -> list[Notification]:
    """The person's pending items (or those of them in `only`) still worth sending, locked (two senders never send
    one item twice); the others dropped: about something hidden or deleted since, or of a kind the person no
    longer wants by e-mail (their choice now, not when the item was recorded: a category switched to "on this
    site only" while the item waited for the digest)."""
    items = Notification.objects.select_for_update(skip_locked=True).filter(user_id=preferences.user_id,
                                                                            email="pending")
    if only is not None:
        items = items.filter(pk__in=only)
    items = list(items.order_by("created_at", "pk"))
    dropped = [item.pk for item in items
               if not preferences.wants_email(item.kind) or not services.subject_shown(item.subject)]
    if dropped:
        Notification.objects.filter(pk__in=dropped).update(email="dropped")
    return [item for item in items if item.pk not in dropped]


def unsubscribe_link(user, category: str) -> tuple[str, dict]:
    """The one-click unsubscribe URL of `category`'s e-mails (services.ALL: every e-mail), and the headers that
    carry it (RFC 8058), for every notification e-mail (the private messages' digest too)."""
    url = _absolute(reverse("notifications:unsubscribe", args=[services.unsubscribe_token(user, category)]))
    return url, {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                 "Auto-Submitted": "auto-generated"}


def _message(preferences: Preferences, items: list[Notification]) -> EmailMultiAlternatives:
    user = preferences.user
    digest = len(items) > 1
    category = services.ALL if digest else category_of(items[0].kind).value
    unsubscribe_url, headers = unsubscribe_link(user, category)
    with translation.override(preferences.notification_language):
        context = {
            # `language`: the item's own when the e-mail's is another (a text recorded before the person changed
            # it), for the HTML part's lang (WCAG 3.1.2); the text part cannot say it.
            "person": user, "items": [{"text": item.text, "url": _absolute(item.url) if item.url else "",
                                       "created_at": item.created_at, "language": item.foreign_language}
                                      for item in items],
            "unsubscribe_url": unsubscribe_url, "digest": digest,
            "preferences_url": _absolute(reverse("notifications:preferences")),
            "category": None if digest else category_of(items[0].kind).label,
        }
        subject = (_("Agora Live: %(count)d new notifications") % {"count": len(items)} if digest
                   else _("Agora Live: %(text)s") % {"text": items[0].text})
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    message = EmailMultiAlternatives(subject=subject[:150], body=text, to=[user.email], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def send_for(user_id: int, *, digest: bool = False, only=None) -> int:
    """Send `user_id` what is pending (`only`: those of these ids, a time-sensitive item for a digest reader): at
    once (one e-mail per item while the rate limit allows, else they wait), or everything as one digest. Returns
    how many e-mails went out. Each e-mail commits with its own marks: when one fails (the SMTP server refuses it),
    those sent before it stay sent and only the unsent items stay pending for the next run."""
    sent = 0
    while _send_one(user_id, digest=digest, only=only):
        sent += 1
        if digest:
            break
    return sent


def _send_one(user_id: int, *, digest: bool, only) -> bool:
    """One e-mail: the next pending item, or (`digest`) all of them; whether one went."""
    with transaction.atomic():
        # Read in the transaction that claims: the choices as they are when the e-mail goes.
        preferences = Preferences.objects.select_related("user").filter(user_id=user_id).first()
        if preferences is None:
            return False
        user = preferences.user
        items = _claim(preferences, only)
        if not items:
            return False
        if not user.is_active or not user.email or user.is_blocked:  # blocked: they cannot sign in to read it
            Notification.objects.filter(pk__in=[item.pk for item in items]).update(email="dropped")
            return False
        if not digest:
            if not ratelimit.hit("notification_email", user)[0]:
                return False  # the rest wait for the next digest run
            items = items[:1]
        # Marked sent before sending, in the transaction that sends: a failed send rolls back this e-mail's marks.
        Notification.objects.filter(pk__in=[item.pk for item in items]).update(email="sent")
        if digest and only is None:  # the daily digest (not a digest reader's time-sensitive items)
            Preferences.objects.filter(pk=preferences.pk).update(digest_sent_at=timezone.now())
        _message(preferences, items).send()
    return True


def send_due(now=None) -> int:
    """The periodic run: daily digests that are due, and at-once items held back by the rate limit."""
    now = now or timezone.now()
    day_ago = now - timedelta(hours=settings.NOTIFICATIONS_DIGEST_HOURS)
    held = now - timedelta(minutes=settings.NOTIFICATIONS_HOLD_MINUTES)
    pending = Notification.objects.filter(email="pending")
    sent = 0
    daily = (Preferences.objects.filter(email_rhythm=Rhythm.DAILY, user__notifications__email="pending")
             .exclude(digest_sent_at__gt=day_ago).values_list("user_id", flat=True).distinct())
    for user_id in list(daily):
        sent += send_for(user_id, digest=True)
    at_once = (pending.filter(user__notification_preferences__email_rhythm=Rhythm.NOW, created_at__lte=held)
               .values_list("user_id", flat=True).distinct())
    for user_id in list(at_once):
        sent += send_for(user_id, digest=True)
    # A digest reader's time-sensitive items held back by the rate limit: together, not in tomorrow's digest.
    urgent: dict[int, list[int]] = {}
    for user_id, pk in (pending.filter(at_once=True, created_at__lte=held)
                        .exclude(user__notification_preferences__email_rhythm=Rhythm.NOW)
                        .values_list("user_id", "pk")):
        urgent.setdefault(user_id, []).append(pk)
    for user_id, pks in urgent.items():
        sent += send_for(user_id, digest=True, only=pks)
    return sent
