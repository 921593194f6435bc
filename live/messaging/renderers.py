"""How messaging's events render: on `conversation.<id>` (each participant follows it as "u<pk>") and on the
owner's `user.<pk>` (the unread badge and the inbox row).

Conversation renderers return the shared rendering under `streams.ALL` and override it only for the few
participants who must see something else (someone added after a message, or who blocked its author before it,
sees nothing of it, as on their page; the author is not told "new message" about their own), so a message is still rendered once for everyone plus once per
exception."""

from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import html, paths, streams
from live.messaging import presenters, services
from live.messaging.models import Block, Message, Participant

PAGE = "messaging/conversation_detail.html"


# --- the fragments a page and a push share -------------------------------------------------------------------------
# A message, a day separator, "seen by", the header badge and an inbox row: built here, in the active language, by
# the page's template (templatetags/messaging.py, the partials of conversation_detail.html, unread_badge.html and
# inbox_row.html) and by the pushes below alike. Through Django's template engine each cost a message's push about
# half a millisecond per fragment and language (its nodes, includes, filters and blocktranslate); written out here
# they cost a few tens of microseconds (docs/performance.md, #17 `msgrender`). Variables are escaped, as the
# template engine does; translated texts are not (neither does `{% translate %}`).

def _time(moment) -> str:
    local = timezone.localtime(moment)
    return f'<time datetime="{local.isoformat()}">{local:%H:%M}</time>'


def message_html(message, *, oob=False) -> str:
    """One message's <li> (a system line for "added" and "left")."""
    pk, author = message.pk, message.author
    if message.kind == Message.Kind.ADDED:
        text = _("%(name)s was added by %(by)s") % {"name": escape(author.public_name),
                                                    "by": escape(message.adder_name or _("Deleted participant"))}
        return (f'<li id="message-{pk}" class="message-system muted"{html.oob(oob)}>{text} '
                f'{_time(message.created_at)}</li>')
    if message.kind == Message.Kind.LEFT:
        text = _("%(name)s left the conversation") % {"name": escape(author.public_name)}
        return (f'<li id="message-{pk}" class="message-system muted"{html.oob(oob)}>{text} '
                f'{_time(message.created_at)}</li>')
    name = escape(author.public_name)
    # (Texts translated outside the f-strings: makemessages does not look inside them.)
    if message.is_hidden:
        note = _("This message was hidden by moderation.")
        body = f'<p class="message-body muted"><em>{note}</em></p>'
    elif author.is_erased:
        note = _("Message deleted.")
        body = f'<p class="message-body muted"><em>{note}</em></p>'
    else:
        report = paths.reverse_once("messaging:report", message.conversation_id, pk)
        label, about = _("Report"), _("this message from %(name)s") % {"name": name}
        body = (f'<div class="message-body">{message.body_html}</div>\n'
                f'  <a class="others-only message-report" href="{report}">{label}'
                f'<span class="visually-hidden"> {about}</span></a>')
    hidden = " message-hidden" if message.is_hidden else ""
    return (f'<li id="message-{pk}" class="message{hidden}" data-author="{message.author_id}" data-message="{pk}"'
            f'{html.oob(oob)}>\n  <p class="message-meta"><strong class="message-author">{name}</strong> '
            f'{_time(message.created_at)}</p>\n  {body}\n</li>')


def day_html(day_id: str, day_label: str) -> str:
    return (f'<li id="day-{escape(day_id)}" class="day-separator"><h2><time datetime="{escape(day_id)}">'
            f'{escape(day_label)}</time></h2></li>')


def seen_html(seen_count, seen_names: str, *, oob=False) -> str:
    """"Seen by" under the conversation (presenters.seen_context's values)."""
    text = _("Seen by %(names)s") % {"names": escape(seen_names)} if seen_count else ""
    return (f'<p id="conversation-seen" class="seen muted"{html.oob(oob)} data-seen-count="{seen_count or 0}">'
            f'{text}</p>')


