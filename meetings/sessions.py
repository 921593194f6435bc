"""Who a browser is in a meeting, by the signed tokens its session keeps: an anonymous guest's participation, and
the projector screens it may show. The views write them; meetings/permissions.py only reads them."""

from __future__ import annotations

from django.core import signing

from meetings.models import Participant

PARTICIPANTS_SESSION_KEY = "meetings.participants"
SCREENS_SESSION_KEY = "meetings.screens"


def _salt(meeting_pk) -> str:
    # The meeting is in the salt: a token signed for one meeting is worthless for another.
    return f"meetings.participant.{meeting_pk}"


def remember_participant(session, participant) -> None:
    """Keep the participant's signed token in the session (anonymous guests are known by it alone)."""
    tokens = dict(session.get(PARTICIPANTS_SESSION_KEY) or {})
    tokens[str(participant.meeting_id)] = signing.dumps(participant.token, salt=_salt(participant.meeting_id))
    session[PARTICIPANTS_SESSION_KEY] = tokens


def forget_participant(session, meeting_pk) -> None:
    tokens = dict(session.get(PARTICIPANTS_SESSION_KEY) or {})
    if tokens.pop(str(meeting_pk), None) is not None:
        session[PARTICIPANTS_SESSION_KEY] = tokens


def guest_meetings(session) -> list[int]:
    """The meetings this session holds a guest's token for."""
    tokens = (session.get(PARTICIPANTS_SESSION_KEY) or {}) if session is not None else {}
    return [int(pk) for pk in tokens if str(pk).isdigit()]


def signed_participant(session, meeting_pk) -> str:
    """The signed token this session holds for meeting `meeting_pk` ("" if none), as it is stored."""
    if session is None:
        return ""
    return (session.get(PARTICIPANTS_SESSION_KEY) or {}).get(str(meeting_pk)) or ""


def participant_token(session, meeting_pk) -> str:
    """The participant token this session holds, signed, for meeting `meeting_pk` ("" if none or badly signed)."""
    signed = signed_participant(session, meeting_pk)
    if not signed:
        return ""
    try:
        return signing.loads(signed, salt=_salt(meeting_pk))
    except signing.BadSignature:
        return ""


def session_participant(session, meeting):
    """The participant whose signed token this session holds for `meeting`, or None."""
    token = participant_token(session, meeting.pk)
    if not token:
        return None
    return Participant.objects.filter(meeting=meeting, token=token).select_related("user").first()


def allow_screen(session, meeting) -> None:
    screens = dict(session.get(SCREENS_SESSION_KEY) or {})
    screens[str(meeting.pk)] = meeting.screen_token
    session[SCREENS_SESSION_KEY] = screens


def screen_token(session, meeting) -> str:
    """The secret screen token this session loaded for `meeting` ("" if none)."""
    if session is None:
        return ""
    return (session.get(SCREENS_SESSION_KEY) or {}).get(str(meeting.pk)) or ""
