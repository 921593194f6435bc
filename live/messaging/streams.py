"""The `conversation.<id>` stream: participants only, each following as "u<pk>"; "X is writing…" frames.
Its events (and messaging's on `user.<pk>`) render in renderers.py."""

from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from live.messaging import services
from live.messaging.models import Conversation


def authorize(viewer, rest: str) -> str:
    try:
        participant = services.get_participation(viewer.user, rest)
    except Conversation.DoesNotExist:
        raise ObjectDoesNotExist(f"conversation.{rest}") from None
    return f"u{participant.user_id}"


def typing(viewer, rest: str, data: dict) -> None:
    """Someone is writing: tell the others, unlogged, except those who blocked them (their messages are not shown
    to them either). The page removes the line a few seconds after the last frame, or at once when the message
    arrives."""
    try:
        participant = services.get_participation(viewer.user, rest)
    except Conversation.DoesNotExist:
        return None
    user, conversation = participant.user, participant.conversation
    blockers = services.blockers_among(conversation.pk, user)
    if blockers and not conversation.is_group:
        return None  # the only other one blocked them
    texts = streams.in_languages(lambda: _("%(name)s is writing…") % {"name": user.public_name})
    html = render_to_string("messaging/partials/typing.html", {"typist": user, "texts": texts})
    streams.broadcast(conversation.stream_key, {streams.ALL: html, **{f"u{pk}": "" for pk in blockers}})
    return None


streams.register_stream("conversation", authorize=authorize, typing=typing)
