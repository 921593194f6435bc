"""What one write costs the server, in process, through the real ASGI application: the cost model of docs/performance.md.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.write_cost [--only comment,message]
        [--n 100] [--json PATH]

For each kind of write, the form POST that a browser sends (session cookie, CSRF token, `HX-Request`) goes through
`live.asgi.application` (its middleware, Django's request path and the view's thread hand-off) while sockets follow
the pages concerned, as a browser does (the streams each page names, through the same application and hub), and
the Redis channel layer carries the pushes. Per write it reports:

- `cpu_ms`: server CPU (`time.process_time()`, every thread of this process) from the request to the last frame
  handed to the followers' sockets, warm, over `--n` writes, less the idle waiting the harness itself does
  (measured alone and subtracted);
- `sql`: SQL statements, every thread (the request, the push's renderings, the hub);
- `events`: events appended to the log; `deliveries`: event frames the followers' sockets received;
- `redis_cmds` / `redis_bytes`: commands sent to Redis and their bytes (requests, rate limits, sessions in the
  cache, the layer's publish and the hub's receive), by command in the JSON;
- `publishes` / `published_bytes`: channel-layer `group_send` calls and the bytes of their messages.

Writes: a debate comment; a vote on a comment; a stance (a root comment's stance changed); each of these three also
over the writer's page socket (`comment_ws`, `vote_ws`, `stance_ws`: a `write` frame, live/socket_writes.py, answered
`written`, instead of the HTTP request; the rest is the same service and the same pushes); a private message (and
`message_ws`: the composer's form over the writer's page socket, `messages.send`); a
meeting contribution from a signed-in participant and from a guest; a facilitator's approval of a contribution
under pre-moderation; a reaction tap and an answer to an open-text question (word cloud) from a phone: these reach
the screen in frames (meetings/frames.py, every 250 / 500 ms, in a timer thread), so their figures include the
frames that fell within the run, i.e. a frame's cost shared by the taps or answers of its interval at this pace
(one at a time, a few per frame; at 300 phones a frame covers far more: bench S10). `reaction_ws`,
`word_answer_ws` and `contribution_ws` are the same meeting writes from the same page, over its socket. Rate limits stay on (raised far above what the run needs, so the limiter's Redis work is
counted). The settings are those of a bench server (DEBUG off, a connection pool), on a throwaway test database.

CPU figures move with other load on the machine: compare before/after one right after the other, and prefer the
counts (SQL, events, Redis), which do not move.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

WRITES = ["comment", "vote", "stance", "message", "message_ws", "contribution", "guest_contribution", "approval", "reaction",
          "word_answer", "comment_ws", "vote_ws", "stance_ws", "reaction_ws", "word_answer_ws", "contribution_ws"]
QUIET_S = 0.05  # a follower's socket is done with a write once it stays quiet this long
CURSOR_RE = re.compile(r'data-live-stream="([^"]+)"\s+data-live-cursor="([^"]*)"')
HOST = "127.0.0.1"


def configure_environment() -> None:
    """A bench server's settings (bench/stack.py `server_env`), before Django starts."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")
    os.environ.update({
        "DJANGO_ENV": "development", "DEBUG": "0", "ALLOWED_HOSTS": f"{HOST},localhost", "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "0", "DB_POOL_MAX_SIZE": os.environ.get("BENCH_DB_POOL_MAX_SIZE", "16"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # One writer's socket sends a write frame as soon as the last is answered: far above a person's 10/s.
        "LIVE_SOCKET_FRAMES_PER_SECOND": "1000", "LIVE_SOCKET_FRAMES_BURST": "1000",
    })


# --- counting ----------------------------------------------------------------------------------------------------

