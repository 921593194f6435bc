"""Keyboard and screen-reader paths (#18): what a person using the keyboard alone, or a screen reader, gets.

Pages are reached by their URL; from there everything is done with keys (Tab, Enter, Space, letters), and the
focused element must show a visible ring (its computed outline)."""

import pytest
from playwright.sync_api import expect

from debates import services as debates
from live.messaging import services as messaging
from meetings import services as meetings
from tests.browser.conftest import HeldAnswers, wait_live
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT_REQUESTS = """() => { window.__requests = 0;
    document.addEventListener('htmx:beforeRequest', () => { window.__requests += 1; }); }"""
FOCUS_RING = """() => { const el = document.activeElement, s = getComputedStyle(el);
    return {tag: el.tagName.toLowerCase(), id: el.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""


def assert_visible_focus(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["tag"] != "body", "the focus was lost"
    assert ring["style"] != "none" and ring["width"] >= 2, ring


def tab_to(page, selector, limit=60):
    """Press Tab until `selector` has the focus (as a keyboard user would), checking the ring on the way there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            assert_visible_focus(page)
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


@pytest.fixture
def debate(fiona, bob):
    debate = debates.create_debate(author=fiona, title="Faut-il piétonniser la place du marché ?",
                                   description="La mairie propose de fermer la place aux voitures le samedi.")
    debates.post_comment(author=bob, debate=debate, body="Les livraisons du matin posent question.")
    return debate


def test_alice_comments_votes_and_meets_an_error_with_the_keyboard_alone(open_page, alice, bob, debate):
    page = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    # The skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()
    assert_visible_focus(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # An empty comment: the error is tied to the field, the focus is on it, the title says so.
    tab_to(page, "#comment-body")
    page.keyboard.type(" ")
    tab_to(page, "#comment-form button[type=submit]")
    page.keyboard.press("Enter")
    body = page.locator("#comment-body")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_be_focused()
    assert "comment-form-errors" in body.get_attribute("aria-describedby")
    expect(page.locator("#comment-form-errors")).not_to_be_empty()
    assert page.title().startswith("Error:"), page.title()

    # Then a real comment, sent with the keyboard: published, the error and the title cleared.
    page.keyboard.press("Control+A")
    page.keyboard.type("Oui, et des bancs pour les anciens.")
    tab_to(page, "#comment-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#thread")).to_contain_text("des bancs pour les anciens")
    expect(body).not_to_have_attribute("aria-invalid", "true")
    assert not page.title().startswith("Error:")

    # A vote on bob's comment with Space.
    vote = page.locator("article.comment", has_text="livraisons").locator("button.vote-up").first
    tab_to(page, "article.comment button.vote-up")
    expect(vote).to_be_focused()
    page.keyboard.press("Space")
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote).to_be_focused()  # the answer replaced the vote form: the focus is back on the same button
    assert_visible_focus(page)


