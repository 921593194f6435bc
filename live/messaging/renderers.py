"""How messaging's events render: on `conversation.<id>` (each participant follows it as "u<pk>") and on the
owner's `user.<pk>` (the unread badge and the inbox row).

Conversation renderers return the shared rendering under `streams.ALL` and override it only for the few
participants who must see something else (someone who blocked the author sees nothing of their new message; the
author is not told "new message" about their own), so a message is still rendered once for everyone plus once per
exception."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from live.messaging import presenters, services
from live.messaging.models import Block, Message, Participant

PAGE = "messaging/conversation_detail.html"


def _blockers_of(message) -> list[int]:
    """Active participants who blocked the author before this message: it is not shown to them."""
    return list(Block.objects.filter(
        blocked_id=message.author_id, created_at__lt=message.created_at,
        blocker__conversation_participations__conversation_id=message.conversation_id,
        blocker__conversation_participations__left_at__isnull=True,
    ).values_list("blocker_id", flat=True))


def _posted_reads(event):
    message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
    if message is None:
        return None
    conversation = message.conversation
    blockers = _blockers_of(message) if message.kind == Message.Kind.MESSAGE else []
    return message, services.seen_by(conversation), presenters.participant_users(conversation), blockers


@streams.renderer("message.posted")
def render_posted(event, r):
    reads = r.once("posted", lambda: _posted_reads(event))
    if reads is None:
        return None
    message, seen, users, blockers = reads
    conversation = message.conversation
    ctx = {
        "message": message,
        **presenters.day_item(presenters.local_day(message.created_at)),
        **presenters.seen_context(conversation, seen),
        "participants": presenters.participants_names(conversation, users),
        "is_system": message.kind != Message.Kind.MESSAGE,
    }
    if message.kind == Message.Kind.LEFT:
        announce = _("%(name)s left the conversation") % {"name": message.author.public_name}
    elif message.kind == Message.Kind.ADDED:
        announce = _("%(name)s joined the conversation") % {"name": message.author.public_name}
    else:
        announce = _("New message from %(name)s") % {"name": message.author.public_name}
    # Rendered once: the others get the author's fragment followed by the announcement.
    own = render_to_string("messaging/push/message_posted.html", ctx)
    out = {streams.ALL: own + streams.announcement(announce), f"u{message.author_id}": own}
    for blocker in blockers:
        out[f"u{blocker}"] = None
    return out


@streams.renderer("message.changed")
def render_changed(event, r):
    def read():
        message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
        return None if message is None else (message, services.seen_by(message.conversation),
                                             _blockers_of(message))

    reads = r.once("changed", read)
    if reads is None:
        return None
    message, seen, blockers = reads
    out = {streams.ALL: render_to_string("messaging/push/message_changed.html",
                                         {"message": message, **presenters.seen_context(message.conversation, seen)})}
    for blocker in blockers:
        out[f"u{blocker}"] = None
    return out


@streams.renderer("messages.author_erased")
def render_author_erased(event, r):
    """Every message of an erased account on the page at once, found by its author (data-author), whatever their
    number: its name, and "message deleted" for its text."""
    return render_to_string("messaging/push/messages_erased.html", {"author": int(event.data["author"])})


@streams.renderer("messages.seen")
def render_seen(event, r):
    def read():
        participant = Participant.objects.select_related("conversation").filter(pk=event.data["participant"]).first()
        return None if participant is None else (participant.conversation, services.seen_by(participant.conversation))

    reads = r.once("seen", read)
    if reads is None:
        return None
    conversation, seen = reads
    return render_to_string(f"{PAGE}#seen", {**presenters.seen_context(conversation, seen), "oob": True})


@streams.renderer("messages.unread")
def render_unread(event, r):
    """On the owner's personal stream: the header badge on every page, the conversation's inbox row, and the
    notification of a new burst when one rides on this event (folded, live/messaging/services.py _post)."""
    user_id = int(event.stream.split(".")[1])
    conversation_id = event.data["conversation"]

    def read():
        posted = r.once("posted", lambda: None)
        if posted is not None and posted[0].conversation_id == conversation_id:
            # Written in the same transaction as a message (services._post): that message is the row's last one
            # for its recipients and author, the participants are known; the counts are read after the commit
            # (the badge counts what committed since in other conversations too): one query.
            message, _seen, users, _blockers = posted
            counts = services.unread_by_conversation(user_id)
            participant = None
            if conversation_id in counts:
                participant = Participant(conversation=message.conversation, user_id=user_id)
                participant.unread = counts[conversation_id]
            row = participant and {"unread": participant.unread, "last": message,
                                   "others": [u for u in users if u.pk != user_id]}
            unread = sum(counts.values())
        else:
            counts = services.unread_by_conversation(user_id)
            participant = None
            if conversation_id in counts:
                participant = (Participant.objects.select_related("conversation")
                               .filter(user_id=user_id, conversation_id=conversation_id, left_at__isnull=True).first())
            if participant is not None:
                participant.unread = counts[conversation_id]
            row = presenters.inbox_data(user_id, participant) if participant is not None else None
            unread = sum(counts.values())
        notification = None
        if "notification" in event.data:
            from live.notifications.models import Notification
            from live.notifications.services import unread_count

            pk = event.data["notification"]
            notification = r.once(f"notification:{pk}",
                                  lambda: Notification.objects.filter(pk=pk, user_id=user_id).first())
            notification = notification and (notification, unread_count(user_id))
        return participant, unread, row, notification

    participant, unread, row, notification = r.once(f"unread:{event.stream}", read)
    ctx = {"unread_messages": unread, "oob": True, "conversation_id": conversation_id}
    if participant is not None:
        ctx["row"] = presenters.inbox_row(user_id, participant, row)
    html = render_to_string("messaging/push/unread.html", ctx)
    if notification:
        from live.notifications.renderers import created_html

        html += created_html(*notification)
    return html