def _unread_text(n: int) -> str:
    text = ngettext("%(n)s unread message", "%(n)s unread messages", n) % {"n": n}
    return f'<span aria-hidden="true">{n}</span><span class="visually-hidden">{text}</span>'


def badge_html(unread: int, *, oob=False) -> str:
    """The header's unread messages badge."""
    empty = "" if unread else " badge-empty"
    return (f'<span id="messages-badge" class="badge{empty}"{html.oob(oob)}>{_unread_text(unread) if unread else ""}'
            f'</span>')


def inbox_row_html(row: dict) -> str:
    """A conversation's inbox row (presenters.inbox_row's values)."""
    conversation, unread = row["conversation"], row["unread"]
    activity = timezone.localtime(row["activity"])
    if row["preview"]:
        if row["own_last"]:
            who = _("You:")
        elif conversation.is_group:
            who = f'{escape(row["preview_author"])}:'
        else:
            who = ""
        preview = f'{who} {escape(row["preview"])}'
    else:
        empty_text = _("No message yet")
        preview = f'<span class="muted">{empty_text}</span>'
    return (f'<li id="inbox-conversation-{conversation.pk}" class="inbox-row{" unread" if unread else ""}" '
            f'data-activity="{int(activity.timestamp() * 1000)}">\n'
            f'  <a href="{conversation.get_absolute_url()}" class="inbox-link">\n'
            f'    <span class="inbox-title">{escape(row["title"])}</span>\n'
            f'    <span class="inbox-preview">{preview}</span>\n'
            f'    <time class="inbox-time muted" datetime="{activity.isoformat()}">'
            f'{html.moment_text(activity)}</time>\n'
            f'    <span class="badge inbox-unread{"" if unread else " badge-empty"}" data-unread="{unread}">'
            f'{_unread_text(unread) if unread else ""}</span>\n  </a>\n</li>')


# --- the events' renderers ---------------------------------------------------------------------------------------------


def _not_shown_to(message) -> list[int]:
    """Active participants to whom this message is not shown, as on their page (services.visible_messages): those
    added after it was written (or re-added since: they see what was written from then on, `visible_from_id`), and
    for a message, those who blocked its author before it. One statement."""
    not_theirs = Q(visible_from_id__gte=message.pk)
    if message.kind == Message.Kind.MESSAGE:
        not_theirs |= Exists(Block.objects.filter(blocker_id=OuterRef("user_id"), blocked_id=message.author_id,
                                                  created_at__lt=message.created_at))
    return list(Participant.objects.filter(not_theirs, conversation_id=message.conversation_id,
                                           left_at__isnull=True).values_list("user_id", flat=True))


def _posted_reads(event):
    message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
    if message is None:
        return None
    conversation = message.conversation
    return message, services.seen_by(conversation), presenters.participant_users(conversation), _not_shown_to(message)


@streams.renderer("message.posted")
def render_posted(event, r):
    reads = r.once("posted", lambda: _posted_reads(event))
    if reads is None:
        return None
    message, seen, users, not_shown = reads
    conversation = message.conversation
    day = presenters.day_item(presenters.local_day(message.created_at))
    seen = presenters.seen_context(conversation, seen)
    if message.kind != Message.Kind.MESSAGE:  # a system line: the participants changed (rare: through the template)
        after = render_to_string(f"{PAGE}#participants", {
            "participants": presenters.participants_names(conversation, users), "oob": True})
    else:
        after = f'<p id="typing-{message.author_id}" hx-swap-oob="delete"></p>'
    own = (f'<ol hx-swap-oob="beforeend:#message-list">{day_html(day["day_id"], day["day_label"])}'
           f'{message_html(message)}</ol>\n{seen_html(seen["seen_count"], seen["seen_names"], oob=True)}\n{after}\n')
    if message.kind == Message.Kind.LEFT:
        announce = _("%(name)s left the conversation") % {"name": message.author.public_name}
    elif message.kind == Message.Kind.ADDED:
        announce = _("%(name)s joined the conversation") % {"name": message.author.public_name}
    else:
        announce = _("New message from %(name)s") % {"name": message.author.public_name}
    # Rendered once: the others get the author's fragment followed by the announcement.
    out = {streams.ALL: own + streams.announcement(announce), f"u{message.author_id}": own}
    for user_id in not_shown:
        out[f"u{user_id}"] = None
    return out


