"""Browser tests: Debian's Chromium driven by Playwright against a real daphne process.

The server is started exactly as in production (`daphne live.asgi:application`), on the test database and the
same Redis, in its own process; Playwright never downloads a browser (`executable_path=/usr/bin/chromium`).
"""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests import helpers
from tests.helpers import LiveServer, daphne_env, free_port

CHROMIUM = os.environ.get("AGORA_BROWSER", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker):
    server = LiveServer(free_port(), daphne_env()).start()
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
    if contexts:
        helpers.wait_database_quiet()  # the pages' last requests answered before the test's data is flushed


def wait_live(page, timeout=10000):
    """Wait until the page's socket is open and the server has answered its resume (live.js `Live.ready()`, or no
    stream left to follow): from then on its `data-live-write` forms go over the socket. `data-live="connected"`
    alone is set as the socket opens, before the resume is answered: a form sent in that gap posts over HTTP."""
    page.wait_for_selector("html[data-live='connected']", state="attached", timeout=timeout)
    page.wait_for_function("() => window.Live.ready() || !Object.keys(window.agoraLive.state).length",
                           timeout=timeout)


def go_offline(page):
    """Cut the page's socket as a network failure would, and keep reconnection attempts failing until
    go_online(page): the ws extension keeps retrying with backoff meanwhile."""
    page.evaluate("""() => {
        if (!window.__realCreateWebSocket) {
            window.__realCreateWebSocket = htmx.createWebSocket;
            // Offline, a socket fails as on a network failure (close 1006). Not a socket to a closed port: the site's
            // CSP (connect-src: its own origin only) refuses that one outright, and the extension stops retrying.
            htmx.createWebSocket = (url) => {
                if (!window.__offline) return window.__realCreateWebSocket(url);
                const failing = {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, readyState: 0,
                                 send() {}, close() {}, addEventListener() {}, removeEventListener() {}};
                setTimeout(() => { failing.readyState = 3; if (failing.onclose) failing.onclose({code: 1006}); }, 20);
                return failing;
            };
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


def force_reset(page, key):
    """Make the page meet a `reset` for stream `key` (docs/realtime.md), as after its log was rebuilt: while offline,
    its position on `key` moves to an epoch the server no longer has; back online, the server answers the resume
    with `reset` and live.js reloads the regions of `key` from the page. Returns once the fresh regions are in."""
    go_offline(page)
    page.evaluate("""key => {
        window.agoraLive.state[key] = {epoch: "gone", seq: 1};
        document.querySelectorAll(`[data-live-stream="${key}"]`).forEach(
            (el) => el.setAttribute("data-live-cursor", "gone:1"));
    }""", key)
    go_online(page)
    page.wait_for_function("""key => [...document.querySelectorAll(`[data-live-stream="${key}"]`)].every(
        (el) => !el.getAttribute("data-live-cursor").startsWith("gone:"))""", arg=key)


class HeldAnswers:
    """The socket's answers to the page's writes (`written` frames) held back on their way to the page, everything
    else let through: the room's copy of a write can then be made to arrive before its answer, as a loaded server
    sometimes does. Set up before the page (re)loads: `held = HeldAnswers(page); page.reload()`."""

    def __init__(self, page):
        self.held, self.released, self.ws = [], False, None
        page.route_web_socket("**/ws/**", self._route)
        self.page = page

    def _route(self, ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))

        def from_server(message):
            if not self.released and '"written"' in str(message):
                self.held.append(message)
            else:
                ws.send(message)
        server.on_message(from_server)
        self.ws = ws

    def wait(self, timeout=10):
        """Until an answer is held (Playwright runs the route's handler while the page waits)."""
        deadline = time.monotonic() + timeout
        while not self.held and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert self.held, "the socket's answer never came"

    def release(self):
        """Send the held answers on, and let the next ones through."""
        self.released = True
        for message in self.held:
            self.ws.send(message)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
