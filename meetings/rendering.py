"""What the live regions show, computed once for the page, the htmx response and the push alike."""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from live import paths
from live.moderation import queue as moderation_queue
from meetings import services, words
from meetings.models import Contribution, Meeting, Poll, ReactionCount, WordEntry, WordRule

# The reactions a phone can tap, with what a screen reader says (services.REACTION_KINDS, in this order).
REACTIONS = (("clap", "👏", _("Applause")), ("heart", "❤️", _("Love it")), ("laugh", "😂", _("Funny")),
             ("think", "🤔", _("Food for thought")), ("thumbs", "👍", _("Agree")))


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
    # Every region's context carries it (`common`): the report forms show where it is not None.
    return paths.reverse_or_none("moderation:report")


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


BURST_SLOTS = 8  # the screen keeps the last 8 frames' bubbles (2 s at 4 frames a second): its page stays bounded


def _rules(poll: Poll) -> list[WordRule]:
    return list(WordRule.objects.filter(meeting=poll.meeting_id).filter(
        Q(poll=poll) | Q(poll__isnull=True, kind=WordRule.Kind.STOP)))


def word_rules(poll: Poll, rules: list[WordRule] | None = None) -> dict:
    rules = _rules(poll) if rules is None else rules
    return {"merges": {r.key: r.target for r in rules if r.kind == WordRule.Kind.MERGE},
            "stop": frozenset(r.key for r in rules if r.kind == WordRule.Kind.STOP),
            "hidden": frozenset(r.key for r in rules if r.kind == WordRule.Kind.HIDE)}


def word_cloud(poll: Poll, limit: int | None = None, rules: list[WordRule] | None = None) -> dict:
    """The visible words (most frequent first, at most MEETINGS_WORDCLOUD_MAX_WORDS), the hidden ones with their
    counts, and how many people have a visible entry. Hidden words are in no list but `hidden`."""
    entries = list(poll.word_entries.filter(status=WordEntry.Status.APPROVED)
                   .values_list("participant", "key", "text").order_by("pk"))
    decided = word_rules(poll, rules)
    visible, hidden = words.cloud([(key, text) for _person, key, text in entries],
                                  limit=limit or settings.MEETINGS_WORDCLOUD_MAX_WORDS, **decided)
    return {"words": visible, "hidden": hidden,
            "respondents": words.respondents([(person, key) for person, key, _text in entries], **decided)}


def scale_mean(results: list[dict]) -> float | None:
    total = sum(r["count"] for r in results)
    if not total:
        return None
    return round(sum(int(r["choice"].label) * r["count"] for r in results) / total, 1)


def poll_card(poll: Poll) -> dict:
    """What a poll's card, its results and the screen show, for any kind of poll."""
    if poll.is_words:
        cloud = word_cloud(poll)
        return {"poll": poll, "results": [], "respondents": cloud["respondents"], "words": cloud["words"],
                "word_slots": word_slots()}
    results = poll.results()
    card = {"poll": poll, "results": results, "respondents": poll.respondent_count()}
    if poll.is_scale:
        card["mean"] = scale_mean(results)
    return card


def word_decisions(hidden: dict[str, int], rules: list[WordRule]) -> list[dict]:
    """What the facilitators decided on a cloud and the console can take back, one list each (the empty ones left
    out): the hidden words (with how many entries they hide), this cloud's merges, the meeting's stop-list."""
    groups = [
        {"title": _("Hidden words"), "css": "hidden-words", "action": "unhide", "button": _("Show again"),
         "words": [{"key": key, "text": key, "note": f"({count})"} for key, count in sorted(hidden.items())]},
        {"title": _("Merged words"), "css": "merged-words", "action": "unmerge", "button": _("Count apart again"),
         "words": [{"key": key, "text": _("%(key)s counted as %(target)s") % {"key": key, "target": target}}
                   for key, target in sorted((r.key, r.target) for r in rules if r.kind == WordRule.Kind.MERGE)]},
        {"title": _("The meeting's stop-list"), "css": "stopped-words", "action": "unstop",
         "button": _("Take off the stop-list"),
         "words": [{"key": key, "text": key} for key in sorted(r.key for r in rules if r.kind == WordRule.Kind.STOP)]},
    ]
    return [group for group in groups if group["words"]]


def console_poll_card(poll: Poll) -> dict:
    card = poll_card(poll)
    if poll.is_words:
        rules = _rules(poll)
        cloud = word_cloud(poll, rules=rules)
        card.update(decisions=word_decisions(cloud["hidden"], rules),
                    pending=list(poll.word_entries.filter(status=WordEntry.Status.PENDING)
                                 .select_related("participant__user").order_by("created_at", "pk")[:200]))
    return card