def test_alice_replies_with_the_keyboard_alone(open_page, alice, bob, debate):
    page = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    tab_to(page, "article.comment a.reply-link")
    page.keyboard.press("Enter")
    reply = page.locator("form.reply-form textarea")
    expect(reply).to_be_focused()  # the panel opens with the focus in its field
    page.keyboard.type("Les livraisons pourraient passer avant 10 h.")
    tab_to(page, "form.reply-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("article.comment .replies").first).to_contain_text("avant 10 h")
    # The room's copy of the reply can come before the answer that closes the panel: wait for what she sees.
    expect(page.locator("form.reply-form")).to_have_count(0)
    expect(page.locator("article.comment .comment-actions .action-link:focus")).to_have_count(1)
    assert_visible_focus(page)  # the panel closed and gave the focus back to the comment's actions


def test_a_live_comment_is_announced_once_politely_without_taking_the_focus(open_page, alice, bob, debate):
    page = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    page.locator("#comment-body").focus()
    page.keyboard.type("Je réfléchis")
    debates.post_comment(author=bob, debate=debate, body="Et les vélos ?")
    announcer = page.locator("#live-announcer")
    expect(announcer).to_have_text("New comment by bob")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(page.locator("[aria-live]", has_text="New comment by bob")).to_have_count(1)
    expect(page.locator("#comment-body")).to_be_focused()  # still writing, nothing stolen
    expect(page.locator("#comment-body")).to_have_value("Je réfléchis")


def test_a_private_message_is_announced_and_its_notification_does_not_cut_it_off(open_page, alice, bob):
    """alice has her conversation with bob open; bob's new message brings her two announcements at once: the
    message's (conversation stream) and its notification's (her own stream). Both are said."""
    conversation = messaging.start_conversation(author=alice, recipients=["bob"], body="Salut Bob").conversation
    page = open_page(alice, conversation.get_absolute_url(), locale="en-GB")
    wait_live(page)
    page.evaluate("() => { document.getElementById('live-announcer').dataset.original = '1'; }")
    messaging.send_message(author=bob, conversation=conversation, body="Tu viens à la réunion ?")
    announcer = page.locator("#live-announcer")
    expect(page.locator("#message-list")).to_contain_text("Tu viens à la réunion ?")
    expect(announcer).to_contain_text("New message from bob")
    expect(announcer).to_contain_text("New notification")  # the second did not replace the first
    # The same element, updated: a region put in anew is not always announced.
    expect(announcer).to_have_attribute("data-original", "1")


def test_console_shortcuts_act_only_in_the_queue_and_can_be_turned_off(open_page, fiona):
    meeting = make_meeting(fiona)
    guest = meetings.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    for text in ("Où en est le jardin partagé ?", "Et la piste cyclable ?"):
        meetings.post_contribution(participant=guest, body=text)
    page = open_page(fiona, f"/meetings/{meeting.pk}/console/", locale="en-GB")
    wait_live(page)
    page.evaluate(COUNT_REQUESTS)
    queue = page.locator("#queue .queue-item")
    expect(queue).to_have_count(2)

    # "a" pressed on the skip link (or anywhere outside the lists) approves nothing (WCAG 2.1.4).
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()
    for key in ("a", "r", "p", "h", "j"):
        page.keyboard.press(key)
    assert page.evaluate("() => window.__requests") == 0
    expect(queue).to_have_count(2)

    # Turned off: not even on a contribution.
    toggle = page.get_by_label("Single-key shortcuts")
    expect(toggle).to_be_checked()
    toggle.focus()
    page.keyboard.press("Space")
    expect(toggle).not_to_be_checked()
    queue.first.focus()
    page.keyboard.press("a")
    assert page.evaluate("() => window.__requests") == 0

    # Back on (and remembered): j moves, a approves the focused one, the focus goes to the next.
    page.reload()
    wait_live(page)
    toggle = page.get_by_label("Single-key shortcuts")
    expect(toggle).not_to_be_checked()
    toggle.focus()
    page.keyboard.press("Space")
    queue.first.focus()
    assert_visible_focus(page)
    page.keyboard.press("j")
    expect(queue.nth(1)).to_be_focused()
    second = queue.nth(1).get_attribute("id")
    page.keyboard.press("k")
    expect(queue.first).to_be_focused()
    first_text = queue.first.locator(".contribution-body").inner_text()
    page.keyboard.press("a")
    expect(page.locator("#queue .queue-item")).to_have_count(1)
    expect(page.locator(f"#{second}")).to_be_focused()
    expect(page.locator("#handled")).to_contain_text(first_text)


def test_a_guest_joins_contributes_and_answers_a_poll_with_the_keyboard(open_page, fiona):
    meeting = make_meeting(fiona)
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Un jardin sur le toit ?",
                                choices=["Oui", "Non"])
    meetings.open_poll(actor=fiona, poll=poll)
    page = open_page(None, "/meetings/join/", viewport={"width": 390, "height": 844}, locale="en-GB")
    tab_to(page, "#join-code")
    page.keyboard.type(meeting.join_code.lower())
    tab_to(page, "#join-nickname")
    page.keyboard.type("Gaston")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('/meetings/')[0]}/meetings/{meeting.pk}/live/")
    wait_live(page)

    tab_to(page, "#contribution-body")
    page.keyboard.type("Plus de bancs, s'il vous plaît.")
    tab_to(page, "#contribution-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#contribution-form .form-message")).to_be_visible()

    tab_to(page, "#polls input[type=radio]")
    page.keyboard.press("Space")
    tab_to(page, "#polls button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#polls .bar-value").first).to_contain_text("100")


