"""The page's announcer (#live-announcer, polite and atomic, live.js): each announcement is said on its own, even
when several arrive at once, and none is said again."""

import pytest
from playwright.sync_api import expect

from live.messaging import services as messaging
from tests.browser.conftest import wait_live
from tests.notifications.conftest import prefs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a screen reader gets from an atomic region: its whole content, each time it changes.
RECORD = """() => {
    const region = document.getElementById('live-announcer');
    window.__said = [];
    new MutationObserver(() => {
        const text = region.textContent.trim();
        if (text) window.__said.push({text, html: region.innerHTML.trim(), at: performance.now()});
    }).observe(region, {childList: true, characterData: true, subtree: true});
}"""


def said(page):
    return page.evaluate("() => window.__said")


def test_two_announcements_at_once_are_said_one_after_the_other(open_page, alice, bob):
    """bob's new message brings alice, who has the conversation open, two announcements at once: the message's
    (conversation stream) and its notification's (her own stream), the notification written in French (her choice)
    on her English page."""
    prefs(alice, language="fr")
    conversation = messaging.start_conversation(author=alice, recipients=["bob"], body="Salut Bob").conversation
    page = open_page(alice, conversation.get_absolute_url(), locale="en-GB")
    wait_live(page)
    page.evaluate(RECORD)
    messaging.send_message(author=bob, conversation=conversation, body="Tu viens à la réunion ?")
    page.wait_for_function("() => window.__said.some((s) => s.text.includes('vous a envoyé'))")
    page.wait_for_timeout(1500)  # anything said after the second would show here
    texts = [entry["text"] for entry in said(page)]
    first = next(i for i, text in enumerate(texts) if "New message from bob" in text)
    second = next(i for i, text in enumerate(texts) if "vous a envoyé" in text)
    # Each alone: not one sentence made of both, and the first not said again after the second.
    assert "vous a envoyé" not in texts[first] and "New message from bob" not in texts[second], texts
    assert len(texts) == 2, texts
    # The screen reader had the time to say the first before the region changed.
    assert said(page)[second]["at"] - said(page)[first]["at"] >= 900
    # The notification's text keeps its language for the screen reader's voice.
    assert 'lang="fr"' in said(page)[second]["html"]
    assert page.locator("#live-announcer").evaluate("el => el.getAttribute('aria-atomic')") == "true"


def test_announcements_called_in_a_burst_are_each_said_once_in_order(open_page, alice):
    page = open_page(alice, "/", locale="en-GB")
    page.wait_for_function("() => window.Live && window.Live.announce")
    page.evaluate(RECORD)
    page.evaluate("""() => { Live.announce('Comment posted.'); Live.announce('Comment posted.');
                             Live.announce('Live updates are back.'); Live.announce('3 new comments'); }""")
    expect(page.locator("#live-announcer")).to_have_text("3 new comments", timeout=5000)
    page.wait_for_timeout(1200)
    assert [entry["text"] for entry in said(page)] == ["Comment posted.", "Live updates are back.", "3 new comments"]
