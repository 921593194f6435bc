"""A PostgreSQL restart (RELIABILITY 24): the next request and the next socket action succeed.

The test runs its own PostgreSQL cluster on a spare port (initdb as the postgres user) and a real daphne on it, so
it can stop and start the database without touching anyone else's."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.fault, pytest.mark.needs_redis]

ROOT = Path(__file__).resolve().parents[2]
BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*args):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=60)


class Cluster:
    def __init__(self):
        self.bin = BINDIRS[-1]
        self.dir = tempfile.mkdtemp(prefix="agora-pg-")
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        self.port = spare_port()

    def init(self):
        as_postgres(f"{self.bin}/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres")

    def start(self):
        as_postgres(f"{self.bin}/pg_ctl", "-D", self.dir, "-w", "-l", f"{self.dir}/log", "-o",
                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self):
        as_postgres(f"{self.bin}/pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")

    def remove(self):
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, (json.loads(body) if url.endswith("/healthz") else None)


@pytest.fixture
def own_postgres():
    if not BINDIRS or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = Cluster()
    cluster.init()
    cluster.start()
    yield cluster
    cluster.remove()


def test_the_next_request_and_socket_action_succeed_after_a_postgres_restart(own_postgres):
    import websockets.sync.client as ws_client
    from django.conf import settings

    port = spare_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{own_postgres.port}/postgres",
           "REDIS_URL": settings.REDIS_URL, "ALLOWED_HOSTS": "127.0.0.1", "DJANGO_ENV": "development",
           "DB_CONN_MAX_AGE": "600"}
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "live.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert get(base + "/healthz")[0] == 200
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with ws_client.connect(f"ws://127.0.0.1:{port}/ws/", origin=base) as socket_:
            check_socket_across_restart(socket_, base, own_postgres)
    finally:
        server.terminate()
        server.wait(timeout=10)


def check_socket_across_restart(socket_, base, own_postgres):
    socket_.send(json.dumps({"type": "resume", "streams": {"debate.1": {"epoch": "", "seq": 0}}}))
    assert json.loads(socket_.recv(timeout=5))["code"] == "not_found"

    own_postgres.stop()
    status, body = get(base + "/healthz")
    assert status == 503 and body["database"].startswith("error")
    own_postgres.start()

    # The very next request and the very next socket action work again: no stale connection is reused.
    assert get(base + "/healthz") == (200, {"status": "ok", "database": "ok", "channel_layer": "ok"})
    assert get(base + "/debates/")[0] == 200
    socket_.send(json.dumps({"type": "resume", "streams": {"debate.2": {"epoch": "", "seq": 0}}}))
    assert json.loads(socket_.recv(timeout=5))["code"] == "not_found"
