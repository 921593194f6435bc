"""Signing out in one tab ends the live updates of the other tabs of that session, visibly."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signing_out_in_one_tab_stops_the_other_tabs_live_updates(open_page, alice):
    first = open_page(alice, "/notifications/", locale="en-GB")
    second = first.context.new_page()
    second.goto(first.url)
    wait_live(first)
    wait_live(second)

    first.locator(".site-header").get_by_role("button", name="Sign out").click()
    expect(first.locator("#flash")).to_contain_text("You are signed out.")

    status = second.locator("#live-status")
    expect(status).to_be_visible()
    expect(status).to_have_text("Live updates stopped. Reload the page to continue.")
    second.reload()
    expect(second.locator(".site-header").get_by_role("link", name="Sign in")).to_be_visible()
