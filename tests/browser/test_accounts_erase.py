"""Erasing an account as people see it, in Chromium against a real daphne: the author's name changes on every open
page of the debate at once, like a moderator's hide."""

import pytest
from playwright.sync_api import expect

from debates import services as debates
from tests.browser.conftest import wait_live
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bob_sees_alices_name_and_text_go_live_when_she_erases_her_account(open_page, fiona, alice, bob):
    debate = debates.create_debate(author=fiona, title="Faut-il piétonniser la place du marché ?",
                                   description="La mairie propose de fermer la place aux voitures le samedi.")
    comment = debates.post_comment(author=alice, debate=debate, body="Oui, avec des bancs à l'ombre.", alignment=1)
    reply = debates.post_comment(author=bob, debate=debate, body="Et des arbres !", parent=comment)
    reader = open_page(bob, f"/debates/{debate.pk}/")
    wait_live(reader)
    expect(reader.locator(f"#comment-{comment.pk}-by")).to_have_text("alice")
    tallies = reader.locator("#debate-tallies")
    expect(tallies.locator("[data-tally=for]")).to_have_text("1")

    page = open_page(alice, "/accounts/profile/delete/")
    page.get_by_label("J’ai compris").check()
    page.get_by_label("Votre mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Supprimer mon compte").click()
    expect(page.locator("body")).to_contain_text("Votre compte est supprimé.")

    expect(reader.locator(f"#comment-{comment.pk}-by")).to_have_text("Participant·e supprimé·e")
    expect(reader.locator(f"#comment-{comment.pk}-body")).to_have_text("[supprimé]")
    expect(reader.locator(f"#comment-{reply.pk}-body")).to_contain_text("Et des arbres !")  # the thread keeps its shape
    expect(tallies.locator("[data-tally=for]")).to_have_text("1")  # her stance still counts


def test_every_page_bob_has_open_drops_alices_name_at_once(open_page, fiona, alice, bob, settings):
    """Her many comments on the debate (one push for all of them), her messages in their conversation, his inbox
    and his notifications: each changes without a reload, like a moderator's hide."""
    from live.accounts import services as accounts
    from live.messaging import services as messaging

    settings.RATE_LIMITS_ENABLED = False  # alice writes five comments in a row
    debate = debates.create_debate(author=fiona, title="Un banc par rue ?", description="Où les mettre ?")
    root = debates.post_comment(author=bob, debate=debate, body="Devant l'école.", alignment=1)
    hers = [debates.post_comment(author=alice, debate=debate, body=f"Avis n°{n} d'alice", alignment=1)
            for n in range(4)]
    reply = debates.post_comment(author=alice, debate=debate, body="Bonne idée, bob.", parent=root)
    started = messaging.start_conversation(author=alice, recipients=[bob], body="Salut bob, c'est alice")
    messaging.send_message(author=bob, conversation=started.conversation, body="Salut @alice !")

    thread = open_page(bob, f"/debates/{debate.pk}/")
    conversation = open_page(bob, started.conversation.get_absolute_url())
    inbox = open_page(bob, "/messages/")
    notifications = open_page(bob, "/notifications/")
    for page in (thread, conversation, inbox, notifications):
        wait_live(page)
        page.evaluate("() => { window.__notReloaded = true; }")
    expect(notifications.locator("#notification-list")).to_contain_text("alice")
    expect(inbox.locator(f"#inbox-conversation-{started.conversation.pk}")).to_contain_text("alice")

    accounts.erase_account(user=alice, password=PASSWORD)

    for comment in [*hers, reply]:
        expect(thread.locator(f"#comment-{comment.pk}-by")).to_have_text("Participant·e supprimé·e")
        expect(thread.locator(f"#comment-{comment.pk}-body")).to_have_text("[supprimé]")
        expect(thread.locator(f"#comment-{comment.pk}-by a")).to_have_count(0)  # no link to a profile gone
    expect(thread.locator(f"#comment-{root.pk}-by")).to_have_text("bob")
    expect(thread.locator("body")).not_to_contain_text("d'alice")
    messages = conversation.locator("#message-list")
    expect(messages).not_to_contain_text("c'est alice")
    expect(messages).to_contain_text("Message supprimé.")
    expect(messages).to_contain_text("Salut Participant·e supprimé·e !")  # his mention of her
    expect(messages.locator(".message-author").first).to_have_text("Participant·e supprimé·e")
    row = inbox.locator(f"#inbox-conversation-{started.conversation.pk}")
    expect(row).not_to_contain_text("alice")
    expect(notifications.locator("#notification-list")).to_contain_text("Participant·e supprimé·e")
    expect(notifications.locator("#notification-list")).not_to_contain_text("alice")
    for page in (thread, conversation, inbox, notifications):
        assert page.evaluate("() => window.__notReloaded === true")  # pushed, not reloaded
