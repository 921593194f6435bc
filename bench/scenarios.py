"""The scenarios of PERFORMANCE.md, each measured against the application and, where it makes sense, against the
two baselines in the same run. Every function returns a dict for latest.json."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time

import httpx

from bench import stack
from bench.client import ListenerPool, Stats, now_ns, percentile, summarize  # noqa: F401 (summarize re-exported)
from bench.writers import FormWriter, HttpTriggerWriter, WsPublishWriter, comment_text, run_schedule

CURSOR_RE = re.compile(r'data-live-stream="([^"]+)"\s+data-live-cursor="([^"]*)"')


# --- the systems under test ------------------------------------------------------------------------------------------

class Target:
    """A system under test: how to start it, how listeners follow it, how the writer posts to it."""

    name = "?"
    servers: list[stack.Server]

    async def pool(self, server=None) -> ListenerPool: ...
    async def writer(self, server=None): ...
    def stop(self):
        for server in self.servers:
            server.stop()


class AppTarget(Target):
    """The application: daphne live.asgi, real /ws/ with the resume protocol, real comment POST."""

    name = "agora"

    def __init__(self, ctx, processes: int = 1, cpus: tuple[str, ...] = ("0",), fresh: dict | None = None):
        self.ctx = ctx
        self.servers = []
        for k in range(processes):
            server = stack.daphne(f"agora-{k}", ctx.env)
            server.cpu = cpus[k % len(cpus)]
            self.servers.append(server)
        self.info = fresh

    def start(self):
        for server in self.servers:
            old = stack.SERVER_CPU
            stack.SERVER_CPU = server.cpu
            try:
                server.start()
            finally:
                stack.SERVER_CPU = old
        return self

    def new_stream(self, comments: int = 0) -> dict:
        self.info = self.ctx.seed(self.ctx.target, {"posts": 2000 if self.ctx.target == "notifications" else 0,
                                                    "writers": self.ctx.writers, "comments": comments})
        return self.info

    async def page_cursor(self, server) -> tuple[str, int]:
        """The cursor the page carries (`data-live-cursor`), as a browser would read it."""
        cookies = {"sessionid": self.info["listener_session"]} if self.info.get("listener_session") else {}
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies) as client:
            page = await client.get(self.info["page"])
        page.raise_for_status()
        for key, cursor in CURSOR_RE.findall(page.text):
            if key == self.info["stream"]:
                epoch, _, seq = cursor.partition(":")
                return epoch, int(seq or 0)
        return self.info["epoch"], self.info["seq"]

    async def pool(self, server=None) -> ListenerPool:
        server = server or self.servers[0]
        epoch, seq = await self.page_cursor(server)
        cookie = f"sessionid={self.info['listener_session']}" if self.info.get("listener_session") else None
        return ListenerPool(url=f"ws://127.0.0.1:{server.port}/ws/", origin=server.url, cookie=cookie,
                            stream=self.info["stream"], epoch=epoch, start_seq=seq)

    async def writer(self, server=None):
        server = server or self.servers[0]
        info = self.info
        if self.ctx.target == "notifications":
            ids = info["ids"]
            data_for = lambda i: {"id": str(ids[i])}  # noqa: E731
        else:
            field = info.get("field", "body")
            extra = info.get("extra", {})
            data_for = lambda i: {field: comment_text(i), **extra}  # noqa: E731
        writer = FormWriter(server.url, info["writer_sessions"], info["page"], info["post"], data_for)
        await writer.setup()
        return writer


class StockTarget(Target):
    name = "stock_channels"

    def __init__(self, ctx, payload_size: int):
        self.ctx, self.payload_size = ctx, payload_size
        port = stack.free_port()
        self.servers = [stack.Server("stock-channels",
                                     stack.daphne_cmd(port, "bench.baselines.stock_channels:application"),
                                     ctx.env, port, health="/healthz")]

    def start(self):
        self.servers[0].start()
        return self

    async def pool(self, server=None) -> ListenerPool:
        server = server or self.servers[0]
        return ListenerPool(url=f"ws://127.0.0.1:{server.port}/ws/", origin=server.url, seq_check=False)

    async def writer(self, server=None):
        writer = HttpTriggerWriter((server or self.servers[0]).url, self.payload_size)
        await writer.setup()
        return writer


class WsTarget(Target):
    name = "ws_broadcast"

    def __init__(self, ctx, payload_size: int):
        self.ctx, self.payload_size = ctx, payload_size
        port = stack.free_port()
        self.servers = [stack.Server("ws-broadcast", [stack.PY, "-m", "bench.baselines.ws_broadcast", str(port)],
                                     ctx.env, port, health=None)]

    def start(self):
        self.servers[0].start()
        return self

    async def pool(self, server=None) -> ListenerPool:
        server = server or self.servers[0]
        return ListenerPool(url=f"ws://127.0.0.1:{server.port}/", seq_check=False)

    async def writer(self, server=None):
        writer = WsPublishWriter(f"ws://127.0.0.1:{(server or self.servers[0]).port}/publish", self.payload_size)
        await writer.setup()
        return writer


def profile(target: Target, name: str):
    """With BENCH_PYSPY=<seconds>, record the first server with py-spy (collapsed stacks) from now on."""
    import os

    seconds = os.environ.get("BENCH_PYSPY")
    if not seconds:
        return None
    out = stack.RESULTS / "profiles" / f"{name}-{target.name}-{time.strftime('%H%M%S')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    gil = ["--gil"] if os.environ.get("BENCH_PYSPY_GIL") else []
    # BENCH_PYSPY_NONBLOCKING: sample without pausing the server (its figures stay near an unprofiled run's).
    gil += ["--nonblocking"] if os.environ.get("BENCH_PYSPY_NONBLOCKING") else []
    return subprocess.Popen(["py-spy", "record", *gil, "--pid", str(target.servers[0].pid), "-d", seconds, "-f", "raw",
                             "-o", str(out), "-r", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- measuring ---------------------------------------------------------------------------------------------------------

async def drain(pools: list[ListenerPool], stats: Stats, idle: float = 4.0, cap: float = 90.0) -> None:
    """Wait until every expected delivery arrived, or nothing arrived for `idle` seconds (longer than the hub's
    sweep, which repairs anything the channel layer dropped)."""
    start = time.monotonic()
    last_count, last_change = stats.deliveries, time.monotonic()
    while any(pool.pending for pool in pools) and time.monotonic() - start < cap:
        await asyncio.sleep(0.05)
        if stats.deliveries != last_count:
            last_count, last_change = stats.deliveries, time.monotonic()
        elif time.monotonic() - last_change > idle:
            break


def loss_of(pools: list[ListenerPool], stats: Stats, indices) -> tuple[int, int]:
    """(expected deliveries, missing deliveries) over the accepted posts in `indices`."""
    expected = missing = 0
    for pool in pools:
        for lst in pool.listeners:
            for i in indices:
                if stats.ok[i]:
                    expected += 1
                    if not lst.got[i]:
                        missing += 1
    return expected, missing


async def measure_rate(target: Target, pools: list[ListenerPool], writer, *, rate: float, count: int,
                       start_index: int, servers: list[stack.Server]) -> dict:
    """Post `count` posts at `rate`/s to listeners already connected; collect latency, loss and server use."""
    stats = pools[0].stats
    for pool in pools:
        pool.stats = stats
    lat_from = len(stats.latencies)
    deliveries_from = stats.deliveries
    cpu0 = [s.cpu_seconds() for s in servers]
    t0 = time.monotonic()
    first_due = now_ns()
    schedule = await run_schedule(writer, pools, stats, rate=rate, count=count, start_index=start_index)
    await drain(pools, stats)
    elapsed = time.monotonic() - t0
    indices = range(start_index, start_index + count)
    expected, missing = loss_of(pools, stats, indices)
    lat = stats.latencies[lat_from:]
    delivered = stats.deliveries - deliveries_from
    span_s = max(1e-9, (stats.last_rx - first_due) / 1e9)
    complete = [(pool.complete_at[i] - stats.sent[i]) / 1e6 for pool in pools for i in indices
                if i in pool.complete_at]
    cpu = [round((s.cpu_seconds() - c) / elapsed * 100, 1) for s, c in zip(servers, cpu0, strict=True)]
    result = {
        "offered_posts_per_s": rate, "posts": count, "accepted": schedule["accepted"],
        "listeners": sum(len(p.connected()) for p in pools),
        **summarize(lat),
        "all_n_p50_ms": percentile(complete, 50), "all_n_p99_ms": percentile(complete, 99),
        "expected_deliveries": expected, "delivered": delivered, "loss": missing,
        "deliveries_per_s": round(delivered / span_s),
        "order_errors": sum(p.order_errors() for p in pools),
        "server_cpu_pct": cpu, "server_rss_mb": [round(s.rss_kb() / 1024, 1) for s in servers],
        "schedule_max_lag_ms": schedule["schedule_max_lag_ms"],
        "post_p50_ms": percentile(writer.post_ms[-count:], 50), "post_p99_ms": percentile(writer.post_ms[-count:], 99),
        "write_failures": writer.failures[-5:],
    }
    for pool in pools:
        for i in indices:
            pool.pending.pop(i, None)
    return result


async def fanout(target: Target, *, listeners: int, rate: float, seconds: float, ramp: list[float],
                 ramp_seconds: float, warmup: int = 5) -> dict:
    """S1 on one system: latency at `rate` posts/s, then saturation by raising the rate along `ramp`."""
    pool = await target.pool()
    connect_s = await pool.connect(listeners)
    writer = await target.writer()
    servers = target.servers
    index = 0
    try:
        await measure_rate(target, [pool], writer, rate=5, count=warmup, start_index=index, servers=servers)
        index += warmup
        steady = await measure_rate(target, [pool], writer, rate=rate, count=max(1, int(rate * seconds)),
                                    start_index=index, servers=servers)
        index += steady["posts"]
        steps, flat = [], 0
        best = steady if steady["loss"] == 0 else None
        for step_rate in ramp:
            count = max(10, int(step_rate * ramp_seconds))
            step = await measure_rate(target, [pool], writer, rate=step_rate, count=count, start_index=index,
                                      servers=servers)
            index += count
            steps.append({k: step[k] for k in ("offered_posts_per_s", "deliveries_per_s", "p50_ms", "p99_ms",
                                               "loss", "server_cpu_pct", "order_errors")})
            stack.log(f"  {target.name} ramp {step_rate}/s -> {step['deliveries_per_s']} deliveries/s "
                      f"p99 {step['p99_ms']} ms loss {step['loss']}")
            improved = best is None or step["deliveries_per_s"] > best["deliveries_per_s"] * 1.05
            if best is None or step["deliveries_per_s"] > best["deliveries_per_s"]:
                best = step
            flat = 0 if improved else flat + 1
            offered = step_rate * steady["listeners"]
            # Saturated: two steps without progress, or far below what was offered.
            if flat >= 2 or step["deliveries_per_s"] < 0.5 * offered:
                break
        frame_bytes = round(pool.stats.marked_bytes / pool.stats.marked_frames) if pool.stats.marked_frames else None
        return {"connect_s": round(connect_s, 2), "steady": steady, "ramp": steps,
                "saturation_deliveries_per_s": best["deliveries_per_s"] if best else None,
                "saturation_p99_ms": best["p99_ms"] if best else None,
                "saturation_loss": sum(s["loss"] for s in steps), "errors": pool.errors()[:5],
                "frame_bytes": frame_bytes}
    finally:
        await writer.close()
        await pool.close()


async def idle_memory(target: Target, *, connections: int, settle: float = 2.0) -> dict:
    """S5: server RSS growth per idle connection that follows a stream."""
    server = target.servers[0]
    warm = await target.pool()
    await warm.connect(10)
    await asyncio.sleep(settle)
    before = server.rss_kb()
    pool = await target.pool()
    connect_s = await pool.connect(connections)
    await asyncio.sleep(settle)
    after = server.rss_kb()
    result = {"connections": connections, "rss_before_mb": round(before / 1024, 1),
              "rss_after_mb": round(after / 1024, 1), "kb_per_conn": round((after - before) / connections, 1),
              "connect_s": round(connect_s, 2), "connected": len(pool.connected())}
    await pool.close()
    await warm.close()
    return result


async def reconnect_storm(target: Target, *, clients: int, missed: int) -> dict:
    """S7: every client drops at once; `missed` posts are made meanwhile; all reconnect at once and resume.
    Measures the time from the reconnect until each client has resumed AND received every missed post."""
    pool = await target.pool()
    pool.connect_concurrency = clients  # a storm: every handshake at once
    await pool.connect(clients)
    writer = await target.writer()
    stats = pool.stats
    try:
        await pool.drop_all()
        result = await run_schedule(writer, [], stats, rate=50, count=missed, start_index=0)
        for i in range(missed):
            pool.expect(i, clients)
        profile(target, "s7")
        cpu0 = target.servers[0].cpu_seconds()
        t0 = now_ns()
        sem = asyncio.Semaphore(clients)
        await asyncio.gather(*(pool._connect_one(lst, sem) for lst in pool.listeners))
        connected_ns = now_ns()
        await asyncio.wait_for(asyncio.gather(*(lst.subscribed.wait() for lst in pool.listeners
                                                if lst.transport)), 60)
        await drain([pool], stats, idle=4.0, cap=60)
        server_cpu_s = target.servers[0].cpu_seconds() - cpu0
        resumed = [lst.subscribed_at for lst in pool.listeners if lst.subscribed_at]
        all_done = max([*resumed, *(pool.complete_at.get(i, 0) for i in range(missed))])
        expected, missing = loss_of([pool], stats, range(missed)) if target.name == "agora" else (0, 0)
        per_client = sorted((lst.subscribed_at - t0) / 1e6 for lst in pool.listeners if lst.subscribed_at)
        return {"clients": clients, "missed_posts": missed, "accepted": result["accepted"],
                "all_resumed_s": round((all_done - t0) / 1e9, 3),
                "handshakes_done_s": round((connected_ns - t0) / 1e9, 3),
                "resume_p50_ms": percentile(per_client, 50), "resume_p99_ms": percentile(per_client, 99),
                "reconnected": len(pool.connected()), "catch_up_expected": expected, "loss": missing,
                "resets": sum(lst.resets for lst in pool.listeners), "errors": pool.errors()[:5],
                "server_cpu_s": round(server_cpu_s, 2)}
    finally:
        await writer.close()
        await pool.close()


async def page_time(target: AppTarget, *, path: str, repeat: int) -> dict:
    """S8: wall time of GET `path` as seen from the loopback client (server time plus a loopback round trip)."""
    server = target.servers[0]
    times = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for k in range(repeat + 3):
            t = time.perf_counter()
            response = await client.get(path)
            elapsed = (time.perf_counter() - t) * 1000
            response.raise_for_status()
            if k >= 3:  # the first requests warm the process (templates, connections)
                times.append(elapsed)
    return {"requests": repeat, **summarize(times), "bytes": len(response.content)}


def run_seed(env: dict, command: str, args: dict) -> dict:
    proc = subprocess.run([stack.PY, "-m", "bench.seed", command, json.dumps(args)], cwd=stack.ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"seed {command} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            return json.loads(line[len("BENCH-JSON "):])
    raise RuntimeError(f"seed {command}: no result\n{proc.stdout[-2000:]}")