@streams.renderer("message.changed")
def render_changed(event, r):
    def read():
        message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
        return None if message is None else (message, services.seen_by(message.conversation),
                                             _not_shown_to(message))

    reads = r.once("changed", read)
    if reads is None:
        return None
    message, seen, not_shown = reads
    seen = presenters.seen_context(message.conversation, seen)
    out = {streams.ALL: f'{message_html(message, oob=True)}\n{seen_html(seen["seen_count"], seen["seen_names"], oob=True)}\n'}
    for user_id in not_shown:
        out[f"u{user_id}"] = None
    return out


@streams.renderer("messages.readers_changed")
def render_readers_changed(event, r):
    """People were added: nothing changes on the page (the event only names the earlier messages, see
    services._forget_renderings_of_earlier_messages)."""
    return None


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
    seen = presenters.seen_context(conversation, seen)
    return seen_html(seen["seen_count"], seen["seen_names"], oob=True)


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
            # (the badge counts what committed since in other conversations too): one query for the badges of
            # every person the message's events concern (`badges`, seeded by _post).
            message, _seen, users, _not_shown = posted
            badges = r.once("badges", lambda: None)
            if badges and user_id in badges:
                counts, notifications = r.once(
                    "badge_counts", lambda: services.badge_counts(badges, r.once("notified", lambda: ())))
                counts = counts.get(user_id, {})
            else:
                counts, notifications = services.unread_by_conversation(user_id), {}
            conversation, row = None, None
            if conversation_id in counts:  # (no Participant built for it: a model's __init__ is not cheap)
                conversation = message.conversation
                row = {"unread": counts[conversation_id], "last": message,
                       "others": [u for u in users if u.pk != user_id]}
            unread = sum(counts.values())
        else:
            counts, notifications = services.unread_by_conversation(user_id), {}
            participant, conversation, row = None, None, None
            if conversation_id in counts:
                participant = (Participant.objects.select_related("conversation")
                               .filter(user_id=user_id, conversation_id=conversation_id, left_at__isnull=True).first())
            if participant is not None:
                participant.unread = counts[conversation_id]
                conversation, row = participant.conversation, presenters.inbox_data(user_id, participant)
            unread = sum(counts.values())
        notification = None
        if "notification" in event.data:
            from live.notifications.models import Notification
            from live.notifications.services import unread_count

            pk = event.data["notification"]
            notification = r.once(f"notification:{pk}",
                                  lambda: Notification.objects.filter(pk=pk, user_id=user_id).first())
            # Its count came with the badges' when the write knew it notified them (`notified`, seeded by _post).
            notification = notification and (notification, notifications[user_id] if user_id in notifications
                                             else unread_count(user_id))
        return conversation, unread, row, notification

    conversation, unread, row, notification = r.once(f"unread:{event.stream}", read)
    fragment = badge_html(unread, oob=True)
    if conversation is not None:  # still theirs, with something unread: its row moves to the top
        row_html = inbox_row_html(presenters.inbox_row_of(user_id, conversation, row))
        fragment += f'\n<ul hx-swap-oob="afterbegin:#inbox-list">{row_html}</ul>\n'
    else:
        fragment += f'\n<li id="inbox-conversation-{conversation_id}" hx-swap-oob="delete"></li>\n'
    if notification:
        from live.notifications.renderers import created_html

        fragment += created_html(*notification)
    return fragment
