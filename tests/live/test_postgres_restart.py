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
import threading
import time
import urllib.error
import urllib.parse
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

    def restart(self):
        as_postgres(f"{self.bin}/pg_ctl", "-D", self.dir, "-m", "fast", "-w", "-l", f"{self.dir}/log", "-o",
                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "restart")

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
    return status, (json.loads(body) if url.endswith("/readyz") else None)


def wait_until_healthy(base):
    deadline = time.monotonic() + 20
    while True:
        try:
            assert get(base + "/readyz")[0] == 200
            return
        except (OSError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
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
        wait_until_healthy(base)
        with ws_client.connect(f"ws://127.0.0.1:{port}/ws/", origin=base) as socket_:
            check_socket_across_restart(socket_, base, own_postgres)
    finally:
        server.terminate()
        server.wait(timeout=10)


def check_socket_across_restart(socket_, base, own_postgres):
    socket_.send(json.dumps({"type": "resume", "streams": {"debate.1": {"epoch": "", "seq": 0}}}))
    assert json.loads(socket_.recv(timeout=5))["code"] == "not_found"

    own_postgres.stop()
    status, body = get(base + "/readyz")
    assert status == 503 and body["database"].startswith("error")
    own_postgres.start()

    # The very next request and the very next socket action work again: no stale connection is reused.
    assert get(base + "/readyz") == (200, {"status": "ok", "database": "ok", "channel_layer": "ok", "cache": "ok"})
    assert get(base + "/debates/")[0] == 200
    socket_.send(json.dumps({"type": "resume", "streams": {"debate.2": {"epoch": "", "seq": 0}}}))
    assert json.loads(socket_.recv(timeout=5))["code"] == "not_found"


# --- a fast restart during a stream of posts: no 500, no lost or doubled row ---------------------------------------

SETUP = """
from tests.debates.conftest import make_debate
from tests.helpers import make_user, session_cookie
author = make_user("{name}")
print(make_debate(author).pk, session_cookie(author))
"""
CSRF = "agorafaulttestcsrfsecret0123456"  # any 32 letters and digits: the cookie and the header must match


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_comment(base, debate, cookie, client_id) -> int:
    """One comment POST, as the page's form sends it; the HTTP status (0: the server could not be reached)."""
    body = urllib.parse.urlencode({"body": f"Flux {client_id}", "client_id": client_id}).encode()
    request = urllib.request.Request(f"{base}/debates/{debate}/comments/", data=body, method="POST", headers={
        "Cookie": f"sessionid={cookie}; csrftoken={CSRF + 'x'}", "X-CSRFToken": CSRF + "x", "Origin": base})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def socket_close_code(port, cookie) -> int | None:
    """The code a new signed-in socket is closed with at once, or None when it stays open."""
    import websockets.sync.client as ws_client
    from websockets.exceptions import ConnectionClosed

    with ws_client.connect(f"ws://127.0.0.1:{port}/ws/", origin=f"http://127.0.0.1:{port}", open_timeout=10,
                           additional_headers={"Cookie": f"sessionid={cookie}"}) as socket_:
        try:
            while True:
                socket_.recv(timeout=0.5)
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("pooled", [True, False], ids=["psycopg-pool", "persistent-connections"])
def test_a_fast_restart_during_a_stream_of_posts_gives_no_500_and_loses_or_doubles_nothing(own_postgres, pooled):
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{own_postgres.port}/postgres",
           "REDIS_URL": settings.REDIS_URL, "ALLOWED_HOSTS": "127.0.0.1", "DJANGO_ENV": "development", "DEBUG": "0",
           "RATE_LIMITS_ENABLED": "0", **({"DB_POOL_MAX_SIZE": "4"} if pooled else {"DB_CONN_MAX_AGE": "600"})}
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    name = "pooled" if pooled else "persistent"
    debate, cookie = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP.format(name=name)], cwd=ROOT,
                                    env=env, check=True, timeout=60, capture_output=True, text=True).stdout.split()[-2:]
    port = spare_port()
    server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "live.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    try:
        wait_until_healthy(base)
        restart = threading.Thread(target=own_postgres.restart)
        sent = 0
        while True:
            client_id = f"{name}-{sent:04d}"
            while True:  # the page's retry: the same client id until the post is answered
                status = post_comment(base, debate, cookie, client_id)
                statuses.append(status)
                if status not in (0, 503):  # 503 + Retry-After, or no answer: try again
                    break
                time.sleep(0.2)
            sent += 1
            if sent == 5:
                restart.start()  # while posts keep coming
            if sent > 5 and not restart.is_alive() and sent >= 40:
                break
        restart.join()
        # PostgreSQL down for longer: a page's new socket is told at once to come back (not left hanging past
        # daphne's 5 s handshake timeout), and comes back once the database is
        own_postgres.stop()
        started = time.monotonic()
        refused = socket_close_code(port, cookie)
        answered_in = time.monotonic() - started
        own_postgres.start()
        assert refused == 4503 and answered_in < 4, (refused, answered_in)
        assert socket_close_code(port, cookie) is None
    finally:
        server.terminate()
        server.wait(timeout=10)
    rows = as_postgres(f"{own_postgres.bin}/psql", "-h", "127.0.0.1", "-p", str(own_postgres.port), "-U",
                       "postgres", "-tA", "-c",
                       f"SELECT client_id, count(*) FROM debates_comment WHERE client_id LIKE '{name}-%' "
                       "GROUP BY client_id")
    counts = dict(line.split("|") for line in rows.stdout.split())
    retried = sum(1 for status in statuses if status != 302)
    print(f"{sent} posts, {len(statuses)} attempts, answers {sorted(set(statuses))}, {retried} retried; "
          f"socket told to come back in {answered_in:.2f}s")
    assert set(statuses) <= {302, 503}
    assert counts == {f"{name}-{i:04d}": "1" for i in range(sent)}