class Counters:
    """SQL statements, Redis commands and bytes, layer publishes: counted in every thread, read as totals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.sql = 0
        self.redis = collections.Counter()
        self.redis_bytes = 0
        self.publishes = 0
        self.published_bytes = 0

    def snapshot(self) -> dict:
        return {"sql": self.sql, "redis": dict(self.redis), "redis_cmds": sum(self.redis.values()),
                "redis_bytes": self.redis_bytes, "publishes": self.publishes, "published_bytes": self.published_bytes}


COUNT = Counters()


def _command_name(args) -> str:
    name = args[0]
    return (name.decode() if isinstance(name, bytes) else str(name)).split()[0].upper()


def instrument() -> None:
    """Wrap, in this process only: Django's cursor (every statement), redis-py's command packers (sync: Django's
    cache, sessions, rate limits; asyncio: the channel layer) and the layer's `group_send`."""
    from django.conf import settings
    from django.db.backends import utils
    from django.utils.module_loading import import_string
    from redis import connection as sync_connection
    from redis.asyncio import connection as async_connection

    execute = utils.CursorWrapper._execute_with_wrappers

    def counted_execute(self, *args, **kwargs):
        with COUNT.lock:
            COUNT.sql += 1
        return execute(self, *args, **kwargs)

    utils.CursorWrapper._execute_with_wrappers = counted_execute

    def counting(pack):
        def counted(self, *args):
            output = pack(self, *args)
            with COUNT.lock:
                COUNT.redis[_command_name(args)] += 1
                COUNT.redis_bytes += sum(len(chunk) for chunk in output)
            return output
        return counted

    sync_connection.PythonRespSerializer.pack = counting(sync_connection.PythonRespSerializer.pack)
    # With hiredis (pyproject's redis[hiredis]), both clients pack through this one instead.
    sync_connection.HiredisRespSerializer.pack = counting(sync_connection.HiredisRespSerializer.pack)
    async_connection.AbstractConnection._pack_command_python = counting(
        async_connection.AbstractConnection._pack_command_python)

    layer_class = import_string(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    group_send = layer_class.group_send

    async def counted_group_send(self, group, message, **options):
        size = len(self.serialize(message))
        with COUNT.lock:
            COUNT.publishes += 1
            COUNT.published_bytes += size
        return await group_send(self, group, message, **options)

    layer_class.group_send = counted_group_send
    group_send_many = getattr(layer_class, "group_send_many", None)
    if group_send_many is not None:  # the events of one write on several streams: one publish, their bytes
        async def counted_group_send_many(self, sends, **options):  # options: `skip` (live/layers.py)
            if len(sends) > 1:
                size = sum(len(self.serialize(message)) for _group, message in sends)
                with COUNT.lock:
                    COUNT.publishes += 1
                    COUNT.published_bytes += size
            return await group_send_many(self, sends, **options)

        layer_class.group_send_many = counted_group_send_many


# --- HTTP and sockets through the ASGI application -----------------------------------------------------------------

class Browser:
    """A browser's cookies (session, CSRF) and language, talking to the application in process."""

    def __init__(self, app, session: str | None = None, lang: str = "fr"):
        from django.conf import settings
        from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

        self.app, self.lang = app, lang
        self.csrf_secret = _get_new_csrf_string()
        self.csrf_token = _mask_cipher_secret(self.csrf_secret)
        self.cookies = {settings.CSRF_COOKIE_NAME: self.csrf_secret}
        self.session_cookie = settings.SESSION_COOKIE_NAME
        if session:
            self.cookies[self.session_cookie] = session

    def headers(self, extra=()) -> list[tuple[bytes, bytes]]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return [(b"host", f"{HOST}:8000".encode()), (b"cookie", cookie.encode()),
                (b"accept-language", self.lang.encode()), *extra]

    async def request(self, method: str, path: str, data: dict | None = None, htmx: bool = True) -> dict:
        from tests.helpers import asgi_http

        body = urlencode({**(data or {}), "csrfmiddlewaretoken": self.csrf_token}).encode() if data is not None \
            else b""
        extra = [(b"content-type", b"application/x-www-form-urlencoded"), (b"x-csrftoken", self.csrf_token.encode())]
        if htmx:
            extra.append((b"hx-request", b"true"))
        answer = await asgi_http(self.app, method, path, self.headers(extra if method == "POST" else ()), body)
        for name, value in answer["headers"]:
            if name.lower() == b"set-cookie":
                key, _, rest = value.decode().partition("=")
                self.cookies[key] = rest.partition(";")[0]
        response = {"status": answer["status"], "body": answer["body"].decode(errors="replace")}
        if response["status"] >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response['status']} {response['body'][:300]!r}")
        return response

    async def follow_page(self, path: str) -> Follower:
        """Load `path` and open a socket that follows every stream the page names, from the page's cursors."""
        from channels.testing import WebsocketCommunicator

        page = await self.request("GET", path)
        positions = {}
        for key, cursor in CURSOR_RE.findall(page["body"]):
            epoch, _, seq = cursor.partition(":")
            positions[key] = {"epoch": epoch, "seq": int(seq or 0)}
        if not positions:
            raise RuntimeError(f"{path} names no stream to follow")
        ws = WebsocketCommunicator(self.app, "/ws/", headers=self.headers([(b"origin", f"http://{HOST}:8000".encode())]))
        connected, _ = await ws.connect(timeout=10)
        if not connected:
            raise RuntimeError(f"the socket of {path} was refused")
        await ws.send_json_to({"type": "resume", "streams": positions})
        follower = Follower(ws, path, set(positions))
        await follower.settle()
        if follower.refused:
            raise RuntimeError(f"{path}: streams refused {follower.refused}")
        return follower


