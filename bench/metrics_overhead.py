"""METRICS: what the Prometheus metrics cost (live/metrics.py). S1 and S3 with METRICS_ENABLED on and off in one run.

Each variant is a fresh daphne process started as the others are, with METRICS_ENABLED=1 or 0; the variants
alternate on, off, off, on... (`metrics_rounds` pairs), so that a drift of the machine during the run weighs on both
alike, after one warm-up process that is not compared (the first one of a run costs more, whatever its variant). While a variant runs, /metrics is scraped every `metrics_scrape_seconds` with the bearer token, as Prometheus
would (with the metrics off those requests get their 404).

- S1: `listeners` sockets follow one debate; comments over HTTP at `rate`/s for `seconds`, then at
  `metrics_s1_busy_rate`/s for `metrics_s1_busy_seconds` (near saturation, where the per-frame counter weighs most).
- S3: `metrics_s3_users` users in one-to-one conversations on their conversation page; messages over HTTP at the
  modest `metrics_s3_rate`/s for `metrics_s3_seconds` (bench/s3_messages.py runs the full ramp).

The figure compared is the server's CPU per write (process CPU from /proc over the step, the write and its fan-out
included): on / off, target <= 1.03 for both. Latencies (p50, p99) are reported beside it; loss must be zero. On a
busy machine the run-to-run spread of that figure exceeds 3 %: each run's figure is in the details, and so is a
measurement that load hardly moves, the cost of each hot-path collector call in process (`call_costs`), with the
S1 cost per comment it adds up to.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import httpx

from bench import report, scenarios, stack
from bench.client import MultiStreamPool, Stats
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
async def serving(ctx, cfg, on: bool, token: str, info: dict | None = None):
    """A fresh daphne process with the metrics on or off, scraped as Prometheus would while it serves."""
    app = scenarios.AppTarget(ctx, fresh=info)
    for server in app.servers:
        server.env = {**server.env, "METRICS_ENABLED": "1" if on else "0", "METRICS_TOKEN": token}
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


# --- S1 ----------------------------------------------------------------------------------------------------------------

async def s1_variant(ctx, cfg, on: bool, token: str, info: dict | None) -> tuple[dict, dict]:
    """One S1 run on a fresh process; the debate `info` is seeded by the first run and followed by the next ones."""
    async with serving(ctx, cfg, on, token, info) as app:
        server = app.servers[0]
        info = app.info or app.new_stream()
        pool = await app.pool()
        await pool.connect(cfg["listeners"])
        writer = await app.writer()
        try:
            index = int(cfg["rate"] * 2)  # warm: templates, the pool's connections, the first fan-outs
            await scenarios.measure_rate(app, [pool], writer, rate=cfg["rate"], count=index, start_index=0,
                                         servers=app.servers)
            steps = []
            for rate, seconds in ((cfg["rate"], cfg["seconds"]),
                                  (cfg["metrics_s1_busy_rate"], cfg["metrics_s1_busy_seconds"])):
                count = max(10, int(rate * seconds))
                cpu0 = server.cpu_seconds()
                step = await scenarios.measure_rate(app, [pool], writer, rate=rate, count=count, start_index=index,
                                                    servers=app.servers)
                step["cpu_s"] = server.cpu_seconds() - cpu0
                index += count
                steps.append(step)
        finally:
            await writer.close()
            await pool.close()
    delivered = sum(s["delivered"] for s in steps)
    out = {"metrics": on, "cpu_ms_per_comment": cpu_per_write(steps),
           "cpu_us_per_delivery": round(sum(s["cpu_s"] for s in steps) * 1e6 / delivered, 2) if delivered else None,
           "p50_ms": steps[0]["p50_ms"], "p99_ms": steps[0]["p99_ms"], "busy_p99_ms": steps[1]["p99_ms"],
           "busy_deliveries_per_s": steps[1]["deliveries_per_s"], "loss": sum(s["loss"] for s in steps),
           "accepted": sum(s["accepted"] for s in steps), "posts": sum(s["posts"] for s in steps),
           "cpu_s": [round(s["cpu_s"], 2) for s in steps]}
    stack.log(f"  METRICS S1 {'on ' if on else 'off'}: {out['cpu_ms_per_comment']} ms CPU per comment, "
              f"{out['cpu_us_per_delivery']} µs per delivery, p99 {out['p99_ms']} ms (busy {out['busy_p99_ms']} ms), "
              f"loss {out['loss']}, accepted {out['accepted']}/{out['posts']}")
    return out, info


# --- S3 ----------------------------------------------------------------------------------------------------------------

async def s3_variant(ctx, cfg, on: bool, token: str, convs: list, start_index: int) -> tuple[dict, int]:
    """One S3 run on a fresh process, its messages numbered from `start_index` (spread over the senders)."""
    n_conv = len(convs)
    rate, seconds, warmup = cfg["metrics_s3_rate"], cfg["metrics_s3_seconds"], 20
    count = int(rate * seconds)
    async with serving(ctx, cfg, on, token) as app:
        server = app.servers[0]
        pages = await conversation_pages(server, convs)
        pool = MultiStreamPool(url=f"ws://127.0.0.1:{server.port}/ws/", origin=server.url,
                               stats=Stats(start_index + warmup + count + 10), mark_prefix=b"conversation.")
        members, k = [], 0
        for _cid, people in convs:
            members.append([pool.add(f"sessionid={session}", pages[k + j]) for j, (_uid, session) in enumerate(people)])
            k += len(people)
        await pool.open()
        writer = RoutedWriter(server.url, message_route(convs), csrf_page=f"/messages/{convs[0][0]}/",
                              csrf_session=convs[0][1][0][1], max_in_flight=64)
        await writer.setup()
        followers_of = lambda i: members[i % n_conv]  # noqa: E731
        try:
            await measure(pool, writer, server, rate=rate, count=warmup, start_index=start_index,
                          followers_of=followers_of)
            cpu0 = server.cpu_seconds()
            step = await measure(pool, writer, server, rate=rate, count=count, start_index=start_index + warmup,
                                 followers_of=followers_of)
            step["cpu_s"] = server.cpu_seconds() - cpu0
        finally:
            await writer.close()
            await pool.close()
    out = {"metrics": on, "cpu_ms_per_message": cpu_per_write([step]), "p50_ms": step["p50_ms"],
           "p99_ms": step["p99_ms"], "loss": step["loss"], "accepted": step["accepted"], "posts": step["posts"],
           "refused": step["refused"], "cpu_s": round(step["cpu_s"], 2)}
    stack.log(f"  METRICS S3 {'on ' if on else 'off'}: {out['cpu_ms_per_message']} ms CPU per message, "
              f"p99 {out['p99_ms']} ms, loss {out['loss']}, accepted {out['accepted']}/{out['posts']}")
    return out, start_index + warmup + count


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
    listeners = int(args.get("listeners", 1000))
    out["s1_us_per_comment"] = {
        state: round(c["published"] + listeners * c["frames_delivered"] + c["rate_limit_checked"]
                     + c["http_post_wrapper"], 1) for state, c in (("on", out["on"]), ("off", out["off"]))}
    out["s1_listeners"] = listeners
    return out


# --- the scenario ------------------------------------------------------------------------------------------------------

def mean(runs: list[dict], key: str, on: bool):
    values = [r[key] for r in runs if r["metrics"] is on and r[key] is not None]
    return round(sum(values) / len(values), 3) if values else None


async def run(ctx, cfg) -> dict:
    token = secrets.token_urlsafe(24)
    order = variants(int(cfg["metrics_rounds"]))
    s1_runs, s3_runs = [], []
    costs = ctx.seed("metrics_overhead.call_costs", {"listeners": cfg["listeners"]})
    stack.log("  METRICS collector calls, µs on/off: " + ", ".join(
        f"{name} {costs['on'][name]}/{costs['off'][name]}" for name in costs["on"])
        + f"; S1 per comment (x{cfg['listeners']} frames) {costs['s1_us_per_comment']}")
    # The first process of each scenario pays for what is still cold (PostgreSQL's buffers and new tables, the first
    # pages): in development runs it cost 8% more per write than the others, whichever variant it was. It warms up
    # and is not compared.
    warm_s1, info = await s1_variant(ctx, cfg, True, token, None)
    for on in order:
        result, info = await s1_variant(ctx, cfg, on, token, info)
        s1_runs.append(result)
    users = int(cfg["metrics_s3_users"]) // 2 * 2
    convs = ctx.seed("s3_messages.seed_conversations", {"users": users})["conversations"]
    warm_s3, index = await s3_variant(ctx, cfg, True, token, convs, 0)
    for on in order:
        result, index = await s3_variant(ctx, cfg, on, token, convs, index)
        s3_runs.append(result)

    s1 = {on: mean(s1_runs, "cpu_ms_per_comment", on) for on in (True, False)}
    s3 = {on: mean(s3_runs, "cpu_ms_per_message", on) for on in (True, False)}
    ratios = {"s1_cpu_per_comment_on_vs_off": report.ratio(s1[True], s1[False], 3),
              "s1_cpu_per_delivery_on_vs_off": report.ratio(mean(s1_runs, "cpu_us_per_delivery", True),
                                                            mean(s1_runs, "cpu_us_per_delivery", False), 3),
              "s3_cpu_per_message_on_vs_off": report.ratio(s3[True], s3[False], 3),
              "s1_p99_on_vs_off": report.ratio(mean(s1_runs, "p99_ms", True), mean(s1_runs, "p99_ms", False)),
              "s3_p99_on_vs_off": report.ratio(mean(s3_runs, "p99_ms", True), mean(s3_runs, "p99_ms", False))}
    loss = sum(r["loss"] for r in s1_runs + s3_runs)
    refused = sum(r["posts"] - r["accepted"] for r in s1_runs + s3_runs)
    figures = {"p50_ms": mean(s1_runs, "p50_ms", True), "p99_ms": mean(s1_runs, "p99_ms", True), "loss": loss,
               "refused": refused,
               "s1_cpu_ms_per_comment": {"on": s1[True], "off": s1[False]},
               "s3_cpu_ms_per_message": {"on": s3[True], "off": s3[False]},
               "s1_cpu_ms_per_comment_runs": [[r["metrics"], r["cpu_ms_per_comment"]] for r in s1_runs],
               "s3_cpu_ms_per_message_runs": [[r["metrics"], r["cpu_ms_per_message"]] for r in s3_runs],
               "collector_us_per_s1_comment": costs["s1_us_per_comment"],
               "s1_p99_ms": {"on": mean(s1_runs, "p99_ms", True), "off": mean(s1_runs, "p99_ms", False)},
               "s3_p99_ms": {"on": mean(s3_runs, "p99_ms", True), "off": mean(s3_runs, "p99_ms", False)}}
    held = [ratios["s1_cpu_per_comment_on_vs_off"], ratios["s3_cpu_per_message_on_vs_off"]]
    met = all(r is not None and r <= TARGET_RATIO for r in held) and loss == 0 and refused == 0
    stack.log(f"METRICS: server CPU per write, on / off: S1 {held[0]}, S3 {held[1]} (target <= {TARGET_RATIO})")
    parameters = {"order": ["on" if on else "off" for on in order], "s1_listeners": cfg["listeners"],
                  "s1_rates": [cfg["rate"], cfg["metrics_s1_busy_rate"]],
                  "s1_seconds": [cfg["seconds"], cfg["metrics_s1_busy_seconds"]], "s3_users": users,
                  "s3_rate": cfg["metrics_s3_rate"], "s3_seconds": cfg["metrics_s3_seconds"],
                  "scrape_every_s": cfg["metrics_scrape_seconds"]}
    return report.scenario("METRICS", parameters, figures, ratios=ratios, met=met,
                           target=f"server CPU per write with metrics on <= {TARGET_RATIO}x off, S1 and S3; zero loss",
                           details={"s1": s1_runs, "s3": s3_runs, "collector_call_costs_us": costs,
                                    "warm_up_not_compared": {"s1": warm_s1, "s3": warm_s3}})


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
