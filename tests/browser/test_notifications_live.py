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
    page.wait_for_selector("#live-status:not([hidden])")
    notify(user=bob, kind="test", text="Pendant la panne 1")
    notify(user=bob, kind="test", text="Pendant la panne 2")
    daphne_server.start()
    wait_live(page, timeout=20000)
    expect(page.locator("#notification-badge")).to_contain_text("2")
    expect(page.locator("#notification-list li")).to_have_count(2)
    expect(page.locator("#live-status")).to_be_hidden()
