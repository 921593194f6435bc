"""Soak (RELIABILITY 28): hundreds of sockets over many minutes with random disconnects; every client's log must
equal the database's, and the server's memory must stay flat.

    python -m bench.soak --minutes 10 --sockets 300      (make soak)

One daphne process (started as production starts it, on the run's own PostgreSQL and Redis), a debate, `sockets`
followers through the real /ws/ endpoint with the resume protocol, comments posted over the real HTTP endpoint at
`rate` per second. Every second a random `churn` share of the sockets is cut without a close handshake (as a lost
network does) and comes back after 0.1-3 s, resuming from the last seq it applied, as static/live/live.js does.
At the end the writer stops, every socket catches up, and each socket's log (the seqs it applied, in order, without
duplicates) is compared with the stream's events in PostgreSQL. The server's RSS is sampled all along: after the
warm-up it must not grow by more than `--rss-growth-mb`.

Writes bench/results/soak.json (or $BENCH_RESULTS/soak.json); exits 1 when a log differs or memory grows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import uvloop

from bench import stack
from bench.client import SEQ_RE, TYPE_RE, Listener
from bench.run import Context
from bench.scenarios import AppTarget


class LogListener(Listener):
    """Keeps the seqs it applied, like a page: duplicates dropped, a hole answered by a resume."""

    __slots__ = ("log", "holes", "cuts")

    def __init__(self, pool, idx):
        super().__init__(pool, idx)
        self.log: list[int] = []
        self.holes = 0
        self.cuts = 0

    def on_message(self, data: bytes, t: int):
        head = data[:160]
        m = SEQ_RE.search(head)
        if m is None:
            return
        seq = int(m.group(1))
        kind = TYPE_RE.search(head)
        kind = kind.group(1) if kind else b""
        if kind == b"event":
            if seq <= self.last_seq:
                return  # a duplicate: the page drops it
            if seq != self.last_seq + 1:
                self.holes += 1  # the page would ask for a replay: so do we
                self.transport.send_close()
                return
            self.last_seq = seq
            self.log.append(seq)
        elif kind == b"subscribed":
            self.subscribed.set()
        elif kind == b"reset":
            self.errors.append(f"reset at {seq}")


async def soak(ctx: Context, *, seconds: float, sockets: int, rate: float, churn: float, warmup: float) -> dict:
    app = AppTarget(ctx).start()
    server = app.servers[0]
    try:
        info = app.new_stream()
        pool = await app.pool()
        start_seq = pool.start_seq
        pool.listeners = [LogListener(pool, k) for k in range(sockets)]
        sem = asyncio.Semaphore(100)
        await asyncio.gather(*(pool._connect_one(lst, sem) for lst in pool.listeners))
        writer = await app.writer()
        rss: list[tuple[float, float]] = []
        stop = asyncio.Event()
        t0 = time.monotonic()

        async def write():
            i = 0
            while not stop.is_set():
                due = t0 + i / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await writer.post(i)
                i += 1
            return i

        async def cut_and_return(lst):
            if lst.transport is None:
                return
            lst.cuts += 1
            lst.transport.underlying_transport.abort()
            await asyncio.sleep(random.uniform(0.1, 3.0))
            await pool._connect_one(lst, sem)

        async def churner():
            while not stop.is_set():
                await asyncio.sleep(1)
                for lst in random.sample(pool.listeners, max(1, int(sockets * churn))):
                    asyncio.ensure_future(cut_and_return(lst))

        async def sample():
            while not stop.is_set():
                rss.append((round(time.monotonic() - t0, 1), round(server.rss_kb() / 1024, 1)))
                await asyncio.sleep(5)

        tasks = [asyncio.ensure_future(write()), asyncio.ensure_future(churner()), asyncio.ensure_future(sample())]
        await asyncio.sleep(seconds)
        stop.set()
        posts = await tasks[0]
        await asyncio.sleep(3.5)  # the last cut sockets come back
        # Pages that were away a long time (or hit a hole) reconnect until they follow again.
        for lst in pool.listeners:
            if lst.transport is None:
                await pool._connect_one(lst, sem)
        head = await _head(ctx, info["stream"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(lst.last_seq < head for lst in pool.listeners):
            for lst in pool.listeners:
                if lst.transport is None and lst.last_seq < head:
                    await pool._connect_one(lst, sem)
            await asyncio.sleep(0.5)
        rss.append((round(time.monotonic() - t0, 1), round(server.rss_kb() / 1024, 1)))
        expected = list(range(start_seq + 1, head + 1))
        differing = [lst.idx for lst in pool.listeners if lst.log != expected]
        cuts, holes = sum(lst.cuts for lst in pool.listeners), sum(lst.holes for lst in pool.listeners)
        await writer.close()
        await pool.close()
    finally:
        app.stop()
    after_warmup = [mb for t, mb in rss if t >= warmup] or [rss[-1][1]]
    return {"seconds": seconds, "sockets": sockets, "posts_per_s": rate, "churn_per_s": churn, "posts": posts,
            "accepted_events": head - start_seq, "writer_failures": writer.failures[:3],
            "cuts": cuts, "holes_seen": holes,
            "logs_equal_to_database": sockets - len(differing), "logs_differing": differing[:10],
            "rss_mb_after_warmup": after_warmup[0], "rss_mb_end": rss[-1][1],
            "rss_growth_mb": round(rss[-1][1] - after_warmup[0], 1), "rss_samples": rss}


async def _head(ctx: Context, stream: str) -> int:
    """The stream's last seq and a check that the log has every seq up to it (gap-free), from PostgreSQL."""
    out = await asyncio.to_thread(ctx.seed, "soak.seed_head", {"stream": stream})
    if out["seqs"] != list(range(out["first"], out["head"] + 1)):
        raise AssertionError(f"the log of {stream} has gaps")
    return out["head"]


