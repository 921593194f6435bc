"""What a page does when the server closes its socket (docs/realtime.md, close codes): a permanent refusal stops it
for good with a message; a "reconnect" (4012) brings it back at once."""

import pytest
from playwright.sync_api import expect

from live.accounts import services
from tests.browser.conftest import wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT_SOCKETS = """() => {
    window.__sockets = 0;
    const create = htmx.createWebSocket;
    htmx.createWebSocket = (url) => { window.__sockets += 1; return create(url); };
}"""


def test_a_permanent_refusal_stops_the_page_reconnecting(open_page, alice):
    page = open_page(alice, "/notifications/", locale="en-GB")
    wait_live(page)
    page.evaluate(COUNT_SOCKETS)

    page.evaluate("() => agoraLive.send({type: 'ping', pad: 'x'.repeat(70000)})")  # over 64 KB: closed with 4413

    expect(page.locator("#live-status")).to_have_text("Live updates stopped. Reload the page to continue.")
    # htmx's ws extension would have retried a 1011 (what daphne sent for 1009) within a second, and live.js
    # retries its retryable codes within a second too: two seconds without a new socket is no retry at all.
    page.wait_for_timeout(2000)
    assert page.evaluate("() => window.__sockets") == 0


def test_a_revoked_role_makes_the_page_reconnect_at_once(open_page, mona, admin_user):
    page = open_page(mona, "/notifications/", locale="en-GB")
    wait_live(page)
    page.evaluate(COUNT_SOCKETS)

    services.revoke_role(actor=admin_user, user=mona, role="moderator")  # closes her sockets with 4012

    page.wait_for_function("() => window.__sockets === 1")
    wait_live(page)
    expect(page.locator("#live-status")).to_be_hidden()
