"""Who may do what in a meeting, as small predicates, and who a request is in the room. Questions only: nothing
here writes (a guest's participation becomes an account's through services.claim_guest_participations).

- facilitators: `user.has_role("facilitator", space="meeting.<pk>")` (global facilitators and administrators too);
- participants: a signed-in user who joined, or an anonymous guest whose signed token sits in their session,
  valid for that one meeting only (meetings/sessions.py);
- the projector screen: a facilitator's session, or a session that loaded the secret screen URL.
"""

from __future__ import annotations

from django.utils.crypto import constant_time_compare

from live.moderation.rules import can_moderate
from meetings.models import Participant
from meetings.sessions import screen_token, session_participant


def can_create_meeting(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role("facilitator")


def is_facilitator(user, meeting) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role("facilitator", space=meeting.space)


def can_moderate_words(user, meeting) -> bool:
    """Hide a word of a word cloud: the meeting's facilitators and the moderators of its space."""
    return is_facilitator(user, meeting) or can_moderate(user, meeting.space)


def participant_for(user, session, meeting):
    """Who this visitor is in `meeting`: their own participant when signed in, else the session's guest."""
    if getattr(user, "is_authenticated", False):
        return Participant.objects.filter(meeting=meeting, user=user).select_related("user").first()
    guest = session_participant(session, meeting)
    if guest is not None and guest.user_id is not None:
        return None  # that guest became an account: sign in to act as it
    return guest


def can_view_screen(user, session, meeting) -> bool:
    if is_facilitator(user, meeting):
        return True
    token = screen_token(session, meeting)
    return bool(token) and constant_time_compare(token, meeting.screen_token)
