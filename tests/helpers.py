"""Shared test helpers: users, signed-in sockets, waiting for frames."""

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct-horse-battery-9"
ORIGIN = b"http://127.0.0.1:8000"
_RESP_COMMAND = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")  # a command's name, first in its array


def make_user(nickname, role="participant", **extra):
    User = get_user_model()
    user = User.objects.create_user(username=f"{nickname}@example.org", email=f"{nickname}@example.org",
                                    password=PASSWORD, nickname=nickname, role=role, **extra)
    return user


def wait_until_blocked_on_a_lock(pid: int, timeout=10) -> None:
    """Return once PostgreSQL backend `pid` waits for a lock that another transaction holds (pg_locks), read on the
    caller's connection, which must not be inside a transaction of its own (django_db(transaction=True))."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, f"backend {pid} never waited for a lock"
            time.sleep(0.01)


def while_held(first, second, *, must_wait: bool = True, then=None, timeout=10):
    """A race on PostgreSQL: `first()` runs in a transaction of its own thread, held open while `second()` runs in
    another thread; `first` commits once `second`'s connection waits for a lock (`must_wait`: it has to, else the
    test fails; otherwise also once `second` is done), after `then()` when given (run in first's transaction once
    second waits: the other half of a possible deadlock). Returns (first's result, second's result or the exception
    it raised); an exception in `first` or `then` is raised. Needs django_db(transaction=True)."""
    from django.db import connection, transaction

    results, pid, started, go = {}, {}, threading.Event(), threading.Event()

    def run_first():
        try:
            with transaction.atomic():
                results["first"] = first()
                started.set()
                go.wait(timeout)
                if then is not None:
                    then()
        except Exception as exc:  # noqa: BLE001 - raised in the test's thread below
            results["first_error"] = exc
        finally:
            started.set()
            connection.close()

    def run_second():
        try:
            pid["second"] = connection.cursor().connection.info.backend_pid
            results["second"] = second()
        except Exception as exc:  # noqa: BLE001 - returned: the test asserts on it
            results["second"] = exc
        finally:
            pid.setdefault("second", None)
            connection.close()

    one = threading.Thread(target=run_first)
    one.start()
    assert started.wait(timeout)
    two = threading.Thread(target=run_second)
    try:
        if "first_error" not in results:
            two.start()
            while "second" not in pid:
                two.join(0.01)
            deadline = time.monotonic() + timeout
            with connection.cursor() as cursor:
                while must_wait or two.is_alive():
                    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)",
                                   [pid["second"]])
                    if cursor.fetchone()[0]:
                        break
                    assert time.monotonic() < deadline, f"backend {pid['second']} never waited for a lock"
                    time.sleep(0.01)
    finally:
        go.set()
        one.join(timeout * 2)
        if two.ident is not None:
            two.join(timeout * 2)
    if "first_error" in results:
        raise results["first_error"]
    return results["first"], results["second"]


def wait_database_quiet(timeout=10) -> None:
    """Return once no other connection to this test database is running a statement or sits in a transaction, for
    two reads in a row: a server still answering a closed page's last requests (a read receipt, a socket's goodbye)
    would otherwise deadlock with the TRUNCATE of a transactional test's teardown. PostgreSQL only; bounded."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline, quiet = time.monotonic() + timeout, 0
    with connection.cursor() as cursor:
        while quiet < 2 and time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'")
            quiet = quiet + 1 if cursor.fetchone()[0] == 0 else 0
            time.sleep(0.05)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def connect(user=None, origin=ORIGIN, path="/ws/", cookie=None, lang=None):
    """A WebsocketCommunicator through the real ASGI stack (origin check, session auth)."""
    from live.asgi import application

    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None and cookie is None:
        cookie = await database_sync_to_async(session_cookie)(user)
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    if lang:
        headers.append((b"accept-language", lang.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    communicator.connected_ok, communicator.close_code = connected, code
    return communicator


async def asgi_http(app, method: str, path: str, headers=(), body: bytes = b"", timeout=30) -> dict:
    """One HTTP request through an ASGI application in process, as daphne hands it over:
    `{"status", "headers", "body"}`."""
    from asgiref.testing import ApplicationCommunicator

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": list(headers), "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout)
    content = b""
    while True:
        chunk = await communicator.receive_output(timeout)
        content += chunk.get("body", b"")
        if not chunk.get("more_body"):
            break
    await communicator.wait()
    return {"status": start["status"], "headers": start.get("headers", []), "body": content}


async def closed_at_once(communicator, timeout=2) -> int | None:
    """The code of the close a socket got right after its handshake (how a refused socket is told why: a close
    before the accept reaches a browser as a bare HTTP 403), or None if it stays open."""
    if await communicator.receive_nothing(timeout=0.05):
        return None
    output = await communicator.receive_output(timeout)
    return output.get("code") if output["type"] == "websocket.close" else None


async def receive(communicator, timeout=5):
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(communicator, predicate, timeout=5):
    """Frames until one matches; returns (match, frames seen before it)."""
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {timeout}s; saw {seen}")
        frame = await receive(communicator, timeout=remaining)
        if predicate(frame):
            return frame, seen
        seen.append(frame)


async def events(communicator, stream, count, timeout=10):
    """The next `count` event frames of `stream` (other frames skipped)."""
    got = []
    while len(got) < count:
        frame, _ = await receive_until(communicator, lambda f: f.get("type") == "event" and f.get("stream") == stream,
                                       timeout=timeout)
        got.append(frame)
    return got


async def resume(communicator, **positions):
    await communicator.send_json_to({"type": "resume", "streams": positions})


def position(key):
    """A stream's current cursor, as a page carries it."""
    from live import streams

    c = streams.cursor(key)
    return {"epoch": c.epoch, "seq": c.seq}


async def follow(ws, key, pos=None):
    """Resume `key` from `pos` (default: its current head); the first subscribed/error/reset frame."""
    pos = pos or await sync_to_async(position)(key)
    await ws.send_json_to({"type": "resume", "streams": {key: pos}})
    frame, _ = await receive_until(ws, lambda f: f["type"] in {"subscribed", "error", "reset"})
    return frame


# --- a real daphne process (browser tests, slow sockets) ------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_subprocess() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def daphne_env(**extra) -> dict:
    """The environment of a daphne subprocess on the test database and the test's Redis (extra: settings)."""
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "DJANGO_ENV": "development",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "LIVE_SWEEP_SECONDS": "1", **extra}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


