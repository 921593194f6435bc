"""A debate locked or closed while a resident is typing a comment: the notice takes the form's place, and what
they typed stays on their page, read-only, to copy."""

import pytest
from playwright.sync_api import expect

from debates import services
from tests.browser.conftest import force_reset, go_offline, go_online, wait_live
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


def test_a_kept_draft_survives_a_reset(open_page, alice, mona, fiona):
    """The text kept under the lock notice is not in the page a reset fetches again: it stays, read-only, with the
    focus, and goes back into the form when the comments open again."""
    debate = make_debate(fiona)
    resident = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(resident)
    resident.locator("#comment-body").fill(DRAFT)
    services.lock_comments(debate=debate, actor=mona, locked=True, reason="Pause")
    kept = resident.locator("#comment-form-region #comment-draft")
    expect(kept).to_have_value(DRAFT)
    force_reset(resident, debate.stream_key)
    expect(kept).to_have_value(DRAFT)
    expect(kept).to_have_js_property("readOnly", True)
    services.lock_comments(debate=debate, actor=mona, locked=False)
    expect(resident.locator("#comment-body")).to_have_value(DRAFT)


def test_a_comment_typed_while_the_lock_was_missed_survives_the_reset(open_page, alice, mona, fiona):
    """The lock happened while alice's page was offline and the reset reloads the debate with the notice in the
    form's place: what she typed stays under it, read-only, as when the lock is pushed."""
    debate = make_debate(fiona)
    resident = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(resident)
    resident.locator("#comment-body").fill(DRAFT)
    go_offline(resident)
    services.lock_comments(debate=debate, actor=mona, locked=True, reason="Pause")
    resident.evaluate("""key => {  // as force_reset: the page's position can no longer be replayed
        window.agoraLive.state[key] = {epoch: "gone", seq: 1};
        document.querySelectorAll(`[data-live-stream="${key}"]`).forEach(
            (el) => el.setAttribute("data-live-cursor", "gone:1"));
    }""", debate.stream_key)
    go_online(resident)  # the resume is answered with a reset: the region comes back with the notice
    expect(resident.locator("#comment-form-region .notice-locked")).to_be_visible()
    expect(resident.locator("#comment-form-region #comment-draft")).to_have_value(DRAFT)
