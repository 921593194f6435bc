"""Signing out in one tab ends the live updates of the other tabs of that session, visibly."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_live
from tests.helpers import PASSWORD

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


def test_changing_ones_password_stops_the_other_browsers_live_updates_and_keeps_ones_own(open_page, alice):
    stolen = open_page(alice, "/notifications/", locale="en-GB")  # another session: another browser, a stolen cookie
    form = open_page(alice, "/accounts/password/", locale="en-GB")
    other_tab = form.context.new_page()  # the same session, in a second tab
    other_tab.goto(stolen.url)
    wait_live(stolen)
    wait_live(other_tab)
    other_tab.evaluate("() => { window.__closes = []; document.addEventListener('htmx:wsClose',"
                       " (e) => window.__closes.push(e.detail.event.code)); }")

    form.locator("input[name=old_password]").fill(PASSWORD)
    form.locator("input[name=new_password1]").fill("another-Horse-battery-7")
    form.locator("input[name=new_password2]").fill("another-Horse-battery-7")
    # The server checks the old password and hashes the new one (PBKDF2, 1,000,000 iterations each: 0.5 s of CPU
    # each on a quiet core, several seconds on a loaded 2-core machine, where the click's 10 s ran out waiting for the
    # answer's page): the person waits for that page.
    form.get_by_role("button", name="Change my password").click(no_wait_after=True)
    expect(form.locator("#flash")).to_contain_text("Your new password is saved.", timeout=30000)

    expect(stolen.locator("#live-status")).to_have_text("Live updates stopped. Reload the page to continue.")
    # The tab of the session that changed the password reconnects under its renewed key and stays live.
    other_tab.wait_for_function("() => window.__closes.includes(4012)")
    wait_live(other_tab)
    expect(other_tab.locator("#live-status")).to_be_hidden()
    stolen.reload()
    expect(stolen.locator(".site-header").get_by_role("link", name="Sign in")).to_be_visible()
