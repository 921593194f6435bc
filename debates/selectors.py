"""Reading debates for pages and pushes: a fixed number of queries whatever the size of the thread."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from debates import presence
from debates.models import Comment, Debate, Stance, Vote
from live import paths

SORTS = {
    "best": ["-score", "-created_at", "-pk"],
    "recent": ["-created_at", "-pk"],
    "oldest": ["created_at", "pk"],
    "discussed": ["-thread_size", "-created_at", "-pk"],
}
DEFAULT_SORT = "best"
STANCE_FILTERS = {"for": Stance.FOR, "neutral": Stance.NEUTRAL, "against": Stance.AGAINST}


def with_readers(debates) -> list:
    """The debates, each with `readers`: how many people have its page open now."""
    debates = list(debates)
    for debate in debates:
        debate.readers = presence.count(debate.pk)
    return debates


def list_item(debate_id: int):
    """One debate as the list shows it (its comment count and readers), or None."""
    return next(iter(with_readers(debate_list().filter(pk=debate_id))), None)


def debate_list(*, state="", q=""):
    debates = Debate.objects.select_related("author").annotate(
        comment_count=Count("comments", filter=Q(comments__deleted_at__isnull=True,
                                                 comments__hidden_at__isnull=True))
    ).open_first()
    if state == "open":
        debates = debates.filter(closed_at__isnull=True)
    elif state == "closed":
        debates = debates.filter(closed_at__isnull=False)
    q = (q or "").strip()[:100]
    if q:
        for word in q.split()[:8]:
            debates = debates.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return debates


def _tallies_sql() -> str:
    # Written out: building and compiling the ORM's aggregate (four filtered counts) cost about 1 ms of CPU, five
    # times the statement itself, on every comment's push (docs/performance.md, #17). The same definition as
    # `Comment.objects.filter(debate=...).visible()` counted by stance (tests/debates/test_selectors.py checks it).
    table = Comment._meta.db_table
    stance = 'COUNT(CASE WHEN "parent_id" IS NULL AND "alignment" = %s THEN 1 END)'
    return (f'SELECT COUNT(*), {stance}, {stance}, {stance} FROM "{table}" '
            f'WHERE "debate_id" = %s AND "deleted_at" IS NULL AND "hidden_at" IS NULL')


def tallies(debate) -> dict:
    """Live for/neutral/against counts of the visible root comments, and the visible comments in all."""
    with connection.cursor() as cursor:
        cursor.execute(_tallies_sql(), [Stance.FOR, Stance.NEUTRAL, Stance.AGAINST, getattr(debate, "pk", debate)])
        return tallies_of(*cursor.fetchone())


def tallies_of(total: int, for_: int, neutral: int, against: int) -> dict:
    """The tallies of these counts: the visible comments, and the visible roots of each stance."""
    stances = for_ + neutral + against
    return {
        "total": total, "for": for_, "neutral": neutral, "against": against,
        "roots": stances,
        "for_pct": round(100 * for_ / stances) if stances else 0,
        "against_pct": round(100 * against / stances) if stances else 0,
        "neutral_pct": (100 - round(100 * for_ / stances) - round(100 * against / stances)) if stances else 0,
    }


def comment_count(debate_id: int) -> int | None:
    """The debate's visible comments (the list's count, `debate_list`'s `comment_count`), or None when the debate
    is gone: one statement, without the list's joins."""
    table, debates = Comment._meta.db_table, Debate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT (SELECT COUNT(*) FROM "{table}" c WHERE c."debate_id" = d."id" '
                       f'AND c."deleted_at" IS NULL AND c."hidden_at" IS NULL) FROM "{debates}" d WHERE d."id" = %s',
                       [debate_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _with_people(qs):
    return qs.select_related("author", "hidden_by")


def attach_replies(parents: list[Comment], *, all_direct: bool = False) -> list[Comment]:
    """Give each comment in `parents` its `.children` (the first REPLIES_SHOWN replies at each level, oldest first)
    and `.more_replies`, in ONE query for the whole subtree. `all_direct`: every direct reply of the parents (the
    "show N more replies" request)."""
    shown = settings.DEBATES_REPLIES_SHOWN
    for parent in parents:
        parent.children, parent.more_replies = [], 0
    if not parents:
        return parents
    by_id = {parent.pk: parent for parent in parents}
    top = set(by_id)
    if all_direct:
        # Direct replies of these parents, and the first replies of each of them.
        ids = list(by_id)
        qs = Comment.objects.filter(Q(parent_id__in=ids) | Q(parent__parent_id__in=ids))
    else:
        roots = [p.pk for p in parents if p.depth == 0]
        others = [p.pk for p in parents if p.depth > 0]
        qs = Comment.objects.filter(Q(root_id__in=roots) | Q(parent_id__in=others))
    qs = qs.annotate(position=Window(RowNumber(), partition_by=[F("parent_id")],
                                     order_by=[F("created_at").asc(), F("pk").asc()]))
    # Only the rows that can be shown leave the database (a thread of 500 replies sends 3 per level, not 500).
    qs = _with_people(qs.filter(Q(parent_id__in=list(top)) | Q(position__lte=shown) if all_direct
                                else Q(position__lte=shown)))
    replies = sorted(qs, key=lambda c: (c.depth, c.created_at, c.pk))
    for reply in replies:
        parent = by_id.get(reply.parent_id)
        if parent is None:
            continue  # under a folded reply: not shown
        if (all_direct and parent.pk in top) or reply.position <= shown:
            reply.children, reply.more_replies = [], 0
            parent.children.append(reply)
            by_id[reply.pk] = reply
    for comment in by_id.values():
        comment.more_replies = max(comment.reply_count - len(comment.children), 0)
    return parents


def root_page(debate, *, sort=DEFAULT_SORT, page=1, stance=None) -> tuple[list[Comment], bool]:
    """One page of root comments with their folded replies, and whether more pages follow."""
    size = settings.DEBATES_PAGE_SIZE
    page = max(1, page)
    qs = Comment.objects.filter(debate=debate, parent__isnull=True)
    if stance is not None:
        qs = qs.filter(alignment=stance)
    qs = _with_people(qs).order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
    roots = list(qs[(page - 1) * size: page * size + 1])
    has_more = len(roots) > size
    roots = roots[:size]
    attach_replies(roots)
    return roots, has_more


def flatten(comments: list[Comment]):
    for comment in comments:
        yield comment
        yield from flatten(getattr(comment, "children", []))


def my_votes(user, comments) -> dict[int, int]:
    if not getattr(user, "is_authenticated", False):
        return {}
    ids = [c.pk for c in comments]
    if not ids:
        return {}
    return dict(Vote.objects.filter(user=user, comment_id__in=ids).values_list("comment_id", "value"))


def apply_votes(user, roots) -> None:
    """Set `.my_vote` on every comment of the page (one query)."""
    comments = list(flatten(roots))
    votes = my_votes(user, comments)
    for comment in comments:
        comment.my_vote = votes.get(comment.pk, 0)


def moderation_urls() -> dict:
    """The moderation app's report and act endpoints (empty when it is not installed), for the page, the htmx
    answers and the pushed fragments alike."""
    return {f"{name}_url": paths.reverse_or_none(f"moderation:{name}") or "" for name in ("report", "act")}
