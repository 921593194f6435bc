"""Hostile comments, as a browser builds them: the same harmless result in the push and on the page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_live
from tests.debates.conftest import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = "\n".join([
    "<script>document.title='pwned'</script>",
    '<img src=x onerror="document.title=\'pwned\'">',
    "<svg onload=alert(1)><circle r=5 /></svg>",
    '<div hx-get="/accounts/logout/" hx-trigger="load">piège htmx</div>',
    "[clique ici](javascript:alert(1)) et [là](https://ville.example/ok)",
    "**gras** et @bob",
])


def assert_harmless(page, body):
    expect(body).to_contain_text("piège htmx")
    for selector in ["script", "img", "svg", "div", "[hx-get]", "[onerror]", "[onload]", "iframe"]:
        expect(body.locator(selector)).to_have_count(0)
    links = body.locator("a")
    expect(links).to_have_count(2)  # the safe link and the mention, nothing else
    expect(body.locator('a[href="https://ville.example/ok"]')).to_have_attribute("rel", "nofollow ugc noopener")
    expect(body.locator('a[href="/accounts/people/bob/"]')).to_have_text("@bob")
    expect(body.locator("strong")).to_have_text("gras")
    assert page.title() != "pwned"


def test_a_hostile_comment_is_harmless_live_and_on_reload(open_page, alice, bob, fiona):
    debate = make_debate(fiona)
    page_a = open_page(alice, debate.get_absolute_url())
    page_b = open_page(bob, f"{debate.get_absolute_url()}?sort=oldest")
    wait_live(page_a)
    wait_live(page_b)
    page_a.locator("#comment-body").fill(PAYLOAD)
    page_a.locator("#comment-form button[type=submit]").click()
    assert_harmless(page_b, page_b.locator("#comments .comment-body").first)  # the push
    page_b.reload()
    assert_harmless(page_b, page_b.locator("#comments .comment-body").first)  # the page
    assert_harmless(page_a, page_a.locator("#comments .comment-body").first)  # the author's own push
