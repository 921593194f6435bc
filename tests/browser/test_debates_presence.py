"""Presence, typing and moderation as two people on the same debate see them."""

import pytest
from playwright.sync_api import expect

from debates import services
from tests.browser.conftest import wait_live
from tests.debates.conftest import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_readers_count_and_who_is_writing(open_page, alice, bob, fiona):
    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Qu'en pensez-vous ?")
    page_a = open_page(alice, debate.get_absolute_url())
    wait_live(page_a)
    page_b = open_page(bob, debate.get_absolute_url())
    wait_live(page_b)
    expect(page_a.locator("#debate-presence")).to_have_attribute("data-count", "2")
    expect(page_a.locator("#debate-presence")).to_contain_text("2 personnes lisent")
    expect(page_a.locator("#debate-presence .i18n-en")).to_be_hidden()  # the page's language only
    expect(page_b.locator("#debate-presence")).to_have_attribute("data-count", "2")

    page_b.locator(f"#comment-{root.pk}-main .reply-link").click()
    page_b.locator(f"#reply-body-{root.pk}").press_sequentially("Je pense que", delay=20)
    expect(page_a.locator(f"#typing-{root.pk}")).to_contain_text("bob")
    expect(page_b.locator(f"#typing-{root.pk} .others-only")).to_be_hidden()  # not to himself
    # The indicator fades by itself.
    expect(page_a.locator(f"#typing-{root.pk}")).to_have_text("", timeout=12000)


def test_a_hidden_comment_turns_into_a_placeholder_live_and_keeps_bobs_draft(open_page, alice, bob, mona, fiona):
    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Un avis")
    rude = services.post_comment(author=alice, debate=debate, body="Des propos injurieux")
    page_b = open_page(bob, f"{debate.get_absolute_url()}?sort=oldest")
    page_m = open_page(mona, f"{debate.get_absolute_url()}?sort=oldest")
    wait_live(page_b)
    wait_live(page_m)
    page_b.locator(f"#comment-{root.pk}-main .reply-link").click()
    page_b.locator(f"#reply-body-{root.pk}").fill("Mon brouillon")

    services.hide_comment(comment=rude, actor=mona, reason="Insulte")
    services.edit_comment(comment=root, actor=alice, body="Un avis précisé")
    expect(page_b.locator(f"#comment-{rude.pk}")).not_to_contain_text("injurieux")
    expect(page_b.locator(f"#comment-{rude.pk} .comment-placeholder")).to_be_visible()
    expect(page_m.locator(f"#comment-{rude.pk}")).to_contain_text("injurieux")
    expect(page_m.locator(f"#comment-{rude.pk} .hidden-note")).to_contain_text("Insulte")
    # Alice's edit replaced the comment Bob was replying to; his open form and draft survived it.
    expect(page_b.locator(f"#comment-{root.pk}-body")).to_contain_text("précisé")
    expect(page_b.locator(f"#comment-{root.pk}-edited")).not_to_be_empty()
    expect(page_b.locator(f"#reply-body-{root.pk}")).to_have_value("Mon brouillon")
