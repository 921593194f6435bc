"""Meeting streams, one per audience:

- `meeting.<pk>`: phones and the public meeting page (approved contributions, polls, agenda, speaker queue);
  anyone may follow it (meetings are public);
- `meeting.<pk>.screen`: the projector; a facilitator, or a session that loaded the secret screen URL;
- `meeting.<pk>.console`: the facilitators' console, with the moderation queue (pending contributions).
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from live import streams
from meetings.models import Meeting
from meetings.permissions import can_view_screen, is_facilitator


def authorize(viewer, rest: str) -> str:
    pk, _sep, part = rest.partition(".")
    if not pk.isdigit():
        raise ObjectDoesNotExist(rest)
    meeting = Meeting.objects.get(pk=int(pk))  # DoesNotExist is an ObjectDoesNotExist
    if part == "":
        return "public"
    if part == "screen":
        if can_view_screen(viewer.user, viewer.session, meeting):
            return "screen"
        raise PermissionDenied
    if part == "console":
        if is_facilitator(viewer.user, meeting):
            return "console"
        raise PermissionDenied
    raise ObjectDoesNotExist(rest)


def audiences(rest: str) -> tuple[str]:
    """One audience per meeting stream: its events render only for it."""
    return (rest.partition(".")[2] or "public",)


streams.register_stream("meeting", authorize=authorize, audiences=audiences)
