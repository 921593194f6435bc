"""Long threads: "load more" and folded replies, with the keyboard focus kept where the reader is."""

import pytest
from playwright.sync_api import expect

from debates import services
from tests.browser.conftest import wait_live
from tests.debates.conftest import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_load_more_and_show_more_replies(open_page, alice, bob, fiona, settings):
    settings.RATE_LIMITS_ENABLED = False
    debate = make_debate(fiona)
    roots = [services.post_comment(author=alice, debate=debate, body=f"Avis numéro {i}") for i in range(25)]
    for i in range(5):
        services.post_comment(author=bob, debate=debate, body=f"Réponse {i}", parent=roots[0])
    page = open_page(bob, f"{debate.get_absolute_url()}?sort=oldest")
    wait_live(page)
    expect(page.locator("#comments > article.comment")).to_have_count(20)
    expect(page.locator(f"#replies-{roots[0].pk} > article.comment")).to_have_count(3)

    page.locator(f"#more-replies-{roots[0].pk} a").click()
    expect(page.locator(f"#replies-{roots[0].pk} > article.comment")).to_have_count(5)
    expect(page.locator(f"#more-replies-{roots[0].pk}")).to_have_count(0)
    expect(page.locator(f"#replies-{roots[0].pk} > article.comment").nth(3)).to_be_focused()

    page.locator(".load-more a").click()
    expect(page.locator("#comments > article.comment")).to_have_count(25)
    expect(page.locator(".load-more")).to_have_count(0)
    expect(page.locator(f"#comment-{roots[20].pk}")).to_be_focused()
    # Every page is a full page too: the URL did not change under the reader.
    assert "page=" not in page.url
