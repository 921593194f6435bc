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
