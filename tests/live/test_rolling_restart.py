"""A rolling restart loses and doubles nothing (live/drain.py, docs/deploy.md): SIGTERM to one of two real daphne
processes while comments are being posted. It stops listening, closes its sockets with 4503 (`restarting`) spread
over LIVE_DRAIN_SECONDS and exits; each page comes back after its jittered backoff, finds the stopped process
refusing connections (as a load balancer would) and resumes on the other one from the last seq it applied.

The clients here do what static/live/live.js does, without its duplicate filter: every seq must arrive exactly once.

Then the bound on the HTTP requests in flight (LIVE_DRAIN_REQUESTS_SECONDS): a slow request finishing within it is
answered before the process exits; one exceeding it is cut at the bound and writes nothing."""

import asyncio
import json
import random
import socket
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from debates import services
from live import metrics as live_metrics
from tests.debates.conftest import make_debate
from tests.helpers import (
    LiveServer,
    daphne_env,
    database_url_for_subprocess,
    free_port,
    position,
    session_cookie,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.needs_redis]

PAGES = 12
COMMENTS = 30
DRAIN = 1.0


@pytest.fixture
def servers(django_db_setup):
    env = daphne_env(LIVE_DRAIN_SECONDS=str(DRAIN), METRICS_ALLOWED_NETWORKS="127.0.0.1")
    with ThreadPoolExecutor(2) as pool:
        servers = list(pool.map(lambda _: LiveServer(free_port(), env).start(), range(2)))
    yield servers
    for server in servers:
        server.stop()


def scrape(server) -> str:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:
        return response.read().decode()


def sample(text: str, name: str) -> float:
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


class Page:
    """One open page: follows the debate, reconnects where the load balancer sends it, resumes from its last seq."""

    def __init__(self, servers, key, pos):
        self.servers, self.key, self.epoch, self.last = servers, key, pos["epoch"], pos["seq"]
        self.seqs: list[int] = []
        self.closes: list[tuple[int, str]] = []  # (close code, error code before it)
        self.ports: list[int] = []

    async def run(self, until: int):
        retries = 0
        while self.last < until:
            ws = await self.open()
            reason = ""
            try:
                await ws.send(json.dumps({"type": "resume", "streams": {
                    self.key: {"epoch": self.epoch, "seq": self.last}}}))
                async for text in ws:
                    frame = json.loads(text)
                    if frame["type"] == "event" and frame["stream"] == self.key:
                        assert frame["seq"] == self.last + 1, f"got {frame['seq']} after {self.last}"
                        self.seqs.append(frame["seq"])
                        self.last = frame["seq"]
                        if self.last >= until:
                            await ws.close()
                            return
                    elif frame["type"] == "error":
                        reason = frame["code"]
                    elif frame["type"] == "subscribed":
                        retries = 0
            except ConnectionClosed:
                pass
            self.closes.append((ws.close_code, reason))
            retries += 1
            # live.js: 4503 "with backoff", 0.5 s doubling, jittered over its upper half
            delay = min(10.0, 0.5 * 2 ** retries)
            await asyncio.sleep(delay / 2 + random.random() * delay / 2)

    async def open(self):
        """The first process that accepts a connection, as nginx's upstream tries them."""
        for server in self.servers:
            try:
                ws = await connect(f"ws://127.0.0.1:{server.port}/ws/", origin=server.url, open_timeout=5)
            except OSError:
                continue
            self.ports.append(server.port)
            return ws
        raise AssertionError("no process accepts connections")


async def test_a_rolling_restart_moves_every_page_to_the_other_process_without_loss_or_doubles(settings, servers, fiona,
                                                                                                alice):
    settings.RATE_LIMITS_ENABLED = False  # the writer posts 10 comments a second
    restarted, other = servers
    debate = await sync_to_async(make_debate)(fiona)
    key = debate.stream_key
    pos = await sync_to_async(position)(key)
    until = pos["seq"] + COMMENTS
    pages = [Page([restarted, other], key, pos) for _ in range(PAGES)]
    runs = [asyncio.ensure_future(page.run(until)) for page in pages]
    deadline = time.monotonic() + 20
    while sample(await sync_to_async(scrape)(restarted), "agora_subscriptions{stream=\"debate\"}") < PAGES:
        assert time.monotonic() < deadline, "the pages did not all follow the debate"
        await asyncio.sleep(0.05)

    post = sync_to_async(services.post_comment)
    for n in range(COMMENTS):
        await post(author=alice, debate=debate, body=f"Commentaire {n}")
        if n == COMMENTS // 3:
            restarted.process.terminate()  # SIGTERM, as systemd stops it
            stopping = time.monotonic()
        await asyncio.sleep(0.1)

    await asyncio.wait_for(asyncio.gather(*runs), timeout=30)
    exit_code = await sync_to_async(restarted.process.wait)(timeout=15)
    stopped_after = time.monotonic() - stopping
    expected = list(range(pos["seq"] + 1, until + 1))
    for page in pages:
        assert page.seqs == expected  # zero lost, zero doubled, in order
        assert page.closes == [(4503, "restarting")]
        assert page.ports == [restarted.port, other.port]
    assert exit_code == 0 and stopped_after < DRAIN + 5
    metrics = await sync_to_async(scrape)(other)
    assert sample(metrics, 'agora_replays_total{stream="debate"}') >= PAGES
    # the process left standing reports its figures to the staff page ("État du direct") through Redis
    name = f"{socket.gethostname()}:{other.process.pid}"
    deadline = time.monotonic() + live_metrics.SNAPSHOT_SECONDS * 2 + 2
    while (reported := {p["process"]: p for p in await sync_to_async(live_metrics.reported)()}).get(
            name, {}).get("frames", 0) < PAGES:  # each page got at least its last events there
        assert time.monotonic() < deadline, f"{name} never reported its deliveries; saw {reported}"
        await asyncio.sleep(0.2)
    print(f"{PAGES} pages moved and resumed; the restarted process exited {stopped_after:.1f}s after SIGTERM")


