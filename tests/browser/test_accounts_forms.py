"""Signing up, out and in again through the real forms, as a person would, in Chromium."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from live import ratelimit
from tests.browser.conftest import wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dora_signs_up_signs_out_and_signs_in_again(open_page):
    page = open_page(None, "/", locale="en-GB")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")

    page.get_by_label("Nickname").fill("dora")
    page.get_by_label("Email address").fill("dora@example.org")
    page.get_by_label("Password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Create my account").click()

    expect(page.locator("#flash")).to_contain_text("Welcome, dora! Your account is ready.")
    header = page.locator(".site-header")
    expect(header.get_by_role("link", name="dora")).to_be_visible()
    assert get_user_model().objects.filter(nickname="dora", email="dora@example.org").exists()
    wait_live(page)
    expect(page.locator("#notification-badge")).to_contain_text("1")  # the welcome notification

    header.get_by_role("button", name="Sign out").click()
    expect(page.locator("#flash")).to_contain_text("You are signed out.")
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()

    header.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email or nickname").fill("Dora")
    page.get_by_label("Password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(header.get_by_role("link", name="dora")).to_be_visible()


def test_a_mistake_in_the_form_is_shown_next_to_the_field(open_page, alice):
    page = open_page(None, "/accounts/signup/", locale="en-GB")
    page.get_by_label("Nickname").fill("ALICE")
    page.get_by_label("Email address").fill("someone@example.org")
    page.get_by_label("Password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Create my account").click()
    nickname = page.get_by_label("Nickname")
    expect(nickname).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_nickname_error")).to_contain_text("already taken")
    expect(nickname).to_have_value("ALICE")


def test_guessing_a_password_ends_with_a_clear_wait_message(open_page, alice):
    limit, _ = ratelimit.parse(ratelimit.DEFAULT_LIMITS["login"])
    page = open_page(None, "/accounts/login/", locale="en-GB")
    for _ in range(limit + 1):
        page.get_by_label("Email or nickname").fill("alice")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    expect(page.locator("#sign-in-throttled")).to_contain_text("Too many attempts. Please try again in")
    expect(page.locator(".site-header").get_by_role("link", name="Sign in")).to_be_visible()
