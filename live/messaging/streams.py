"""The `conversation.<id>` stream (participants only) and messaging's events on `user.<pk>`.

Audiences: every participant follows their conversation as "u<pk>". Renderers return the shared rendering under
`streams.ALL` and override it only for the few participants who must see something else (someone who blocked the
author sees nothing of their new message; the author is not told "new message" about their own), so a message is
still rendered once for everyone plus once per exception.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from live import streams
from live.messaging import presenters, services
from live.messaging.models import Block, Conversation, Message, Participant

PAGE = "messaging/conversation_detail.html"


def authorize(viewer, rest: str) -> str:
    try:
        participant = services.get_participation(viewer.user, rest)
    except Conversation.DoesNotExist:
        raise ObjectDoesNotExist(f"conversation.{rest}") from None
    return f"u{participant.user_id}"


def typing(viewer, rest: str, data: dict) -> None:
    """Someone is writing: tell the others, unlogged. The page removes the line a few seconds after the last
    frame, or at once when the message arrives."""
    try:
        participant = services.get_participation(viewer.user, rest)
    except Conversation.DoesNotExist:
        return None
    user = participant.user
    texts = []
    for code in streams.languages():
        with translation.override(code):
            texts.append((code, _("%(name)s is writing…") % {"name": user.public_name}))
    html = render_to_string("messaging/partials/typing.html", {"typist": user, "texts": texts})
    streams.broadcast(participant.conversation.stream_key, html)
    return None


streams.register_stream("conversation", authorize=authorize, typing=typing)


def _blockers_of(message) -> list[int]:
    """Active participants who blocked the author before this message: it is not shown to them."""
    return list(Block.objects.filter(
        blocked_id=message.author_id, created_at__lt=message.created_at,
        blocker__conversation_participations__conversation_id=message.conversation_id,
        blocker__conversation_participations__left_at__isnull=True,
    ).values_list("blocker_id", flat=True))


def _read_once(event, name: str, read):
    """The database reads of one rendering of `event`, shared by its languages: streams.frames calls a renderer
    once per language, on the same event object, one right after the other; only the texts differ. Kept on that
    object, so any later rendering (a replay reads new event objects) reads the current state again."""
    memo = event.__dict__.setdefault("_messaging_reads", {})
    if name not in memo:
        memo[name] = read()
    return memo[name]


def _posted_reads(event):
    message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
    if message is None:
        return None
    conversation = message.conversation
    blockers = _blockers_of(message) if message.kind == Message.Kind.MESSAGE else []
    return message, services.seen_by(conversation), presenters.participant_users(conversation), blockers


@streams.renderer("message.posted")
def render_posted(event):
    reads = _read_once(event, "posted", lambda: _posted_reads(event))
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
    out = {
        streams.ALL: render_to_string("messaging/push/message_posted.html", {**ctx, "announce": announce}),
        f"u{message.author_id}": render_to_string("messaging/push/message_posted.html", ctx),
    }
    for blocker in blockers:
        out[f"u{blocker}"] = None
    return out


@streams.renderer("message.changed")
def render_changed(event):
    message = Message.objects.select_related("author", "conversation").filter(pk=event.data["message"]).first()
    if message is None:
        return None
    html = render_to_string("messaging/push/message_changed.html",
                            {"message": message, **presenters.seen_context(message.conversation)})
    out = {streams.ALL: html}
    for blocker in _blockers_of(message):
        out[f"u{blocker}"] = None
    return out


@streams.renderer("messages.seen")
def render_seen(event):
    participant = Participant.objects.select_related("conversation").filter(pk=event.data["participant"]).first()
    if participant is None:
        return None
    return render_to_string(f"{PAGE}#seen", {**presenters.seen_context(participant.conversation), "oob": True})


@streams.renderer("messages.unread")
def render_unread(event):
    """On the owner's personal stream: the header badge on every page, and the conversation's inbox row."""
    def read():
        user = get_user_model().objects.filter(pk=int(event.stream.split(".")[1])).first()
        if user is None:
            return None
        participant = services.participations(user).filter(conversation_id=event.data["conversation"]).first()
        row = presenters.inbox_data(user, participant) if participant is not None else None
        return user, participant, services.unread_count(user), row

    reads = _read_once(event, "unread", read)
    if reads is None:
        return None
    user, participant, unread, row = reads
    conversation_id = event.data["conversation"]
    ctx = {"unread_messages": unread, "oob": True, "conversation_id": conversation_id}
    if participant is not None:
        ctx["row"] = presenters.inbox_row(user, participant, row)
    return render_to_string("messaging/push/unread.html", ctx)
