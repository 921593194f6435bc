"""Dev helper: S1 on the application only (no baselines), optionally under py-spy.

    python -m bench.profile --listeners 1000 --ramp 20,40,80 [--pyspy 20] [--target debate]
Writes a py-spy "raw" (collapsed stacks) profile to bench/results/profiles/ and prints the hottest frames.
"""

import argparse
import subprocess
import time

import uvloop

from bench import report, scenarios, stack
from bench.run import Context, pick_target


def top_frames(path, n=35):
    shares = report.hottest_frames(path, n)
    print(f"--- self time (of {shares['samples']} samples)")
    for f, share in shares["self"]:
        print(f"{share:5.1f}%  {f}")
    print("--- inclusive")
    for f, share in shares["inclusive"]:
        print(f"{share:5.1f}%  {f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listeners", type=int, default=1000)
    p.add_argument("--rate", type=float, default=10)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--ramp", default="20,40,80")
    p.add_argument("--ramp-seconds", type=float, default=4)
    p.add_argument("--pyspy", type=float, default=0)
    p.add_argument("--target", default="auto")
    p.add_argument("--writers", type=int, default=200)
    p.add_argument("--scale", type=float, default=1.0)
    args = p.parse_args()
    stack.raise_nofile()
    stack.pin_generator()
    args.target = pick_target(args)
    ctx = Context(args)
    ctx.prepare()
    app = scenarios.AppTarget(ctx).start()
    spy = None
    try:
        app.new_stream()

        async def go():
            nonlocal spy
            if args.pyspy:
                out = stack.RESULTS / "profiles" / f"s1-{time.strftime('%H%M%S')}.txt"
                out.parent.mkdir(parents=True, exist_ok=True)
                spy = (subprocess.Popen(["py-spy", "record", "--pid", str(app.servers[0].pid), "-d",
                                         str(int(args.pyspy)), "-f", "raw", "-o", str(out), "-r", "200"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out)
            return await scenarios.fanout(app, listeners=args.listeners, rate=args.rate, seconds=args.seconds,
                                          ramp=[float(x) for x in args.ramp.split(",") if x],
                                          ramp_seconds=args.ramp_seconds)

        r = uvloop.run(go())
        print({k: r["steady"][k] for k in ("p50_ms", "p99_ms", "loss", "deliveries_per_s", "server_cpu_pct",
                                            "post_p50_ms", "post_p99_ms")})
        print("saturation", r["saturation_deliveries_per_s"], "frame bytes", r["frame_bytes"], r["errors"])
    finally:
        app.stop()
        if ctx.services:
            ctx.services.stop()
    if spy:
        spy[0].wait()
        top_frames(spy[1])


if __name__ == "__main__":
    main()
