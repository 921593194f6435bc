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