class Follower:
    """An open socket following a page's streams; counts the event frames it receives."""

    def __init__(self, ws, path: str, streams: set[str]):
        self.ws, self.path, self.streams = ws, path, streams
        self.events = 0
        self.refused: list = []

    async def settle(self, quiet: float = QUIET_S) -> None:
        """Receive until the socket has been quiet for `quiet` seconds (the output queue, so nothing is cancelled)."""
        queue = self.ws.output_queue
        while True:
            try:
                output = await asyncio.wait_for(queue.get(), quiet)
            except TimeoutError:
                return
            if output["type"] != "websocket.send":
                raise RuntimeError(f"the socket of {self.path} closed: {output}")
            frame = json.loads(output["text"])
            if frame.get("type") == "event":
                self.events += 1
            elif frame.get("type") in {"error", "reset"}:
                self.refused.append(frame)

    async def write(self, action: str, data: dict) -> dict:
        """A `write` frame over this socket, as live.js sends a `data-live-write` form; returns its `written` result
        (the event frames received meanwhile are counted as `settle` counts them)."""
        self.writes = getattr(self, "writes", 0) + 1
        ident = f"w{self.writes}"
        await self.ws.send_json_to({"type": "write", "id": ident, "action": action, "data": data})
        queue = self.ws.output_queue
        while True:
            output = await asyncio.wait_for(queue.get(), 30)
            if output["type"] != "websocket.send":
                raise RuntimeError(f"the socket of {self.path} closed: {output}")
            frame = json.loads(output["text"])
            if frame.get("type") == "event":
                self.events += 1
            elif frame.get("type") == "error":
                raise RuntimeError(f"{action}: the socket answered {frame}")
            elif frame.get("type") == "refused" and frame.get("id") == ident:
                raise RuntimeError(f"{action} refused: {frame}")
            elif frame.get("type") == "written" and frame.get("id") == ident:
                return frame.get("result")

    async def close(self):
        await self.ws.disconnect()


# --- the writes ------------------------------------------------------------------------------------------------------

