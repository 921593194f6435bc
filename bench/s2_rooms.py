"""S2 many rooms: 50 debates x 20 followers on one daphne process, 1 comment/s into each, 5%/s connection churn.

Every follower is an anonymous page of its debate (the cursor read from the page's `data-live-cursor`, followed
with the real `resume` frame). Every second, comments are written into every debate by signed-in writers (rate
limits on: enough accounts that each stays within 3 comments per 5 s), on an open-loop schedule (comment i due at
t0 + i/rate, into debate i % rooms): over each writer's open page socket (a `write` frame `debates.comment`, as
live.js sends the comment form), then, in a second steady run right after, through the real
`POST /debates/<pk>/comments/` (CSRF, htmx), as without the socket (`s2_writes`, default ["socket", "http"]: the
first is the headline, with the lower rates). Meanwhile 5% of the sockets are cut abruptly each second (no close
handshake) and reconnect after live.js's first backoff delay (250-500 ms, full jitter), resuming every stream from
the last seq they hold.

Latency: `p50/p99/max` count every delivery from the moment the client could receive it: the post's due time, or,
for a post due while the socket was away (delivered by replay), the moment it reconnected. The raw figure from the
due time (which includes the client's own 250-500 ms backoff) and the live/replayed split are reported too. Loss
counts every (follower, accepted comment of its debate) pair, churned sockets included.

Baseline: the same shape (rooms x followers, posts/s, the same churn) against stock Channels with one group per
room (`bench/baselines/stock_channels.py`, `/ws/<room>/`, `POST /post?room=`); stock has no replay, so its churned
sockets lose what was sent while they were away: its loss is reported, not compared.

`BENCH_S2_QUICK=1` (development runs, with BENCH_RESULTS and usually BENCH_TRACE): the socket writes' steady run
alone, without the HTTP writes, the lower rates and the stock baseline.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import time
from urllib.parse import urlencode, urlsplit

import httpx

from bench import report, scenarios, stack
from bench.client import MultiStreamPool, Stats, percentile, summarize
from bench.writers import CSRF_INPUT_RE, SocketWriter, baseline_payload, comment_text, run_schedule

LIVEJS_FIRST_DELAY = (0.25, 0.5)  # live.js wsReconnectDelay(0): 500 ms max, full jitter over its upper half


# --- seeding (runs in a subprocess with Django set up) --------------------------------------------------------------

def seed_rooms(args: dict) -> dict:
    """`rooms` public debates (through debates.services, rate limits off here only) and `writers` signed-in
    accounts."""
    from bench import debates_adapter, seed

    rooms = [debates_adapter.make_debate({"writers": 0, "comments": 0}, user=seed.user, session_for=seed.session_for,
                                         writers=seed.writers) for _ in range(int(args["rooms"]))]
    return {"rooms": [{k: r[k] for k in ("stream", "epoch", "seq", "page", "post", "field", "extra")} for r in rooms],
            "writer_sessions": seed.writers(int(args["writers"]))}


# --- the writer: real form POSTs, each to its own path from its own account ------------------------------------------

class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for the writers' POSTs: at hundreds of posts per second the generator's
    CPU (one core, shared with the listeners) is the scarce resource, and httpx costs about a millisecond per
    request. At most `size` connections, each carrying one request at a time; a request waiting for one still
    counts from its due time."""

    def __init__(self, base_url: str, size: int = 64, timeout: float = 120):
        parts = urlsplit(base_url)
        self.host, self.port, self.size, self.timeout = parts.hostname, parts.port or 80, size, timeout
        self.idle: list = []
        self.opened = 0
        self.waiters: collections.deque = collections.deque()

    async def _acquire(self):
        if self.idle:
            return self.idle.pop()
        if self.opened < self.size:
            self.opened += 1
            try:
                return await asyncio.open_connection(self.host, self.port)
            except Exception:
                self.opened -= 1
                raise
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return await waiter

    def _release(self, conn, reuse: bool):
        if not reuse:
            conn[1].close()
            self.opened -= 1
            if self.waiters:  # a waiter gets a fresh connection instead
                waiter = self.waiters.popleft()
                asyncio.ensure_future(self._hand_new(waiter))
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    async def _hand_new(self, waiter):
        try:
            self.opened += 1
            conn = await asyncio.open_connection(self.host, self.port)
        except Exception as exc:  # noqa: BLE001
            self.opened -= 1
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self._release(conn, True)
        else:
            waiter.set_result(conn)

    async def request(self, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, dict, bytes]:
        conn = await self._acquire()
        reader, writer = conn
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        reuse = False
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            got = {}
            for line in lines[1:]:
                if ":" in line:
                    k, _, v = line.partition(":")
                    got[k.strip().lower()] = v.strip()
            if "content-length" in got:
                data = await reader.readexactly(int(got["content-length"]))
            elif got.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    chunk = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    chunks.append(chunk[:-2])
                data = b"".join(chunks)
            elif status in (204, 304) or method == "HEAD":
                data = b""
            else:
                data = await reader.read()
                got["connection"] = "close"
            reuse = got.get("connection", "").lower() != "close"
            return status, got, data
        finally:
            self._release(conn, reuse)

    async def close(self):
        for _reader, writer in self.idle:
            writer.close()
        self.idle = []


