"""How each meeting event looks to each audience: "public" (phones and the meeting page, on `meeting.<pk>`),
"screen" (the projector, `meeting.<pk>.screen`) and "console" (the facilitators, `meeting.<pk>.console`), one
stream each (meetings/streams.py). Every fragment renders from the current database state and swaps by DOM id, so
replaying an event, or applying it twice, is harmless. The screen's regions are re-rendered whole: its page stays
bounded.

One change appends its event to the three streams together (services._emit, `streams.append_together`): their
renderings share what they read (`r.once`: the meeting, the contribution...), loaded once for the three audiences
and both languages. Names passed to `r.once` name data, never an audience's rendering."""

from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import paths, streams
from live.html import csrf_input
from live.moderation import queue as moderation_queue
from live.moderation.renderers import report_form_html
from meetings import rendering, services
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


# --- the fragments a page and a push share -------------------------------------------------------------------------
# A contribution's item on the phones (and the meeting's live page), its card in the screen's feed and its item in
# the facilitators' console: built here, in the active language, by the pages (templatetags/meetings.py, through the
# partials `contribution`, `screen-item` and `console-item` of meetings/parts.html) and by the pushes below alike.
# Through Django's template engine, a contribution's push to the phones, the screen and the console in one language
# cost 5,423 Python calls of rendering (their nodes, includes, the report form); built here, 2,054 in all
# (bench.render_cost --pushes, docs/performance.md #17). Variables are escaped as the template engine does;
# translated texts are not (neither does `{% translate %}`). Each returns the bytes of its partial without the
# partial's surrounding newlines.

def _oob(oob) -> str:
    return 'hx-swap-oob="true"' if oob else ""


def _body(c) -> str:
    if c.body:
        return escape(c.body)
    deleted = _("[deleted]")
    return f'<span class="muted">{deleted}</span>'


def _guest(participant) -> str:
    if not participant.is_anonymous:
        return ""
    guest = _("guest")
    return f' <span class="muted">({guest})</span>'


def _pinned_badge(c) -> str:
    if not c.pinned:
        return ""
    text = _("On screen")
    return f'<span class="badge badge-pinned">{text}</span>'


def _answered_badge(c) -> str:
    if not c.answered_at:
        return ""
    text = _("Answered")
    return f'<span class="badge badge-answered">{text}</span>'


def vote_count_html(count: int, classes: str = "vote-count") -> str:
    """A contribution's "+3": seen as it is, read as what it counts (an aria-label on a span is not read)."""
    said = ngettext("Supported by %(count)s person", "Supported by %(count)s people", count) % {"count": count}
    return (f'<span class="{classes}"><span aria-hidden="true">+{count}</span> '
            f'<span class="visually-hidden">{said}</span></span>')


# `c.get_kind_display()` and `c.get_status_display()`'s labels (lazy, translated when escaped), without their per-call
# hashing of the choices (about 40 us each, twice a contribution on the console; debates/comment_html.py does the same).
_KIND_LABELS = dict(Contribution.Kind.choices)
_STATUS_LABELS = dict(Contribution.Status.choices)


def contribution_html(c, meeting, *, report_url=None, csrf_token=None, next_path=None, oob=False) -> str:
    """A visible contribution's item on the phones, with its +1 form and (when moderation is installed,
    `report_url`) its report form; `csrf_token` and `next_path` are the page's (a push has neither)."""
    pk, participant = c.pk, c.participant
    classes = f'kind-{escape(c.kind)}{" is-pinned" if c.pinned else ""}{" is-answered" if c.answered_at else ""}'
    author = f'data-author="{participant.user_id}"' if participant.user_id else ""
    agenda = f'<span class="muted">· {escape(c.agenda_item.title)}</span>' if c.agenda_item else ""
    vote_url = escape(paths.reverse_once("meetings:vote", meeting.pk, pk))
    support = _("support")
    report = ""
    if report_url:
        form = report_form_html("contribution", pk, csrf_token=csrf_token, next_path=next_path)
        report = f'<div class="signed-in-only">\n{form}\n</div>'
    return (f'<article id="contribution-{pk}" class="contribution card {classes}" data-by="{c.participant_id}" '
            f'{author} {_oob(oob)}>\n'
            f'  <p class="contribution-meta">\n'
            f'    <span class="badge kind-badge">{escape(_KIND_LABELS.get(c.kind, c.kind))}</span>\n'
            f'    <span class="author">{escape(participant.display_name)}</span>{_guest(participant)}\n'
            f'    {agenda}\n'
            f'    {_pinned_badge(c)}\n'
            f'    {_answered_badge(c)}\n'
            f'  </p>\n'
            f'  <p class="contribution-body">{_body(c)}</p>\n'
            f'  <div class="contribution-actions">\n'
            f'    <form method="post" action="{vote_url}" hx-post="{vote_url}" hx-swap="none" class="participant-only" '
            f'data-live-write="meetings.vote">{csrf_input(csrf_token)}<input type="hidden" name="meeting" '
            f'value="{meeting.pk}"><input type="hidden" name="contribution" value="{pk}">\n'
            f'      <button class="button vote-button" type="submit">+1 <span class="visually-hidden">{support}</span>'
            f'</button>\n'
            f'    </form>\n'
            f'    {vote_count_html(c.vote_count)}\n'
            f'    {report}\n'
            f'  </div>\n'
            f'</article>')


