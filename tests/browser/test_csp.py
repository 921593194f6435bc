"""Under the page's CSP, Chromium opens the page's own socket and refuses a socket to any other host."""

import pytest

from tests.browser.conftest import wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_page_may_open_its_own_socket_and_no_other(open_page, alice):
    page = open_page(alice, "/notifications/")
    wait_live(page)  # its own socket: ws://<its host>

    violation = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective + ' ' + e.blockedURI));
        setTimeout(() => resolve('allowed'), 3000);  // no violation: the CSP let it through
        try { new WebSocket('ws://localhost:9/ws/'); } catch (e) { resolve('refused: ' + e.name); }
    })""")
    assert violation.startswith("connect-src") or violation.startswith("refused"), violation
