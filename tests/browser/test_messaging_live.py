"""Private messages as two people see them, in two browser contexts against a real daphne."""

import uuid

import pytest
from playwright.sync_api import expect

from live.messaging import services
from live.messaging.models import Message
from tests.browser.conftest import go_offline, go_online, wait_live
from tests.helpers import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chat(alice, bob):
    message = services.start_conversation(author=alice, recipients=["bob"], body="Salut Bob", client_id=uuid.uuid4())
    services.mark_read(user=bob, conversation=message.conversation)
    return message.conversation


def write(page, text):
    page.locator("#composer-body").fill(text)
    page.locator("#composer button[type=submit]").click()


def test_bobs_badge_and_inbox_update_live_and_alice_sees_seen(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, "/messages/")
    wait_live(page_a)
    wait_live(page_b)
    badge = page_b.locator("#messages-badge")
    expect(badge).to_have_text("")
    row = page_b.locator(f"#inbox-conversation-{chat.pk}")
    expect(row).to_contain_text("Salut Bob")

    write(page_a, "Tu viens **jeudi** ?")
    expect(page_a.locator("#message-list")).to_contain_text("Tu viens jeudi ?")
    expect(badge).to_contain_text("1")
    expect(row).to_contain_text("Tu viens jeudi ?")
    expect(row.locator(".inbox-unread")).to_contain_text("1")
    expect(page_a.locator("#conversation-seen")).not_to_contain_text("bob")

    row.locator("a").click()
    expect(page_b.locator("#message-list strong", has_text="jeudi")).to_be_visible()
    expect(page_b.locator("#messages-badge")).to_have_text("")
    expect(page_a.locator("#conversation-seen")).to_contain_text("bob")

    # Bob answers from the open conversation; alice's page shows it, and since her page is open and visible she
    # reads it at once, which bob sees as "seen".
    write(page_b, "Oui !")
    expect(page_a.locator("#message-list")).to_contain_text("Oui !")
    expect(page_b.locator("#conversation-seen")).to_contain_text("alice")
    assert Message.objects.filter(body="Oui !").count() == 1


def test_the_typing_indicator_shows_and_clears(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, chat.get_absolute_url())
    wait_live(page_a)
    wait_live(page_b)
    page_a.wait_for_selector("#conversation[data-subscribed]", state="attached")  # typing needs the subscription
    page_b.wait_for_selector("#conversation[data-subscribed]", state="attached")
    indicator = page_b.locator(f"#typing-{alice.pk}")
    page_a.locator("#composer-body").press_sequentially("Je réfléchis", delay=20)
    expect(indicator).to_be_visible()
    expect(indicator).to_contain_text("alice")
    expect(page_a.locator(f"#typing-{alice.pk}")).to_be_hidden()  # not to herself
    expect(indicator).to_have_count(0, timeout=12000)  # she stopped typing: it goes away by itself

    page_a.locator("#composer-body").press_sequentially(" encore", delay=20)
    expect(indicator).to_be_visible()
    page_a.locator("#composer button[type=submit]").click()
    expect(page_b.locator("#message-list")).to_contain_text("Je réfléchis encore")
    expect(indicator).to_have_count(0, timeout=2000)  # the message replaces the indicator at once


def test_bob_offline_gets_both_messages_once_after_reconnecting(open_page, alice, bob, chat):
    page_b = open_page(bob, chat.get_absolute_url())
    wait_live(page_b)
    go_offline(page_b)
    for body in ("Premier pendant la coupure", "Second pendant la coupure"):
        services.send_message(author=alice, conversation=chat, body=body, client_id=uuid.uuid4())
    go_online(page_b)
    messages = page_b.locator("#message-list .message")
    expect(messages.filter(has_text="Second pendant la coupure")).to_have_count(1)
    expect(messages.filter(has_text="Premier pendant la coupure")).to_have_count(1)
    expect(messages).to_have_count(3)
    texts = messages.all_inner_texts()
    assert texts.index(next(t for t in texts if "Premier" in t)) < texts.index(next(t for t in texts if "Second" in t))