def test_a_wrong_join_code_puts_the_focus_on_the_field_and_says_error_in_the_title(open_page):
    """A plain form served again with its error (no htmx): the field is invalid, described by the error, focused."""
    page = open_page(None, "/meetings/join/", locale="en-GB")
    tab_to(page, "#join-code")
    page.keyboard.type("ZZZZZZ")
    page.keyboard.press("Enter")
    code = page.locator("#join-code")
    expect(page.locator("#join-error")).to_be_visible()
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_attribute("aria-describedby", "join-error")
    expect(code).to_be_focused()
    assert page.title().startswith("Error:"), page.title()


def test_bob_sends_a_message_with_the_keyboard_alone(open_page, alice, bob):
    conversation = messaging.start_conversation(author=alice, recipients=["bob"], body="Salut Bob").conversation
    page = open_page(bob, conversation.get_absolute_url(), locale="en-GB")
    wait_live(page)
    tab_to(page, "#composer-body")
    page.keyboard.type("Oui, à jeudi.")
    tab_to(page, "#composer button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#message-list")).to_contain_text("Oui, à jeudi.")
    assert_visible_focus(page)  # the focus stayed on the page's controls, not lost to the body
    # Said: the composer's status line (role=status); the others' announcement of it is not pushed to its author.
    expect(page.locator("#composer-status")).to_have_text("Message sent.")
    expect(page.locator("#composer-body")).to_have_value("")


