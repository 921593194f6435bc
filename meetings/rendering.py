"""What the live regions show, computed once for the page, the htmx response and the push alike."""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from meetings import services
from meetings.models import Contribution, Meeting, Poll


def join_url(meeting: Meeting) -> str:
    path = reverse("meetings:join")
    if meeting.join_code:
        path += "?" + urlencode({"code": meeting.join_code})
    return settings.PUBLIC_URL + path


def qr_svg(url: str) -> str:
    qr = segno.make(url, error="m")
    # omitsize: sized by CSS through the viewBox; no script, no style attribute: fine under our CSP.
    return mark_safe(qr.svg_inline(scale=1, border=2, omitsize=True, dark="#000", light="#fff",
                                   title="QR code"))


def report_url() -> str | None:
    try:
        return reverse("moderation:report")
    except NoReverseMatch:
        return None


def visible_contributions(meeting: Meeting):
    return (meeting.contributions.filter(status=Contribution.Status.APPROVED, hidden_at__isnull=True)
            .select_related("participant__user", "agenda_item").order_by("-approved_at", "-pk"))


def pinned_contribution(meeting: Meeting):
    return visible_contributions(meeting).filter(pinned=True).first()


def screen_poll(meeting: Meeting):
    """The open poll, else the one closed last during this session (its final results stay up)."""
    poll = meeting.polls.filter(status=Poll.Status.OPEN).order_by("-opened_at").first()
    if poll is None and meeting.live_opened_at:
        poll = (meeting.polls.filter(status=Poll.Status.CLOSED, closed_at__gte=meeting.live_opened_at)
                .order_by("-closed_at").first())
    return poll


def public_polls(meeting: Meeting):
    # "-status": "open" before "closed"; then the latest first.
    return list(meeting.polls.exclude(status=Poll.Status.DRAFT).order_by("-status", "-opened_at")
                .prefetch_related("choices"))


def common(meeting: Meeting) -> dict:
    return {"meeting": meeting, "max_length": settings.MEETINGS_CONTRIBUTION_MAX_LENGTH, "report_url": report_url()}


def phone_context(meeting: Meeting) -> dict:
    return {
        **common(meeting),
        "contributions": list(visible_contributions(meeting)[:200]),
        "pinned": pinned_contribution(meeting),
        "polls": [{"poll": p, "results": p.results(), "respondents": p.respondent_count()}
                  for p in public_polls(meeting)],
        "speakers": services.speaker_queue(meeting),
        "agenda": list(meeting.agenda_items.all()),
    }


SCREEN_REGIONS = ("screen-top", "screen-pinned", "screen-feed", "screen-poll", "screen-speakers")


def screen_context(meeting: Meeting, regions=SCREEN_REGIONS) -> dict:
    """What the screen shows; only what `regions` need (a push re-renders one or two regions, often)."""
    context = common(meeting)
    if "screen-pinned" in regions or "screen-feed" in regions:
        pinned = pinned_contribution(meeting)
        feed = visible_contributions(meeting)
        if pinned:
            feed = feed.exclude(pk=pinned.pk)
        context.update(pinned=pinned, feed=list(feed[:settings.MEETINGS_SCREEN_ITEMS]))
    if "screen-poll" in regions:
        poll = screen_poll(meeting)
        context.update(screen_poll=poll, screen_results=poll.results() if poll else [],
                       screen_respondents=poll.respondent_count() if poll else 0)
    if "screen-speakers" in regions:
        context["speakers"] = services.speaker_queue(meeting)[:5]
    if "screen-top" in regions:
        url = join_url(meeting)
        context.update(join_url=url, join_host=url.split("//", 1)[-1].split("?", 1)[0],
                       qr=qr_svg(url) if meeting.live_open else "")
    return context


def stats_context(meeting: Meeting) -> dict:
    return {**common(meeting), "counts": services.report_counts(meeting)}


def polls_context(meeting: Meeting) -> dict:
    return {**common(meeting),
            "console_polls": [{"poll": p, "results": p.results(), "respondents": p.respondent_count()}
                              for p in meeting.polls.order_by("-pk").prefetch_related("choices")]}


def speakers_context(meeting: Meeting) -> dict:
    return {**common(meeting), "speakers": services.speaker_queue(meeting)}


def console_context(meeting: Meeting) -> dict:
    contributions = meeting.contributions.select_related("participant__user", "agenda_item")
    return {
        **stats_context(meeting),
        **polls_context(meeting),
        **speakers_context(meeting),
        "queue": list(contributions.filter(status=Contribution.Status.PENDING, hidden_at__isnull=True)
                      .order_by("created_at", "pk")),
        "handled": list(contributions.exclude(status=Contribution.Status.PENDING, hidden_at__isnull=True)
                        .order_by("-approved_at", "-created_at", "-pk")[:200]),
        "agenda": list(meeting.agenda_items.all()),
    }
