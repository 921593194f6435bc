"""Who may do what in a meeting, as small predicates, and who a request is in the room.

- facilitators: `user.has_role("facilitator", space="meeting.<pk>")` (global facilitators and administrators too);
- participants: a signed-in user who joined, or an anonymous guest whose signed token sits in their session,
  valid for that one meeting only;
- the projector screen: a facilitator's session, or a session that loaded the secret screen URL.
"""

from __future__ import annotations

from django.core import signing
from django.utils.crypto import constant_time_compare

PARTICIPANTS_SESSION_KEY = "meetings.participants"
SCREENS_SESSION_KEY = "meetings.screens"


def _salt(meeting_pk) -> str:
    # The meeting is in the salt: a token signed for one meeting is worthless for another.
    return f"meetings.participant.{meeting_pk}"


def can_create_meeting(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role("facilitator")


def is_facilitator(user, meeting) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role("facilitator", space=meeting.space)


def remember_participant(session, participant) -> None:
    """Keep the participant's signed token in the session (anonymous guests are known by it alone)."""
    tokens = dict(session.get(PARTICIPANTS_SESSION_KEY) or {})
    tokens[str(participant.meeting_id)] = signing.dumps(participant.token, salt=_salt(participant.meeting_id))
    session[PARTICIPANTS_SESSION_KEY] = tokens


def forget_participant(session, meeting_pk) -> None:
    tokens = dict(session.get(PARTICIPANTS_SESSION_KEY) or {})
    if tokens.pop(str(meeting_pk), None) is not None:
        session[PARTICIPANTS_SESSION_KEY] = tokens


def session_participant(session, meeting):
    """The participant whose signed token this session holds for `meeting`, or None."""
    from meetings.models import Participant

    if session is None:
        return None
    signed = (session.get(PARTICIPANTS_SESSION_KEY) or {}).get(str(meeting.pk))
    if not signed:
        return None
    try:
        token = signing.loads(signed, salt=_salt(meeting.pk))
    except signing.BadSignature:
        return None
    return Participant.objects.filter(meeting=meeting, token=token).select_related("user").first()


def participant_for(user, session, meeting):
    """Who this visitor is in `meeting`: their own participant when signed in, else the session's guest.

    A guest who has since signed in (same browser) is attached to the account here, on their next page load."""
    from meetings import services
    from meetings.models import Participant

    guest = session_participant(session, meeting)
    if getattr(user, "is_authenticated", False):
        if guest is not None and guest.user_id is None:
            mine = services.claim_participant(participant=guest, user=user)
            forget_participant(session, meeting.pk)
            return mine
        return Participant.objects.filter(meeting=meeting, user=user).select_related("user").first()
    if guest is not None and guest.user_id is not None:
        return None  # that guest became an account: sign in to act as it
    return guest


def allow_screen(session, meeting) -> None:
    screens = dict(session.get(SCREENS_SESSION_KEY) or {})
    screens[str(meeting.pk)] = meeting.screen_token
    session[SCREENS_SESSION_KEY] = screens


def can_view_screen(user, session, meeting) -> bool:
    if is_facilitator(user, meeting):
        return True
    if session is None:
        return False
    token = (session.get(SCREENS_SESSION_KEY) or {}).get(str(meeting.pk))
    return bool(token) and constant_time_compare(token, meeting.screen_token)


def claim_guest_participations(sender, request, user, **kwargs):
    """On sign-in or sign-up (Django's user_logged_in), the guest participations this browser holds become the
    account's: nothing written as a guest is lost. The meeting pages also claim on load, as a fallback."""
    import logging

    from meetings import services
    from meetings.models import Meeting

    session = getattr(request, "session", None)
    tokens = (session.get(PARTICIPANTS_SESSION_KEY) or {}) if session is not None else {}
    for meeting in Meeting.objects.filter(pk__in=[int(pk) for pk in tokens if str(pk).isdigit()]):
        guest = session_participant(session, meeting)
        try:
            if guest is not None and guest.user_id is None:
                services.claim_participant(participant=guest, user=user)
        except Exception:  # never let this break signing in
            logging.getLogger(__name__).exception("could not claim guest participation %s", guest.pk)
        forget_participant(session, meeting.pk)