def reaction_totals(meeting: Meeting) -> list[dict]:
    """Each reaction with its count for the whole meeting, in the phones' order."""
    counts = dict(ReactionCount.objects.filter(meeting=meeting).values_list("kind").annotate(n=Sum("count")))
    return [{"kind": kind, "emoji": emoji, "label": label, "count": counts.get(kind, 0)}
            for kind, emoji, label in REACTIONS]


def reactions_by_item(meeting: Meeting) -> list[dict]:
    """Counts per agenda item (the console and the closing report): [{"item": title or None, "counts": [...]}]."""
    rows = ReactionCount.objects.filter(meeting=meeting).values_list("agenda_item", "kind").annotate(n=Sum("count"))
    by_item: dict = {}
    for item, kind, n in rows:
        by_item.setdefault(item, {})[kind] = n
    titles = dict(meeting.agenda_items.values_list("pk", "title"))
    order = [pk for pk in titles if pk in by_item] + ([None] if None in by_item else [])
    return [{"item": titles.get(pk), "counts": [{"kind": k, "emoji": e, "label": label,
                                                  "count": by_item[pk].get(k, 0)} for k, e, label in REACTIONS]}
            for pk in order]


def public_polls(meeting: Meeting):
    # "-status": "open" before "closed"; then the latest first.
    return list(meeting.polls.exclude(status=Poll.Status.DRAFT).order_by("-status", "-opened_at")
                .prefetch_related("choices"))


def common(meeting: Meeting) -> dict:
    return {"meeting": meeting, "max_length": settings.MEETINGS_CONTRIBUTION_MAX_LENGTH, "report_url": report_url(),
            "screen_items": settings.MEETINGS_SCREEN_ITEMS,
            "word_entries_max": settings.MEETINGS_WORDCLOUD_ENTRIES,
            "word_max_length": settings.MEETINGS_WORDCLOUD_ENTRY_MAX_LENGTH}


def word_slots(mine=()) -> list[str]:
    """The answer fields of an open-text question: mine first, then empty ones."""
    mine = list(mine)[:settings.MEETINGS_WORDCLOUD_ENTRIES]
    return mine + [""] * (settings.MEETINGS_WORDCLOUD_ENTRIES - len(mine))


def phone_context(meeting: Meeting) -> dict:
    return {
        **common(meeting),
        "contributions": list(visible_contributions(meeting)[:200]),
        "pinned": pinned_contribution(meeting),
        "polls": [poll_card(p) for p in public_polls(meeting)],
        "reactions": REACTIONS,
        "speakers": services.speaker_queue(meeting),
        "agenda": list(meeting.agenda_items.all()),
    }


SCREEN_REGIONS = ("screen-top", "screen-pinned", "screen-feed", "screen-poll", "screen-speakers", "screen-reactions")


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
        card = poll_card(poll) if poll else {}
        context.update(screen_poll=poll, screen_results=card.get("results", []),
                       screen_respondents=card.get("respondents", 0), screen_words=card.get("words", []),
                       screen_mean=card.get("mean"))
    if "screen-reactions" in regions:
        context.update(reaction_totals=reaction_totals(meeting), burst_slots=range(BURST_SLOTS))
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
            "console_polls": [console_poll_card(p) for p in meeting.polls.order_by("-pk").prefetch_related("choices")]}


def reactions_context(meeting: Meeting) -> dict:
    return {**common(meeting), "reactions_by_item": reactions_by_item(meeting)}


def speakers_context(meeting: Meeting) -> dict:
    return {**common(meeting), "speakers": services.speaker_queue(meeting)}


def console_context(meeting: Meeting) -> dict:
    contributions = meeting.contributions.select_related("participant__user", "agenda_item").annotate(
        hidden_by_moderation=moderation_queue.hidden_by_moderation("contribution"))
    return {
        **stats_context(meeting),
        **polls_context(meeting),
        **speakers_context(meeting),
        **reactions_context(meeting),
        "queue": list(contributions.filter(status=Contribution.Status.PENDING, hidden_at__isnull=True)
                      .order_by("created_at", "pk")),
        "handled": list(contributions.exclude(status=Contribution.Status.PENDING, hidden_at__isnull=True)
                        .order_by("-approved_at", "-created_at", "-pk")[:200]),
        "agenda": list(meeting.agenda_items.all()),
    }


def report_context(meeting: Meeting) -> dict:
    """The closing report's results: each word cloud (visible words only), each scale (distribution and mean), the
    reactions per agenda item."""
    polls = meeting.polls.filter(kind__in=[Poll.Kind.WORDS, Poll.Kind.SCALE]).exclude(status=Poll.Status.DRAFT)
    return {"report_polls": [poll_card(p) for p in polls.order_by("pk").prefetch_related("choices")],
            "reactions_by_item": reactions_by_item(meeting)}
