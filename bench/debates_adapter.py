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
            for i in range(count):
                parent = roots[-1 - (i % min(len(roots), 40))] if roots and i % 3 == 2 else None
                comment = services.post_comment(
                    author=authors[i % len(authors)], debate=debate, parent=parent,
                    alignment=stances[i % 3],
                    body=f"Seeded comment {i}. The tram line should stop closer to the market, "
                         f"and the square needs more shade in summer.")
                if parent is None:
                    roots.append(comment)
    cursor = streams.cursor(debate.stream_key)
    return {"stream": debate.stream_key, "epoch": cursor.epoch, "seq": cursor.seq, "debate": debate.pk,
            "page": debate.get_absolute_url(), "post": reverse("debates:comment_create", args=[debate.pk]),
            "field": "body", "extra": {"alignment": "0"},
            "writer_sessions": writers(int(args.get("writers", 1))) if args.get("writers") else []}
