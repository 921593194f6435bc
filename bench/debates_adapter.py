"""How the benchmark creates a debate and posts to it: the one place that knows the debates app's shapes.

Debates are opened and seeded through `debates.services` (rate limits off in the seeding process only); the
benchmark's writers then post through the real HTTP endpoint, `POST /debates/<pk>/comments/` (form fields `body`
and `alignment`, session cookie, CSRF token from the page), with rate limits on.
"""

from __future__ import annotations

import time
from pathlib import Path

PAGE_SIZE_HINT = 20
ROOT = Path(__file__).resolve().parent.parent


def ready() -> bool:
    services = ROOT / "debates" / "services.py"
    return (services.exists() and "def post_comment(" in services.read_text()
            and (ROOT / "templates" / "debates" / "debate_detail.html").exists())


def make_debate(args, *, user, session_for, writers):
    from django.test.utils import override_settings
    from django.urls import reverse

    from debates import services
    from debates.models import Stance
    from live import streams

    facilitator = user("benchfacilitator", role="facilitator")
    stances = [Stance.FOR, Stance.NEUTRAL, Stance.AGAINST]
    with override_settings(RATE_LIMITS_ENABLED=False):
        debate = services.create_debate(
            author=facilitator, title=f"Benchmark debate {time.strftime('%H:%M:%S')}",
            description="Should the square in front of the city hall become a pedestrian zone? "
                        "A debate opened by the benchmark suite.")
        count = int(args.get("comments", 0))
        if count:
            authors = [user(f"benchauthor{k}") for k in range(25)]
            roots = []
            for i in range(min(count, 60)):
                parent = roots[-1 - (i % min(len(roots), 40))] if roots and i % 3 == 2 else None
                comment = services.post_comment(
                    author=authors[i % len(authors)], debate=debate, parent=parent,
                    alignment=stances[i % 3],
                    body=f"Seeded comment {i}. The tram line should stop closer to the market, "
                         f"and the square needs more shade in summer.")
                if parent is None:
                    roots.append(comment)
            if count > 60:
                _bulk_comments(debate, authors, roots, count - 60, stances)
    cursor = streams.cursor(debate.stream_key)
    return {"stream": debate.stream_key, "epoch": cursor.epoch, "seq": cursor.seq, "debate": debate.pk,
            "page": debate.get_absolute_url(), "post": reverse("debates:comment_create", args=[debate.pk]),
            "field": "body", "extra": {"alignment": "0"},
            "writer_sessions": writers(int(args.get("writers", 1))) if args.get("writers") else []}


def _bulk_comments(debate, authors, roots, count, stances):
    """The rest of a big debate in bulk (the services would take minutes for 5000): the same shapes as
    post_comment leaves (two roots for one reply, replies on recent roots, counters maintained)."""
    from django.db.models import Count

    from debates.models import Comment
    from debates.services import render_body

    body = ("Bulk comment. The tram line should stop closer to the market, and the square needs more shade "
            "in summer.")
    html = render_body(body)[0]
    new_roots = Comment.objects.bulk_create([
        Comment(debate=debate, author=authors[i % len(authors)], depth=0, alignment=stances[i % 3],
                body=body, body_html=html) for i in range(count - count // 3)])
    everyone = roots + new_roots
    Comment.objects.bulk_create([
        Comment(debate=debate, author=authors[i % len(authors)], parent=everyone[-1 - (i % 200)],
                root=everyone[-1 - (i % 200)], depth=1, body=body, body_html=html) for i in range(count // 3)])
    for row in (Comment.objects.filter(debate=debate, depth=1).values("parent_id")
                .annotate(n=Count("pk")).order_by()):
        Comment.objects.filter(pk=row["parent_id"]).update(reply_count=row["n"], thread_size=row["n"])