def session_of(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    from django.conf import settings

    return client.cookies[settings.SESSION_COOKIE_NAME].value


BODY = "Le tramway devrait s'arrêter devant le marché, et la place a besoin d'ombre en été ({i})."


class World:
    """The people, debate, conversation and meetings the writes go to (created through the services)."""

    def __init__(self, n: int):
        from datetime import timedelta

        from django.utils import timezone

        from debates import services as debates
        from live.messaging import services as messaging
        from meetings import services as meetings
        from tests.helpers import make_user

        self.alice, self.bob = make_user("alice"), make_user("bob")
        self.fiona = make_user("fiona", role="facilitator")
        self.debate = debates.create_debate(author=self.fiona, title="La place du marché",
                                            description="Piétonne le samedi ?")
        for i in range(5):  # a debate with some history
            debates.post_comment(author=self.bob, debate=self.debate, body=BODY.format(i=f"b{i}"))
        # Comments to vote on, one per vote: over HTTP and over the socket each their own (a vote that changes
        # nothing writes nothing).
        self.to_vote = {kind: [debates.post_comment(author=self.bob, debate=self.debate, body=BODY.format(i=f"v{i}"))
                               for i in range(n)] for kind in ("vote", "vote_ws")}
        self.own_root = debates.post_comment(author=self.alice, debate=self.debate, body=BODY.format(i="a"),
                                             alignment=1)
        first = messaging.start_conversation(author=self.alice, recipients=[self.bob], body="Bonjour Bob")
        self.conversation = first.conversation

        def meeting(title, premoderation):
            m = meetings.create_meeting(actor=self.fiona, title=title, kind="in_person", place="Agora",
                                        starts_at=timezone.now() - timedelta(minutes=30),
                                        ends_at=timezone.now() + timedelta(hours=2), premoderation=premoderation,
                                        agenda=[("Accueil", 10)])
            return meetings.open_session(actor=self.fiona, meeting=m)

        self.meeting = meeting("Budget participatif", False)
        self.moderated = meeting("Budget participatif (modéré)", True)
        for m in (self.meeting, self.moderated):
            meetings.join(meeting=m, user=self.alice)
        phone = meetings.join(meeting=self.moderated, user=self.bob)
        self.pending = [meetings.post_contribution(participant=phone, body=BODY.format(i=f"p{i}"))
                        for i in range(n)]
        self.sessions = {name: session_of(getattr(self, name)) for name in ("alice", "bob", "fiona")}
        self.words_poll = meetings.open_poll(actor=self.fiona, poll=meetings.create_poll(
            actor=self.fiona, meeting=self.meeting, question="En un mot ?", kind="words"))


async def prepare(write: str, world: World, app):
    """(followers, post(i) coroutine factory) for `write`; the first `n` calls are the warm-up."""
    alice = Browser(app, world.sessions["alice"])
    fiona = Browser(app, world.sessions["fiona"])
    bob = Browser(app, world.sessions["bob"])
    debate, meeting, moderated = world.debate.pk, world.meeting.pk, world.moderated.pk
    if write in {"comment", "vote", "stance", "comment_ws", "vote_ws", "stance_ws"}:
        own = await alice.follow_page(f"/debates/{debate}/")  # alice's page: its socket is the one she writes on
        followers = [await Browser(app).follow_page(f"/debates/{debate}/"), own,
                     await Browser(app, lang="en").follow_page(f"/debates/{debate}/")]
        kind, _, over = write.partition("_")
        root = world.own_root.pk
        # The fields each form sends (templates/debates/*), with the ids its URL carries over HTTP.
        if kind == "comment":
            def form(i):
                return f"/debates/{debate}/comments/", "debates.comment", {
                    "debate": str(debate), "body": BODY.format(i=i), "alignment": "0", "client_id": uuid.uuid4().hex}
        elif kind == "vote":
            def form(i):
                pk = world.to_vote[write][i].pk
                return f"/debates/{debate}/comments/{pk}/vote/", "debates.vote", {"comment": str(pk), "value": "up"}
        else:
            def form(i):
                return f"/debates/{debate}/comments/{root}/edit/", "debates.edit", {
                    "comment": str(root), "body": BODY.format(i="a"),
                    "alignment": ["-1", "1"][i % 2]}
        if over == "ws":
            async def post(i):
                _path, action, data = form(i)
                return await own.write(action, data)
        else:
            def post(i):
                path, _action, data = form(i)
                return alice.request("POST", path, data)
        return followers, post
    if write in {"message", "message_ws"}:
        path = f"/messages/{world.conversation.pk}/"
        followers = [await alice.follow_page(path), await bob.follow_page(path)]
        if write == "message_ws":  # the composer's form over alice's page socket (messages.send)
            conversation = str(world.conversation.pk)

            def post(i):
                return followers[0].write("messages.send", {"conversation": conversation, "body": BODY.format(i=i),
                                                            "client_id": str(uuid.uuid4())})
        else:
            def post(i):
                return alice.request("POST", f"{path}send/", {"body": BODY.format(i=i),
                                                              "client_id": str(uuid.uuid4())})
        return followers, post
    if write in {"reaction_ws", "word_answer_ws", "contribution_ws"}:
        return await prepare_meeting_over_socket(write, world, alice, fiona, bob)
    if write in {"contribution", "guest_contribution"}:
        author = alice
        if write == "guest_contribution":
            author = Browser(app)
            await author.request("POST", f"/meetings/{meeting}/live/join/", {"nickname": "Camille"}, htmx=False)
        followers = [await author.follow_page(f"/meetings/{meeting}/live/"),
                     await bob_phone(bob, meeting),
                     await fiona.follow_page(f"/meetings/{meeting}/screen/"),
                     await fiona.follow_page(f"/meetings/{meeting}/console/")]

        def post(i):
            return author.request("POST", f"/meetings/{meeting}/live/contribute/",
                                  {"body": BODY.format(i=i), "kind": "question", "client_id": uuid.uuid4().hex})
        return followers, post
    if write == "approval":
        followers = [await alice.follow_page(f"/meetings/{moderated}/live/"),
                     await fiona.follow_page(f"/meetings/{moderated}/screen/"),
                     await fiona.follow_page(f"/meetings/{moderated}/console/")]

        def post(i):
            return fiona.request("POST", f"/meetings/{moderated}/console/contributions/{world.pending[i].pk}/",
                                 {"action": "approve"})
        return followers, post
    if write in {"reaction", "word_answer"}:
        followers = [await alice.follow_page(f"/meetings/{meeting}/live/"),
                     await fiona.follow_page(f"/meetings/{meeting}/screen/"),
                     await fiona.follow_page(f"/meetings/{meeting}/console/")]
        if write == "reaction":
            def post(i):
                return alice.request("POST", f"/meetings/{meeting}/live/react/",
                                     {"kind": ("clap", "heart", "laugh", "think", "thumbs")[i % 5]})
        else:
            def post(i):
                return alice.request("POST", f"/meetings/{meeting}/live/polls/{world.words_poll.pk}/answer/",
                                     {"word": f"mot{i}"})
        return followers, post
    raise ValueError(write)


async def prepare_meeting_over_socket(write: str, world: World, alice: Browser, fiona: Browser, bob: Browser):
    """`reaction_ws`, `word_answer_ws`, `contribution_ws`: the same write as without `_ws`, from the same phone page
    with the same followers, sent over that page's socket instead of as an HTTP POST."""
    meeting = str(world.meeting.pk)
    if write == "contribution_ws":
        followers = [await alice.follow_page(f"/meetings/{meeting}/live/"), await bob_phone(bob, world.meeting.pk),
                     await fiona.follow_page(f"/meetings/{meeting}/screen/"),
                     await fiona.follow_page(f"/meetings/{meeting}/console/")]

        def post(i):
            return followers[0].write("meetings.contribute", {"meeting": meeting, "body": BODY.format(i=i),
                                                              "kind": "question", "client_id": uuid.uuid4().hex})
        return followers, post
    followers = [await alice.follow_page(f"/meetings/{meeting}/live/"),
                 await fiona.follow_page(f"/meetings/{meeting}/screen/"),
                 await fiona.follow_page(f"/meetings/{meeting}/console/")]
    if write == "reaction_ws":
        def post(i):
            return followers[0].write("meetings.react", {"meeting": meeting,
                                                         "kind": ("clap", "heart", "laugh", "think", "thumbs")[i % 5]})
    else:
        poll = str(world.words_poll.pk)

        def post(i):
            return followers[0].write("meetings.answer", {"meeting": meeting, "poll": poll, "word": f"mot{i}"})
    return followers, post


async def bob_phone(bob: Browser, meeting: int) -> Follower:
    await bob.request("POST", f"/meetings/{meeting}/live/join/", {}, htmx=False)
    return await bob.follow_page(f"/meetings/{meeting}/live/")


async def settle_all(followers) -> None:
    await asyncio.gather(*(f.settle() for f in followers))


async def measure(write: str, world: World, app, n: int, warmup: int, start: int, spy: str = "") -> dict:
    """Writes `start` .. `start + warmup + n - 1` of this kind: the warm-up, then `n` measured (sampled by py-spy
    into `spy` when given: the measured writes only, not the set-up)."""
    from live.models import Event

    followers, post = await prepare(write, world, app)
    try:
        for i in range(start, start + warmup):
            await post(i)
            await settle_all(followers)
        # What the harness costs by itself: waiting for quiet sockets, with nothing written.
        quiet_runs = max(10, n // 5)
        gc.collect()
        cpu = time.process_time()
        for _ in range(quiet_runs):
            await settle_all(followers)
        idle = (time.process_time() - cpu) / quiet_runs
        events_before = await _last_event_id(Event)
        deliveries_before = sum(f.events for f in followers)
        gc.collect()
        sampler = await start_pyspy(spy) if spy else None
        calls = PROFILES.calls() if PROFILES else 0
        COUNT.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(start + warmup, start + warmup + n):
            await post(i)
            await settle_all(followers)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        if sampler is not None:
            await stop_pyspy(sampler)
        calls = PROFILES.calls() - calls if PROFILES else 0
        counts = COUNT.snapshot()
        events = await _last_event_id(Event) - events_before
    finally:
        for f in followers:
            await f.close()
    per = lambda value: round(value / n, 2)  # noqa: E731
    return {
        "write": write, "n": n, "sockets": len(followers),
        "cpu_ms": round((cpu / n - idle) * 1000, 2), "idle_ms": round(idle * 1000, 3),
        "wall_ms": round(wall / n * 1000, 2),
        "sql": per(counts["sql"]), "events": per(events),
        "deliveries": per(sum(f.events for f in followers) - deliveries_before),
        "redis_cmds": per(counts["redis_cmds"]), "redis_bytes": round(counts["redis_bytes"] / n),
        "redis": {name: per(count) for name, count in sorted(counts["redis"].items(), key=lambda kv: -kv[1])},
        "publishes": per(counts["publishes"]), "published_bytes": round(counts["published_bytes"] / n),
        **({"py_calls": round(calls / n)} if PROFILES else {}),
    }


async def start_pyspy(path: str):
    """py-spy sampling this process (every thread, only while holding the GIL: CPU, not waits) into `path`
    (collapsed stacks, appended to by each measurement)."""
    import subprocess
    import tempfile

    out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
    proc = subprocess.Popen(["py-spy", "record", "--pid", str(os.getpid()), "--gil", "-r", "250", "-f", "raw",
                             "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(1.0)  # attached
    return proc, out, path


async def stop_pyspy(sampler) -> None:
    import signal

    proc, out, path = sampler
    proc.send_signal(signal.SIGINT)
    await asyncio.to_thread(proc.wait, 30)
    with open(out) as source, open(path, "a") as target:
        target.write(source.read())
    os.unlink(out)


async def _last_event_id(Event) -> int:
    from asgiref.sync import sync_to_async

    return await sync_to_async(lambda: Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)()


# --- main --------------------------------------------------------------------------------------------------------

COLUMNS = [("write", "{:<20}"), ("cpu_ms", "{:>7}"), ("sql", "{:>6}"), ("events", "{:>6}"), ("deliveries", "{:>10}"),
           ("redis_cmds", "{:>10}"), ("redis_bytes", "{:>11}"), ("publishes", "{:>9}"), ("published_bytes", "{:>15}"),
           ("wall_ms", "{:>7}")]


def table(rows: list[dict]) -> str:
    lines = ["  ".join(fmt.format(name) for name, fmt in COLUMNS)]
    for row in rows:
        lines.append("  ".join(fmt.format(row[name]) for name, fmt in COLUMNS))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help=f"comma-separated, among {','.join(WRITES)}")
    p.add_argument("--n", type=int, default=100, help="measured writes of each kind")
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--rounds", type=int, default=1, help="repeat each measurement; the median CPU is reported")
    p.add_argument("--json", default="", help="write the rows (with the Redis commands by name) to this file")
    p.add_argument("--pyspy", default="", help="py-spy (GIL holder, every thread) during the measured writes only, "
                                                "collapsed stacks appended to this file; the hottest frames printed")
    p.add_argument("--profile", default="", help="cProfile every thread (warm-up included; CPU figures inflate) "
                                                 "into this pstats file and print the hottest functions; each "
                                                 "row gets `py_calls`, Python calls per measured write in the "
                                                 "worker threads, which do not move with load")
    args = p.parse_args(argv)
    only = [w.strip() for w in args.only.split(",") if w.strip()] or WRITES
    unknown = set(only) - set(WRITES)
    if unknown:
        p.error(f"unknown writes {sorted(unknown)}; known: {', '.join(WRITES)}")
    configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    from live import ratelimit

    # A database of its own (not the test suite's `test_<name>`, which a test run may be using meanwhile).
    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_write_cost"

    # Every limiter still runs (its Redis commands are counted), far above what one run needs.
    settings.RATE_LIMITS = {action: "1000000/60" for action in ratelimit.DEFAULT_LIMITS}
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        world = World((args.n + args.warmup) * args.rounds)
        rows = run(world, only, args)
    finally:
        connections.close_all()
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close_pool()  # else its thread tries to reconnect to the dropped database
        with connection._nodb_cursor() as cursor:  # the pool's and the worker threads' connections
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        connection.creation.destroy_test_db(name, verbosity=0)
    if args.pyspy:
        from bench import report

        shares = report.hottest_frames(args.pyspy, 40)
        print(f"--- py-spy {args.pyspy}: {shares['samples']} samples; inclusive share of the measured writes")
        for frame_name, share in shares["inclusive"]:
            print(f"{share:5.1f}%  {frame_name}")
    print(table(rows))
    print(f"(per write; cpu_ms: server CPU of every thread, request to last socket frame, less {QUIET_S * 1000:.0f} ms "
          "quiet waits measured alone; deliveries: event frames on the followers' sockets)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "n": args.n,
                       "load_average": os.getloadavg()[0], "python": sys.version.split()[0], "rows": rows}, f,
                      indent=1)
        print(f"written to {args.json}")


class ThreadProfiles:
    """cProfile in every thread (the view's worker, the renderers', the event loop), merged at the end."""

    def __init__(self):
        import cProfile

        self.profiles = []
        self.workers = []  # those of the threads other than the event loop's
        self.lock = threading.Lock()
        self.cProfile = cProfile

    def _start_in_thread(self, *_args):
        profile = self.cProfile.Profile(time.thread_time)  # CPU of this thread, not waits
        with self.lock:
            self.profiles.append(profile)
            if threading.current_thread() is not threading.main_thread():
                self.workers.append(profile)
        profile.enable()  # replaces this hook in this thread

    def __enter__(self):
        threading.setprofile(self._start_in_thread)
        self._start_in_thread()
        return self

    def __exit__(self, *exc):
        threading.setprofile(None)
        for profile in self.profiles:
            profile.disable()

    def calls(self) -> int:
        """Python function calls profiled so far in the worker threads (the write, its SQL, its pushes' renders):
        far steadier than CPU time under load, not exact (psycopg's waits loop as long as the server takes, a few
        hundred calls per write either way); the event loop's, whose polling depends on timing, are left out."""
        with self.lock:
            profiles = list(self.workers)
        return sum(entry.callcount for profile in profiles for entry in profile.getstats())

    def report(self, path: str, n: int = 30) -> None:
        import io
        import pstats

        stats = pstats.Stats(*self.profiles, stream=io.StringIO())
        stats.dump_stats(path)
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats.stream = out
            stats.sort_stats(order).print_stats(n)
            print(out.getvalue().split("ncalls", 1)[-1][:6000])


PROFILES: ThreadProfiles | None = None


def run(world: World, only: list[str], args) -> list[dict]:
    global PROFILES
    instrument()
    from live.asgi import application

    profiles = PROFILES = ThreadProfiles() if args.profile else None

    async def go():
        rows = []
        for write in only:
            runs = []
            for r in range(args.rounds):
                runs.append(await measure(write, world, application, args.n, args.warmup,
                                          r * (args.n + args.warmup), args.pyspy))
            row = dict(runs[len(runs) // 2])
            row["cpu_ms"] = round(statistics.median(r["cpu_ms"] for r in runs), 2)
            rows.append(row)
            print(table([row]).splitlines()[1] + (f"  py_calls {row['py_calls']}" if "py_calls" in row else ""),
                  flush=True)
        return rows

    if profiles is None:
        return asyncio.run(go())
    with profiles:
        rows = asyncio.run(go())
    profiles.report(args.profile)
    return rows


if __name__ == "__main__":
    main()
