"""Where a traced run's slow deliveries spent their time: `python -m bench.trace_report <BENCH_TRACE dir>`.

Joins the generator's per-post times (client.jsonl: due, frame sent, answer received, live receipts) with the
server's per-phase timestamps (server-*.jsonl, bench/trace_server.py) by the post's marker, and prints each
phase's percentiles over the socket-written posts, the slowest posts phase by phase, and what the server was doing
around them (event-loop stalls, collections, executor queueing, database pool waits). All times are
`time.monotonic_ns()` of one machine.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from collections import defaultdict

# (name, from, to): the phases of a socket write, in order
PHASES = [
    ("generator late", "due", "sent"),
    ("to the consumer", "sent", "arrive"),
    ("executor queue", "arrive", "thread"),
    ("session check", "thread", "session"),
    ("service+commit+render", "session", "done"),
    ("publish to loop", "rendered", "send_start"),
    ("group_send", "send_start", "send_end"),
    ("redis to hub", "send_end", "hub_rx"),
    ("hub queue", "hub_rx", "fanout_start"),
    ("fan-out", "fanout_start", "fanout_end"),
    ("to the last reader", "fanout_end", "last"),
]


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def load(path: str):
    posts = {}
    for line in open(os.path.join(path, "client.jsonl")):
        r = json.loads(line)
        posts[r["i"]] = r
    server = defaultdict(dict)
    other = defaultdict(list)
    for name in glob.glob(os.path.join(path, "server-*.jsonl")):
        for line in open(name):
            r = json.loads(line)
            k = r["k"]
            m = r.get("m")
            if m is None:
                other[k].append(r)
                continue
            s = server[m]
            if k == "arrive":
                s["arrive"] = r["t"]
            elif k == "thread":
                s["thread"], s["done"] = r["t"], r["end"]
                s["session"] = r.get("session") or r["t"]
            elif k == "publish":
                s.setdefault("rendered", r["rendered"])
                s.setdefault("publish", r["t"])
            elif k == "sent":
                s.setdefault("send_start", r["t"])
                s.setdefault("send_end", r["end"])
            elif k == "hub_rx":
                s.setdefault("hub_rx", r["t"])
            elif k == "fanout":
                s.setdefault("fanout_start", r["t"])
                s.setdefault("fanout_end", r["end"])
                s.setdefault("batch", r["n"])
            elif k == "answer":
                s["answer"] = r["t"]
    return posts, server, other


def main(path: str, writer: str = "SocketWriter", top: int = 12) -> None:
    posts, server, other = load(path)
    rows = []
    for i, p in posts.items():
        if p["writer"] != writer or not p["last"]:
            continue
        s = server.get(i, {})
        rows.append({"i": i, "due": p["due"], "sent": p["sent"], "ans": p["ans"], "first": p["first"],
                     "last": p["last"], **s})
    print(f"{len(rows)} posts by {writer} with live receipts; server records for "
          f"{sum(1 for r in rows if 'arrive' in r)}")
    total = [(r["last"] - r["due"]) / 1e6 for r in rows]
    print(f"due -> last live receipt: p50 {pct(total, 50):.1f} p99 {pct(total, 99):.1f} max {max(total):.1f} ms")
    print(f"{'phase':24s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s}  (ms)")
    for name, a, b in PHASES:
        values = [(r[b] - r[a]) / 1e6 for r in rows if r.get(a) and r.get(b)]
        if values:
            print(f"{name:24s} {pct(values, 50):8.1f} {pct(values, 90):8.1f} {pct(values, 99):8.1f} "
                  f"{max(values):8.1f}  n={len(values)}")
    slow = sorted(rows, key=lambda r: r["last"] - r["due"], reverse=True)[:top]
    print(f"\nthe {top} slowest posts (ms from due):")
    print("     post  " + " ".join(f"{n[:10]:>10s}" for n, _, _ in PHASES) + "      total")
    for r in slow:
        cells = []
        for _name, a, b in PHASES:
            cells.append(f"{(r[b] - r[a]) / 1e6:10.1f}" if r.get(a) and r.get(b) else f"{'-':>10s}")
        print(f"{r['i']:9d}  " + " ".join(cells) + f"  {(r['last'] - r['due']) / 1e6:9.1f}")
    t0 = min(r["due"] for r in rows)
    stalls = other.get("stall", [])
    gcs = other.get("gc", [])
    print(f"\nloop stalls > 15 ms: {len(stalls)}; worst: "
          + ", ".join(f"{s['late'] / 1e6:.0f} ms at +{(s['t'] - t0) / 1e9:.2f}s" for s in
                      sorted(stalls, key=lambda s: -s["late"])[:8]))
    if stalls:  # the loop's thread during its stalls: running (Python, a collection) or waiting for a CPU (others)
        on_cpu, runq = sum(s["cpu"] for s in stalls) / 1e9, sum(s["runq"] for s in stalls) / 1e9
        print(f"  in those stalls the loop's thread ran {on_cpu:.1f} s and waited {runq:.1f} s for a CPU "
              f"({runq / max(on_cpu + runq, 1e-9):.0%}: the machine's other processes, or this one's threads "
              f"outside the GIL)")
    print(f"collections > 2 ms: {len(gcs)}; by generation: "
          + str({g: (len(v), round(max(v) / 1e6, 1)) for g, v in _by(gcs, "gen", "took").items()}))
    execs = other.get("exec", [])
    waits = defaultdict(list)
    runs = defaultdict(list)
    for e in execs:
        waits[e["fn"]].append((e["start"] - e["sub"]) / 1e6)
        runs[e["fn"]].append((e["end"] - e["start"]) / 1e6)
    print(f"\nexecutor jobs: {len(execs)}; queue wait and run time by function (ms):")
    for fn in sorted(waits, key=lambda f: -len(waits[f])):
        w, r = waits[fn], runs[fn]
        print(f"  {fn[-60:]:60s} n={len(w):6d} wait p50 {pct(w, 50):6.1f} p99 {pct(w, 99):7.1f} max {max(w):7.1f}"
              f" | run p50 {pct(r, 50):6.1f} p99 {pct(r, 99):7.1f} max {max(r):7.1f}")
    queued = [e["queued"] for e in execs]
    print(f"  queued at submit: p50 {pct(queued, 50)} p99 {pct(queued, 99)} max {max(queued, default=0)}")
    pools = other.get("pool", [])
    if pools:
        w = [p["waited"] / 1e6 for p in pools]
        print(f"db pool waits > 1 ms: {len(pools)}, p50 {pct(w, 50):.1f} max {max(w):.1f} ms")
    # What the server did around each of the slowest posts
    print("\naround the slowest posts (from due to last receipt):")
    for r in slow[:6]:
        lo, hi = r["due"], r["last"]
        st = [s for s in stalls if s["t"] < hi and s["t"] + s["late"] > lo]
        gc_ = [g for g in gcs if g["t"] < hi and g["t"] + g["took"] > lo]
        ex = [e for e in execs if e["start"] < hi and e["end"] > lo]
        busy = defaultdict(float)
        for e in ex:
            busy[e["fn"].rsplit(".", 1)[-1]] += (min(e["end"], hi) - max(e["start"], lo)) / 1e6
        print(f"  post {r['i']}: {(hi - lo) / 1e6:.0f} ms; stalls {[round(s['late'] / 1e6) for s in st]}, "
              f"gc {[(g['gen'], round(g['took'] / 1e6)) for g in gc_]}, executor busy ms "
              f"{dict(sorted(((k, round(v)) for k, v in busy.items()), key=lambda kv: -kv[1])[:5])}")


def _by(rows, key, value):
    out = defaultdict(list)
    for r in rows:
        out[r[key]].append(r[value])
    return out


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3] or []))
