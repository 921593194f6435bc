"""METRICS: what the Prometheus metrics cost (live/metrics.py). S1 and S3 with METRICS_ENABLED on and off in one run.

The two variants run side by side: two fresh daphne processes started as the others are (both pinned to the server's
CPU), one with METRICS_ENABLED=1 and one with 0, each with its own debate (S1) or its own half of the conversations
(S3) and its own sockets. They take turns: a window of `metrics_window_seconds` of writes into one, then into the
other, in the order A, B, B, A, A, B..., so both meet the same moments of a shared machine and the same age of
the database; each process's CPU is read over the whole span (its windows, its background work while the other
writes: sweeps, the loop-lag timer, the status reports, the scrapes). `metrics_rounds` pairs for S1 and
`metrics_s3_rounds` for S3, the metrics on in process A, then in B... (each debate served as often with the
metrics on as off). Even side by side, one process of a pair can measure several % dearer than the other whatever
its variant (S3 at its modest rate: 0.5-9 %), so S3 takes four pairs. A design with one process per
variant in turn (on, off, off, on) measured process-to-process differences of 2-12 % (the first process of a run
8 % dearer, whatever its variant), more than the effect looked for. While a pair runs, /metrics is scraped every
`metrics_scrape_seconds` on both with the bearer token, as Prometheus would (with the metrics off those requests get
their 404).

- S1: `listeners` sockets follow one debate; comments over HTTP at `rate`/s for `seconds`, then at
  `metrics_s1_busy_rate`/s for `metrics_s1_busy_seconds` (near saturation, where the hub gathers bursts into runs).
- S3: `metrics_s3_users` users in one-to-one conversations on their conversation page; messages over HTTP at the
  modest `metrics_s3_rate`/s for `metrics_s3_seconds` (bench/s3_messages.py runs the full ramp).

The figure compared is the server's CPU per write (process CPU from /proc over the pair's span, the writes, their
fan-out and the background work included): on / off, target <= 1.03 for both; the same in the windows only is in
the details. Latencies (p50, p99) are reported beside it; loss must be zero. Each pair's figures are in the
details, and so is a measurement that load hardly moves, the cost of each hot-path collector call in process
(`call_costs`), with the S1 cost per comment it adds up to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets

import httpx

from bench import report, scenarios, stack
from bench.client import MultiStreamPool, Stats, percentile
from bench.s2_rooms import RoutedWriter, measure
from bench.s3_messages import conversation_pages, message_route

TARGET_RATIO = 1.03


def variants(rounds: int) -> list[bool]:
    """on, off, off, on, on, off...: each pair in the other order than the one before."""
    out: list[bool] = []
    for r in range(rounds):
        out += [True, False] if r % 2 == 0 else [False, True]
    return out


@contextlib.asynccontextmanager
async def serving(ctx, cfg, on: bool, token: str, info: dict | None = None, name: str | None = None):
    """A fresh daphne process with the metrics on or off, scraped as Prometheus would while it serves; `name`: its
    log's (two processes at once must not share one)."""
    app = scenarios.AppTarget(ctx, fresh=info)
    for server in app.servers:
        server.env = {**server.env, "METRICS_ENABLED": "1" if on else "0", "METRICS_TOKEN": token}
        if name:
            server.name, server.log = name, stack.LOGS / f"{name}.log"
    app.start()
    scraper = asyncio.ensure_future(scrape_every(app.servers[0], token, cfg["metrics_scrape_seconds"]))
    try:
        yield app
    finally:
        scraper.cancel()
        app.stop()


