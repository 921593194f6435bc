"""A rolling restart loses and doubles nothing (live/drain.py, docs/deploy.md): SIGTERM to one of two real daphne
processes while comments are being posted. It stops listening, closes its sockets with 4503 (`restarting`) spread
over LIVE_DRAIN_SECONDS and exits; each page comes back after its jittered backoff, finds the stopped process
refusing connections (as a load balancer would) and resumes on the other one from the last seq it applied.

The clients here do what static/live/live.js does, without its duplicate filter: every seq must arrive exactly once."""

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
from tests.helpers import LiveServer, daphne_env, free_port, position

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
