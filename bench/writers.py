"""Writers: the real HTTP form POST of the application (signed in, CSRF token from the page), the same write over a
page's open socket (a `write` frame), and the triggers of the two baselines. Each `post(i)` returns True when the server accepted post i."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

import httpx
from picows import WSListener, WSMsgType, ws_connect

from bench.client import ListenerPool, Stats, marker, now_ns

CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')


def comment_text(i: int, size: int = 160) -> str:
    base = f"Benchmark comment {marker(i)} about the new tram line and the square. "
    return (base * (size // len(base) + 1))[:size]


class FormWriter:
    """Posts a form through the application's real endpoint, as htmx does: session cookie, CSRF token taken from
    the page, `HX-Request: true`. One HTTP client (keep-alive connection) per signed-in writer account; posts
    rotate between accounts so each stays within its rate limit."""

    def __init__(self, base_url: str, sessions: list[str], page_path: str, post_path: str, data_for,
                 session_cookie: str = "sessionid", max_in_flight: int | None = None):
        self.base_url, self.sessions, self.page_path, self.post_path = base_url, sessions, page_path, post_path
        self.data_for = data_for
        self.session_cookie = session_cookie
        self.clients: list[tuple[httpx.AsyncClient, str]] = []
        self.failures: list[str] = []
        # Posts in flight at once (browsers are many; 64 by default). The latency of a post that waits here still
        # counts from when it was due.
        self.sem = asyncio.Semaphore(max_in_flight or int(os.environ.get("BENCH_MAX_IN_FLIGHT", "64")))
        self.post_ms: list[float] = []

    async def setup(self):
        # The page, as the first writer's browser loads it: its form's CSRF token and the csrftoken cookie. The
        # CSRF cookie belongs to the browser, not to the session, so the other writers reuse both (one GET
        # instead of one per account).
        first = httpx.AsyncClient(base_url=self.base_url, cookies={self.session_cookie: self.sessions[0]},
                                  timeout=30)
        page = await first.get(self.page_path)
        page.raise_for_status()
        match = CSRF_INPUT_RE.search(page.text)
        token = match.group(1) if match else first.cookies.get("csrftoken")
        cookie = first.cookies.get("csrftoken")
        await first.aclose()
        if not token or not cookie:
            raise RuntimeError(f"no CSRF token on {self.page_path}")
        for session in self.sessions:
            client = httpx.AsyncClient(base_url=self.base_url,
                                       cookies={self.session_cookie: session, "csrftoken": cookie},
                                       timeout=30, limits=httpx.Limits(max_connections=4))
            self.clients.append((client, token))

    async def post(self, i: int) -> bool:
        client, token = self.clients[i % len(self.clients)]
        async with self.sem:
            t = time.perf_counter()
            try:
                response = await client.post(self.post_path, data={**self.data_for(i), "csrfmiddlewaretoken": token},
                                             headers={"HX-Request": "true", "X-CSRFToken": token,
                                                      "Referer": self.base_url + self.page_path})
            except httpx.HTTPError as exc:
                self.failures.append(f"post {i}: {exc!r}")
                return False
            self.post_ms.append((time.perf_counter() - t) * 1000)
        # htmx gets a refused post (rate limit, validation) as 400/403/429 retargeted to the form's error slot
        # (live/actions.py); only 204 (or a redirect without htmx) means the comment was saved.
        if response.status_code >= 400:
            self.failures.append(f"post {i}: HTTP {response.status_code} {response.text[:200]!r}")
            return False
        return True

    async def close(self):
        for client, _ in self.clients:
            await client.aclose()


class HttpTriggerWriter:
    """Stock Channels baseline: POST the payload to the baseline app, which group_sends it."""

    def __init__(self, base_url: str, payload_size: int):
        self.base_url, self.payload_size = base_url, payload_size
        self.failures: list[str] = []
        self.post_ms: list[float] = []

    async def setup(self):
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=httpx.Limits(max_connections=16))

    async def post(self, i: int) -> bool:
        t = time.perf_counter()
        try:
            response = await self.client.post("/post", content=baseline_payload(i, self.payload_size))
        except httpx.HTTPError as exc:
            self.failures.append(f"post {i}: {exc!r}")
            return False
        self.post_ms.append((time.perf_counter() - t) * 1000)
        return response.status_code < 400

    async def close(self):
        await self.client.aclose()


class WsPublishWriter:
    """Plain websockets baseline: the writer is one more socket whose messages the server broadcasts."""

    def __init__(self, ws_url: str, payload_size: int):
        self.ws_url, self.payload_size = ws_url, payload_size
        self.failures: list[str] = []
        self.post_ms: list[float] = []

    async def setup(self):
        import websockets

        self.ws = await websockets.connect(self.ws_url, max_size=None, compression=None)

    async def post(self, i: int) -> bool:
        await self.ws.send(baseline_payload(i, self.payload_size).decode())
        return True

    async def close(self):
        await self.ws.close()


def baseline_payload(i: int, size: int) -> bytes:
    """A frame shaped like the application's (JSON with an HTML fragment), padded to the same size."""
    head = f'{{"type":"event","stream":"room","seq":{i + 1},"html":"<article id=\\"c{i}\\"><p>{marker(i)} '
    tail = '</p></article>"}'
    pad = max(0, size - len(head) - len(tail))
    return (head + ("x" * pad) + tail).encode()


