"""The servers a benchmark run needs, started by the run and stopped by it: its own PostgreSQL cluster and Redis
server (`Services`, on spare ports, in a temporary directory), daphne processes started exactly as production
starts them (pinned to CPU 0), and /proc readings of their memory and CPU.

To run against given servers instead: BENCH_DATABASE_URL / BENCH_REDIS_URL, or BENCH_OWN_SERVICES=0 for the
machine's (the database `<name>_bench` derived from DATABASE_URL, created and migrated here; Redis database 12 of
REDIS_URL, the cache on 13). Nothing else is touched: the run flushes only its own Redis databases.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Where results and server logs go: bench/results, or BENCH_RESULTS for a partial or development run that must not
# overwrite the committed results.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
LOGS = RESULTS / "logs"
PY = sys.executable
SERVER_CPU = "0"
GENERATOR_CPU = 1


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/agora"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("bench: needs PostgreSQL (DATABASE_URL=postgres://...), as production runs")
    name = parts.path.strip("/") or "agora"
    if not name.endswith("_bench"):
        name = f"{name}_bench"
    return urlunsplit(parts._replace(path=f"/{name}"))


def bench_redis_url() -> str:
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return urlunsplit(urlsplit(base)._replace(path="/12"))


def redis_db_url(url: str, offset: int) -> str:
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + offset}"))


def ensure_database(url: str) -> None:
    """(Re)create the bench database, empty: every run starts from the same state, and a migration rewritten
    since the last run cannot leave it inconsistent. Only a database whose name ends in `_bench` is dropped."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    if not name.endswith("_bench"):
        raise SystemExit(f"bench: refusing to recreate {name!r}: the bench database's name must end in _bench")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    for offset in (0, 1):
        redis.Redis.from_url(redis_db_url(url, offset)).flushdb()


def server_env(db_url: str, redis_url: str, **extra) -> dict:
    """The environment of a production-like daphne process, on the bench's own database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update({
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_ENV": "development",  # production forces HTTPS redirects and Secure cookies: no TLS here
        "DEBUG": "0",  # as in production: no per-query recording, no debug pages
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # A pool of 16 connections per process (DB_POOL_MAX_SIZE, docs/performance.md); persistent connections
        # (DB_CONN_MAX_AGE) leak one per request thread under ASGI and exhausted PostgreSQL's 100 slots.
        "DB_CONN_MAX_AGE": "0",
        "DB_POOL_MAX_SIZE": env.get("BENCH_DB_POOL_MAX_SIZE", "16"),
        # Every listener comes from 127.0.0.1: the per-IP socket cap is for the internet, not for one generator.
        "LIVE_MAX_SOCKETS_PER_IP": "1000000",
        "LIVE_MAX_SOCKETS_PER_USER": "1000000",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    proc = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def pinned(cmd: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", SERVER_CPU, *cmd]
    return cmd


def pin_generator() -> None:
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {GENERATOR_CPU})
        except OSError:
            pass


def raise_nofile(want: int = 65536) -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    """One server process (daphne or a baseline), started pinned to CPU 0 and stopped by the run."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int, health: str | None = "/healthz"):
        self.name, self.cmd, self.env, self.port, self.health = name, cmd, env, port, health
        self.process: subprocess.Popen | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 30) -> Server:
        self.process = subprocess.Popen(pinned(self.cmd), cwd=ROOT, env=self.env, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT, preexec_fn=_raise_child_nofile)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if self.health:
                    urllib.request.urlopen(self.url + self.health, timeout=2).read()
                else:
                    socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # --- /proc readings -----------------------------------------------------------------------------------------

    def rss_kb(self) -> int:
        return rss_kb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


def _raise_child_nofile():
    raise_nofile()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


BACKLOG = int(os.environ.get("BENCH_BACKLOG", "1024"))


