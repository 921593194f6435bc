"""Browser tests: Debian's Chromium driven by Playwright against a real daphne process.

The server is started exactly as in production (`daphne live.asgi:application`), on the test database and the
same Redis, in its own process; Playwright never downloads a browser (`executable_path=/usr/bin/chromium`).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests import helpers

CHROMIUM = os.environ.get("AGORA_BROWSER", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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


class LiveServer:
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
            cwd=Path(__file__).resolve().parents[2],
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


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker):
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "DJANGO_ENV": "development",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "LIVE_SWEEP_SECONDS": "1"}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    server = LiveServer(free_port(), env).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(daphne_server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running in this thread; the tests' own ORM calls stay synchronous
    # and safe. Browser tests run last (tests/conftest.py), so consumer tests keep Django's guard.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(daphne_server, browser, request):
    """`open_page(user=None, path="/", viewport=None)` -> a Page in its own browser context, signed in as user."""
    contexts = []

    def _open(user=None, path="/", viewport=None, locale="fr-FR"):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale=locale)
        if user is not None:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": helpers.session_cookie(user),
                                  "url": daphne_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        page.on("console", lambda msg: page.console_log.append(f"{msg.type}: {msg.text}"))
        page.console_log = []
        page.goto(daphne_server.url + path)
        return page

    yield _open
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}-{j}.png"), full_page=True)
                except Exception:
                    pass
        context.close()


def wait_live(page, timeout=10000):
    """Wait until the page's socket is open and every stream it follows is subscribed."""
    page.wait_for_selector("html[data-live='connected']", state="attached", timeout=timeout)


def go_offline(page):
    """Cut the page's socket as a network failure would, and keep reconnection attempts failing until
    go_online(page): the ws extension keeps retrying with backoff meanwhile."""
    page.evaluate("""() => {
        if (!window.__realCreateWebSocket) {
            window.__realCreateWebSocket = htmx.createWebSocket;
            htmx.createWebSocket = (url) => window.__offline ? new WebSocket('ws://127.0.0.1:9/') : window.__realCreateWebSocket(url);
        }
        window.__offline = true;
        const wrapper = document.body['htmx-internal-data'].webSocket;
        const socket = wrapper.socket, onclose = socket.onclose;
        socket.onclose = null;
        socket.close();
        onclose({code: 1006});  // what the extension sees on a network failure: it retries with backoff
    }""")
    page.wait_for_selector("html:not([data-live='connected'])", state="attached")


def go_online(page):
    page.evaluate("() => { window.__offline = false; }")
    wait_live(page, timeout=20000)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
