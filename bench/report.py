"""Shape the results: one object per scenario in latest.json, and the Markdown table of latest.md."""

from __future__ import annotations

import collections
import json
from pathlib import Path

KEYS = ("p50_ms", "p99_ms", "max_ms", "loss", "deliveries_per_s", "server_rss_mb", "kb_per_conn")


def scenario(name: str, parameters: dict, figures: dict, *, details=None, baselines=None, ratios=None,
             target: str | None = None, met: bool | None = None) -> dict:
    out = {"name": name, "parameters": parameters}
    for key in KEYS:
        out[key] = figures.get(key)
    for key, value in figures.items():
        if key not in out and key not in ("steady", "ramp"):
            out[key] = value
    out["baselines"] = baselines or {}
    out["ratios"] = ratios or {}
    if target:
        out["target"] = target
        out["met"] = met
    if details is not None:
        out["details"] = details
    return out


def ratio(a, b, digits: int = 2):
    if a is None or b in (None, 0):
        return None
    value = a / b
    return round(value, digits if value >= 0.1 else 4)


def s1(cfg: dict, app: dict, bases: dict, path: str) -> dict:
    steady = app["steady"]
    figures = {k: steady.get(k) for k in ("p50_ms", "p99_ms", "max_ms", "loss", "all_n_p50_ms", "all_n_p99_ms",
                                          "order_errors", "server_cpu_pct", "post_p50_ms", "post_p99_ms")}
    figures["server_rss_mb"] = steady["server_rss_mb"][0]
    figures["deliveries_per_s"] = app["saturation_deliveries_per_s"]
    figures["steady_deliveries_per_s"] = steady["deliveries_per_s"]
    baselines, ratios = {}, {}
    for name, base in bases.items():
        b = base["steady"]
        baselines[name] = {"p50_ms": b["p50_ms"], "p99_ms": b["p99_ms"], "max_ms": b["max_ms"], "loss": b["loss"],
                           "deliveries_per_s": base["saturation_deliveries_per_s"],
                           "server_rss_mb": b["server_rss_mb"][0], "server_cpu_pct_at_10_per_s": b["server_cpu_pct"]}
        ratios[f"saturation_vs_{name}"] = ratio(app["saturation_deliveries_per_s"], base["saturation_deliveries_per_s"])
        ratios[f"p99_vs_{name}"] = ratio(steady["p99_ms"], b["p99_ms"])
    met = (steady["p99_ms"] or 1e9) <= 100 and steady["loss"] == 0 and (app["saturation_deliveries_per_s"] or 0) >= 25000
    stock = bases.get("stock_channels")
    if stock:
        met = met and (ratios.get("saturation_vs_stock_channels") or 0) >= 4
    return scenario("S1", {"listeners": cfg["listeners"], "posts_per_s": cfg["rate"], "seconds": cfg["seconds"],
                           "ramp_posts_per_s": cfg["ramp"], "ramp_seconds": cfg["ramp_seconds"], "path": path,
                           "frame_bytes": app.get("frame_bytes")},
                    figures, baselines=baselines, ratios=ratios,
                    target="p99 <= 100 ms, zero loss; saturation >= 25k deliveries/s and >= 4x stock", met=met,
                    details={"agora": app, **bases})


def s5(results: dict) -> dict:
    biggest = max(results)
    app = results[biggest].get("agora", {})
    baselines = {name: {"kb_per_conn": r.get("kb_per_conn"), "server_rss_mb": r.get("rss_after_mb"),
                        "error": r.get("error")} for name, r in results[biggest].items() if name != "agora"}
    ratios = {f"kb_per_conn_vs_{name}": ratio(app.get("kb_per_conn"), b["kb_per_conn"])
              for name, b in baselines.items()}
    figures = {"kb_per_conn": app.get("kb_per_conn"), "server_rss_mb": app.get("rss_after_mb"), "loss": None}
    return scenario("S5", {"connections": sorted(results)}, figures, baselines=baselines, ratios=ratios,
                    target="<= 50 KB per idle connection; 5000 connections in one process",
                    met=(app.get("kb_per_conn") or 1e9) <= 50 and app.get("connected") == biggest,
                    details={str(n): r for n, r in results.items()})


def s6(two: dict, one: dict | None) -> dict:
    steady = two["steady"]
    one_sat = one["deliveries_per_s"] if one else None
    figures = {"p50_ms": steady["p50_ms"], "p99_ms": steady["p99_ms"], "max_ms": steady["max_ms"],
               "loss": two["loss"], "order_errors": two["order_errors"],
               "deliveries_per_s": two["saturation_deliveries_per_s"], "server_rss_mb": steady["server_rss_mb"]}
    r = ratio(two["saturation_deliveries_per_s"], one_sat)
    # On 2 cores the generator shares a core with the second process, so the raw ratio measures the machine as
    # much as the design. Deliveries per second of server CPU tell whether two processes sharing Redis lose
    # anything against one: if they do not, each process on its own core would deliver that much.
    eff_one = _per_cpu_second(one["details"]["agora"]["ramp"]) if one and one.get("details") else None
    eff_two = _per_cpu_second(two["ramp"])
    figures["deliveries_per_server_cpu_s"] = eff_two
    ratios = {"saturation_vs_one_process": r,
              "deliveries_per_cpu_s_vs_one_process": ratio(eff_two, eff_one)}
    return scenario("S6", {"processes": 2, "listeners": steady["listeners"]}, figures,
                    baselines={"agora_one_process": {"deliveries_per_s": one_sat,
                                                     "deliveries_per_server_cpu_s": eff_one}},
                    ratios=ratios,
                    target=">= 0.9x one process's deliveries per second of server CPU, zero loss, order kept per "
                           "stream (PERFORMANCE.md: 2 cores cannot show throughput scaling)",
                    met=(ratios["deliveries_per_cpu_s_vs_one_process"] or 0) >= 0.9 and two["loss"] == 0
                    and two["order_errors"] == 0, details=two)