def daphne_cmd(port: int, app: str = "live.asgi:application") -> list[str]:
    """daphne as docs/deploy.md starts it, listening with a backlog of BACKLOG connections: daphne's `-b/-p`
    leave Twisted's default of 50, and a reconnect storm then loses SYNs and waits 1, 3, 7, 15 s for the
    kernel's retries (docs/performance.md, S7). BENCH_BACKLOG=50 measures the default."""
    return [PY, "-m", "daphne", "-e", f"tcp:port={port}:interface=127.0.0.1:backlog={BACKLOG}",
            "--websocket_timeout", "86400", app]


def daphne(name: str, env: dict, port: int | None = None) -> Server:
    """The application's daphne; with BENCH_TRACE=<dir> (development runs), the same application traced
    (bench/trace_server.py writes its timestamps there)."""
    port = port or free_port()
    if os.environ.get("BENCH_TRACE"):
        Path(os.environ["BENCH_TRACE"]).mkdir(parents=True, exist_ok=True)
        return Server(name, daphne_cmd(port, "bench.trace_server:application"), env, port)
    return Server(name, daphne_cmd(port), env, port)


def machine_load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


# --- PostgreSQL and Redis of the run ----------------------------------------------------------------------------------

def _any_cpu() -> None:
    """PostgreSQL and Redis run where the kernel puts them, as the machine's own do (the generator that starts
    them is pinned to its core)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


def own_services_wanted() -> bool:
    """The run starts (and stops) its own PostgreSQL cluster and Redis server, unless told to use given ones
    (BENCH_DATABASE_URL / BENCH_REDIS_URL, or BENCH_OWN_SERVICES=0 for the machine's, from DATABASE_URL /
    REDIS_URL) or unless the server binaries are missing."""
    if os.environ.get("BENCH_OWN_SERVICES", "1") == "0":
        return False
    if os.environ.get("BENCH_DATABASE_URL") or os.environ.get("BENCH_REDIS_URL"):
        return False
    return bool(_pg_bindir() and shutil.which("redis-server"))


def _pg_bindir() -> str | None:
    import glob

    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return dirs[-1] if dirs and os.path.exists(f"{dirs[-1]}/initdb") else None


class Services:
    """A PostgreSQL cluster (initdb in a temporary directory, the server's defaults: fsync and synchronous commit
    on, as production) and a Redis server (no persistence, as these machines run it), each on a spare port."""

    def __init__(self):
        import tempfile

        self.bindir = _pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="agora-bench-pg-")
        self.pg_port, self.redis_port = free_port(), free_port()
        self.redis: subprocess.Popen | None = None
        self.pg_started = False

    def _as_postgres(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120,
                       preexec_fn=_any_cpu)

    def start(self) -> tuple[str, str]:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._as_postgres(f"{self.bindir}/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self._as_postgres(f"{self.bindir}/pg_ctl", "-D", self.dir, "-w", "-l", f"{self.dir}/log", "-o",
                          f"-p {self.pg_port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                          # BENCH_PG_OPTIONS: more server settings for a development run, e.g. "-c
                          # shared_preload_libraries=pg_stat_statements" to see what the statements cost PostgreSQL
                          f"{os.environ.get('BENCH_PG_OPTIONS', '')}", "start")
        self.pg_started = True
        LOGS.mkdir(parents=True, exist_ok=True)
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"],
                                      stdout=(LOGS / "redis.log").open("wb"), stderr=subprocess.STDOUT,
                                      preexec_fn=_any_cpu)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        log(f"own PostgreSQL on :{self.pg_port} ({self.bindir.split('/')[-2]}), own Redis on :{self.redis_port}")
        return (f"postgres://postgres@127.0.0.1:{self.pg_port}/agora_bench",
                f"redis://127.0.0.1:{self.redis_port}/0")

    def stop(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        if self.pg_started:
            try:
                self._as_postgres(f"{self.bindir}/pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")
            except Exception:  # noqa: BLE001 - removing the directory below is what matters
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
