"""Who may do what in a meeting, as small predicates, and who a request is in the room. Questions only: nothing
here writes (a guest's participation becomes an account's through services.claim_guest_participations).

- facilitators: `user.has_role("facilitator", space="meeting.<pk>")` (global facilitators and administrators too);
- participants: a signed-in user who joined, or an anonymous guest whose signed token sits in their session,
  valid for that one meeting only (meetings/sessions.py);
- the projector screen: a facilitator's session, or a session that loaded the secret screen URL.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.crypto import constant_time_compare

from live.database import columns, from_db
from live.moderation.rules import can_moderate
from meetings.models import AgendaItem, Meeting, Participant
from meetings.sessions import participant_token, screen_token, session_participant


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


def meeting_and_participant(user, session, meeting_pk: int) -> tuple[Meeting, Participant | None]:
    """The meeting (with its current agenda item) and who this visitor is in it (`participant_for`, with its
    account): one statement on PostgreSQL, where the ORM's three cost a phone's write more CPU to build than the
    rest of its reads (docs/performance.md, #17). Raises Meeting.DoesNotExist."""
    if connection.vendor != "postgresql":
        meeting = Meeting.objects.select_related("current_item").get(pk=meeting_pk)
        return meeting, participant_for(user, session, meeting)
    if getattr(user, "is_authenticated", False):
        match, who = "user_id", user.pk
    else:
        match, who = "token", participant_token(session, meeting_pk) or None  # NULL matches nobody
    User = get_user_model()  # noqa: N806
    parts = [(Meeting, "m"), (AgendaItem, "i"), (Participant, "p"), (User, "u")]
    selected = [columns(model, alias) for model, alias in parts]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {", ".join(column for cols, _names in selected for column in cols)} '
            f'FROM "{Meeting._meta.db_table}" m '
            f'LEFT JOIN "{AgendaItem._meta.db_table}" i ON i."id" = m."current_item_id" '
            f'LEFT JOIN "{Participant._meta.db_table}" p ON p."meeting_id" = m."id" AND p."{match}" = %s '
            f'LEFT JOIN "{User._meta.db_table}" u ON u."id" = p."user_id" '
            f'WHERE m."id" = %s ORDER BY p."id" LIMIT 1', [who, meeting_pk])
        row = cursor.fetchone()
    if row is None:
        raise Meeting.DoesNotExist("Meeting matching query does not exist.")
    built, at = [], 0
    for model, (_cols, names) in zip((model for model, _alias in parts), selected, strict=True):
        values = row[at:at + len(names)]
        at += len(names)
        built.append(None if values[0] is None else from_db(model, names, values))  # the id: a LEFT JOIN's miss
    meeting, meeting.current_item, participant, account = built
    if participant is not None:
        participant.user = account
        if match == "token" and participant.user_id is not None:
            participant = None  # that guest became an account: sign in to act as it
    return meeting, participant


def can_view_screen(user, session, meeting) -> bool:
    if is_facilitator(user, meeting):
        return True
    token = screen_token(session, meeting)
    return bool(token) and constant_time_compare(token, meeting.screen_token)
