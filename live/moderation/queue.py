"""What a queue row shows: the item as it is now (through the registry), its pending reports and their reasons.
Used by the page, the htmx responses and the push alike."""

from __future__ import annotations

import logging
from collections import Counter

from django.db.models import Exists, OuterRef, Prefetch

from live.moderation import registry
from live.moderation.models import ActionLog, Case, Reason, Report

logger = logging.getLogger(__name__)


def open_cases(spaces: list[str] | None, *, viewer=None, sort: str = "newest", kind: str = ""):
    """Open cases, all of them (spaces=None: a global moderator) or those of `spaces`; never those about what
    `viewer` wrote (another moderator decides on them, and the reporters' names are not for the author)."""
    qs = Case.objects.filter(status=Case.Status.OPEN).select_related("author").prefetch_related(
        Prefetch("reports", queryset=Report.objects.filter(resolved_at__isnull=True).select_related("reporter"),
                 to_attr="pending"))
    if spaces is not None:
        qs = qs.filter(space__in=spaces)
    if viewer is not None:
        qs = qs.exclude(author=viewer)
    if kind:
        qs = qs.filter(kind=kind)
    if sort == "most":
        return qs.order_by("-report_count", "-last_reported_at", "-pk")
    return qs.order_by("-last_reported_at", "-pk")


def counter(space: str = "") -> dict:
    """The open-case count a stream's counter shows: everything (space="") or one space."""
    qs = Case.objects.filter(status=Case.Status.OPEN)
    if space:
        qs = qs.filter(space=space)
    slug = (space or "global").replace(".", "-")
    found = registry.get_space(space) if space else None
    title = str(found[0].title(found[1])) if found else space
    return {"id": f"queue-count-{slug}", "count": qs.count(), "space": space, "title": title}


def row(case: Case) -> dict:
    """Everything the queue row of `case` shows."""
    entry = registry.get(case.kind)
    obj = None
    if entry is not None:
        try:
            obj = entry.get_object(case.object_id)
        except (entry.model.DoesNotExist, ValueError):
            obj = None
    excerpt, url, hidden = case.excerpt, case.url, case.hidden_at is not None
    if obj is not None:
        try:
            excerpt, url, hidden = entry.excerpt(obj), entry.url(obj), bool(entry.is_hidden(obj))
        except Exception:  # the row still shows what the case stored; the bug is said, not swallowed
            logger.exception("queue row of case %s: its %s could not be shown afresh", case.pk, case.kind)
    pending = getattr(case, "pending", None)
    if pending is None:
        pending = list(case.reports.filter(resolved_at__isnull=True).select_related("reporter"))
    labels = dict(Reason.choices)
    reasons = [(labels.get(reason, reason), n) for reason, n in Counter(r.reason for r in pending).most_common()]
    space = registry.get_space(case.space) if case.space else None
    return {
        "case": case,
        "label": entry.verbose_name() if entry else case.kind,
        "hideable": entry.hideable if entry else False,
        "exists": obj is not None,
        "excerpt": excerpt,
        "url": url,
        "hidden": hidden,
        "reports": pending,
        "reasons": reasons,
        "space_title": space[0].title(space[1]) if space else "",
        "space_controls": bool(space and (space[0].lock or space[0].slow_mode)),
        "author": case.author,
    }


# --- one person (the page /moderation/people/<pk>/) ----------------------------------------------------------------

def person_cases(person, spaces: list[str] | None):
    """The cases about what `person` wrote: all of them (spaces=None: a global moderator) or those of `spaces`."""
    qs = Case.objects.filter(author=person).order_by("-updated_at")
    return qs if spaces is None else qs.filter(space__in=spaces)


def person_reports(person, spaces: list[str] | None, *, viewer=None):
    """The reports about `person`'s profile, with their reporters. A profile belongs to no space: they are for
    global moderators only (spaces=None); a space moderator gets none, and nobody the reports about themselves."""
    if spaces is not None or (viewer is not None and viewer.pk == person.pk):
        return Report.objects.none()
    return Report.objects.filter(kind="user", object_id=person.pk).select_related("reporter")


def person_actions(person, spaces: list[str] | None):
    """The moderation history of `person`: every action (spaces=None: a global moderator) or those taken in
    `spaces` (a warning or a block without a space is for global moderators only)."""
    qs = ActionLog.objects.filter(target_user=person).select_related("actor")
    return qs if spaces is None else qs.filter(space__in=spaces)


# --- what moderation hid ------------------------------------------------------------------------------------------

def is_hidden_by_moderation(kind: str, object_id) -> bool:
    """Whether moderation hid the item (a moderator, or the reports' threshold) and has not shown it again: only
    moderation's unhide may undo that, so that the case, the log and the author's page stay true."""
    return Case.objects.filter(kind=kind, object_id=object_id, hidden_at__isnull=False).exists()


def hidden_by_moderation(kind: str):
    """is_hidden_by_moderation as an expression, for annotating a list of items of `kind` in one query."""
    return Exists(Case.objects.filter(kind=kind, object_id=OuterRef("pk"), hidden_at__isnull=False))
