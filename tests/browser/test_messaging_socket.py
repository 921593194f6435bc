"""The composer writes over the page's open socket (live.js `data-live-write`, `messages.send`): no HTTP request per
message, a refusal said in the composer as an htmx answer's would be, and the HTTP post as the fallback (socket
closed, or no answer in time) with the same client id, so the message is written once."""

import uuid

import pytest
from django.conf import settings
from playwright.sync_api import expect

from live.messaging import services
from live.messaging.models import Message
from tests.browser.conftest import go_offline, go_online, wait_live
from tests.helpers import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chat(alice, bob):
    def start():  # in a thread of its own: its pushes reach the channel layer (not from Playwright's loop)
        message = services.start_conversation(author=alice, recipients=["bob"], body="Salut Bob",
                                              client_id=uuid.uuid4())
        services.mark_read(user=bob, conversation=message.conversation)
        return message.conversation

    return off_loop(start)


def sends(page) -> list[str]:
    """The composer's HTTP posts this page makes from now on."""
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" and "/send/" in request.url else None)
    return posts


def subscribed(page):
    wait_live(page)
    page.wait_for_selector("#conversation[data-subscribed]", state="attached")


def write(page, text):
    page.locator("#composer-body").fill(text)
    page.locator("#composer button[type=submit]").click()


def test_a_message_goes_over_the_socket_and_bob_sees_it_without_reloading(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, chat.get_absolute_url())
    subscribed(page_a)
    subscribed(page_b)
    posts = sends(page_a)

    write(page_a, "Par le **socket**")
    expect(page_b.locator("#message-list .message", has_text="Par le socket")).to_have_count(1)
    expect(page_b.locator("#message-list strong", has_text="socket")).to_be_visible()
    expect(page_a.locator("#message-list .message", has_text="Par le socket")).to_have_count(1)
    expect(page_a.locator("#composer-body")).to_have_value("")  # written: the composer is empty for the next one
    write(page_a, "Et un deuxième")
    expect(page_b.locator("#message-list .message", has_text="Et un deuxième")).to_have_count(1)
    assert posts == [], f"the composer posted over HTTP: {posts}"
    assert Message.objects.filter(body__in=["Par le **socket**", "Et un deuxième"]).count() == 2


def test_a_refused_message_is_said_in_the_composer_and_keeps_the_text(open_page, alice, bob, chat):
    page = open_page(alice, chat.get_absolute_url(), locale="en-US")
    subscribed(page)
    posts = sends(page)
    too_long = "x" * (settings.MESSAGING_MAX_LENGTH + 1)
    # Past the textarea's maxlength (a script or an old browser would send it): the service refuses it.
    page.evaluate("text => { document.getElementById('composer-body').value = text; }", too_long)
    page.locator("#composer button[type=submit]").click()
    slot = page.locator("#composer-error")
    expect(slot.locator('[data-refusal="invalid"]')).to_be_visible()
    message = slot.inner_text().strip()
    assert "characters" in message
    body = page.locator("#composer-body")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#live-announcer")).to_have_text(message)
    expect(body).to_have_value(too_long)
    assert posts == []
    assert not Message.objects.filter(body__startswith="xxxx").exists()

    write(page, "Plus court")
    expect(page.locator("#message-list .message", has_text="Plus court")).to_have_count(1)
    expect(body).not_to_have_attribute("aria-invalid", "true")
    expect(slot).to_be_empty()


def test_with_the_socket_closed_the_composer_posts_and_the_message_appears_once(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, chat.get_absolute_url())
    subscribed(page_a)
    subscribed(page_b)
    posts = sends(page_a)
    go_offline(page_a)  # the socket is closed (reconnections keep failing); HTTP still works

    write(page_a, "Envoyé par HTTP")
    expect(page_b.locator("#message-list .message", has_text="Envoyé par HTTP")).to_have_count(1)
    expect(page_a.locator("#composer-body")).to_have_value("")
    assert len(posts) == 1
    go_online(page_a)
    expect(page_a.locator("#message-list .message", has_text="Envoyé par HTTP")).to_have_count(1)
    assert Message.objects.filter(body="Envoyé par HTTP").count() == 1


def test_a_write_left_unanswered_is_posted_again_with_its_client_id_and_written_once(open_page, alice, bob, chat):
    page_a = open_page(alice, chat.get_absolute_url())
    page_b = open_page(bob, chat.get_absolute_url())
    subscribed(page_a)
    subscribed(page_b)
    posts = sends(page_a)
    # The server writes the message but its answer never reaches the page (lost on the way).
    page_a.evaluate("""() => window.addEventListener("htmx:wsBeforeMessage", (evt) => {
        if (evt.detail.message.indexOf('"type":"written"') >= 0) { evt.stopPropagation(); evt.preventDefault(); }
    }, true)""")

    write(page_a, "Réponse perdue")
    expect(page_b.locator("#message-list .message", has_text="Réponse perdue")).to_have_count(1)
    # No answer within 8 s: the form goes over HTTP with the same client id, and the server returns the first write.
    page_a.wait_for_function("() => document.getElementById('composer-body').value === ''", timeout=15000)
    assert len(posts) == 1
    expect(page_a.locator("#message-list .message", has_text="Réponse perdue")).to_have_count(1)
    expect(page_b.locator("#message-list .message", has_text="Réponse perdue")).to_have_count(1)
    assert Message.objects.filter(body="Réponse perdue").count() == 1


def test_a_message_sent_after_the_session_ended_is_kept_and_says_to_sign_in_again(open_page, alice, bob, chat):
    from live.accounts.services import end_sessions

    page = open_page(alice, chat.get_absolute_url(), locale="en-US")
    subscribed(page)
    go_offline(page)  # the composer posts over HTTP
    off_loop(lambda: end_sessions(user=alice, reason="signed_out"))
    write(page, "Tu as reçu mon message ?")
    expect(page.locator("#composer-error")).to_contain_text("sign in again")
    expect(page.locator("#composer-body")).to_have_value("Tu as reçu mon message ?")  # not taken for sent
    assert not Message.objects.filter(body="Tu as reçu mon message ?").exists()