async def scrape_every(server: stack.Server, token: str, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            await client.get("/metrics")
            await asyncio.sleep(seconds)


def cpu_per_write(steps: list[dict]) -> float | None:
    """Milliseconds of server CPU per accepted write over the steps."""
    cpu, writes = sum(s["cpu_s"] for s in steps), sum(s["accepted"] for s in steps)
    return round(cpu * 1000 / writes, 3) if writes else None


# --- two processes at once, measured in turns -----------------------------------------------------------------------

def turns(windows: int) -> list[int]:
    """Which of the two processes takes each window: 0, 1, 1, 0, 0, 1, 1, 0... (`windows` each)."""
    return [(0, 1, 1, 0)[j % 4] for j in range(2 * windows)]


def windows_of(seconds: float, window: float) -> int:
    """An even number of windows per process (each pair of turns in both orders), at least 2."""
    return max(2, 2 * round(seconds / (2 * window)))


class Side:
    """One of the two processes of a pair: its server, listeners and writer, and what its windows measured."""

    def __init__(self, app, on: bool):
        self.app, self.on, self.server = app, on, app.servers[0]
        self.index = 0  # the next post's number (S1: per debate; S3: shared by the pair, see s3_pair)
        self.steps: list[list[dict]] = []  # per step, its windows
        self.cpu0 = self.cpu_s = 0.0

    def start_clock(self) -> None:
        self.cpu0 = self.server.cpu_seconds()

    def stop_clock(self) -> None:
        self.cpu_s = self.server.cpu_seconds() - self.cpu0


async def in_turns(sides: list[Side], steps: list[tuple[float, float]], window: float, one_window) -> None:
    """For each (rate, seconds) step, each side posts `rate * seconds` writes at `rate`/s, in windows taken in turns
    (turns()), so both processes meet the same moments of the machine. Each side's CPU is read from before its
    first window to after the last one: the background work of the process (sweeps, the loop-lag timer, the status
    reports, the scrapes) is in it, the other side's windows included."""
    for side in sides:
        side.start_clock()
    for rate, seconds in steps:
        n = windows_of(seconds, window)
        count = max(5, round(rate * seconds / n))
        for side in sides:
            side.steps.append([])
        for k in turns(n):
            side = sides[k]
            cpu0 = side.server.cpu_seconds()
            result = await one_window(side, rate, count)
            result["cpu_s"] = side.server.cpu_seconds() - cpu0
            side.steps[-1].append(result)
    for side in sides:
        side.stop_clock()


def summary(side: Side, samples: dict, writes_key: str) -> dict:
    """What a side measured: CPU per write (the whole span, background included) and in its windows only,
    latencies over all its windows' deliveries, loss."""
    windows = [w for step in side.steps for w in step]
    accepted = sum(w["accepted"] for w in windows)
    out = {"metrics": side.on, writes_key: round(side.cpu_s * 1000 / accepted, 3) if accepted else None,
           f"{writes_key}_in_windows": cpu_per_write(windows), "accepted": accepted,
           "posts": sum(w["posts"] for w in windows), "loss": sum(w["loss"] for w in windows),
           "cpu_s": round(side.cpu_s, 2), "windows": len(windows)}
    for name, values in samples.items():
        out[f"{name}_p50_ms"], out[f"{name}_p99_ms"] = percentile(values, 50), percentile(values, 99)
    return out


# --- S1 ----------------------------------------------------------------------------------------------------------------

async def s1_pair(ctx, cfg, ons: tuple[bool, bool], token: str, infos: list) -> tuple[list[dict], list]:
    """S1 on two fresh processes at once, the metrics on in one and off in the other, each its own debate (seeded by
    the first pair, followed again by the next ones) and its own `listeners`."""
    async with contextlib.AsyncExitStack() as stack_:
        sides = []
        for k, (on, info) in enumerate(zip(ons, infos, strict=True)):
            sides.append(Side(await stack_.enter_async_context(
                serving(ctx, cfg, on, token, info, name=f"metrics-s1-{'AB'[k]}-{'on' if on else 'off'}")), on))
        for side in sides:
            side.info = side.app.info or side.app.new_stream()
            side.pool = await side.app.pool()
            await side.pool.connect(cfg["listeners"])
            stack_.push_async_callback(side.pool.close)
            side.writer = await side.app.writer()
            stack_.push_async_callback(side.writer.close)
            side.index = int(cfg["rate"] * 2)  # warm: templates, the pool's connections, the first fan-outs
            await scenarios.measure_rate(side.app, [side.pool], side.writer, rate=cfg["rate"], count=side.index,
                                         start_index=0, servers=side.app.servers)
            side.marks = len(side.pool.stats.latencies)

        async def one_window(side, rate, count):
            step = await scenarios.measure_rate(side.app, [side.pool], side.writer, rate=rate, count=count,
                                                start_index=side.index, servers=side.app.servers)
            step["lat_range"] = (side.marks, len(side.pool.stats.latencies))
            side.marks = len(side.pool.stats.latencies)
            side.index += count
            return step

        await in_turns(sides, [(cfg["rate"], cfg["seconds"]),
                               (cfg["metrics_s1_busy_rate"], cfg["metrics_s1_busy_seconds"])],
                       cfg["metrics_window_seconds"], one_window)
    out = []
    for side in sides:
        lat = side.pool.stats.latencies

        def of(step, lat=lat):
            return [x for w in step for x in lat[w["lat_range"][0]:w["lat_range"][1]]]

        result = summary(side, {"": of(side.steps[0]), "busy": of(side.steps[1])}, "cpu_ms_per_comment")
        result = {k.lstrip("_"): v for k, v in result.items()}
        delivered = sum(w["delivered"] for step in side.steps for w in step)
        result["cpu_us_per_delivery"] = round(side.cpu_s * 1e6 / delivered, 2) if delivered else None
        out.append(result)
        stack.log(f"  METRICS S1 {'on ' if side.on else 'off'}: {result['cpu_ms_per_comment']} ms CPU per comment "
                  f"({result['cpu_ms_per_comment_in_windows']} in its windows), {result['cpu_us_per_delivery']} µs "
                  f"per delivery, p99 {result['p99_ms']} ms (busy {result['busy_p99_ms']} ms), loss {result['loss']}, "
                  f"accepted {result['accepted']}/{result['posts']}")
    return out, [side.info for side in sides]


def _followers(members: list, i: int) -> list:
    """S3: the sockets that expect message i (both people of its conversation)."""
    return members[i % len(members)]


# --- S3 ----------------------------------------------------------------------------------------------------------------

async def s3_pair(ctx, cfg, ons: tuple[bool, bool], token: str, halves: list[list], start_index: int
                  ) -> tuple[list[dict], int]:
    """S3 on two fresh processes at once, the metrics on in one and off in the other, each with its own half of the
    conversations; the messages are numbered from `start_index` across the pair (message i goes to side k's
    conversation i % len)."""
    rate, seconds, warmup = cfg["metrics_s3_rate"], cfg["metrics_s3_seconds"], 20
    total = warmup + int(rate * seconds) + 2 * len(turns(windows_of(seconds, cfg["metrics_window_seconds"]))) + 10
    async with contextlib.AsyncExitStack() as stack_:
        sides = []
        for k, on in enumerate(ons):
            sides.append(Side(await stack_.enter_async_context(
                serving(ctx, cfg, on, token, name=f"metrics-s3-{'AB'[k]}-{'on' if on else 'off'}")), on))
        index = start_index
        for side, convs in zip(sides, halves, strict=True):
            pages = await conversation_pages(side.server, convs)
            side.pool = MultiStreamPool(url=f"ws://127.0.0.1:{side.server.port}/ws/", origin=side.server.url,
                                        stats=Stats(start_index + 2 * total), mark_prefix=b"conversation.")
            members, k = [], 0
            for _cid, people in convs:
                members.append([side.pool.add(f"sessionid={session}", pages[k + j])
                                for j, (_uid, session) in enumerate(people)])
                k += len(people)
            await side.pool.open()
            stack_.push_async_callback(side.pool.close)
            side.writer = RoutedWriter(side.server.url, message_route(convs), csrf_page=f"/messages/{convs[0][0]}/",
                                       csrf_session=convs[0][1][0][1], max_in_flight=64)
            await side.writer.setup()
            stack_.push_async_callback(side.writer.close)
            side.followers_of = functools.partial(_followers, members)
            await measure(side.pool, side.writer, side.server, rate=rate, count=warmup, start_index=index,
                          followers_of=side.followers_of)
            index += warmup
            side.lat: list[float] = []

        async def one_window(side, rate, count):
            nonlocal index
            marks = len(side.pool.live_latencies), len(side.pool.replay_latencies)
            step = await measure(side.pool, side.writer, side.server, rate=rate, count=count, start_index=index,
                                 followers_of=side.followers_of)
            side.lat += side.pool.live_latencies[marks[0]:]
            side.lat += side.pool.replay_latencies[marks[1]:]
            index += count
            return step

        await in_turns(sides, [(rate, seconds)], cfg["metrics_window_seconds"], one_window)
    out = []
    for side in sides:
        result = summary(side, {"": side.lat}, "cpu_ms_per_message")
        result = {k.lstrip("_"): v for k, v in result.items()}
        result["refused"] = sum(w["refused"] for w in side.steps[0])
        out.append(result)
        stack.log(f"  METRICS S3 {'on ' if side.on else 'off'}: {result['cpu_ms_per_message']} ms CPU per message "
                  f"({result['cpu_ms_per_message_in_windows']} in its windows), p99 {result['p99_ms']} ms, "
                  f"loss {result['loss']}, accepted {result['accepted']}/{result['posts']}")
    return out, index


# --- the collectors' own cost, in process -------------------------------------------------------------------------

def call_costs(args: dict) -> dict:
    """Microseconds per call of each hot-path collector with the metrics on and off (best of 9 repeats), and the
    HTTP wrapper's cost per POST. Runs in a seed subprocess (Django set up, bench settings)."""
    import timeit
    from types import SimpleNamespace

    from django.test import override_settings

    from live import metrics

    event = SimpleNamespace(stream="debate.1", kind="comment.posted")
    calls = {"frames_delivered": lambda: metrics.frames_delivered("debate.1"),
             "published": lambda: metrics.published(event, 0.0),
             "rate_limit_checked": lambda: metrics.rate_limit_checked("comment")}
    scope = {"type": "http", "method": "POST", "path": "/"}

    async def app(scope, receive, send):
        await send({"type": "http.response.body", "body": b""})

    async def nothing(message):
        return None

    async def requests(handler, n):
        for _ in range(n):
            await handler(scope, None, nothing)

    def per_request(handler, n=20000) -> float:
        best = min(timeit.repeat(lambda: asyncio.run(requests(handler, n)), number=1, repeat=5))
        return best / n * 1e6

    out = {}
    for on in (True, False):
        with override_settings(METRICS_ENABLED=on):
            costs = {name: round(min(timeit.repeat(call, number=50_000, repeat=9)) / 50_000 * 1e6, 3)
                     for name, call in calls.items()}
            costs["http_post_wrapper"] = round(max(0.0, per_request(metrics.Instrumented(app)) - per_request(app)), 3)
        out["on" if on else "off"] = costs
    # One S1 comment: its POST timed, its rate limit named, its event's render observed, its fan-out's frames counted
    # (once per fan-out, live/hub.py: the listeners no longer multiply it).
    out["s1_us_per_comment"] = {
        state: round(c["published"] + c["frames_delivered"] + c["rate_limit_checked"] + c["http_post_wrapper"], 1)
        for state, c in (("on", out["on"]), ("off", out["off"]))}
    out["s1_listeners"] = int(args.get("listeners", 1000))
    return out


# --- the scenario ------------------------------------------------------------------------------------------------------

def mean(runs: list[dict], key: str, on: bool):
    values = [r[key] for r in runs if r["metrics"] is on and r[key] is not None]
    return round(sum(values) / len(values), 3) if values else None


async def run(ctx, cfg) -> dict:
    token = secrets.token_urlsafe(24)
    rounds = int(cfg["metrics_rounds"])
    # Pair r runs the metrics on in process A when r is even, in process B when odd: each debate (and each half of the
    # conversations) is served as often with the metrics on as off.
    pairs = [(True, False) if r % 2 == 0 else (False, True) for r in range(rounds)]
    # S3 at its modest rate: more pairs. Whichever its variant, one process of a pair measured 0.5-9 % dearer than
    # the other (on/off per pair, two runs of two pairs: 1.088 then 0.995, 0.979 then 1.036; one of four: 1.055,
    # 1.000, 1.049, 1.014), about the effect looked for (docs/performance.md).
    s3_pairs = [(True, False) if r % 2 == 0 else (False, True) for r in range(int(cfg.get("metrics_s3_rounds", rounds)))]
    s1_runs, s3_runs = [], []
    costs = ctx.seed("metrics_overhead.call_costs", {"listeners": cfg["listeners"]})
    stack.log("  METRICS collector calls, µs on/off: " + ", ".join(
        f"{name} {costs['on'][name]}/{costs['off'][name]}" for name in costs["on"])
        + f"; S1 per comment {costs['s1_us_per_comment']}")
    infos = [None, None]
    for ons in pairs:
        results, infos = await s1_pair(ctx, cfg, ons, token, infos)
        s1_runs += results
    users = int(cfg["metrics_s3_users"]) // 2 * 2
    convs = ctx.seed("s3_messages.seed_conversations", {"users": 2 * users})["conversations"]
    halves = [convs[: len(convs) // 2], convs[len(convs) // 2:]]
    index = 0
    for ons in s3_pairs:
        results, index = await s3_pair(ctx, cfg, ons, token, halves, index)
        s3_runs += results

    s1 = {on: mean(s1_runs, "cpu_ms_per_comment", on) for on in (True, False)}
    s3 = {on: mean(s3_runs, "cpu_ms_per_message", on) for on in (True, False)}
    ratios = {"s1_cpu_per_comment_on_vs_off": report.ratio(s1[True], s1[False], 3),
              "s1_cpu_per_delivery_on_vs_off": report.ratio(mean(s1_runs, "cpu_us_per_delivery", True),
                                                            mean(s1_runs, "cpu_us_per_delivery", False), 3),
              "s1_cpu_per_comment_in_windows_on_vs_off": report.ratio(
                  mean(s1_runs, "cpu_ms_per_comment_in_windows", True),
                  mean(s1_runs, "cpu_ms_per_comment_in_windows", False), 3),
              "s3_cpu_per_message_on_vs_off": report.ratio(s3[True], s3[False], 3),
              "s3_cpu_per_message_in_windows_on_vs_off": report.ratio(
                  mean(s3_runs, "cpu_ms_per_message_in_windows", True),
                  mean(s3_runs, "cpu_ms_per_message_in_windows", False), 3),
              "s1_p99_on_vs_off": report.ratio(mean(s1_runs, "p99_ms", True), mean(s1_runs, "p99_ms", False)),
              "s3_p99_on_vs_off": report.ratio(mean(s3_runs, "p99_ms", True), mean(s3_runs, "p99_ms", False))}
    loss = sum(r["loss"] for r in s1_runs + s3_runs)
    refused = sum(r["posts"] - r["accepted"] for r in s1_runs + s3_runs)
    figures = {"p50_ms": mean(s1_runs, "p50_ms", True), "p99_ms": mean(s1_runs, "p99_ms", True), "loss": loss,
               "refused": refused,
               "s1_cpu_ms_per_comment": {"on": s1[True], "off": s1[False]},
               "s3_cpu_ms_per_message": {"on": s3[True], "off": s3[False]},
               "s1_cpu_ms_per_comment_pairs": [[r["metrics"], r["cpu_ms_per_comment"]] for r in s1_runs],
               "s3_cpu_ms_per_message_pairs": [[r["metrics"], r["cpu_ms_per_message"]] for r in s3_runs],
               "collector_us_per_s1_comment": costs["s1_us_per_comment"],
               "s1_p99_ms": {"on": mean(s1_runs, "p99_ms", True), "off": mean(s1_runs, "p99_ms", False)},
               "s3_p99_ms": {"on": mean(s3_runs, "p99_ms", True), "off": mean(s3_runs, "p99_ms", False)}}
    held = [ratios["s1_cpu_per_comment_on_vs_off"], ratios["s3_cpu_per_message_on_vs_off"]]
    met = all(r is not None and r <= TARGET_RATIO for r in held) and loss == 0 and refused == 0
    stack.log(f"METRICS: server CPU per write, on / off: S1 {held[0]}, S3 {held[1]} (target <= {TARGET_RATIO}); "
              f"in the windows only: S1 {ratios['s1_cpu_per_comment_in_windows_on_vs_off']}, "
              f"S3 {ratios['s3_cpu_per_message_in_windows_on_vs_off']}")
    parameters = {"pairs": [["on" if on else "off" for on in ons] for ons in pairs],
                  "s3_pairs": [["on" if on else "off" for on in ons] for ons in s3_pairs], "s1_listeners": cfg["listeners"],
                  "s1_rates": [cfg["rate"], cfg["metrics_s1_busy_rate"]],
                  "s1_seconds": [cfg["seconds"], cfg["metrics_s1_busy_seconds"]], "s3_users": users,
                  "s3_rate": cfg["metrics_s3_rate"], "s3_seconds": cfg["metrics_s3_seconds"],
                  "window_s": cfg["metrics_window_seconds"], "scrape_every_s": cfg["metrics_scrape_seconds"]}
    return report.scenario("METRICS", parameters, figures, ratios=ratios, met=met,
                           target=f"server CPU per write with metrics on <= {TARGET_RATIO}x off, S1 and S3; zero loss",
                           details={"s1": s1_runs, "s3": s3_runs, "collector_call_costs_us": costs})


# --- in one process: python -m bench.metrics_overhead [--writes comment,message] [--pairs 8] [--n 40] -------------

def in_process(writes: list[str], pairs: int, n: int) -> dict:
    """METRICS_ENABLED switched between alternating batches of `n` writes in one process, through bench.write_cost's
    harness (the real ASGI application, sockets following): no process-to-process difference, and a drift of the
    machine weighs on both alike. What it leaves out: the loop-lag timer, the status reports and the scrapes (a
    daphne process's, timed by `call_costs` and the scenario above)."""
    import statistics

    from bench import write_cost

    write_cost.configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections
    from django.test import override_settings

    from live import ratelimit

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_metrics_overhead"
    settings.RATE_LIMITS = {action: "1000000/60" for action in ratelimit.DEFAULT_LIMITS}
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    warmup = 5
    try:
        world = write_cost.World((n + warmup) * pairs * 2 * len(writes) + 50)
        write_cost.instrument()
        from live.asgi import application

        async def alternate():
            cpu = {write: {True: [], False: []} for write in writes}
            start = 0
            for pair in range(pairs):
                for on in (True, False) if pair % 2 == 0 else (False, True):
                    for write in writes:
                        with override_settings(METRICS_ENABLED=on):
                            row = await write_cost.measure(write, world, application, n, warmup, start)
                        start += n + warmup
                        cpu[write][on].append(row["cpu_ms"])
            return cpu

        cpu = asyncio.run(alternate())
    finally:
        connections.close_all()
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        connection.creation.destroy_test_db(name, verbosity=0)
    return {write: {"on_ms": runs[True], "off_ms": runs[False],
                    "on_vs_off_mean": round(statistics.mean(runs[True]) / statistics.mean(runs[False]), 3),
                    "on_vs_off_median": round(statistics.median(runs[True]) / statistics.median(runs[False]), 3)}
            for write, runs in cpu.items()}


def main(argv=None) -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=in_process.__doc__.split("\n\n")[0])
    parser.add_argument("--writes", default="comment,message", help="among bench.write_cost's writes")
    parser.add_argument("--pairs", type=int, default=8, help="on/off pairs, each pair in the other order")
    parser.add_argument("--n", type=int, default=40, help="writes of each kind per batch")
    args = parser.parse_args(argv)
    result = in_process([w for w in args.writes.split(",") if w], args.pairs, args.n)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