# --- a connection killed before or between reads --------------------------------------------------------------------

def kill_backend_of(connection) -> None:
    import psycopg

    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{**params, "autocommit": True}) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.needs_postgres
def test_a_read_on_a_connection_killed_before_use_is_sent_again_once(transactional_db, django_user_model):
    from django.db import connection

    connection.close()
    connection.ensure_connection()  # a new connection, not used yet (as a request gets one from the pool)
    kill_backend_of(connection)
    assert django_user_model.objects.count() == 0  # answered, on a new connection
    kill_backend_of(connection)  # killed between two reads (the session, then the user)
    assert not django_user_model.objects.filter(nickname="nobody").exists()


@pytest.mark.needs_postgres
def test_a_write_on_a_connection_killed_before_use_is_never_sent_again(transactional_db, django_user_model):
    from django.db import OperationalError, connection

    connection.close()
    connection.ensure_connection()
    kill_backend_of(connection)
    with pytest.raises(OperationalError):
        django_user_model.objects.create(username="x@example.org", email="x@example.org", nickname="x")
    connection.close()
    assert django_user_model.objects.count() == 0


# --- the pool's check of a connection it hands out (live/database.py quick_check) --------------------------------

def own_pool(connection, check):
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(kwargs={**connection.get_connection_params(), "autocommit": True}, min_size=1, max_size=1,
                          check=check, open=False)
    pool.open(wait=True)
    return pool


@pytest.mark.needs_postgres
def test_a_pooled_connection_is_checked_with_a_round_trip_only_once_postgres_has_closed_it(transactional_db,
                                                                                            monkeypatch):
    import psycopg
    from django.db import connection
    from psycopg_pool import ConnectionPool

    from live.database import quick_check

    sent = []
    full_check = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: (sent.append(conn),
                                                                                          full_check(conn))))
    pool = own_pool(connection, quick_check)
    try:
        for _ in range(3):  # healthy and idle: handed out without a query
            with pool.connection() as conn:
                pid = conn.info.backend_pid
                assert conn.execute("SELECT 1").fetchone() == (1,)
        assert sent == []
        with psycopg.connect(**{**connection.get_connection_params(), "autocommit": True}) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.2)  # the FATAL notice and the end of file reach the pooled connection's socket
        with pool.connection() as conn:  # checked, found dead, replaced
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != pid
        assert len(sent) == 1
    finally:
        pool.close()


@pytest.mark.needs_postgres
def test_at_server_start_the_pool_gets_the_quick_check(transactional_db, settings):
    from django.db import connections

    from live import internals
    from live.database import quick_check

    settings.DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 2}
    connections["default"].settings_dict["OPTIONS"] = settings.DATABASES["default"]["OPTIONS"]
    created = "default" not in type(connections["default"])._connection_pools
    try:
        assert internals.lighten_pool_checks()  # what live/asgi.py runs when the server starts
        pool = connections["default"].pool
        assert pool._check is quick_check
    finally:
        if created:
            connections["default"].close_pool()
        connections["default"].settings_dict["OPTIONS"].pop("pool", None)