def test_a_report_sent_with_the_keyboard_keeps_the_focus_on_its_thanks(open_page, alice, bob, debate):
    """The report form is replaced by its thanks: the focus goes to the thanks (read out), not back to the page's
    start with nothing said."""
    page = open_page(alice, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    tab_to(page, "article.comment a.report-link")
    page.keyboard.press("Enter")
    expect(page.locator(".report-form input[name=reason]").first).to_be_focused()
    page.keyboard.press("Space")
    tab_to(page, ".report-form button[type=submit]")
    page.keyboard.press("Enter")
    thanks = page.locator(".report-done")
    expect(thanks).to_contain_text("Thank you")
    expect(thanks).to_be_focused()
    assert_visible_focus(page)


def test_deleting_or_hiding_a_comment_with_the_keyboard_keeps_the_focus_on_that_comment(open_page, bob, mona, debate):
    """The push that replaces the comment (its placeholder, or its hidden state) took the focused control with it:
    the focus stays on the comment, where the person was, and reads what it now is."""
    comment = debate.comments.get()
    page = open_page(bob, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    page.on("dialog", lambda dialog: dialog.accept())
    tab_to(page, "article.comment form.delete-form button")
    page.keyboard.press("Enter")
    placeholder = page.locator(f"#comment-{comment.pk}-main .comment-placeholder")
    expect(placeholder).to_have_text("This comment was deleted by its author.")
    expect(page.locator(f"#comment-{comment.pk}")).to_contain_text("This comment was deleted")
    focused = page.locator(f"#comment-{comment.pk} :focus")
    expect(focused).to_have_count(1)
    assert_visible_focus(page)

    other = debates.post_comment(author=bob, debate=debate, body="Et les vélos cargo ?")
    page = open_page(mona, debate.get_absolute_url(), locale="en-GB")
    wait_live(page)
    tab_to(page, f"#comment-{other.pk} details.hide-disclosure summary")
    page.keyboard.press("Enter")
    tab_to(page, f"#hide-reason-{other.pk}")
    page.keyboard.type("Hors sujet")
    page.keyboard.press("Enter")
    expect(page.locator(f"#comment-{other.pk}-main")).to_have_class("comment-main is-hidden")
    expect(page.locator(f"#comment-{other.pk} :focus")).to_have_count(1)
    assert_visible_focus(page)


def test_raising_and_lowering_a_hand_with_the_keyboard_keeps_the_focus_on_the_hand_button(open_page, fiona, alice):
    """The raise and lower buttons take turns (the speaker queue's push decides which shows): the one that appears
    takes the focus of the one that went, which says the new state ("Lower my hand")."""
    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    page = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    wait_live(page)
    tab_to(page, ".hand-raise button")
    page.keyboard.press("Enter")
    expect(page.locator("#speakers")).to_contain_text("alice")
    expect(page.locator(".hand-lower button")).to_be_focused()
    assert_visible_focus(page)
    page.keyboard.press("Enter")
    expect(page.locator("#speakers")).not_to_contain_text("alice")
    expect(page.locator(".hand-raise button")).to_be_focused()
    assert_visible_focus(page)


def test_supporting_a_contribution_with_the_keyboard_keeps_the_focus_on_its_button(open_page, fiona, alice, bob):
    """The +1's push replaces the whole contribution, the focused button with it: the focus goes to the same button
    in the new contribution, not back to the page's start."""
    meeting = make_meeting(fiona, premoderation=False)
    meetings.join(meeting=meeting, user=alice)
    contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=bob),
                                              body="Des bancs à l'ombre.")
    page = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    wait_live(page)
    tab_to(page, f"#contribution-{contribution.pk} .vote-button")
    page.keyboard.press("Enter")
    expect(page.locator(f"#contribution-{contribution.pk} .vote-count > [aria-hidden]")).to_have_text("+1")
    expect(page.locator(f"#contribution-{contribution.pk} .vote-button")).to_be_focused()
    assert_visible_focus(page)
    expect(page.locator("#live-announcer")).to_have_text("Thanks for your support.")  # said, as without JavaScript


def test_a_support_answered_after_its_push_is_still_said(open_page, fiona, alice, bob):
    """The room's copy of the +1 (the contribution pushed anew, its form with it) can reach the phone before the
    socket's answer to the +1: the answer then concerns a form no longer on the page, and what it says (the
    announcer's "Thanks for your support.") must still be said, through the form that took its place."""
    meeting = make_meeting(fiona, premoderation=False)
    meetings.join(meeting=meeting, user=alice)
    contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=bob),
                                              body="Des bancs à l'ombre.")
    page = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    answers = HeldAnswers(page)  # the answer to the +1 kept back until the push has replaced its form
    page.reload()
    wait_live(page)
    tab_to(page, f"#contribution-{contribution.pk} .vote-button")
    page.keyboard.press("Enter")
    expect(page.locator(f"#contribution-{contribution.pk} .vote-count > [aria-hidden]")).to_have_text("+1")
    answers.wait()
    answers.release()
    expect(page.locator("#live-announcer")).to_have_text("Thanks for your support.")


def test_a_reaction_sent_with_the_keyboard_is_said(open_page, fiona, alice):
    """A reaction tap shows nothing on the phone (it floats on the projector): a screen-reader user is told it went,
    as a page without JavaScript says it ('Your reaction is on the screen.')."""
    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    page = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    wait_live(page)
    tab_to(page, ".reaction-button")
    page.keyboard.press("Enter")
    expect(page.locator("#live-announcer")).to_have_text("Your reaction is on the screen.")
    expect(page.locator(".reaction-button").first).to_be_focused()


