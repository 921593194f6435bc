"""What pages and pushes show, computed once here so the page render and the event renderers agree."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from live.messaging import services
from live.messaging.models import Message

PAGE_SIZE = 30


def local_day(moment) -> datetime.date:
    return timezone.localtime(moment).date()


def day_label(day: datetime.date) -> str:
    today = timezone.localdate()
    if day == today:
        return _("Today")
    if day == today - datetime.timedelta(days=1):
        return _("Yesterday")
    return date_format(day, "DATE_FORMAT")


def day_item(day: datetime.date) -> dict:
    return {"day": day, "day_id": day.isoformat(), "day_label": day_label(day)}


def with_days(messages) -> list[dict]:
    """Messages interleaved with a separator before the first message of each day."""
    items, current = [], None
    for message in messages:
        day = local_day(message.created_at)
        if day != current:
            items.append(day_item(day))
            current = day
        items.append({"message": message})
    return items


def title_of(others: list) -> str:
    names = [u.public_name for u in others]
    if not names:
        return _("Conversation (only you left)")
    return ", ".join(names)


def title_for(user, conversation) -> str:
    return title_of(services.others(conversation, user))


def participant_users(conversation) -> list:
    """The active participants (users), in the order they joined."""
    return [p.user for p in conversation.participants.filter(left_at__isnull=True)
            .select_related("user").order_by("pk")]


def participants_names(conversation, users: list | None = None) -> list[str]:
    return [u.public_name for u in (participant_users(conversation) if users is None else users)]


def seen_context(conversation, seen: tuple | None = None) -> dict:
    """`seen`: services.seen_by(conversation) when the caller already read it."""
    latest, readers = services.seen_by(conversation) if seen is None else seen
    return {"seen_message": latest, "seen_names": ", ".join(u.public_name for u in readers),
            "seen_count": len(readers), "conversation": conversation}


def inbox_data(user, participant) -> dict:
    """What an inbox row reads from the database (the same in every language)."""
    conversation = participant.conversation
    unread = getattr(participant, "unread", None)
    if unread is None:
        unread = services.unread_count(user, conversation)
    return {"unread": unread, "last": services.last_visible_message(user, conversation),
            "others": services.others(conversation, user)}


def inbox_row(user, participant, data: dict | None = None) -> dict:
    """`user`: the row's owner (or their pk). `data`: inbox_data(user, participant) when the caller already read it (a push renders every language)."""
    return inbox_row_of(user, participant.conversation, inbox_data(user, participant) if data is None else data)


def inbox_row_of(user, conversation, data: dict) -> dict:
    """`inbox_row` of the owner's participation in `conversation`, from what `inbox_data` reads."""
    last = data["last"]
    return {
        "conversation": conversation,
        "title": title_of(data["others"]),
        "preview": services.preview_of(last),
        "preview_author": last.author.public_name if last else "",
        "own_last": bool(last and last.author_id == getattr(user, "pk", user)),
        "unread": data["unread"],
        "activity": conversation.last_message_at or conversation.created_at,
    }


def page_of_messages(user, conversation, before: int | None = None) -> tuple[list[Message], bool]:
    """The PAGE_SIZE messages before `before` (default: the latest), oldest first, and whether older ones exist."""
    qs = services.visible_messages(user, conversation).order_by("-pk")
    if before:
        qs = qs.filter(pk__lt=before)
    page = list(qs[: PAGE_SIZE + 1])
    has_earlier = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    page.reverse()
    return page, has_earlier
