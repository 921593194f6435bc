"""A refused write in Chromium with htmx (live/actions.py + live.js): the message lands in the form's error slot, the
field it describes is marked invalid, the page's polite announcer says it, and what was typed stays."""

import re

import pytest
from playwright.sync_api import expect

from debates.models import Comment
from live.accounts.services import end_sessions
from meetings import services as meetings
from meetings.models import Contribution
from tests.browser.conftest import go_offline, wait_live
from tests.debates.conftest import make_debate
from tests.helpers import off_loop
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_comment_is_said_next_to_its_field_and_keeps_the_text(open_page, alice, fiona):
    debate = make_debate(fiona)
    page = open_page(alice, debate.get_absolute_url(), locale="en-US")
    wait_live(page)
    body = page.locator("#comment-body")

    body.fill("   ")  # passes the browser's "required", refused by the service: nothing to say
    page.locator("#comment-form button[type=submit]").click()
    slot = page.locator("#comment-form-errors")
    expect(slot.locator('[data-refusal="invalid"]')).to_be_visible()
    message = slot.inner_text().strip()
    assert message
    expect(body).to_have_attribute("aria-invalid", "true")
    assert "comment-form-errors" in body.get_attribute("aria-describedby").split()
    expect(page.locator("#live-announcer")).to_have_text(message)
    expect(page.locator("#live-announcer")).to_have_attribute("aria-live", "polite")
    expect(body).to_have_value("   ")
    assert not Comment.objects.exists()

    body.fill("Des bancs à l'ombre, oui.")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("article.comment", has_text="Des bancs à l'ombre")).to_be_visible()
    expect(body).not_to_have_attribute("aria-invalid", "true")


def test_a_refused_contribution_stays_in_the_phones_form(open_page, fiona, alice):
    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-US")
    wait_live(phone)
    body = phone.locator("#contribution-body")
    body.fill("   ")
    phone.locator("#contribution-form button[type=submit]").click()
    expect(phone.locator('#contribution-form-errors [data-refusal="invalid"]')).to_be_visible()
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_value("   ")  # the form is not replaced: the text and its client id stay
    expect(phone.locator("#live-announcer")).not_to_be_empty()
    assert not Contribution.objects.exists()


def test_a_comment_met_by_a_server_failure_over_http_says_so_and_is_written_once_when_sent_again(open_page, alice,
                                                                                                  fiona):
    """Posted over HTTP (the socket is down) while the database restarts: the 503 (live.views.server_error) is not
    one of the seam's refusals, so htmx swaps nothing. The person must still read what happened, next to the form
    (and hear it), keep their text, and send it again under the same client id."""
    debate = make_debate(fiona)
    page = open_page(alice, debate.get_absolute_url(), locale="en-US")
    wait_live(page)
    go_offline(page)  # the form posts over HTTP
    failing = re.compile(r"/debates/\d+/comments/$")
    page.route(failing, lambda route: route.fulfill(status=503, headers={"Retry-After": "2"},
                                                    body="<h1>Briefly unavailable</h1>"))
    body = page.locator("#comment-body")
    body.fill("Des arbres, vite.")
    page.locator("#comment-form button[type=submit]").click()
    slot = page.locator("#comment-form-errors")
    expect(slot).to_contain_text("briefly unavailable")
    expect(page.locator("#live-announcer")).to_contain_text("briefly unavailable")
    expect(body).to_have_value("Des arbres, vite.")
    assert not Comment.objects.exists()

    page.unroute(failing)
    page.locator("#comment-form button[type=submit]").click()
    expect(body).to_have_value("")
    expect(slot).to_be_empty()
    assert Comment.objects.filter(body="Des arbres, vite.").count() == 1


def test_a_comment_posted_after_the_session_ended_says_to_sign_in_again(open_page, alice, fiona):
    """The session ended elsewhere while the page was open (signed out in another browser) and the socket is down:
    the post over HTTP is sent to the sign-in page, which htmx follows and shows nowhere. The person must read that
    their comment was not sent and why, with their text kept."""
    debate = make_debate(fiona)
    page = open_page(alice, debate.get_absolute_url(), locale="en-US")
    wait_live(page)
    go_offline(page)
    off_loop(lambda: end_sessions(user=alice, reason="signed_out"))
    body = page.locator("#comment-body")
    body.fill("Des arbres, vite.")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#comment-form-errors")).to_contain_text("sign in again")
    expect(page.locator("#live-announcer")).to_contain_text("sign in again")
    expect(body).to_have_value("Des arbres, vite.")
    assert not Comment.objects.exists()