def test_console_buttons_pressed_with_the_keyboard_move_the_focus_to_the_next_contribution(open_page, fiona):
    """Without the single-key shortcuts (turned off, or not used), Approve pressed with Enter: the contribution
    leaves the queue and the focus goes to the next one, as with the shortcut (it fell to the page's start)."""
    meeting = make_meeting(fiona)
    guest = meetings.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    for text in ("Où en est le jardin partagé ?", "Et la piste cyclable ?"):
        meetings.post_contribution(participant=guest, body=text)
    page = open_page(fiona, f"/meetings/{meeting.pk}/console/", locale="en-GB")
    wait_live(page)
    queue = page.locator("#queue .queue-item")
    expect(queue).to_have_count(2)
    second = queue.nth(1).get_attribute("id")
    tab_to(page, "#queue .queue-item button[data-shortcut='a']")
    page.keyboard.press("Enter")
    expect(page.locator("#queue .queue-item")).to_have_count(1)
    expect(page.locator(f"#{second}")).to_be_focused()
    assert_visible_focus(page)


def test_a_plain_form_refused_and_sent_back_says_error_and_takes_the_focus_to_it(open_page, fiona):
    """A form without a page of its own (the phone page's join panel) refused by the service comes back with the
    reason flashed above the content: the title starts with 'Error:' and the focus is on the reason, as for a form
    served again with its errors (it was left at the page's start, the reason outside <main> and its skip link)."""
    meeting = make_meeting(fiona, allow_anonymous=True)
    page = open_page(None, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    tab_to(page, "#live-nickname")
    page.keyboard.type("   ")
    page.keyboard.press("Enter")
    error = page.locator("#flash .flash-error")
    expect(error).to_be_visible()
    expect(error).to_be_focused()
    assert page.title().startswith("Error:"), page.title()


def test_a_poll_answered_without_a_choice_ties_the_error_to_the_choices(open_page, fiona, alice):
    """'Choose an answer.': the choices are marked invalid and described by it, and the focus goes to the first one
    (the words of a word cloud were; the choices of a poll were not: the error was said once, then nowhere near
    them)."""
    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Un jardin ?", choices=["Oui", "Non"])
    meetings.open_poll(actor=fiona, poll=poll)
    page = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport={"width": 390, "height": 844}, locale="en-GB")
    wait_live(page)
    tab_to(page, "#polls button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(f"#poll-{poll.pk}-form-errors")).to_have_text("Choose an answer.")
    first = page.locator(f"#poll-{poll.pk}-form input[name=choice]").first
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-invalid", "true")
    assert f"poll-{poll.pk}-form-errors" in first.get_attribute("aria-describedby")


def test_the_connection_banner_is_a_live_region_screen_readers_follow_before_it_speaks(open_page, alice):
    """'Connection lost. Reconnecting…' is said: the polite region is in the accessibility tree while all is well
    (empty, unseen), not display:none until its text comes (a region shown with its text is not read out)."""
    from tests.browser.conftest import go_offline, go_online

    page = open_page(alice, "/", locale="en-GB")
    wait_live(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Accessibility.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#live-status"})["nodeId"]
    exposed = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})["nodes"][0]
    assert not exposed.get("ignored"), exposed
    status = page.locator("#live-status")
    expect(status).to_be_hidden()  # nothing to see while connected
    go_offline(page)
    expect(status).to_have_text("Connection lost. Reconnecting…")
    expect(status).to_be_visible()
    go_online(page)
    expect(status).to_have_text("")
    expect(status).to_be_hidden()


def test_the_connection_coming_back_is_said_too(open_page, alice):
    """After 'Connection lost. Reconnecting…', the banner's going away is all a sighted person needs; a screen-reader
    user is told the live updates are back (else they would take the page for still offline), then the banner
    empties by itself."""
    from tests.browser.conftest import go_offline, go_online

    page = open_page(alice, "/", locale="en-GB")
    wait_live(page)
    status = page.locator("#live-status")
    go_offline(page)
    expect(status).to_have_text("Connection lost. Reconnecting…")
    go_online(page)
    expect(status).to_have_text("Live updates are back.")
    expect(status).to_be_hidden(timeout=8000)