def _per_cpu_second(steps: list[dict]) -> int | None:
    """Deliveries per second of server CPU (all processes) at the busiest loss-free ramp step."""
    best = None
    for step in steps:
        cpu = sum(step.get("server_cpu_pct") or []) / 100
        if step.get("loss") or cpu <= 0:
            continue
        if best is None or step["deliveries_per_s"] > best["deliveries_per_s"]:
            best = {**step, "cpu": cpu}
    return round(best["deliveries_per_s"] / best["cpu"]) if best else None


def s7(storm: dict) -> dict:
    app = storm.get("agora", {})
    baselines = {name: {"all_resumed_s": r.get("all_resumed_s"), "p50_ms": r.get("resume_p50_ms"),
                        "p99_ms": r.get("resume_p99_ms"),
                        "max_ms": round(r["all_resumed_s"] * 1000, 1) if r.get("all_resumed_s") else None,
                        "server_cpu_s": r.get("server_cpu_s"), "catch_up": "none (stock has no replay)"}
                 for name, r in storm.items() if name != "agora"}
    ratios = {f"storm_time_vs_{name}": ratio(app.get("all_resumed_s"), b["all_resumed_s"])
              for name, b in baselines.items()}
    figures = {"p50_ms": app.get("resume_p50_ms"), "p99_ms": app.get("resume_p99_ms"), "loss": app.get("loss"),
               "max_ms": round(app["all_resumed_s"] * 1000, 1) if app.get("all_resumed_s") else None,
               "all_resumed_s": app.get("all_resumed_s"), "server_cpu_s": app.get("server_cpu_s")}
    return scenario("S7", {"clients": app.get("clients"), "missed_posts": app.get("missed_posts")}, figures,
                    baselines=baselines, ratios=ratios, target="all resumed (with catch-up) within 2 s",
                    met=(app.get("all_resumed_s") or 1e9) <= 2 and app.get("loss") == 0, details=storm)


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if 0 < abs(value) < 0.1:
            return f"{value:.4f}"
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return " / ".join(fmt(v) for v in value)
    return str(value)


def markdown(out: dict) -> str:
    m = out.get("machine", {})
    lines = [f"# Benchmark results ({out.get('mode')}, {out.get('generated_at')})", "",
             f"Machine: {m.get('cpus')} CPUs ({m.get('cpu_model')}), Python {m.get('python')}, load average "
             f"{m.get('load_avg_at_start')} at start and {m.get('load_avg_at_end', '?')} at end. Write path: "
             f"`{out.get('path')}`. Duration {out.get('duration_s', '?')} s. Method and caveats: docs/performance.md.",
             "", "| scenario | p50 ms | p95 ms | p99 ms | max ms | loss | deliveries/s | RSS MB | KB/conn | target | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in out.get("scenarios", []):
        lines.append("| " + " | ".join([s["name"], fmt(s.get("p50_ms")), fmt(s.get("p95_ms")), fmt(s.get("p99_ms")),
                                        fmt(s.get("max_ms")),
                                        fmt(s.get("loss")), fmt(s.get("deliveries_per_s")),
                                        fmt(s.get("server_rss_mb")), fmt(s.get("kb_per_conn")),
                                        s.get("target", ""), fmt(s.get("met"))]) + " |")
        for name, b in s.get("baselines", {}).items():
            lines.append("| " + " | ".join([f"  ↳ {name}", fmt(b.get("p50_ms")), fmt(b.get("p95_ms")), fmt(b.get("p99_ms")),
                                            fmt(b.get("max_ms")), fmt(b.get("loss")), fmt(b.get("deliveries_per_s")),
                                            fmt(b.get("server_rss_mb")), fmt(b.get("kb_per_conn")), "", ""]) + " |")
    lines += ["", "## Ratios", ""]
    for s in out.get("scenarios", []):
        for key, value in s.get("ratios", {}).items():
            lines.append(f"- {s['name']} {key.replace('_', ' ')}: {fmt(value)}")
    lines += ["", "## Other figures", ""]
    for s in out.get("scenarios", []):
        extra = {k: v for k, v in s.items() if k not in (*KEYS, "name", "parameters", "baselines", "ratios",
                                                          "target", "met", "details")}
        lines.append(f"- {s['name']} parameters {json.dumps(s['parameters'])}; {json.dumps(extra)}")
    return "\n".join(lines) + "\n"


def write(out: dict, json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(out, indent=2) + "\n")
    md_path.write_text(markdown(out))


def hottest_frames(path: Path, n: int = 30) -> dict:
    """A py-spy raw (collapsed stacks) profile: its sample count and the `n` hottest frames, by self and by
    inclusive share of the samples (percent)."""
    own, incl, total = collections.Counter(), collections.Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack_str, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        total += count
        frames = stack_str.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
    if not total:
        return {"samples": 0, "self": [], "inclusive": []}
    return {"samples": total,
            "self": [[f, round(c / total * 100, 1)] for f, c in own.most_common(n)],
            "inclusive": [[f, round(c / total * 100, 1)] for f, c in incl.most_common(n)]}