# --- the bound on the requests in flight (LIVE_DRAIN_REQUESTS_SECONDS) ----------------------------------------------
# A comment POST made slow for real: the test holds the debate's stream counter row (SELECT ... FOR UPDATE in a
# connection of its own), so the server's `UPDATE ... RETURNING` waits on it, inside the request, until the test lets
# go. Then SIGTERM.

BOUND = 2.0


@pytest.fixture
def server(django_db_setup):
    server = LiveServer(free_port(), daphne_env(LIVE_DRAIN_SECONDS="0.2", LIVE_DRAIN_REQUESTS_SECONDS=str(BOUND)))
    server.start()
    yield server
    server.stop()


class HeldCounter:
    """The stream's counter row, locked by the test until release()."""

    def __init__(self, key):
        import psycopg

        from live.models import StreamCounter

        self.conn = psycopg.connect(database_url_for_subprocess())
        self.conn.execute(f"SELECT seq FROM {StreamCounter._meta.db_table} WHERE key = %s FOR UPDATE", [key])
        self.table, self.key = StreamCounter._meta.db_table, key

    def waiting(self) -> int:
        """Server connections waiting for a lock in this database (the POST blocked on the row)."""
        with psycopg_connection() as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND datname = current_database()").fetchone()[0]

    def release(self):
        self.conn.rollback()

    def settled(self):
        """Once the row can be locked again, the transaction that waited for it has committed or rolled back."""
        with psycopg_connection() as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(f"SELECT seq FROM {self.table} WHERE key = %s FOR UPDATE", [self.key])

    def close(self):
        self.conn.close()


def psycopg_connection():
    import psycopg

    return psycopg.connect(database_url_for_subprocess())


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def refuses_connections(server) -> bool:
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5).close()
    except OSError:
        return True
    return False


def slow_comment_then_sigterm(server, alice, fiona, body):
    """A comment POST held on the counter row, and SIGTERM once the server is waiting on it. Returns (the POST's
    future, the held row, the debate, when SIGTERM was sent)."""
    from tests.live.test_postgres_restart import post_comment

    debate = make_debate(fiona)
    services.post_comment(author=fiona, debate=debate, body="Premier")  # the counter row exists
    cookie = session_cookie(alice)
    held = HeldCounter(debate.stream_key)
    pool = ThreadPoolExecutor(1)
    answer = pool.submit(post_comment, server.url, debate.pk, cookie, body)
    pool.shutdown(wait=False)
    wait_until(lambda: held.waiting() == 1, 10, "the POST never reached the locked row")
    server.process.terminate()
    sigterm = time.monotonic()
    wait_until(lambda: refuses_connections(server), 5, "the process kept accepting connections after SIGTERM")
    return answer, held, debate, sigterm


def test_a_request_in_flight_finishes_within_the_bound_and_then_the_process_exits(server, alice, fiona):
    answer, held, debate, sigterm = slow_comment_then_sigterm(server, alice, fiona, "lent-mais-servi")
    try:
        time.sleep(BOUND / 3)  # the request is slow, but less than the bound
        assert server.process.poll() is None, "the process exited with a request in flight"
        held.release()
        assert answer.result(timeout=10) == 302  # the whole response reached the client
        exit_code = server.process.wait(timeout=10)
        stopped_after = time.monotonic() - sigterm
    finally:
        held.close()
    assert exit_code == 0
    assert stopped_after < BOUND, f"the process waited {stopped_after:.1f}s after its last request ended"
    assert debate.comments.filter(body__contains="Flux lent-mais-servi").count() == 1


def test_a_request_past_the_bound_is_cut_at_the_bound_and_writes_nothing(server, alice, fiona):
    answer, held, debate, sigterm = slow_comment_then_sigterm(server, alice, fiona, "trop-lent")
    try:
        exit_code = server.process.wait(timeout=BOUND + 10)  # while the row is still held
        stopped_after = time.monotonic() - sigterm
        assert answer.result(timeout=10) == 0  # the connection closed without a response: the page may retry
        held.release()
        held.settled()
    finally:
        held.close()
    assert exit_code == 0
    assert BOUND - 0.1 <= stopped_after < BOUND + 3, f"stopped {stopped_after:.1f}s after SIGTERM"
    # the cut request's transaction never committed: no half-written comment, the page's retry posts it once
    assert not debate.comments.filter(body__contains="Flux trop-lent").exists()
