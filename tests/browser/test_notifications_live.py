import pytest
from playwright.sync_api import expect

from live.notifications.services import notify
from tests.browser.conftest import go_offline, go_online, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bobs_badge_rises_live_and_recovers_what_it_missed_offline(open_page, alice, bob):
    page = open_page(bob, "/notifications/")
    wait_live(page)
    badge = page.locator("#notification-badge")
    expect(badge).to_have_text("")

    notify(user=bob, kind="test", text="Alice vous a répondu")
    expect(badge).to_contain_text("1")
    expect(page.locator("#notification-list")).to_contain_text("Alice vous a répondu")
    expect(page.locator("#live-announcer")).to_contain_text("Alice vous a répondu")

    go_offline(page)
    notify(user=bob, kind="test", text="Deuxième")
    notify(user=bob, kind="test", text="Troisième")
    go_online(page)
    expect(badge).to_contain_text("3")
    expect(page.locator("#notification-list li")).to_have_count(3)


def test_a_killed_server_is_rejoined_with_backoff_and_nothing_is_lost(open_page, daphne_server, bob):
    page = open_page(bob, "/notifications/")
    wait_live(page)
    daphne_server.stop()  # the process dies: every socket drops (1006) and the pages start retrying
    page.wait_for_selector("#live-status:not(:empty)")
    notify(user=bob, kind="test", text="Pendant la panne 1")
    notify(user=bob, kind="test", text="Pendant la panne 2")
    daphne_server.start()
    wait_live(page, timeout=20000)
    expect(page.locator("#notification-badge")).to_contain_text("2")
    expect(page.locator("#notification-list li")).to_have_count(2)
    expect(page.locator("#live-status")).to_be_hidden()


def test_alices_reply_raises_bobs_badge_in_his_other_browser(open_page, alice, bob, fiona):
    from debates import services as debates
    from tests.debates.conftest import make_debate

    debate = make_debate(fiona)
    comment = debates.post_comment(author=bob, debate=debate, body="Je préfère le dimanche.", alignment=0)
    page_b = open_page(bob, "/notifications/")
    page_a = open_page(alice, debate.get_absolute_url())
    wait_live(page_b)
    wait_live(page_a)

    thread = page_a.locator(f"#comment-{comment.pk}")
    thread.locator(".reply-link").first.click()
    thread.locator(".reply-form textarea").first.fill("Le dimanche, le marché est fermé.")
    thread.locator(".reply-form button[type=submit]").first.click()

    expect(page_b.locator("#notification-badge")).to_contain_text("1")
    expect(page_b.locator("#notification-list")).to_contain_text("alice")


def test_marking_read_in_one_tab_clears_the_badge_in_the_other(open_page, bob):
    notify(user=bob, kind="test", text="Une")
    notify(user=bob, kind="test", text="Deux")
    tab_1 = open_page(bob, "/notifications/")
    tab_2 = open_page(bob, "/")
    wait_live(tab_1)
    wait_live(tab_2)
    expect(tab_2.locator("#notification-badge")).to_contain_text("2")

    tab_1.locator("#notification-list li", has_text="Une").get_by_role("button").click()
    expect(tab_2.locator("#notification-badge")).to_contain_text("1")
    expect(tab_1.locator("#notification-list li", has_text="Une")).to_contain_text("Lu")

    tab_1.get_by_role("button", name="Tout marquer comme lu").click()
    expect(tab_2.locator("#notification-badge")).to_have_text("")
    expect(tab_1.locator("#notification-badge")).to_have_text("")
