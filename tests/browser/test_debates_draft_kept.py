"""A debate locked or closed while a resident is typing a comment: the notice takes the form's place, and what
they typed stays on their page, read-only, to copy."""

import pytest
from playwright.sync_api import expect

from debates import services
from tests.browser.conftest import wait_live
from tests.debates.conftest import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAFT = "Je propose des bancs\net de l'ombre le samedi."


def test_a_moderator_locks_while_alice_types_and_her_text_is_still_there(open_page, alice, mona, fiona):
    debate = make_debate(fiona)
    resident = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    moderator = open_page(mona, debate.get_absolute_url(), locale="en-GB")
    wait_live(resident)
    resident.locator("#comment-body").fill(DRAFT)  # the focus stays in it, still writing

    moderator.locator(".lock-disclosure summary").click()
    moderator.locator("#lock-reason").fill("Ça chauffe trop")
    moderator.locator(".lock-disclosure form button").click()

    region = resident.locator("#comment-form-region")
    expect(region.locator(".notice-locked")).to_contain_text("Comments are locked by a moderator")
    expect(resident.locator("#comment-form")).to_have_count(0)  # nothing can be sent any more
    kept = region.get_by_label("Your comment was not sent. It stays here for you to copy.")
    expect(kept).to_have_value(DRAFT)
    expect(kept).to_have_attribute("readonly", "")
    expect(kept).to_be_focused()  # where the person was writing, not the page's start
    # The notice comes first, then the text (reading order), and both are said politely, one after the other.
    assert region.evaluate("r => r.querySelector('.notice').compareDocumentPosition(r.querySelector('textarea'))") & 4
    resident.wait_for_function("""() => { const t = document.getElementById('live-announcer').textContent;
                                          return t.includes('not sent'); }""")
    # Unlocked again: the text goes back into the form, ready to send.
    services.lock_comments(debate=debate, actor=mona, locked=False)
    expect(resident.locator("#comment-body")).to_have_value(DRAFT)


def test_a_debate_closed_while_typing_keeps_the_draft_too(open_page, alice, fiona):
    debate = make_debate(fiona)
    resident = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(resident)
    resident.locator("#comment-body").fill(DRAFT)
    services.close_debate(debate=debate, actor=fiona, conclusions="Le conseil retient un essai au printemps.")
    region = resident.locator("#comment-form-region")
    expect(region.locator(".notice-closed")).to_contain_text("This debate is closed")
    expect(region.locator("textarea[readonly]")).to_have_value(DRAFT)


def test_nothing_is_added_when_nothing_was_typed(open_page, alice, mona, fiona):
    debate = make_debate(fiona)
    resident = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(resident)
    services.lock_comments(debate=debate, actor=mona, locked=True, reason="Pause")
    expect(resident.locator("#comment-form-region .notice-locked")).to_be_visible()
    expect(resident.locator("#comment-form-region textarea")).to_have_count(0)