async def run_schedule(writer, pools: list[ListenerPool], stats: Stats, *, rate: float, count: int,
                       start_index: int = 0, expect=None) -> dict:
    """Post `count` posts at `rate` per second on a fixed schedule; each is expected by every connected listener
    of every pool, or as `expect(i)` records it (S2: the followers of post i's debate). Returns schedule facts (lag
    of the generator behind its schedule, failures)."""
    expected = sum(len(pool.connected()) for pool in pools)
    interval = 1e9 / rate
    t0 = now_ns() + 20_000_000
    tasks = []
    max_lag = 0
    for k in range(count):
        i = start_index + k
        due = int(t0 + k * interval)
        delay = due - now_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        else:
            max_lag = max(max_lag, -delay)
        stats.sent[i] = due
        if expect is not None:
            expect(i)
        for pool in pools:
            pool.expect(i, len(pool.connected()))
        tasks.append(asyncio.ensure_future(_post(writer, stats, i)))
    results = await asyncio.gather(*tasks)
    stats.posts += count
    return {"accepted": sum(results), "expected_per_post": expected, "schedule_max_lag_ms": round(max_lag / 1e6, 1),
            "offered_duration_s": round(count / rate, 2)}


async def _post(writer, stats: Stats, i: int) -> bool:
    ok = await writer.post(i)
    if ok:
        stats.ok[i] = 1
    return ok


class SocketWriter:
    """Writes as live.js sends a `data-live-write` form while its page's socket is open: a `write` frame
    (live/socket_writes.py) on the writer's own socket, answered `written` (accepted) or `refused`. One socket per
    signed-in account (its session cookie, the site's Origin), following no stream: what the writers' pages would
    receive is not what is measured, as with the HTTP writers. `route(i)` gives post i's (session, action, fields);
    the latency of a post counts from its due time, as for the HTTP writers."""

    def __init__(self, ws_url: str, origin: str, sessions: list[str], route, session_cookie: str = "sessionid",
                 timeout: float = 120):
        self.ws_url, self.origin, self.sessions, self.route = ws_url, origin, sessions, route
        self.session_cookie, self.timeout = session_cookie, timeout
        self.sockets: dict[str, _WriterSocket] = {}
        self.failures: list[str] = []
        self.post_ms: list[float] = []
        self.refused = 0
        self.sent = 0
        self.times: dict[int, tuple[int, int]] = {}  # post -> (frame sent, answer received), monotonic ns

    async def setup(self):
        sem = asyncio.Semaphore(50)

        async def open_one(session):
            async with sem:
                sock = _WriterSocket()
                await ws_connect(lambda: sock, self.ws_url, websocket_handshake_timeout=30,
                                 extra_headers=[("Origin", self.origin),
                                                ("Cookie", f"{self.session_cookie}={session}")])
                self.sockets[session] = sock

        await asyncio.gather(*(open_one(s) for s in self.sessions))

    async def post(self, i: int) -> bool:
        session, action, data = self.route(i)
        sock = self.sockets[session]
        self.sent += 1
        ident = f"w{self.sent}"
        t = time.perf_counter()
        sent_ns = now_ns()
        try:
            answer = await asyncio.wait_for(sock.write(ident, action, data), self.timeout)
        except (OSError, ConnectionError, TimeoutError) as exc:
            self.failures.append(f"post {i}: {exc!r}")
            return False
        self.times[i] = (sent_ns, now_ns())
        self.post_ms.append((time.perf_counter() - t) * 1000)
        if answer.get("type") != "written":
            self.refused += answer.get("kind") == "rate_limited"
            self.failures.append(f"post {i}: refused {answer.get('kind')} {answer.get('message', '')[:160]!r}")
            return False
        return True

    async def close(self):
        for sock in self.sockets.values():
            sock.close()
        await asyncio.gather(*(sock.closed.wait() for sock in self.sockets.values()))


class _WriterSocket(WSListener):
    """A writer's socket: sends `write` frames, hands each answer to the post that waits for its id."""

    def __init__(self):
        self.transport = None
        self.waiting: dict[str, asyncio.Future] = {}
        self.closed = asyncio.Event()

    def on_ws_connected(self, transport):
        self.transport = transport

    def on_ws_disconnected(self, transport):
        self.transport = None
        self.closed.set()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the writer's socket closed"))
        self.waiting.clear()

    def on_ws_frame(self, transport, frame):
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT or not frame.fin:
            return  # the answers are small, never fragmented
        answer = json.loads(frame.get_payload_as_bytes())
        future = self.waiting.pop(answer.get("id"), None)
        if future is not None and not future.done():
            future.set_result(answer)

    async def write(self, ident: str, action: str, data: dict) -> dict:
        if self.transport is None:
            raise ConnectionError("the writer's socket is closed")
        future = asyncio.get_running_loop().create_future()
        self.waiting[ident] = future
        self.transport.send(WSMsgType.TEXT, json.dumps(
            {"type": "write", "id": ident, "action": action, "data": data}).encode())
        return await future

    def close(self):
        if self.transport is not None:
            self.transport.send_close()
            self.transport.disconnect()
        else:
            self.closed.set()