class RoutedWriter:
    """The application's real form POST as htmx sends it (session cookie, CSRF token from a page, `HX-Request`),
    where `route(i)` gives post i's (session, path, form data): each post from its own signed-in account, to its own
    room. One HTTP client with keep-alive connections (`max_in_flight` posts at once; a post waiting for one still
    counts from its due time); each request carries its account's cookies explicitly."""

    def __init__(self, base_url: str, route, *, csrf_page: str, csrf_session: str, max_in_flight: int = 64,
                 timeout: float = 120):
        self.base_url, self.route = base_url, route
        self.csrf_page, self.csrf_session = csrf_page, csrf_session
        self.max_in_flight, self.timeout = max_in_flight, timeout
        self.failures: list[str] = []
        self.post_ms: list[float] = []
        self.times: dict[int, tuple[int, int]] = {}  # post -> (request started, answered), monotonic ns
        self.refused = 0

    async def setup(self):
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                        limits=httpx.Limits(max_connections=self.max_in_flight,
                                                            max_keepalive_connections=self.max_in_flight))
        page = await self.client.get(self.csrf_page, headers={"Cookie": f"sessionid={self.csrf_session}"})
        page.raise_for_status()
        match = CSRF_INPUT_RE.search(page.text)
        self.cookie_csrf = self.client.cookies.get("csrftoken")
        self.token = match.group(1) if match else self.cookie_csrf
        self.client.cookies.clear()
        if not self.token or not self.cookie_csrf:
            raise RuntimeError(f"no CSRF token on {self.csrf_page}")
        self.http = RawHttp(self.base_url, self.max_in_flight, self.timeout)

    async def post(self, i: int) -> bool:
        session, path, data = self.route(i)
        body = urlencode({**data, "csrfmiddlewaretoken": self.token}).encode()
        t = time.perf_counter()
        sent_ns = time.monotonic_ns()
        try:
            status, headers, text = await self.http.request("POST", path, {
                "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true",
                "X-CSRFToken": self.token, "Referer": self.base_url + path,
                "Cookie": f"sessionid={session}; csrftoken={self.cookie_csrf}"}, body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            self.failures.append(f"post {i}: {exc!r}")
            return False
        self.post_ms.append((time.perf_counter() - t) * 1000)
        self.times[i] = (sent_ns, time.monotonic_ns())
        # htmx gets every refused post as 400/403/429 with HX-Retarget to the form's error slot (live/actions.py).
        if status >= 400:
            self.refused += status == 429
            self.failures.append(f"post {i}: HTTP {status} {text[:160]!r}")
            return False
        return True

    async def close(self):
        await self.client.aclose()
        await self.http.close()


class StockRoomWriter:
    """Stock Channels baseline: POST the padded payload to `/post?room=<room of i>`."""

    def __init__(self, base_url: str, room_of, payload_size: int, max_in_flight: int = 64):
        self.base_url, self.room_of, self.payload_size = base_url, room_of, payload_size
        self.max_in_flight = max_in_flight
        self.failures: list[str] = []
        self.post_ms: list[float] = []
        self.times: dict[int, tuple[int, int]] = {}

    async def setup(self):
        self.http = RawHttp(self.base_url, self.max_in_flight)

    async def post(self, i: int) -> bool:
        t = time.perf_counter()
        sent_ns = time.monotonic_ns()
        try:
            status, _headers, _body = await self.http.request("POST", f"/post?room={self.room_of(i)}", {},
                                                               baseline_payload(i, self.payload_size))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            self.failures.append(f"post {i}: {exc!r}")
            return False
        self.post_ms.append((time.perf_counter() - t) * 1000)
        self.times[i] = (sent_ns, time.monotonic_ns())
        return status < 400

    async def close(self):
        await self.http.close()


# --- measuring (shared with S3) --------------------------------------------------------------------------------------

async def page_cursors(base_url: str, path: str, session: str | None = None,
                       client: httpx.AsyncClient | None = None) -> dict[str, tuple[str, int]]:
    """Every stream a page follows, with its cursor, as live.js reads them (`data-live-stream`/`data-live-cursor`)."""
    own = client is None
    client = client or httpx.AsyncClient(base_url=base_url, timeout=60)
    try:
        page = await client.get(path, headers={"Cookie": f"sessionid={session}"} if session else None)
        page.raise_for_status()
    finally:
        client.cookies.clear()
        if own:
            await client.aclose()
    out: dict[str, tuple[str, int]] = {}
    for key, cursor in scenarios.CURSOR_RE.findall(page.text):
        epoch, _, seq = cursor.partition(":")
        if key not in out or int(seq or 0) > out[key][1]:
            out[key] = (epoch, int(seq or 0))
    return out


class Churn:
    """Each second, cut `fraction` of the sockets that are up (at random) and reconnect each after `delay()`."""

    def __init__(self, pool: MultiStreamPool, fraction: float, delay=lambda: random.uniform(*LIVEJS_FIRST_DELAY)):
        self.pool, self.fraction, self.delay = pool, fraction, delay
        self.tasks: set[asyncio.Task] = set()
        self.busy: set[int] = set()
        self.dropped = 0
        self.sem = asyncio.Semaphore(200)
        self.rng = random.Random(7)

    async def run(self, stop: asyncio.Event):
        n = max(1, round(self.fraction * len(self.pool.listeners)))
        while not stop.is_set():
            up = [lst for lst in self.pool.listeners if lst.transport is not None and lst.idx not in self.busy]
            for lst in self.rng.sample(up, min(n, len(up))):
                self.busy.add(lst.idx)
                self.dropped += 1
                task = asyncio.ensure_future(self._one(lst))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass

    async def _one(self, lst):
        try:
            await self.pool.churn(lst, self.delay(), self.sem)
        finally:
            self.busy.discard(lst.idx)

    async def settle(self, timeout: float = 60):
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        up = [lst for lst in self.pool.listeners if lst.transport is not None]
        await asyncio.wait_for(asyncio.gather(*(lst.subscribed.wait() for lst in up)), timeout)


async def measure(pool: MultiStreamPool, writer, server, *, rate: float, count: int, start_index: int,
                  followers_of, churn: Churn | None = None, drain_cap: float = 90) -> dict:
    """Post `count` posts at `rate`/s (open loop); post i is expected by every listener of `followers_of(i)`.
    With `churn`, sockets are cut and resumed during the schedule. Latency, loss, order, server CPU."""
    stats = pool.stats
    marks = (len(stats.latencies), len(pool.live_latencies), len(pool.replay_latencies), stats.deliveries,
             len(writer.post_ms), len(writer.failures), pool.reconnects)
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    stop = asyncio.Event()
    churner = asyncio.ensure_future(churn.run(stop)) if churn else None
    schedule = await run_schedule(writer, [], stats, rate=rate, count=count, start_index=start_index,
                                  expect=lambda i: pool.expect(i, len(followers_of(i))))
    schedule_s = time.monotonic() - t0
    if churner:
        stop.set()
        await churner
        await churn.settle()
    # Posts the server refused are expected by nobody.
    for i in range(start_index, start_index + count):
        if not stats.ok[i]:
            pool.pending.pop(i, None)
    await scenarios.drain([pool], stats, idle=4.0, cap=drain_cap)
    elapsed = time.monotonic() - t0
    cpu_s = server.cpu_seconds() - cpu0
    expected = missing = 0
    for i in range(start_index, start_index + count):
        if stats.ok[i]:
            for lst in followers_of(i):
                expected += 1
                missing += not lst.got[i]
    lat = stats.latencies[marks[0]:]
    live = pool.live_latencies[marks[1]:]
    replay = pool.replay_latencies[marks[2]:]
    adjusted = list(live) + list(replay)
    delivered = stats.deliveries - marks[3]
    span_s = max(1e-9, (stats.last_rx - stats.sent[start_index]) / 1e9)  # from the first post's due time
    post_ms = writer.post_ms[marks[4]:]
    complete = [(pool.complete_at[i] - stats.sent[i]) / 1e6 for i in range(start_index, start_index + count)
                if i in pool.complete_at]
    for i in range(start_index, start_index + count):
        pool.pending.pop(i, None)
    if pool.trace is not None:
        dump_trace(pool, writer, stats, start_index, count)
    # How late the generator itself sent each post after its due time (its core is shared): counted in every
    # latency above, as it must be (open loop), and reported so that a late generator shows.
    times = getattr(writer, "times", {})
    late = [(times[i][0] - stats.sent[i]) / 1e6 for i in range(start_index, start_index + count) if i in times]
    return {
        "offered_posts_per_s": rate, "posts": count, "accepted": schedule["accepted"], "listeners": len(pool.listeners),
        **summarize(adjusted),
        "from_due": summarize(lat), "live": {"deliveries": len(live), **summarize(live)},
        "replayed": {"deliveries": len(replay), **summarize(replay)},
        "all_n_p50_ms": percentile(complete, 50), "all_n_p99_ms": percentile(complete, 99),
        "expected_deliveries": expected, "delivered": delivered, "loss": missing,
        "deliveries_per_s": round(delivered / span_s),
        "order_errors": sum(lst.order_errors for lst in pool.listeners),
        "resets": sum(lst.resets for lst in pool.listeners),
        "reconnects": pool.reconnects - marks[6],
        "server_cpu_pct": round(cpu_s / elapsed * 100, 1), "server_cpu_ms_per_post": round(cpu_s * 1000 / count, 2),
        "server_rss_mb": round(server.rss_kb() / 1024, 1),
        "schedule_s": round(schedule_s, 2), "schedule_max_lag_ms": schedule["schedule_max_lag_ms"],
        "generator_late_p99_ms": percentile(late, 99), "generator_late_max_ms": round(max(late), 1) if late else None,
        "post_p50_ms": percentile(post_ms, 50), "post_p99_ms": percentile(post_ms, 99),
        "write_failures": writer.failures[marks[5]:][:5], "refused": len(writer.failures) - marks[5],
        "errors": pool.errors()[:5],
    }


def dump_trace(pool: MultiStreamPool, writer, stats: Stats, start: int, count: int) -> None:
    """BENCH_TRACE: each post's due time, when its frame was sent and answered, and its live receipts (first,
    last), appended to <BENCH_TRACE>/client.jsonl for bench/trace_report.py."""
    live: dict[int, list[int]] = {}
    for i, t, is_live in pool.trace:
        if is_live and start <= i < start + count:
            live.setdefault(i, []).append(t)
    pool.trace.clear()
    times = getattr(writer, "times", {})
    with open(os.path.join(os.environ["BENCH_TRACE"], "client.jsonl"), "a") as fh:
        for i in range(start, start + count):
            got = live.get(i, [])
            sent, answered = times.get(i, (None, None))
            fh.write(json.dumps({"k": "post", "i": i, "writer": type(writer).__name__, "due": stats.sent[i],
                                 "sent": sent, "ans": answered, "first": min(got, default=None),
                                 "last": max(got, default=None), "n": len(got),
                                 "late": sorted(t - stats.sent[i] for t in got)[-3:]}) + "\n")


def brief(m: dict) -> str:
    return (f"p50 {m['p50_ms']} p99 {m['p99_ms']} max {m['max_ms']} ms (from due p99 {m['from_due']['p99_ms']}; "
            f"generator late p99 {m['generator_late_p99_ms']}), "
            f"loss {m['loss']}/{m['expected_deliveries']}, order errors {m['order_errors']}, "
            f"{m['deliveries_per_s']} deliveries/s, reconnects {m['reconnects']}, CPU {m['server_cpu_pct']}%, "
            f"accepted {m['accepted']}/{m['posts']}")


# --- the scenario ----------------------------------------------------------------------------------------------------

async def run(ctx, cfg) -> dict:
    rooms, per_room = int(cfg.get("s2_rooms", 50)), int(cfg.get("s2_followers", 20))
    seconds, churn = float(cfg.get("s2_seconds", 30)), float(cfg.get("s2_churn", 0.05))
    rate = float(rooms)  # one comment per second into each debate
    # Each account posts at most once per 5 s (the limit is 3 per 5 s): a backlog that reaches the server in a
    # burst stays within it.
    writers = max(3, int(rate * 5) + 5)
    count = int(rate * seconds)
    warmup = rooms
    lower = [float(r) for r in cfg.get("s2_lower_rates", [0.5])]
    lower_steps: list[dict] = []
    # How the comments are written: the first over the whole run (the headline figures), each other one in a
    # steady run of its own right after. "socket": a `write` frame on the writer's open page socket, as live.js
    # sends a comment form when the page's socket is open; "http": the form's POST, as without JavaScript or htmx
    # with the socket down.
    transports = list(cfg.get("s2_writes", ["socket", "http"]))
    quick = os.environ.get("BENCH_S2_QUICK") == "1"
    if quick:
        transports, lower = transports[:1], []
    compared: dict[str, dict] = {}
    capacity = len(transports) * (warmup + count) + sum(int(rooms * r * seconds / 2) for r in lower) + 10
    seeded = ctx.seed("s2_rooms.seed_rooms", {"rooms": rooms, "writers": writers})
    room_list, sessions = seeded["rooms"], seeded["writer_sessions"]
    parameters = {"rooms": rooms, "followers_per_room": per_room, "sockets": rooms * per_room,
                  "posts_per_s": rate, "posts_per_room_per_s": 1, "seconds": seconds, "churn_per_s": churn,
                  "reconnect_delay_s": list(LIVEJS_FIRST_DELAY), "writer_accounts": writers, "writes": transports,
                  "also_comments_per_room_per_s": lower}

    app = scenarios.AppTarget(ctx).start()
    server = app.servers[0]
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            cursors = [await page_cursors(server.url, r["page"], client=client) for r in room_list]
        pool = MultiStreamPool(url=f"ws://127.0.0.1:{server.port}/ws/", origin=server.url, stats=Stats(capacity),
                               trace=[] if os.environ.get("BENCH_TRACE") else None)
        members: list[list] = []
        for r, cur in zip(room_list, cursors, strict=True):
            streams = {r["stream"]: cur.get(r["stream"], (r["epoch"], r["seq"]))}
            members.append([pool.add(None, streams) for _ in range(per_room)])
        rss0 = server.rss_kb()
        stack.log(f"S2 agora: {rooms} debates x {per_room} followers, {rate:g} comments/s, churn {churn:.0%}/s")
        connect_s = await pool.open()
        rss1 = server.rss_kb()

        def route_http(i):
            r = room_list[i % rooms]
            return sessions[i % len(sessions)], r["post"], {r["field"]: comment_text(i), **r["extra"]}

        def route_socket(i):  # the same form's fields, with the debate its URL names over HTTP
            r = room_list[i % rooms]
            return sessions[i % len(sessions)], "debates.comment", {
                "debate": r["stream"].partition(".")[2], r["field"]: comment_text(i), **r["extra"]}

        writers_by = {
            "http": RoutedWriter(server.url, route_http, csrf_page=room_list[0]["page"], csrf_session=sessions[0]),
            "socket": SocketWriter(f"ws://127.0.0.1:{server.port}/ws/", server.url, sessions, route_socket)}
        for w in writers_by.values():
            await w.setup()
        writer = writers_by[transports[0]]
        followers_of = lambda i: members[i % rooms]  # noqa: E731
        try:
            await measure(pool, writer, server, rate=rate, count=warmup, start_index=0, followers_of=followers_of)
            steady = await measure(pool, writer, server, rate=rate, count=count, start_index=warmup,
                                   followers_of=followers_of, churn=Churn(pool, churn))
            stack.log(f"S2 agora ({transports[0]} writes): {brief(steady)}")
            index = warmup + count
            # The same steady run with the comments written the other way, right after (CPU per comment moves
            # with the machine's load: compare the two of one run).
            for transport in transports[1:]:
                other = writers_by[transport]
                await measure(pool, other, server, rate=rate, count=warmup, start_index=index,
                              followers_of=followers_of)
                index += warmup
                step = await measure(pool, other, server, rate=rate, count=count, start_index=index,
                                     followers_of=followers_of, churn=Churn(pool, churn))
                index += count
                compared[transport] = step
                stack.log(f"S2 agora ({transport} writes): {brief(step)}")
            # The same shape at lower comment rates: where one process holds it when 1/s per debate is past
            # what its comment write path takes.
            for room_rate in lower:
                n = int(rooms * room_rate * seconds / 2)
                step = await measure(pool, writer, server, rate=rooms * room_rate, count=n, start_index=index,
                                     followers_of=followers_of, churn=Churn(pool, churn))
                index += n
                lower_steps.append({"comments_per_room_per_s": room_rate, **step})
                stack.log(f"S2 agora at {room_rate:g} comment/s per debate: {brief(step)}")
        finally:
            for w in writers_by.values():
                await w.close()
            await pool.close()
        frame_bytes = round(pool.stats.marked_bytes / pool.stats.marked_frames) if pool.stats.marked_frames else 1200
    finally:
        app.stop()

    # The same shape on stock Channels: a group per room, the same churn (no replay there).
    stock = None
    base = scenarios.StockTarget(ctx, frame_bytes).start() if not quick else None
    try:
        if base is None:
            raise RuntimeError("BENCH_S2_QUICK: no stock baseline")
        bserver = base.servers[0]
        bpool = MultiStreamPool(url=f"ws://127.0.0.1:{bserver.port}/ws/", origin=bserver.url, seq_check=False,
                                stats=Stats(capacity))
        bmembers = [[bpool.add(None, {}, ws_url=f"ws://127.0.0.1:{bserver.port}/ws/r{k}/") for _ in range(per_room)]
                    for k in range(rooms)]
        await bpool.open()
        bwriter = StockRoomWriter(bserver.url, lambda i: f"r{i % rooms}", frame_bytes)
        await bwriter.setup()
        try:
            stack.log("S2 stock_channels: same shape")
            await measure(bpool, bwriter, bserver, rate=rate, count=warmup, start_index=0,
                          followers_of=lambda i: bmembers[i % rooms])
            stock = await measure(bpool, bwriter, bserver, rate=rate, count=count, start_index=warmup,
                                  followers_of=lambda i: bmembers[i % rooms], churn=Churn(bpool, churn),
                                  drain_cap=30)
        finally:
            await bwriter.close()
            await bpool.close()
        stack.log(f"S2 stock_channels: {brief(stock)}")
    except Exception as exc:  # noqa: BLE001 - a baseline that fails is a finding, not the end of the run
        stock = {"error": repr(exc)[:300]}
    finally:
        if base is not None:
            base.stop()

    figures = {k: steady[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "loss", "deliveries_per_s", "server_rss_mb",
                                      "order_errors", "reconnects", "server_cpu_pct", "server_cpu_ms_per_post",
                                      "post_p50_ms", "post_p99_ms", "generator_late_p99_ms")}
    figures.update({"p99_live_ms": steady["live"]["p99_ms"], "p99_replayed_ms": steady["replayed"]["p99_ms"],
                    "p99_from_due_ms": steady["from_due"]["p99_ms"], "rss_kb_per_socket": round((rss1 - rss0) / (rooms * per_room), 1),
                    "accepted": f"{steady['accepted']}/{steady['posts']}"})
    for transport, step in compared.items():
        for key in ("p99_ms", "loss", "server_cpu_ms_per_post", "post_p50_ms", "post_p99_ms"):
            figures[f"{transport}_writes_{key}"] = step[key]
    for step in lower_steps:
        figures[f"p99_at_{step['comments_per_room_per_s']:g}_per_room_ms"] = step["p99_ms"]
        figures[f"loss_at_{step['comments_per_room_per_s']:g}_per_room"] = step["loss"]
    baselines, ratios = {}, {}
    if stock and "error" not in stock:
        baselines["stock_channels"] = {
            "p50_ms": stock["p50_ms"], "p99_ms": stock["p99_ms"], "max_ms": stock["max_ms"], "loss": stock["loss"],
            "deliveries_per_s": stock["deliveries_per_s"], "server_rss_mb": stock["server_rss_mb"],
            "server_cpu_pct": stock["server_cpu_pct"], "p99_live_ms": stock["live"]["p99_ms"],
            "generator_late_p99_ms": stock["generator_late_p99_ms"],
            "note": "no replay: churned sockets lose what was sent while they were away"}
        ratios = {"p99_vs_stock_channels": report.ratio(steady["p99_ms"], stock["p99_ms"]),
                  "p99_live_vs_stock_channels": report.ratio(steady["live"]["p99_ms"], stock["live"]["p99_ms"]),
                  "server_cpu_vs_stock_channels": report.ratio(steady["server_cpu_pct"], stock["server_cpu_pct"])}
    elif stock:
        baselines["stock_channels"] = {"error": stock["error"]}
    met = (steady["p99_ms"] or 1e9) <= 50 and steady["loss"] == 0 and steady["order_errors"] == 0 \
        and steady["accepted"] == steady["posts"]
    return report.scenario("S2", parameters, figures, baselines=baselines, ratios=ratios,
                           target="p99 <= 50 ms, zero loss (churned sockets through replay), order kept", met=met,
                           details={"agora": {"connect_s": round(connect_s, 2), "frame_bytes": frame_bytes,
                                              "steady": steady, "lower_rates": lower_steps,
                                              "compared_writes": compared},
                                    "stock_channels": stock,
                                    "latency_note": "p50/p99/max from the due time, or from the reconnect for a "
                                                    "post due while the socket was away; from_due includes the "
                                                    "client's 250-500 ms reconnect backoff"})
