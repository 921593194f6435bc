"""How each meeting event looks on each audience's stream. The stream's last part picks the audience (phones,
screen, console); every fragment renders from the current database state and swaps by DOM id, so replaying an
event, or applying it twice, is harmless. The screen's regions are re-rendered whole: its page stays bounded."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from meetings import rendering
from meetings.models import Contribution, Meeting, Poll

PARTS = "meetings/parts.html"


def _render(name: str, context: dict) -> str:
    # Pushed fragments have no request: htmx sends the CSRF token as a header (see base.html).
    return render_to_string(f"{PARTS}#{name}", {**context, "csrf_token": "NOTPROVIDED"})


def _part(name: str, context: dict) -> str:
    return _render(name, {**context, "oob": True})


def _meeting_and_audience(event):
    parts = event.stream.split(".")
    meeting = Meeting.objects.filter(pk=int(parts[1])).select_related("current_item").first()
    return meeting, (parts[2] if len(parts) > 2 else "public")


def _announce(text: str) -> str:
    return _render("announcer", {"text": text})


def _screen(meeting, *regions) -> str:
    context = rendering.screen_context(meeting, regions)
    return "".join(_part(region, context) for region in regions)


@streams.renderer("contribution.changed")
def render_contribution(event):
    meeting, audience = _meeting_and_audience(event)
    contribution = (Contribution.objects.filter(pk=event.data["contribution"])
                    .select_related("participant__user", "agenda_item").first())
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(meeting, "screen-pinned", "screen-feed")
    also = list(Contribution.objects.filter(pk__in=event.data.get("also") or [])
                .select_related("participant__user", "agenda_item"))
    base = rendering.common(meeting)
    if audience == "console":
        html = []
        for c in ([contribution] if contribution else []) + also:
            html.append(_render("console-contribution", {**base, "c": c}))
        html.append(_part("console-stats", rendering.stats_context(meeting)))
        return "".join(html)
    html = []
    if contribution is not None:
        if contribution.is_visible:
            html.append(_render("contribution-insert", {**base, "c": contribution}))
            if event.data.get("announce"):
                html.append(_announce(_("New contribution: %(text)s") % {"text": contribution.body[:120]}))
        else:
            html.append(_render("contribution-delete", {"c": contribution}))
    for c in also:
        if c.is_visible:
            html.append(_part("contribution", {**base, "c": c}))
    html.append(_part("pinned", {**base, "pinned": rendering.pinned_contribution(meeting)}))
    return "".join(html)


@streams.renderer("session.changed")
@streams.renderer("meeting.changed")
def render_session(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _part("screen-body", rendering.screen_context(meeting))
    if audience == "console":
        context = rendering.console_context(meeting)
        return "".join(_part(name, context) for name in ("console-session", "console-stats", "console-agenda",
                                                          "console-polls", "console-speakers"))
    context = rendering.phone_context(meeting)
    state = _("The live session is open.") if meeting.live_open else _("The live session is closed.")
    return "".join(_part(name, context) for name in ("live-state", "current-item", "speakers")) + _announce(state)


@streams.renderer("agenda.changed")
def render_agenda(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(meeting, "screen-top")
    if audience == "console":
        return _part("console-agenda", {**rendering.common(meeting), "agenda": list(meeting.agenda_items.all())})
    item = meeting.current_item
    announce = _announce(_("Now on the agenda: %(title)s") % {"title": item.title}) if item else ""
    return _part("current-item", rendering.common(meeting)) + announce


def _poll_card(poll, meeting):
    return {**rendering.common(meeting), "p": {"poll": poll, "results": poll.results(),
                                                "respondents": poll.respondent_count()}}


@streams.renderer("poll.changed")
def render_poll(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(meeting, "screen-poll")
    if audience == "console":
        return _part("console-polls", rendering.polls_context(meeting))
    poll = Poll.objects.filter(pk=event.data["poll"]).prefetch_related("choices").first()
    if poll is None or poll.status == Poll.Status.DRAFT:
        return _render("poll-delete", {"pk": event.data["poll"]})
    html = _render("poll-insert", _poll_card(poll, meeting))
    if poll.is_open:
        html += _announce(_("New poll: %(question)s") % {"question": poll.question})
    return html


@streams.renderer("poll.answered")
def render_poll_answered(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(meeting, "screen-poll")
    if audience == "console":
        return _part("console-polls", rendering.polls_context(meeting))
    poll = Poll.objects.filter(pk=event.data["poll"]).first()
    if poll is None:
        return None
    return _part("poll-results", _poll_card(poll, meeting))


@streams.renderer("speakers.changed")
def render_speakers(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(meeting, "screen-speakers")
    if audience == "console":
        return _part("console-speakers", rendering.speakers_context(meeting))
    return _part("speakers", rendering.speakers_context(meeting))


@streams.renderer("participant.joined")
def render_joined(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None or audience != "console":
        return None
    return _part("console-stats", rendering.stats_context(meeting))


@streams.renderer("registration.changed")
def render_registration(event):
    meeting, _audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    return _part("registration-count", {"meeting": meeting, "registered": meeting.registrations.count()})