def screen_item_html(c) -> str:
    """A contribution's card in the screen's feed."""
    answered = _("answered") if c.answered_at else ""
    votes = vote_count_html(c.vote_count, "screen-votes")
    return (f'<li id="screen-item-{c.pk}" class="feed-item kind-{escape(c.kind)}'
            f'{" is-answered" if c.answered_at else ""}" data-contribution="{c.pk}">\n'
            f'  <p class="feed-body">{_body(c)}</p>\n'
            f'  <p class="feed-meta">{escape(c.participant.display_name)}'
            f'{f" · {votes}" if c.vote_count else ""}'
            f'{f" · {answered}" if c.answered_at else ""}</p>\n'
            f'</li>')


def _hidden_by_moderation(c) -> bool:
    """Read with the console's list (rendering.console_context annotates it), else asked here: hidden items only."""
    hidden = getattr(c, "hidden_by_moderation", None)
    if hidden is None:
        hidden = c.hidden_by_moderation = moderation_queue.is_hidden_by_moderation("contribution", c.pk)
    return hidden


def _moderation_buttons(c) -> str:
    status, buttons = c.status, []
    if status != "approved":
        text = _("Approve")
        buttons.append(f'<button class="button button-primary" type="submit" name="action" value="approve" '
                       f'data-shortcut="a">{text} <kbd>a</kbd></button>')
    else:
        buttons.append("")
    if status != "rejected":
        text = _("Reject")
        buttons.append(f'<button class="button" type="submit" name="action" value="reject" data-shortcut="r">'
                       f'{text} <kbd>r</kbd></button>')
    else:
        buttons.append("")
    if c.pinned:
        text = _("Unpin")
        buttons.append(f'<button class="button" type="submit" name="action" value="unpin">{text}</button>')
    elif status != "rejected" and not c.hidden_at:
        text = _("Pin on screen")
        buttons.append(f'<button class="button" type="submit" name="action" value="pin" data-shortcut="p">'
                       f'{text} <kbd>p</kbd></button>')
    else:
        buttons.append("")
    if c.hidden_at and _hidden_by_moderation(c):
        text = _("Hidden by moderation")
        buttons.append(f'<span class="badge">{text}</span>')
    elif c.hidden_at:
        text = _("Unhide")
        buttons.append(f'<button class="button" type="submit" name="action" value="unhide">{text}</button>')
    else:
        text = _("Hide")
        buttons.append(f'<button class="button" type="submit" name="action" value="hide" data-shortcut="h">'
                       f'{text}</button>')
    if c.answered_at:
        text = _("Not answered")
        buttons.append(f'<button class="button" type="submit" name="action" value="unanswered">{text}</button>')
    else:
        text = _("Answered")
        buttons.append(f'<button class="button" type="submit" name="action" value="answered">{text}</button>')
    rows = "".join(f"  {button}\n" for button in buttons)
    return f'<div class="row moderation-buttons">\n{rows}</div>'


def console_item_html(c, meeting, *, csrf_token=None) -> str:
    """A contribution's item in the console: in the queue while it waits, else among the handled ones, with the
    facilitators' buttons; `csrf_token` is the page's (a push has none)."""
    pk, participant, pending = c.pk, c.participant, c.is_pending
    if pending:
        ident, state, status = "queue", "queue-item", ""
    else:
        ident = "row"
        state = f'handled-item status-{escape(c.status)}{" is-hidden" if c.hidden_at else ""}'
        shown = _("Hidden") if c.hidden_at else escape(_STATUS_LABELS.get(c.status, c.status))
        status = f'<span class="badge status-badge">{shown}</span>'
    agenda = f' <span class="muted">· {escape(c.agenda_item.title)}</span>' if c.agenda_item else ""
    moderate_url = escape(paths.reverse_once("meetings:moderate", meeting.pk, pk))
    return (f'<article id="{ident}-{pk}" class="console-item card {state}{" is-pinned" if c.pinned else ""}" '
            f'tabindex="0" data-contribution="{pk}">\n'
            f'  <p class="contribution-meta"><span class="badge kind-badge">{escape(_KIND_LABELS.get(c.kind, c.kind))}</span> '
            f'<span class="author">{escape(participant.display_name)}</span>{_guest(participant)}{agenda}\n'
            f'    {status}\n'
            f'    {_pinned_badge(c)}\n'
            f'    {_answered_badge(c)}\n'
            f'    {vote_count_html(c.vote_count, "muted vote-count")}\n'
            f'  </p>\n'
            f'  <p class="contribution-body">{_body(c)}</p>\n'
            f'  <form method="post" action="{moderate_url}" hx-post="{moderate_url}" hx-swap="none">'
            f'{csrf_input(csrf_token)}\n'
            f'    \n{_moderation_buttons(c)}\n\n'
            f'  </form>\n'
            f'</article>')


