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


def _cached(event, key, load):
    """Data loaded once per event: renderers run once per language, the queries need not. The events one change
    appends to its audiences' streams share this store (services._emit): the meeting and the contribution are
    loaded once for the phones, the screen and the console. Keys name data, never an audience's rendering."""
    store = event.__dict__.setdefault("_meetings_cache", {})
    if key not in store:
        store[key] = load()
    return store[key]


def _meeting_and_audience(event):
    parts = event.stream.split(".")
    meeting = _cached(event, "meeting", lambda: Meeting.objects.filter(pk=int(parts[1]))
                      .select_related("current_item").first())
    return meeting, (parts[2] if len(parts) > 2 else "public")


def _announce(text: str) -> str:
    return _render("announcer", {"text": text})


def _screen(event, meeting, *regions) -> str:
    context = _cached(event, ("screen", regions), lambda: rendering.screen_context(meeting, regions))
    return "".join(_part(region, context) for region in regions)


@streams.renderer("contribution.changed")
def render_contribution(event):
    meeting, audience = _meeting_and_audience(event)
    contribution = _cached(event, "contribution", lambda: Contribution.objects.filter(pk=event.data["contribution"])
                           .select_related("participant__user", "agenda_item").first())
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(event, meeting, "screen-pinned", "screen-feed")
    also = _cached(event, "also", lambda: list(Contribution.objects.filter(pk__in=event.data.get("also") or [])
                                               .select_related("participant__user", "agenda_item")))
    base = rendering.common(meeting)
    if audience == "console":
        html = []
        for c in ([contribution] if contribution else []) + also:
            html.append(_render("console-contribution", {**base, "c": c}))
        html.append(_part("console-stats", _cached(event, "stats", lambda: rendering.stats_context(meeting))))
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
    pinned = _cached(event, "pinned", lambda: rendering.pinned_contribution(meeting))
    html.append(_part("pinned", {**base, "pinned": pinned}))
    return "".join(html)


@streams.renderer("session.changed")
@streams.renderer("meeting.changed")
def render_session(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _part("screen-body", _cached(event, "screen", lambda: rendering.screen_context(meeting)))
    if audience == "console":
        context = _cached(event, "console", lambda: rendering.console_context(meeting))
        return "".join(_part(name, context) for name in ("console-session", "console-stats", "console-agenda",
                                                          "console-polls", "console-speakers"))
    context = _cached(event, "speakers", lambda: rendering.speakers_context(meeting))
    state = _("The live session is open.") if meeting.live_open else _("The live session is closed.")
    return "".join(_part(name, context) for name in ("live-state", "current-item", "speakers")) + _announce(state)


@streams.renderer("agenda.changed")
def render_agenda(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(event, meeting, "screen-top")
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
        return _screen(event, meeting, "screen-poll")
    if audience == "console":
        return _part("console-polls", _cached(event, "polls", lambda: rendering.polls_context(meeting)))
    poll = _cached(event, "poll", lambda: Poll.objects.filter(pk=event.data["poll"]).prefetch_related("choices")
                   .first())
    if poll is None or poll.status == Poll.Status.DRAFT:
        return _render("poll-delete", {"pk": event.data["poll"]})
    html = _render("poll-insert", _cached(event, "card", lambda: _poll_card(poll, meeting)))
    if poll.is_open:
        html += _announce(_("New poll: %(question)s") % {"question": poll.question})
    return html


@streams.renderer("poll.answered")
def render_poll_answered(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(event, meeting, "screen-poll")
    if audience == "console":
        return _part("console-polls", _cached(event, "polls", lambda: rendering.polls_context(meeting)))
    poll = _cached(event, "poll", lambda: Poll.objects.filter(pk=event.data["poll"]).first())
    if poll is None:
        return None
    return _part("poll-results", _cached(event, "card", lambda: _poll_card(poll, meeting)))


@streams.renderer("speakers.changed")
def render_speakers(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    if audience == "screen":
        return _screen(event, meeting, "screen-speakers")
    context = _cached(event, "speakers", lambda: rendering.speakers_context(meeting))
    return _part("console-speakers" if audience == "console" else "speakers", context)


@streams.renderer("participant.joined")
def render_joined(event):
    meeting, audience = _meeting_and_audience(event)
    if meeting is None or audience != "console":
        return None
    return _part("console-stats", _cached(event, "stats", lambda: rendering.stats_context(meeting)))


@streams.renderer("registration.changed")
def render_registration(event):
    meeting, _audience = _meeting_and_audience(event)
    if meeting is None:
        return None
    return _part("registration-count", {"meeting": meeting, "registered": meeting.registrations.count()})


@streams.renderer("screen.rotated")
def render_rotated(event):
    return None  # a control event: sockets re-check their subscriptions