class LiveServer:
    """`daphne live.asgi:application` in its own process, as production starts it."""


    def __init__(self, port: int, env: dict):
        self.port, self.env = port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process = None
        self.log = ARTIFACTS / f"daphne-{port}.log"

    def start(self):
        ARTIFACTS.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "live.asgi:application"],
            env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)
                return self
            except Exception:
                if self.process.poll() is not None:
                    raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not start: {self.log.read_text()[-2000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def restart(self):
        self.stop()
        return self.start()


class _Elements(HTMLParser):
    def __init__(self, tag, attrs):
        super().__init__()
        self.tag, self.attrs, self.found, self.open = tag, attrs, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == self.tag and all(attrs.get(k.replace("_", "-")) == v for k, v in self.attrs.items()):
            element = {"attrs": attrs, "text": ""}
            self.found.append(element)
            self.open.append([tag, element, 0])
        elif self.open and tag == self.open[-1][0]:
            self.open[-1][2] += 1

    def handle_endtag(self, tag):
        if self.open and tag == self.open[-1][0]:
            if self.open[-1][2]:
                self.open[-1][2] -= 1
            else:
                self.open.pop()

    def handle_data(self, data):
        for _tag, element, _depth in self.open:
            element["text"] += data


def elements(html: str, tag: str, **attrs) -> list[dict]:
    """The `tag` elements of `html` whose attributes have these values (data_refusal= for data-refusal=), each as
    {"attrs": {...}, "text": "..."}: assert on what the page says, whatever the attribute order."""
    parser = _Elements(tag, attrs)
    parser.feed(html)
    return parser.found


def off_loop(action):
    """`action()` in a thread of its own, as a server's request runs it (its own database connection, no event
    loop): its ephemeral frames reach the channel layer (from the test's thread, which runs Playwright's event loop,
    they cannot, and the layer's breaker would then skip the next ones too). Returns what it returns."""
    from django.db import connection

    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except Exception as exc:  # reported in the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert "error" not in outcome, outcome["error"]
    return outcome["value"]


@contextlib.contextmanager
def redis_round_trips():
    """The round trips of redis-py's sync clients (the cache's: marks, rate limits) in the block, each as the names
    of the commands it carried: `[["HGETALL", "HGETALL"], ["EVALSHA"]]`."""
    from redis.connection import AbstractConnection

    trips: list[list[str]] = []
    real = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        packed = command if isinstance(command, bytes) else b"".join(bytes(chunk) for chunk in command)
        trips.append([name.decode().upper() for name in _RESP_COMMAND.findall(packed)])
        return real(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield trips
    finally:
        AbstractConnection.send_packed_command = real
