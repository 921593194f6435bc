"""Data the benchmark needs, created in the bench database through the application's own services.

Run in a subprocess with the bench environment: `python -m bench.seed <command> <json args>`; prints JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402


def user(nickname: str, role: str = "participant"):
    """A bench account. No usable password (they never sign in with one: each gets a session below), which also
    spares a password hash per account."""
    User = get_user_model()
    existing = User.objects.filter(nickname=nickname).first()
    if existing:
        return existing
    return User.objects.create_user(username=f"{nickname}@bench.example", email=f"{nickname}@bench.example",
                                    password=None, nickname=nickname, role=role)


def session_for(u) -> str:
    client = Client()
    client.force_login(u)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def writers(n: int) -> list[str]:
    return [session_for(user(f"benchwriter{k}")) for k in range(n)]


# --- targets ---------------------------------------------------------------------------------------------------------

def target_notifications(args: dict) -> dict:
    """Interim target while the debates app was not there: the owner's `user.<id>` stream, written through the
    real `POST /notifications/read/` (one unread notification marked read per post; its text carries the
    marker)."""
    from live import streams
    from live.notifications.models import Notification

    owner = user("benchowner")
    count = args["posts"]
    Notification.objects.filter(user=owner).delete()
    objs = Notification.objects.bulk_create(
        [Notification(user=owner, kind="bench", text=f"bench zq{i}qz") for i in range(count)])
    session = session_for(owner)
    cursor = streams.cursor(owner.stream_key)
    return {"stream": owner.stream_key, "epoch": cursor.epoch, "seq": cursor.seq, "page": "/notifications/",
            "post": "/notifications/read/", "ids": [o.pk for o in objs], "listener_session": session,
            "writer_sessions": [session]}


def target_debate(args: dict) -> dict:
    """A public debate; its stream `debate.<id>`; comments posted by signed-in writers."""
    from bench import debates_adapter

    return debates_adapter.make_debate(args, user=user, session_for=session_for, writers=writers)


def query_count(args: dict) -> dict:
    """Queries one GET of `path` runs, counted by Django (CaptureQueriesContext), and its server-side time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    if args.get("as_writer"):
        client.force_login(user("benchwriter0"))
    times = []
    counts = []
    for _ in range(args.get("repeat", 5)):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(args["path"])
            times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
        counts.append(len(ctx.captured_queries))
    return {"queries": counts, "ms": [round(t, 2) for t in times], "bytes": len(response.content)}


def s8(args: dict) -> dict:
    """S8 in one process: a small and a big debate, and the queries one GET of each runs."""
    small = target_debate({"writers": 0, "comments": 20})
    big = target_debate({"writers": 0, "comments": args["comments"]})
    return {"small": small, "big": big, "q_small": query_count({"path": small["page"], "repeat": 3}),
            "q_big": query_count({"path": big["page"], "repeat": args.get("repeat", 20)})}


COMMANDS = {"s8": s8, "notifications": target_notifications, "debate": target_debate, "writers": lambda a: writers(a["n"]),
            "querycount": query_count}

if __name__ == "__main__":
    command, raw = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "{}")
    if command in COMMANDS:
        function = COMMANDS[command]
    else:  # "<module>.<function>": a scenario module's own seeding (bench/s2_rooms.py: seed_rooms...)
        import importlib

        module, _, name = command.rpartition(".")
        function = getattr(importlib.import_module(f"bench.{module}"), name)
    result = function(json.loads(raw))
    print("BENCH-JSON " + json.dumps(result))
