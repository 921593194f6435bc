"""A phone's writes as its forms send them: read the form's fields, find who writes, call the service. The one
function of each write serves both ways it arrives: the HTTP view (meetings/views.py: a plain form, htmx, or the
fallback when the page's socket is closed) and the page's socket (the `meetings.*` socket actions below).

Refusals are the services' own exceptions; a meeting or poll that does not exist raises its DoesNotExist (404 over
HTTP, `not_found` over the socket). Over the socket the meeting (and the poll) are fields of the form (`meeting`,
`poll`: hidden inputs), where the HTTP views read them from the URL.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _

from live.socket_writes import Actor, parse_id, socket_write
from meetings import phones, services
from meetings.models import AgendaItem, Contribution, Meeting, Poll
from meetings.permissions import meeting_and_participant, participant_for


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
        choices = [parse_id(v) for v in _list(data, "choice")]
        if None in choices:  # one value that is no id refuses the whole answer, as a choice of another poll does
            services.check_participant(participant, poll.meeting_id)
            raise ValidationError({"choices": services.not_a_choice()})
        services.answer_poll(participant=participant, poll=poll, choices=choices)
    return poll, participant, _("Your answer is saved.")


def vote(*, user, session, meeting_pk: int, contribution_pk: int) -> str:
    """+1 on a contribution of the meeting."""
    contribution = Contribution.objects.get(pk=contribution_pk, meeting=meeting_pk)
    services.vote(participant=participant_for(user, session, Meeting(pk=meeting_pk)), contribution=contribution)
    return _("Thanks for your support.")


def hand(*, user, session, meeting_pk: int, data) -> Meeting:
    """Raise (or, with `action=lower`, lower) the phone's hand to speak. Returns the meeting."""
    action = data.get("action") or "raise"  # the form's two buttons; a write without it raises the hand
    if action not in ("raise", "lower"):
        raise ValidationError(_("Unknown action."))
    meeting = Meeting.objects.get(pk=meeting_pk)
    participant = participant_for(user, session, meeting)
    if action == "lower":
        services.lower_hand(participant=participant)
    else:
        services.raise_hand(participant=participant)
    return meeting


def contribute(*, user, session, meeting_pk: int, data, with_agenda: bool = True
               ) -> tuple[Contribution, Meeting, list | None, str]:
    """A question or an idea (`body`, `kind`, `agenda_item`, `client_id`: the same client id twice is one
    contribution). Returns (the contribution, its meeting, the meeting's agenda, what to say). `with_agenda`
    False: no form is sent back (the socket), the agenda is read only for the item chosen, if any (None)."""
    meeting, participant = meeting_and_participant(user, session, meeting_pk)
    chosen = data.get("agenda_item") or ""  # "": "The meeting in general"
    item_pk = parse_id(chosen)
    if with_agenda:
        agenda = list(meeting.agenda_items.all())  # what it is about, and the form sent back: one query for both
        item = next((item for item in agenda if item.pk == item_pk), None)
    else:
        agenda = None
        item = AgendaItem.objects.filter(pk=item_pk, meeting=meeting_pk).first() if item_pk is not None else None
    if chosen and item is None:  # a word, or an item deleted since (or of another meeting): never posted without it
        services.check_participant(participant)
        raise ValidationError({"agenda_item": _("This agenda item does not exist (any more): choose one from the "
                                                "list.")})
    body, kind, client_id = data.get("body"), data.get("kind", Contribution.Kind.QUESTION), data.get("client_id")
    contribution = services.post_contribution(
        participant=participant, body=body if isinstance(body, str) else "",
        kind=kind if isinstance(kind, str) else "",
        agenda_item=item, client_id=client_id if isinstance(client_id, str) else "", meeting=meeting)
    ok = (_("Sent! It will appear once a facilitator approves it.") if contribution.is_pending
          else _("Posted."))
    return contribution, meeting, agenda, ok


# --- the same writes over the page's socket (live/socket_writes.py) ---------------------------------------------------

def _pk(data, name: str) -> int:
    pk = parse_id(data.get(name))
    if pk is None:
        raise ObjectDoesNotExist(name)  # no such meeting (or poll): not_found, as a wrong URL is a 404
    return pk


@socket_write("meetings.react")
def react_over_socket(actor: Actor, data) -> None:
    """A reaction tap: the phone's page has its socket open, so a tap is a frame, not an HTTP request."""
    react(user=actor.user, session=actor.session, meeting_pk=_pk(data, "meeting"), data=data)


@socket_write("meetings.answer")
def answer_over_socket(actor: Actor, data) -> dict:
    _poll, _participant, ok = answer(user=actor.user, session=actor.session, meeting_pk=_pk(data, "meeting"),
                                     poll_pk=_pk(data, "poll"), data=data)
    return {"message": ok}


@socket_write("meetings.vote")
def vote_over_socket(actor: Actor, data) -> None:
    vote(user=actor.user, session=actor.session, meeting_pk=_pk(data, "meeting"),
         contribution_pk=_pk(data, "contribution"))


@socket_write("meetings.hand")
def hand_over_socket(actor: Actor, data) -> None:
    hand(user=actor.user, session=actor.session, meeting_pk=_pk(data, "meeting"), data=data)


@socket_write("meetings.contribute")
def contribute_over_socket(actor: Actor, data) -> dict:
    contribution, _meeting, _agenda, ok = contribute(user=actor.user, session=actor.session,
                                                     meeting_pk=_pk(data, "meeting"), data=data, with_agenda=False)
    return {"id": contribution.pk, "pending": contribution.is_pending, "message": ok}
