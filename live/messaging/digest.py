"""E-mail digests of unread private messages, for people who were not around to see them.

`send_digests()` (the `send_message_digests` command, run every few minutes by cron or a systemd timer) e-mails
each person who has messages unread for longer than MESSAGING_DIGEST_DELAY_MINUTES (default 15) and no open
connection right now: "you have N unread messages from alice, bob". A conversation is mentioned at most once until
its messages are read (`Participant.digest_sent_at`, cleared by `mark_read`). By default the e-mail carries no
message text (MESSAGING_DIGEST_INCLUDE_TEXT=True adds short excerpts). Like every notification e-mail it is written in
the recipient's language (live.notifications), in HTML and text, with a one-click unsubscribe (RFC 8058) that needs
no sign-in ("new private messages": on the site only from then on).

"No open connection": the count of open sockets the consumer keeps per user in the cache (`conn:user:<pk>`,
live/ratelimit.py acquire_connection). Someone reading on an open page has read the messages anyway (the page
marks them read), so they have nothing unread and get nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from live import effects
from live.messaging import services
from live.messaging.models import Message, Participant
from live.notifications import email as notification_email
from live.notifications.models import Category
from live.notifications.services import language_of
from live.text import plain_text


def delay() -> timedelta:
    return timedelta(minutes=settings.MESSAGING_DIGEST_DELAY_MINUTES)


def include_text() -> bool:
    return settings.MESSAGING_DIGEST_INCLUDE_TEXT


def is_connected(user) -> bool:
    try:
        return int(cache.get(f"conn:user:{user.pk}") or 0) > 0
    except (TypeError, ValueError):
        return False


def site_url() -> str:
    return settings.PUBLIC_URL


def due_participations(now=None):
    """Participations with a message unread for longer than the delay and no digest sent since last read."""
    now = now or timezone.now()
    old_unread = services.unread_messages().filter(created_at__lte=now - delay())
    return (Participant.objects.filter(left_at__isnull=True, digest_sent_at__isnull=True, user__is_active=True,
                                       user__blocked_at__isnull=True)
            .exclude(user__email__isnull=True).exclude(user__email="")
            # Their notification preferences (live.notifications): private messages on the site only, or no e-mail.
            .exclude(user__notification_preferences__message__in=["site", "push"])
            .exclude(user__notification_preferences__email_rhythm="never")
            .filter(Exists(old_unread)).select_related("user", "conversation"))


def send_digests(now=None) -> int:
    """Send the digests that are due; returns how many e-mails went out."""
    now = now or timezone.now()
    by_user: dict[int, list[Participant]] = {}
    for participant in due_participations(now):
        by_user.setdefault(participant.user_id, []).append(participant)
    sent = 0
    for items in by_user.values():
        user = items[0].user
        if is_connected(user):
            continue  # they will see the badge; if they leave without reading, a later run sends it
        if _send_one(user, items, now):
            sent += 1
    return sent


def _send_one(user, items: list[Participant], now) -> bool:
    blocked = list(services.blocks_of(user))
    unread = list(Message.objects.filter(
        conversation_id__in=[p.conversation_id for p in items], kind=Message.Kind.MESSAGE, hidden_at__isnull=True)
        .exclude(author_id__in=[user.pk, *blocked]).select_related("author").order_by("pk"))
    last_read = {p.conversation_id: p.last_read_id for p in items}
    unread = [m for m in unread if m.pk > last_read[m.conversation_id]]
    if not unread:
        return False
    authors = []
    for message in unread:
        if message.author.public_name not in authors:
            authors.append(message.author.public_name)
    excerpts = [(m.author.public_name, plain_text(m.body, limit=120)) for m in unread[-5:]] if include_text() else []
    # In the recipient's language, HTML and text, with the one-click unsubscribe of every notification e-mail.
    unsubscribe_url, headers = notification_email.unsubscribe_link(user, Category.MESSAGE)
    with translation.override(language_of(user)):
        ctx = {"user": user, "count": len(unread), "authors": ", ".join(authors), "excerpts": excerpts,
               "inbox_url": site_url() + reverse("messaging:inbox"),
               "settings_url": site_url() + reverse("messaging:settings"), "unsubscribe_url": unsubscribe_url,
               "preferences_url": site_url() + reverse("notifications:preferences")}
        subject = render_to_string("messaging/email/digest_subject.txt", ctx).strip()
        message = EmailMultiAlternatives(subject=subject, body=render_to_string("messaging/email/digest.txt", ctx),
                                         to=[user.email], headers=headers)
        message.attach_alternative(render_to_string("messaging/email/digest.html", ctx), "text/html")
    with transaction.atomic():
        # Claim first, so two overlapping runs cannot both send.
        claimed = Participant.objects.filter(pk__in=[p.pk for p in items], digest_sent_at__isnull=True).update(
            digest_sent_at=now)
        if not claimed:
            return False
    if not effects.run(f"message digest to user {user.pk}", message.send):
        # Not sent: give the claim back, so that the next run tries again.
        Participant.objects.filter(pk__in=[p.pk for p in items], digest_sent_at=now).update(digest_sent_at=None)
        return False
    return True
