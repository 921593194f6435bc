"""Who a phone is in a meeting, remembered by this process, so that a reaction tap costs no SQL statement.

A tap (300 phones, twice a second each: bench S10) relies on four facts: which participant taps (a signed-in
user's own, or the guest whose signed token the session holds: meetings/permissions.participant_for), whether the
meeting's live session is open, its current agenda item (what the tap is counted under), and whether guests may
take part. They are read from the
database once and kept here, per meeting and per phone (the socket's session, or the request's); each tap reads the
meeting's stamp from the cache (one round trip) and reads the database again only when:

- the stamp changed: after the commit of every change a tap relies on (the session opened, closed or re-set, guests
  allowed or not, the current agenda item, a participant removed: `changed`, called by meetings/services.py), so a
  closed meeting, a removed guest or a guest of a meeting now for signed-in people only is refused from the next
  tap on, in every process;
- the facts are older than MEETINGS_PHONE_RECHECK_SECONDS (what no stamp covers, e.g. a row deleted by hand);
- the cache cannot be read (Redis down): every tap then reads the database, as before.

Only accepted identities are remembered: someone who has not joined yet is looked up again at their next tap.
A blocked account's sockets are closed by the platform (#13); its requests are refused by check_not_blocked.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from live import effects
from meetings.models import Meeting
from meetings.permissions import participant_for
from meetings.sessions import signed_participant

MAX_REMEMBERED = 50_000  # phones per process; past it the memo starts afresh (one look-up per phone)


@dataclass(frozen=True)
class Phone:
    """A participant as a tap needs it."""

    meeting_pk: int
    participant_pk: int
    user_pk: int | None  # a signed-in participant's account (rate limits count per account, as over HTTP)
    live_open: bool
    current_item_pk: int | None
    allow_anonymous: bool = True  # guests may take part (switched off: a guest's tap is refused)

    def limit_key(self, user):
        """Who the rate limits count: the account when signed in (`user`, the request's or socket's), else the
        guest's participation."""
        return user if self.user_pk is not None else f"participant:{self.participant_pk}"


# pk -> (stamp, read at, live_open, current item, allow_anonymous)
_meetings: dict[int, tuple[str, float, bool, int | None, bool]] = {}
_phones: dict[tuple, tuple[str, float, int, int | None]] = {}  # (meeting, who) -> (stamp, read at, participant, user)
_lock = threading.Lock()


def _stamp_key(meeting_pk: int) -> str:
    return f"meetings:{meeting_pk}:phones"


def stamp(meeting_pk: int) -> str | None:
    """The meeting's current stamp ("" when none was set since the cache started), None when the cache is down."""
    try:
        return cache.get(_stamp_key(meeting_pk), "")
    except Exception:
        return None


def changed(meeting_pk: int) -> None:
    """After the current transaction commits: every process reads this meeting's facts again at its next tap."""
    # A random stamp rather than a counter: a key lost (evicted, Redis restarted) and set again can never come back
    # to a value some process remembers.
    effects.after_commit(f"new phone stamp of meeting {meeting_pk}",
                         lambda: cache.set(_stamp_key(meeting_pk), secrets.token_hex(8), timeout=7 * 86400))


def _who(user, session, meeting_pk: int):
    if getattr(user, "is_authenticated", False):
        return ("u", user.pk)
    signed = signed_participant(session, meeting_pk)
    return ("g", signed) if signed else None


def _fresh(entry, current: str | None, now: float) -> bool:
    return (entry is not None and current is not None and entry[0] == current
            and now - entry[1] < settings.MEETINGS_PHONE_RECHECK_SECONDS)


def phone(*, user, session, meeting_pk: int) -> Phone:
    """The participant `user` (or the session's guest) is in meeting `meeting_pk`. Raises Meeting.DoesNotExist, or
    PermissionDenied for someone who has not joined (or a guest whose participation became an account's)."""
    now, current = time.monotonic(), stamp(meeting_pk)
    meeting = _meetings.get(meeting_pk)
    if not _fresh(meeting, current, now):
        live_open, item, guests = Meeting.objects.values_list(
            "live_open", "current_item_id", "allow_anonymous").get(pk=meeting_pk)
        meeting = (current, now, live_open, item, guests)
        if current is not None:
            _remember(_meetings, meeting_pk, meeting)
    who = _who(user, session, meeting_pk)
    if who is None:
        raise PermissionDenied(_("Join the meeting first."))
    key = (meeting_pk, who)
    known = _phones.get(key)
    if not _fresh(known, current, now):
        participant = participant_for(user, session, Meeting(pk=meeting_pk))
        if participant is None:
            _phones.pop(key, None)
            raise PermissionDenied(_("Join the meeting first."))
        known = (current, now, participant.pk, participant.user_id)
        if current is not None:
            _remember(_phones, key, known)
    return Phone(meeting_pk=meeting_pk, participant_pk=known[2], user_pk=known[3], live_open=meeting[2],
                 current_item_pk=meeting[3], allow_anonymous=meeting[4])


def _remember(memo: dict, key, value) -> None:
    if len(memo) >= MAX_REMEMBERED:
        with _lock:
            if len(memo) >= MAX_REMEMBERED:
                memo.clear()
    memo[key] = value


def forget_all() -> None:
    """Tests: start from nothing remembered."""
    _meetings.clear()
    _phones.clear()
