"""Benchmark entry point: `python -m bench.run --smoke` (CI, under 2 minutes) or `--full` (make bench).

Starts its own servers (daphne as production starts it, pinned to CPU 0; the generator runs on CPU 1) on its own
PostgreSQL database (`<name>_bench`, created and migrated here) and Redis database (12/13 by default), runs the
scenarios of PERFORMANCE.md against the application and the two baselines, writes bench/results/latest.json and
latest.md (full) or smoke.json (smoke), and exits non-zero when the smoke run loses a delivery, sees an error or
exceeds its loose p99 bound.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import uvloop

from bench import report, scenarios, stack

RESULTS = stack.RESULTS

SMOKE = {"listeners": 200, "rate": 10, "seconds": 5, "ramp": [], "p99_bound_ms": 1000, "s8_comments": 300,
         "s8_repeat": 10}
# Saturation ramps (posts/s), per system: the application levels off around 25-40 posts/s into one debate, stock
# Channels under 10, the plain broadcast server in the hundreds.
RAMPS = {"agora": [15, 20, 25, 30, 40, 50, 60], "ws_broadcast": [20, 40, 80, 160, 320, 640],
         "stock_channels": [5, 10, 20]}
FULL = {"listeners": 1000, "rate": 10, "seconds": 20, "ramp": RAMPS["agora"], "ramp_seconds": 4,
        "idle": [1000, 5000], "storm_clients": 1000, "storm_missed": 20, "s8_comments": 5000, "s8_repeat": 40,
        "s6_listeners": 2000,
        # S9 (bench/s9_meeting.py): phone sockets in the meeting; 50 contributions over 2 s per burst, 3 bursts with
        # pre-moderation off and 1 with it on (the facilitator approving from the console).
        "s9_phones": 300, "s9_posts": 50, "s9_seconds": 2, "s9_bursts": 3, "s9_premod_bursts": 1,
        # S10 (bench/s10_voice.py): phones answering an open-text question within 10 s, then tapping reactions at
        # 2/s each for 10 s.
        "s10_phones": 300, "s10_answer_seconds": 10, "s10_taps_per_s": 2, "s10_tap_seconds": 10,
        # S2 (bench/s2_rooms.py): debates x followers, 1 comment/s into each, churn per second. S3
        # (bench/s3_messages.py): users (two per one-to-one conversation), a ramp of messages/s (s3_step_seconds
        # each), then the 500/s target for s3_target_seconds.
        "s2_rooms": 50, "s2_followers": 20, "s2_seconds": 30, "s2_churn": 0.05,
        "s3_users": 1000, "s3_rates": [5, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200, 300], "s3_step_seconds": 5,
        "s3_target_rate": 500, "s3_target_seconds": 2,
        # S4 (bench/s4_slow.py): readers beside the 5 slow sockets; 150 comments at 25/s per burst.
        "s4_listeners": 500,
        # METRICS (bench/metrics_overhead.py): S1 (listeners, rate, seconds, then a busy step) and S3 at a modest
        # rate, on two processes at once, METRICS_ENABLED on in one and off in the other, measured in turns of
        # metrics_window_seconds; metrics_rounds pairs (on in either process in turn; S3 metrics_s3_rounds), /metrics
        # scraped.
        "metrics_rounds": 2, "metrics_window_seconds": 2, "metrics_scrape_seconds": 15, "metrics_s1_busy_rate": 30, "metrics_s1_busy_seconds": 6,
        "metrics_s3_users": 400, "metrics_s3_rate": 10, "metrics_s3_seconds": 20, "metrics_s3_rounds": 4}


# Scenarios in their own modules: each has `async def run(ctx, cfg) -> dict` (a report.scenario(...) object); the
# seed data it needs comes from the module's `seed_*` functions, run with `ctx.seed("<module>.<function>", args)`.
EXTRA_SCENARIOS = [("S2", "bench.s2_rooms"), ("S3", "bench.s3_messages"), ("S4", "bench.s4_slow"),
                   ("S9", "bench.s9_meeting"), ("S10", "bench.s10_voice"), ("METRICS", "bench.metrics_overhead")]


class Context:
    def __init__(self, args):
        self.services = stack.Services() if stack.own_services_wanted() else None
        if self.services:
            self.db_url, self.redis_url = self.services.start()
        else:
            self.db_url = stack.bench_database_url()
            self.redis_url = stack.bench_redis_url()
        self.env = stack.server_env(self.db_url, self.redis_url)
        self.target = args.target
        self.writers = args.writers
        self.scale = args.scale

    def prepare(self):
        stack.log(f"database {self.db_url.rsplit('/', 1)[-1]}, redis {self.redis_url}")
        stack.ensure_database(self.db_url)
        stack.flush_redis(self.redis_url)
        stack.manage(self.env, "migrate", "--noinput", "-v0")

    def seed(self, command: str, args: dict) -> dict:
        return scenarios.run_seed(self.env, command, args)


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "load_avg_at_start": stack.machine_load(), "kernel": platform.release()}


def pick_target(args) -> str:
    if args.target != "auto":
        return args.target
    from importlib.util import find_spec

    return "debate" if find_spec("bench.debates_adapter") and _debates_ready() else "notifications"


def _debates_ready() -> bool:
    from bench import debates_adapter

    return debates_adapter.ready()


async def smoke(ctx: Context, out: dict) -> list[str]:
    failures = []
    cfg = SMOKE
    app = scenarios.AppTarget(ctx).start()
    try:
        app.new_stream()
        stack.log(f"S1 smoke: {cfg['listeners']} listeners, {cfg['rate']} posts/s for {cfg['seconds']} s "
                  f"({ctx.target} path)")
        s1 = await scenarios.fanout(app, listeners=cfg["listeners"], rate=cfg["rate"], seconds=cfg["seconds"],
                                    ramp=cfg["ramp"], ramp_seconds=0)
        steady = s1["steady"]
        out["scenarios"].append(report.scenario("S1-smoke", {"listeners": cfg["listeners"], "posts_per_s": cfg["rate"],
                                                             "seconds": cfg["seconds"], "path": ctx.target},
                                                steady, details=s1))
        stack.log(f"S1 smoke: p50 {steady['p50_ms']} ms p99 {steady['p99_ms']} ms loss {steady['loss']} "
                  f"order errors {steady['order_errors']} accepted {steady['accepted']}/{steady['posts']}")
        if steady["loss"]:
            failures.append(f"S1: {steady['loss']} deliveries lost")
        if steady["order_errors"]:
            failures.append(f"S1: {steady['order_errors']} out-of-order frames")
        if steady["accepted"] != steady["posts"]:
            failures.append(f"S1: {steady['posts'] - steady['accepted']} posts refused: {steady['write_failures']}")
        if steady["p99_ms"] is None or steady["p99_ms"] > cfg["p99_bound_ms"]:
            failures.append(f"S1: p99 {steady['p99_ms']} ms beyond the smoke bound {cfg['p99_bound_ms']} ms")
        if ctx.target == "debate":
            s8 = await s8_page(ctx, app, cfg["s8_comments"], cfg["s8_repeat"])
            out["scenarios"].append(s8)
            stack.log(f"S8 smoke: {s8['details']}")
    finally:
        app.stop()
    return failures


async def s8_page(ctx: Context, app, comments: int, repeat: int) -> dict:
    from bench import debates_adapter

    seeded = ctx.seed("s8", {"comments": comments, "repeat": repeat})
    big, q_small, q_big = seeded["big"], seeded["q_small"], seeded["q_big"]
    timing = await scenarios.page_time(app, path=big["page"], repeat=repeat)
    server = scenarios.summarize(q_big["ms"][1:])  # the first request warms the process
    details = {"comments": comments, "server_time": server, "http_loopback": timing,
               "queries_20_comments": q_small["queries"][-1], "queries_big": q_big["queries"][-1],
               "page_bytes": timing["bytes"], "first_page_roots": debates_adapter.PAGE_SIZE_HINT}
    constant = q_small["queries"][-1] == q_big["queries"][-1]
    return report.scenario("S8", {"comments": comments, "requests": repeat},
                           {"p50_ms": server["p50_ms"], "p95_ms": server["p95_ms"], "p99_ms": server["p99_ms"],
                            "max_ms": server["max_ms"], "http_p95_ms": timing["p95_ms"],
                            "queries": q_big["queries"][-1], "query_count_constant": constant}, details=details,
                           target="first page p95 <= 50 ms server time, query count constant",
                           met=(server["p95_ms"] or 1e9) <= 50 and constant)


def scaled(cfg: dict, factor: float) -> dict:
    """The full configuration with every population multiplied by `factor` (development runs)."""
    if factor == 1:
        return cfg
    out = dict(cfg)
    for key in ("listeners", "storm_clients", "s6_listeners", "s8_comments", "s9_phones", "s4_listeners",
                "s10_phones"):
        out[key] = max(10, int(cfg[key] * factor))
    out["idle"] = [max(10, int(n * factor)) for n in cfg["idle"]]
    out["seconds"] = max(3, cfg["seconds"] * factor)
    for key in ("s2_rooms", "s3_users", "metrics_s3_users"):
        out[key] = max(10, int(cfg[key] * factor))
    out["s2_seconds"] = max(10, cfg["s2_seconds"] * factor)
    for key in ("s3_step_seconds", "s3_target_seconds"):
        out[key] = max(2, cfg[key] * factor)
    return out


async def full(ctx: Context, out: dict, only: set[str] | None) -> list[str]:
    cfg = scaled(FULL, ctx.scale)
    out["config"] = cfg
    def want(name):
        return (only is None or name in only)
    def save():
        return (report.write(out, RESULTS / "latest.json", RESULTS / "latest.md"))
    baseline_s1 = {}
    payload = 1200
    if want("S8") and ctx.target == "debate":
        app = scenarios.AppTarget(ctx).start()
        try:
            stack.log("S8: debate page with 5000 comments")
            out["scenarios"].append(await s8_page(ctx, app, cfg["s8_comments"], cfg["s8_repeat"]))
            save()
        finally:
            app.stop()
    if want("S1"):
        app = scenarios.AppTarget(ctx).start()
        try:
            app.new_stream()
            stack.log(f"S1 agora: {cfg['listeners']} listeners, {cfg['rate']} posts/s")
            s1 = await scenarios.fanout(app, listeners=cfg["listeners"], rate=cfg["rate"], seconds=cfg["seconds"],
                                        ramp=cfg["ramp"], ramp_seconds=cfg["ramp_seconds"])
            payload = s1["frame_bytes"] or payload
        finally:
            app.stop()
        for cls in (scenarios.WsTarget, scenarios.StockTarget):
            base = cls(ctx, payload).start()
            try:
                stack.log(f"S1 {base.name}")
                baseline_s1[base.name] = await scenarios.fanout(
                    base, listeners=cfg["listeners"], rate=cfg["rate"], seconds=cfg["seconds"],
                    ramp=RAMPS[base.name], ramp_seconds=cfg["ramp_seconds"])
            finally:
                base.stop()
        out["scenarios"].append(report.s1(cfg, s1, baseline_s1, ctx.target))
        save()
    if want("S5"):
        results = {}
        for n in cfg["idle"]:
            for make in (lambda: scenarios.AppTarget(ctx), lambda: scenarios.WsTarget(ctx, payload),
                         lambda: scenarios.StockTarget(ctx, payload)):
                target = make()
                target.start()
                try:
                    if target.name == "agora":
                        target.new_stream()
                    stack.log(f"S5 {target.name}: {n} idle connections")
                    results.setdefault(n, {})[target.name] = await scenarios.idle_memory(target, connections=n)
                except Exception as exc:  # noqa: BLE001 - a baseline that cannot hold n sockets is a finding
                    results.setdefault(n, {})[target.name] = {"error": repr(exc)[:300]}
                finally:
                    target.stop()
        out["scenarios"].append(report.s5(results))
        save()
    if want("S7"):
        storm = {}
        for make in (lambda: scenarios.AppTarget(ctx), lambda: scenarios.StockTarget(ctx, payload)):
            target = make()
            target.start()
            try:
                if target.name == "agora":
                    target.new_stream()
                stack.log(f"S7 {target.name}: {cfg['storm_clients']} clients reconnect at once")
                storm[target.name] = await scenarios.reconnect_storm(target, clients=cfg["storm_clients"],
                                                                     missed=cfg["storm_missed"])
            finally:
                target.stop()
        out["scenarios"].append(report.s7(storm))
        save()
    if want("S6"):
        one = next((s for s in out["scenarios"] if s["name"] == "S1"), None)
        two = scenarios.AppTarget(ctx, processes=2, cpus=("0", "1")).start()
        try:
            two.new_stream()
            stack.log("S6: two daphne processes sharing Redis")
            s6 = await s6_two_processes(two, cfg)
        finally:
            two.stop()
        out["scenarios"].append(report.s6(s6, one))
        save()
    for name, module_name in EXTRA_SCENARIOS:
        if not want(name):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        stack.log(f"{name}: {module.__doc__.strip().splitlines()[0] if module.__doc__ else module_name}")
        out["scenarios"].append(await module.run(ctx, cfg))
        save()
    save()
    return []


async def s6_two_processes(target, cfg) -> dict:
    """Half the listeners on each process, posts alternating between the processes' HTTP endpoints."""
    a, b = target.servers
    half = cfg["s6_listeners"] // 2
    pool_a, pool_b = await target.pool(a), await target.pool(b)
    pool_b.stats = pool_a.stats
    await pool_a.connect(half)
    await pool_b.connect(half)
    wa, wb = await target.writer(a), await target.writer(b)

    class Alternate:
        failures, post_ms = wa.failures, wa.post_ms

        async def post(self, i):
            return await (wa if i % 2 == 0 else wb).post(i)

    writer = Alternate()
    pools = [pool_a, pool_b]
    index = 0
    try:
        steady = await scenarios.measure_rate(target, pools, writer, rate=cfg["rate"],
                                              count=int(cfg["rate"] * cfg["seconds"]), start_index=index,
                                              servers=target.servers)
        index += steady["posts"]
        steps, best, flat = [], None, 0
        for rate in cfg["ramp"]:
            count = max(10, int(rate * cfg["ramp_seconds"]))
            step = await scenarios.measure_rate(target, pools, writer, rate=rate, count=count, start_index=index,
                                                servers=target.servers)
            index += count
            steps.append({k: step[k] for k in ("offered_posts_per_s", "deliveries_per_s", "p50_ms", "p99_ms",
                                               "loss", "server_cpu_pct", "order_errors")})
            stack.log(f"  S6 ramp {rate}/s -> {step['deliveries_per_s']} deliveries/s p99 {step['p99_ms']} ms "
                      f"loss {step['loss']} order errors {step['order_errors']}")
            improved = best is None or step["deliveries_per_s"] > best["deliveries_per_s"] * 1.05
            if best is None or step["deliveries_per_s"] > best["deliveries_per_s"]:
                best = step
            flat = 0 if improved else flat + 1
            if flat >= 2 or step["deliveries_per_s"] < 0.5 * rate * steady["listeners"]:
                break
        return {"steady": steady, "ramp": steps, "saturation_deliveries_per_s": best["deliveries_per_s"],
                "saturation_p99_ms": best["p99_ms"], "loss": steady["loss"] + sum(s["loss"] for s in steps),
                "order_errors": steady["order_errors"] + sum(s["order_errors"] for s in steps)}
    finally:
        await wa.close()
        await wb.close()
        await pool_a.close()
        await pool_b.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--smoke", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--only", help="comma-separated scenarios of the full run (S1-S10, METRICS)")
    parser.add_argument("--target", default="auto", choices=["auto", "debate", "notifications"])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every population (development runs)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="replace one setting of the full run's FULL (development runs), e.g. "
                             "--set 's3_rates=[0.5, 5, 20]' --set s3_step_seconds=20")
    parser.add_argument("--writers", type=int, default=0,
                        help="signed-in writer accounts; default: enough for the highest rate within the comment "
                             "rate limit (3 per 5 s per account)")
    args = parser.parse_args(argv)
    for setting in args.set:
        key, _, value = setting.partition("=")
        if key not in FULL:
            parser.error(f"--set {key}: not a setting of the full run ({', '.join(sorted(FULL))})")
        FULL[key] = json.loads(value)

    stack.raise_nofile()
    stack.pin_generator()
    args.target = pick_target(args)
    if not args.writers:
        top = max([SMOKE["rate"], *SMOKE["ramp"]] if args.smoke else [FULL["rate"], *FULL["ramp"]])
        args.writers = min(1000, int(top * 3) + 5)  # each account posts at most every 3 s: 2 per 5 s window
    ctx = Context(args)
    try:
        return _run(args, ctx)
    finally:
        if ctx.services:
            ctx.services.stop()


def _run(args, ctx: Context) -> int:
    started = time.time()
    out = {"mode": "smoke" if args.smoke else "full", "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": machine(), "path": ctx.target, "scenarios": []}
    failures: list[str] = []
    try:
        ctx.prepare()
        runner = smoke(ctx, out) if args.smoke else full(ctx, out, set(args.only.split(",")) if args.only else None)
        failures = uvloop.run(runner)
    except Exception:
        traceback.print_exc()
        failures.append("the benchmark itself failed (see the traceback above)")
    out["duration_s"] = round(time.time() - started, 1)
    out["machine"]["load_avg_at_end"] = stack.machine_load()
    if args.smoke:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "smoke.json").write_text(json.dumps(out, indent=2) + "\n")
    else:
        report.write(out, RESULTS / "latest.json", RESULTS / "latest.md")
    stack.log(f"done in {out['duration_s']} s")
    for failure in failures:
        print(f"BENCH FAILURE: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
