"""How each meeting event looks to each audience: "public" (phones and the meeting page, on `meeting.<pk>`),
"screen" (the projector, `meeting.<pk>.screen`) and "console" (the facilitators, `meeting.<pk>.console`), one
stream each (meetings/streams.py). Every fragment renders from the current database state and swaps by DOM id, so
replaying an event, or applying it twice, is harmless. The screen's regions are re-rendered whole: its page stays
bounded.

One change appends its event to the three streams together (services._emit, `streams.append_together`): their
renderings share what they read (`r.once`: the meeting, the contribution...), loaded once for the three audiences
and both languages. Names passed to `r.once` name data, never an audience's rendering."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from live import streams
from meetings import rendering
from meetings.models import Contribution, Meeting, Poll

PARTS = "meetings/parts.html"
PUBLIC, SCREEN, CONSOLE = "public", "screen", "console"


def _render(name: str, context: dict) -> str:
    # Pushed fragments have no request: htmx sends the CSRF token as a header (see base.html).
    return render_to_string(f"{PARTS}#{name}", {**context, "csrf_token": "NOTPROVIDED"})


def _part(name: str, context: dict) -> str:
    return _render(name, {**context, "oob": True})


def _meeting(event, r) -> Meeting | None:
    pk = int(event.stream.split(".")[1])
    return r.once("meeting", lambda: Meeting.objects.filter(pk=pk).select_related("current_item").first())


def renderer(kind: str, *, audience: str):
    """Register `fn(event, r, meeting)` as how `kind` renders for `audience`: `meeting` is the event's meeting, read
    once for all the event's renderings (or handed over by the service that wrote it); an event of a meeting deleted
    since shows nothing. Stack them to register one function for several kinds."""

    def decorator(fn):
        def render(event, r):
            meeting = _meeting(event, r)
            return None if meeting is None else fn(event, r, meeting)

        streams.renderer(kind, audience=audience)(render)
        return fn

    return decorator


def _screen(r, meeting, *regions) -> str:
    context = r.once(("screen", regions), lambda: rendering.screen_context(meeting, regions))
    return "".join(_part(region, context) for region in regions)


def _stats(r, meeting) -> str:
    return _part("console-stats", r.once("stats", lambda: rendering.stats_context(meeting)))


def _polls(r, meeting) -> str:
    return _part("console-polls", r.once("polls", lambda: rendering.polls_context(meeting)))


def _speakers(r, meeting) -> dict:
    return r.once("speakers", lambda: rendering.speakers_context(meeting))


# --- contribution.changed ------------------------------------------------------------------------------------------

def _contribution(event, r) -> Contribution | None:
    return r.once("contribution", lambda: Contribution.objects.filter(pk=event.data["contribution"])
                  .select_related("participant__user", "agenda_item").first())


def _also(event, r) -> list[Contribution]:
    ids = event.data.get("also")
    if not ids:
        return []  # most changes: not even the ORM's query building (a tenth of a contribution's push)
    return r.once("also", lambda: list(Contribution.objects.filter(pk__in=ids)
                                       .select_related("participant__user", "agenda_item")))


def _arrived(event, contribution) -> bool:
    """The event brings `contribution` onto the phones and the screen (posted without pre-moderation, or approved):
    its frames carry it, and the regions around it (the pinned one) do not change. Such frames never depend on when
    they are rendered: every contribution that arrives reaches the screen, in the order of its stream, even when the
    hub fills a hole from the log after later contributions committed (docs/performance.md)."""
    return bool(event.data.get("announce")) and contribution is not None and contribution.is_visible \
        and not contribution.pinned


@renderer("contribution.changed", audience=PUBLIC)
def render_contribution(event, r, meeting):
    contribution, also, base = _contribution(event, r), _also(event, r), rendering.common(meeting)
    html = []
    if contribution is not None:
        if contribution.is_visible:
            html.append(_render("contribution-insert", {**base, "c": contribution}))
            if event.data.get("announce"):
                text = _("New contribution: %(text)s") % {"text": contribution.body[:120]}
                html.append(streams.announcement(text))
        else:
            html.append(_render("contribution-delete", {"c": contribution}))
    for c in also:
        if c.is_visible:
            html.append(_part("contribution", {**base, "c": c}))
    if not _arrived(event, contribution):
        pinned = r.once("pinned", lambda: rendering.pinned_contribution(meeting))
        html.append(_part("pinned", {**base, "pinned": pinned}))
    return "".join(html)


@renderer("contribution.changed", audience=SCREEN)
def render_contribution_on_screen(event, r, meeting):
    """An arriving contribution inserts its own card at the top of the feed (the screen keeps the latest
    MEETINGS_SCREEN_ITEMS); any other change re-renders the pinned one and the feed from the current state."""
    contribution = _contribution(event, r)
    if _arrived(event, contribution):
        return _render("screen-feed-insert", {**rendering.common(meeting), "c": contribution})
    return _screen(r, meeting, "screen-pinned", "screen-feed")


@renderer("contribution.changed", audience=CONSOLE)
def render_contribution_on_console(event, r, meeting):
    contribution, base = _contribution(event, r), rendering.common(meeting)
    html = [_render("console-contribution", {**base, "c": c})
            for c in ([contribution] if contribution else []) + _also(event, r)]
    html.append(_stats(r, meeting))
    return "".join(html)


# --- the session -------------------------------------------------------------------------------------------------

@renderer("session.changed", audience=PUBLIC)
@renderer("meeting.changed", audience=PUBLIC)
def render_session(event, r, meeting):
    context = _speakers(r, meeting)
    state = _("The live session is open.") if meeting.live_open else _("The live session is closed.")
    parts = [_part(name, context) for name in ("live-state", "current-item", "speakers")]
    return "".join(parts) + streams.announcement(state)


@renderer("session.changed", audience=SCREEN)
@renderer("meeting.changed", audience=SCREEN)
def render_session_on_screen(event, r, meeting):
    return _part("screen-body", r.once("screen", lambda: rendering.screen_context(
        meeting)))


@renderer("session.changed", audience=CONSOLE)
@renderer("meeting.changed", audience=CONSOLE)
def render_session_on_console(event, r, meeting):
    context = r.once("console", lambda: rendering.console_context(meeting))
    return "".join(_part(name, context) for name in ("console-session", "console-stats", "console-agenda",
                                                      "console-polls", "console-speakers"))


# --- the agenda --------------------------------------------------------------------------------------------------

@renderer("agenda.changed", audience=PUBLIC)
def render_agenda(event, r, meeting):
    item = meeting.current_item
    announce = streams.announcement(_("Now on the agenda: %(title)s") % {"title": item.title}) if item else ""
    return _part("current-item", rendering.common(meeting)) + announce


@renderer("agenda.changed", audience=SCREEN)
def render_agenda_on_screen(event, r, meeting):
    return _screen(r, meeting, "screen-top")


@renderer("agenda.changed", audience=CONSOLE)
def render_agenda_on_console(event, r, meeting):
    agenda = r.once("agenda", lambda: list(meeting.agenda_items.all()))
    return _part("console-agenda", {**rendering.common(meeting), "agenda": agenda})


# --- polls -------------------------------------------------------------------------------------------------------

def _poll_card(poll, meeting):
    return {**rendering.common(meeting), "p": rendering.poll_card(poll)}


@renderer("poll.changed", audience=PUBLIC)
def render_poll(event, r, meeting):
    poll = r.once("poll", lambda: Poll.objects.filter(pk=event.data["poll"]).prefetch_related("choices").first())
    if poll is None or poll.status == Poll.Status.DRAFT:
        return _render("poll-delete", {"pk": event.data["poll"]})
    html = _render("poll-insert", r.once("card", lambda: _poll_card(poll, meeting)))
    if poll.is_open:
        html += streams.announcement(_("New poll: %(question)s") % {"question": poll.question})
    return html


@renderer("poll.answered", audience=PUBLIC)
def render_poll_answered(event, r, meeting):
    poll = r.once("poll", lambda: Poll.objects.filter(pk=event.data["poll"]).first())
    if poll is None:
        return None
    card = r.once("card", lambda: _poll_card(poll, meeting))
    html = _part("poll-results", card)
    respondents, answers = card["p"]["respondents"], event.data.get("answers", 1)
    if poll.is_words and card["p"]["words"] and respondents and respondents // 10 > max(0, respondents - answers) // 10:
        # Politely, not at every answer: when the frame's answers (one or many, meetings/frames.py) reached the next
        # ten people.
        top = ", ".join(w.text for w in card["p"]["words"][:3])
        html += streams.announcement(_("%(count)s answers. Most frequent: %(words)s")
                                     % {"count": respondents, "words": top})
    return html


@renderer("poll.changed", audience=SCREEN)
@renderer("poll.answered", audience=SCREEN)
def render_poll_on_screen(event, r, meeting):
    return _screen(r, meeting, "screen-poll")


@renderer("poll.changed", audience=CONSOLE)
@renderer("poll.answered", audience=CONSOLE)
def render_poll_on_console(event, r, meeting):
    return _polls(r, meeting)


# --- speakers, participants, registrations ------------------------------------------------------------------------

@renderer("speakers.changed", audience=PUBLIC)
def render_speakers(event, r, meeting):
    return _part("speakers", _speakers(r, meeting))


@renderer("speakers.changed", audience=SCREEN)
def render_speakers_on_screen(event, r, meeting):
    return _screen(r, meeting, "screen-speakers")


@renderer("speakers.changed", audience=CONSOLE)
def render_speakers_on_console(event, r, meeting):
    return _part("console-speakers", _speakers(r, meeting))


@renderer("participant.joined", audience=CONSOLE)
def render_joined(event, r, meeting):
    return _stats(r, meeting)


@renderer("registration.changed", audience=streams.ALL)
def render_registration(event, r, meeting):
    registered = r.once("registered", lambda: meeting.registrations.count())
    return _part("registration-count", {"meeting": meeting, "registered": registered})


@streams.renderer("screen.rotated")
def render_rotated(event, r):
    return None  # a control event: sockets re-check their subscriptions


# --- reactions ----------------------------------------------------------------------------------------------------

@renderer("reactions.changed", audience=SCREEN)
def render_reactions_on_screen(event, r, meeting):
    counts = event.data.get("counts") or {}
    bubbles = []
    for i, (kind, emoji, _label) in enumerate(rendering.REACTIONS):
        n = counts.get(kind, 0)
        bubbles += [{"emoji": emoji, "lane": (event.seq + i * 3 + j * 5) % 10} for j in range(min(n, 6))]
    context = r.once(("screen", ("screen-reactions",)),
                     lambda: rendering.screen_context(meeting, ("screen-reactions",)))
    return (_render("reaction-burst", {"slot": event.seq % rendering.BURST_SLOTS, "bubbles": bubbles})
            + _part("screen-reaction-totals", context))


@renderer("reactions.changed", audience=CONSOLE)
def render_reactions_on_console(event, r, meeting):
    return _part("console-reactions", r.once(
        "reactions", lambda: rendering.reactions_context(meeting)))