def test_alice_in_two_tabs_sees_her_message_in_both(open_page, alice, bob, chat):
    tab_1 = open_page(alice, chat.get_absolute_url())
    tab_2 = open_page(alice, chat.get_absolute_url())
    wait_live(tab_1)
    wait_live(tab_2)
    write(tab_1, "Depuis le premier onglet")
    for tab in (tab_1, tab_2):
        expect(tab.locator("#message-list .message", has_text="Depuis le premier onglet")).to_have_count(1)
    expect(tab_1.locator("#composer-body")).to_have_value("")


def test_a_message_written_while_offline_is_sent_once_when_the_connection_is_back(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    wait_live(page_a)
    page_a.context.set_offline(True)
    write(page_a, "Écrit hors ligne")
    expect(page_a.locator("#composer")).to_have_attribute("data-pending", "true")
    expect(page_a.locator("#composer-body")).to_have_value("Écrit hors ligne")  # nothing lost
    # The composer says it will send it by itself (its status line), not that the person should check and retry.
    expect(page_a.locator("#composer-status")).not_to_be_empty()
    expect(page_a.locator("#composer-error")).to_be_empty()
    page_a.context.set_offline(False)
    expect(page_a.locator("#message-list .message", has_text="Écrit hors ligne")).to_have_count(1, timeout=20000)
    expect(page_a.locator("#composer-body")).to_have_value("")
    assert Message.objects.filter(body="Écrit hors ligne").count() == 1


def test_load_earlier_keeps_one_separator_per_day(settings, open_page, alice, bob, chat):
    settings.RATE_LIMITS_ENABLED = False
    for i in range(35):
        services.send_message(author=alice, conversation=chat, body=f"Message numéro {i}", client_id=uuid.uuid4())
    page = open_page(bob, chat.get_absolute_url())
    wait_live(page)
    expect(page.locator("#message-list")).not_to_contain_text("Salut Bob")
    page.locator("#load-earlier a").click()
    expect(page.locator("#message-list .message").first).to_contain_text("Salut Bob")
    expect(page.locator("#message-list .message")).to_have_count(36)
    expect(page.locator("#message-list .day-separator")).to_have_count(1)
    expect(page.locator("#load-earlier")).to_have_count(0)


def test_the_typing_line_is_announced_once_while_someone_keeps_typing(open_page, alice, bob, chat):
    """#typing-list is a polite live region: each frame that put a new line in it had screen readers say "alice is
    writing…" again, every 2.5 s for as long as she types. The line stays the same element while she types."""
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, chat.get_absolute_url())
    wait_live(page_a)
    wait_live(page_b)
    page_a.wait_for_selector("#conversation[data-subscribed]", state="attached")
    page_b.wait_for_selector("#conversation[data-subscribed]", state="attached")
    page_b.evaluate("""() => { window.__added = 0;
        new MutationObserver((records) => records.forEach((r) => { window.__added += r.addedNodes.length; }))
            .observe(document.getElementById('typing-list'), {childList: true, subtree: true}); }""")
    page_a.locator("#composer-body").press_sequentially("Je réfléchis encore à la date, un instant", delay=150)
    expect(page_b.locator(f"#typing-{alice.pk}")).to_contain_text("alice")
    page_b.wait_for_timeout(1000)
    assert page_a.evaluate("() => document.getElementById('composer-body').value.length") > 30
    assert page_b.evaluate("() => window.__added") == 1  # one line put in, then left as it is
    expect(page_b.locator(f"#typing-{alice.pk}")).to_have_count(0, timeout=12000)  # and it still goes away