def seed_head(args: dict) -> dict:
    from live.models import Event

    seqs = list(Event.objects.filter(stream=args["stream"]).order_by("seq").values_list("seq", flat=True))
    return {"head": seqs[-1] if seqs else 0, "first": seqs[0] if seqs else 1, "seqs": seqs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seconds", type=float, help="overrides --minutes")
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5, help="comments per second")
    parser.add_argument("--churn", type=float, default=0.02, help="share of sockets cut each second")
    parser.add_argument("--rss-growth-mb", type=float, default=25)
    args = parser.parse_args(argv)
    seconds = args.seconds or args.minutes * 60
    stack.raise_nofile()
    stack.pin_generator()

    class Args:
        target, scale = "debate", 1.0
        # Each account may post 3 comments per 5 s: twice what the schedule needs, so that a generator that fell
        # behind and catches up in a burst is not refused.
        writers = int(args.rate * 6) + 5

    ctx = Context(Args())
    try:
        ctx.prepare()
        result = uvloop.run(soak(ctx, seconds=seconds, sockets=args.sockets, rate=args.rate, churn=args.churn,
                                 warmup=min(60.0, seconds / 4)))
    finally:
        if ctx.services:
            ctx.services.stop()
    failures = []
    if result["logs_differing"]:
        failures.append(f"{args.sockets - result['logs_equal_to_database']} sockets' logs differ from the database")
    if result["rss_growth_mb"] > args.rss_growth_mb:
        failures.append(f"server memory grew by {result['rss_growth_mb']} MB after the warm-up")
    if result["writer_failures"]:
        failures.append(f"posts refused: {result['writer_failures']}")
    result["failures"] = failures
    stack.RESULTS.mkdir(parents=True, exist_ok=True)
    (stack.RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    stack.log(f"soak: {result['sockets']} sockets, {result['cuts']} cuts, {result['accepted_events']} events, "
              f"{result['logs_equal_to_database']} logs equal to the database, RSS {result['rss_mb_after_warmup']} "
              f"-> {result['rss_mb_end']} MB")
    for failure in failures:
        print(f"SOAK FAILURE: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
