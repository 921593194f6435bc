"""A phone's writes as its forms send them: read the form's fields, find who writes, call the service. The one
function of each write serves both ways it arrives: the HTTP view (meetings/views.py: a plain form, htmx, or the
fallback when the page's socket is closed) and the page's socket (the `meetings.*` socket actions below).

Refusals are the services' own exceptions; a meeting or poll that does not exist raises its DoesNotExist (404 over
HTTP, `not_found` over the socket).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from meetings import phones, services
from meetings.models import Contribution, Meeting, Poll
from meetings.permissions import participant_for


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _list(data, name: str) -> list:
    """Every value of a field (a QueryDict's getlist, or a JSON list)."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def react(*, user, session, meeting_pk: int, data) -> str:
    """A reaction tap (`kind`): who the phone is comes from meetings/phones.py, so a tap costs no SQL statement."""
    phone = phones.phone(user=user, session=session, meeting_pk=meeting_pk)
    kind = data.get("kind") or ""
    services.tap(phone=phone, user=user, kind=kind if isinstance(kind, str) else "")
    return _("Your reaction is on the screen.")


def answer(*, user, session, meeting_pk: int, poll_pk: int, data) -> tuple[Poll, object, str]:
    """An answer to an open poll: the `word` fields of an open-text question (word cloud), or the `choice` fields of
    a single or multiple choice or a scale. Returns (the poll with its meeting, the participant, what to say)."""
    poll = Poll.objects.select_related("meeting").get(pk=poll_pk, meeting=meeting_pk)
    participant = participant_for(user, session, poll.meeting)
    if poll.is_words:
        texts = [t for t in _list(data, "word") if isinstance(t, str)]
        services.answer_words(participant=participant, poll=poll, texts=texts)
    else:
        choices = [c for c in (_int(v) for v in _list(data, "choice")) if c is not None]
        services.answer_poll(participant=participant, poll=poll, choices=choices)
    return poll, participant, _("Your answer is saved.")


def contribute(*, user, session, meeting_pk: int, data) -> tuple[Contribution, Meeting, list, str]:
    """A question or an idea (`body`, `kind`, `agenda_item`, `client_id`: the same client id twice is one
    contribution). Returns (the contribution, its meeting, the meeting's agenda, what to say)."""
    meeting = Meeting.objects.select_related("current_item").get(pk=meeting_pk)
    participant = participant_for(user, session, meeting)
    agenda = list(meeting.agenda_items.all())  # what it is about, and the form sent back: one query for both
    item_pk = _int(data.get("agenda_item"))
    item = next((item for item in agenda if item.pk == item_pk), None)
    body, kind, client_id = data.get("body"), data.get("kind", Contribution.Kind.QUESTION), data.get("client_id")
    contribution = services.post_contribution(
        participant=participant, body=body if isinstance(body, str) else "",
        kind=kind if isinstance(kind, str) else "",
        agenda_item=item, client_id=client_id if isinstance(client_id, str) else "", meeting=meeting)
    ok = (_("Sent! It will appear once a facilitator approves it.") if contribution.is_pending
          else _("Posted."))
    return contribution, meeting, agenda, ok