def test_the_inbox_keeps_the_keyboard_focus_while_messages_arrive(open_page, alice, bob, carol, chat):
    """bob goes through his inbox with the keyboard: a message that moves another conversation to the top, or
    that updates the very row he is on, leaves the focus on his row's link (rows were moved or replaced under it
    and the focus fell to the page's start)."""
    from tests.browser.test_a11y_paths import tab_to

    other = services.start_conversation(author=carol, recipients=["bob"], body="Bonjour Bob",
                                        client_id=uuid.uuid4()).conversation
    page = open_page(bob, "/messages/")
    wait_live(page)
    rows = page.locator("#inbox-list > li")
    expect(rows.first).to_have_id(f"inbox-conversation-{other.pk}")
    link = page.locator(f"#inbox-conversation-{other.pk} a.inbox-link")
    tab_to(page, f"#inbox-conversation-{other.pk} a.inbox-link")
    services.send_message(author=alice, conversation=chat, body="Tu as vu ?", client_id=uuid.uuid4())
    expect(rows.first).to_have_id(f"inbox-conversation-{chat.pk}")  # alice's conversation went to the top
    expect(link).to_be_focused()
    services.send_message(author=carol, conversation=other, body="Alors ?", client_id=uuid.uuid4())
    expect(page.locator(f"#inbox-conversation-{other.pk}")).to_contain_text("Alors ?")
    expect(link).to_be_focused()


def test_loading_earlier_messages_with_the_keyboard_puts_the_focus_on_the_first_one_loaded(open_page, alice, bob,
                                                                                           monkeypatch):
    """'Load earlier messages' is replaced by the messages it loads: the focus goes to the first of them (it fell to
    the page's start, far from what was loaded), as 'Load more' does for comments."""
    from live import ratelimit
    from live.messaging import presenters
    from tests.browser.test_a11y_paths import tab_to

    monkeypatch.setattr(ratelimit, "enforce", lambda *args, **kwargs: None)  # the test writes fast
    conversation = services.start_conversation(author=alice, recipients=["bob"], body="Message 0",
                                               client_id=uuid.uuid4()).conversation
    for i in range(1, presenters.PAGE_SIZE + 3):
        services.send_message(author=alice, conversation=conversation, body=f"Message {i}", client_id=uuid.uuid4())
    page = open_page(bob, conversation.get_absolute_url(), locale="en-GB")
    wait_live(page)
    expect(page.locator("#message-list")).not_to_contain_text("Message 0")
    tab_to(page, "#load-earlier a")
    page.keyboard.press("Enter")
    expect(page.locator("#message-list")).to_contain_text("Message 0")
    focused = page.locator("#message-list [data-message]:focus")
    expect(focused).to_have_count(1)
    expect(focused).to_contain_text("Message 0")


def test_a_message_that_reorders_the_inbox_keeps_bobs_focus_on_his_row(open_page, alice, bob, carol, chat):
    other = services.start_conversation(author=carol, recipients=["bob"], body="Coucou", client_id=uuid.uuid4())
    services.mark_read(user=bob, conversation=other.conversation)
    page = open_page(bob, "/messages/")
    wait_live(page)
    rows = page.locator("#inbox-list > li")
    expect(rows.first).to_have_id(f"inbox-conversation-{other.conversation_id}")  # carol's is the latest
    link = page.locator(f"#inbox-conversation-{chat.pk} a").first
    link.focus()

    off_loop(lambda: services.send_message(author=alice, conversation=chat, body="Et maintenant ?",
                                           client_id=uuid.uuid4()))
    expect(rows.first).to_have_id(f"inbox-conversation-{chat.pk}")  # alice's moved to the top
    expect(page.locator(f"#inbox-conversation-{chat.pk}")).to_contain_text("Et maintenant ?")
    expect(page.locator(f"#inbox-conversation-{chat.pk} a").first).to_be_focused()


def test_loading_the_earliest_messages_with_the_keyboard_keeps_the_focus_in_the_list(settings, open_page, alice, bob,
                                                                                        chat):
    """The last "Load earlier messages" is replaced by the oldest messages and no new link: the focus goes to the
    first message that appeared instead of falling back to the top of the page."""
    settings.RATE_LIMITS_ENABLED = False
    for i in range(35):
        services.send_message(author=alice, conversation=chat, body=f"Message numéro {i}", client_id=uuid.uuid4())
    page = open_page(bob, chat.get_absolute_url())
    wait_live(page)
    page.locator("#load-earlier a").focus()
    page.keyboard.press("Enter")
    first = page.locator("#message-list .message").first
    expect(first).to_contain_text("Salut Bob")
    expect(page.locator("#load-earlier")).to_have_count(0)
    expect(page.locator("#message-list > li", has=page.locator(":focus")).or_(
        page.locator("#message-list > li:focus"))).to_have_count(1)