# --- what a contribution's change pushes ---------------------------------------------------------------------------
# (What the partials contribution-insert, contribution-delete, screen-feed-insert and console-contribution were.)

def contribution_insert_html(c, meeting, *, report_url=None) -> str:
    return f'<div hx-swap-oob="afterbegin:#contributions">\n{contribution_html(c, meeting, report_url=report_url)}\n</div>'


def contribution_delete_html(c) -> str:
    return f'<article id="contribution-{c.pk}" hx-swap-oob="delete"></article>'


def screen_feed_insert_html(c) -> str:
    return (f'<div hx-swap-oob="afterbegin:#screen-feed-list">\n{screen_item_html(c)}\n</div>'
            f'<li id="screen-feed-empty" hx-swap-oob="delete"></li>')


def console_contribution_html(c, meeting) -> str:
    """The queue or the handled list gets the item (where it is no longer, it is deleted)."""
    item = console_item_html(c, meeting)
    if c.is_pending:
        return (f'\n\n<div hx-swap-oob="beforeend:#queue">\n{item}\n</div>\n'
                f'<article id="row-{c.pk}" hx-swap-oob="delete"></article>\n\n')
    return (f'\n\n<article id="queue-{c.pk}" hx-swap-oob="delete"></article>\n'
            f'<div hx-swap-oob="afterbegin:#handled">\n{item}\n</div>\n\n')


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
    contribution, also, report_url = _contribution(event, r), _also(event, r), rendering.report_url()
    html = []
    if contribution is not None:
        if contribution.is_visible:
            html.append(contribution_insert_html(contribution, meeting, report_url=report_url))
            if event.data.get("announce"):
                text = _("New contribution: %(text)s") % {"text": contribution.body[:120]}
                html.append(streams.announcement(text))
        else:
            html.append(contribution_delete_html(contribution))
    for c in also:
        if c.is_visible:
            html.append(f"\n{contribution_html(c, meeting, report_url=report_url, oob=True)}\n")
    if not _arrived(event, contribution):
        pinned = r.once("pinned", lambda: rendering.pinned_contribution(meeting))
        html.append(_part("pinned", {**rendering.common(meeting), "pinned": pinned}))
    return "".join(html)


@renderer("contribution.changed", audience=SCREEN)
def render_contribution_on_screen(event, r, meeting):
    """An arriving contribution inserts its own card at the top of the feed (the screen keeps the latest
    MEETINGS_SCREEN_ITEMS); any other change re-renders the pinned one and the feed from the current state."""
    contribution = _contribution(event, r)
    if _arrived(event, contribution):
        return screen_feed_insert_html(contribution)
    return _screen(r, meeting, "screen-pinned", "screen-feed")


@renderer("contribution.changed", audience=CONSOLE)
def render_contribution_on_console(event, r, meeting):
    contribution = _contribution(event, r)
    html = [console_contribution_html(c, meeting) for c in ([contribution] if contribution else []) + _also(event, r)]
    html.append(_stats(r, meeting))
    return "".join(html)


# --- the session -------------------------------------------------------------------------------------------------

@renderer("session.changed", audience=PUBLIC)
@renderer("meeting.changed", audience=PUBLIC)
def render_session(event, r, meeting):
    context = _speakers(r, meeting)
    parts = [_part(name, context) for name in ("live-state", "current-item", "speakers")]
    if event.data.get("guests_closed") and not meeting.allow_anonymous:
        parts.append(streams.announcement(services.guests_closed_message()))
    if not event.data.get("announce"):
        return "".join(parts)  # a setting or the meeting's details changed: the session did not open nor close
    state = _("The live session is open.") if meeting.live_open else _("The live session is closed.")
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
    card = r.once("card", lambda: _poll_card(poll, meeting))
    if event.data.get("forms_kept"):
        # Closed or reopened: the phones have its card, each with its own answer form (their answer checked or
        # their words filled in): only its state and results change, so no phone has to ask for its form again.
        html = _part("poll-head", card) + _part("poll-results", card)
    else:
        # Its first opening (or its texts changed): the whole card, the public one (nobody's answer checked).
        html = _render("poll-insert", card)
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
@streams.renderer("facilitators.changed")
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
