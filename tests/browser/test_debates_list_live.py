"""The debate list updates live: new debates (without moving what the reader reads), closed ones, comment counts and
readers."""

import pytest
from playwright.sync_api import expect

from debates import services
from debates.models import LIST_STREAM
from tests.browser.conftest import force_reset, wait_live
from tests.debates.conftest import make_debate
from tests.helpers import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_list_follows_new_debates_comments_readers_and_closes(open_page, alice, bob, fiona):
    debate = off_loop(lambda: make_debate(fiona))
    page = open_page(bob, "/debates/")
    wait_live(page)
    item = page.locator(f"#debate-item-{debate.pk}")
    expect(item).to_contain_text("0 commentaire")

    reader = open_page(alice, debate.get_absolute_url())
    wait_live(reader)
    expect(item.locator(".debate-readers")).to_contain_text("1 personne lit")
    expect(item.locator(".debate-readers .i18n-en")).to_be_hidden()  # the page's language only

    reader.locator("#comment-body").fill("Oui, le samedi matin.")
    reader.locator("#comment-form button[type=submit]").click()
    expect(item).to_contain_text("1 commentaire")

    off_loop(lambda: services.close_debate(debate=debate, actor=fiona,
                                           conclusions="La place sera piétonne le samedi matin."))
    expect(item.locator(".badge-state")).to_have_text("Clos")
    expect(page.locator("#live-announcer")).to_contain_text("est clos")

    # The top of the list is in view: a new debate shows at once, on top, and is announced.
    new = off_loop(lambda: make_debate(fiona, title="Des bancs au parc Jacques-Brel ?"))
    expect(page.locator("#debate-list > li").first).to_have_id(f"debate-item-{new.pk}")
    expect(page.locator("#live-announcer")).to_contain_text("Nouveau débat : Des bancs au parc Jacques-Brel ?")
    expect(page.locator("#new-debates-button")).to_be_hidden()


def test_a_new_debate_waits_behind_a_button_while_the_reader_is_further_down(open_page, bob, fiona, settings):
    settings.RATE_LIMITS_ENABLED = False  # thirteen debates by one person, in this process
    off_loop(lambda: [make_debate(fiona, title=f"Débat numéro {n}") for n in range(12)])
    page = open_page(bob, "/debates/", viewport={"width": 400, "height": 500})
    wait_live(page)
    last = page.locator("#debate-list > li").last
    last.scroll_into_view_if_needed()
    top_before = last.evaluate("el => el.getBoundingClientRect().top")

    new = off_loop(lambda: make_debate(fiona, title="Un débat tout neuf"))
    button = page.locator("#new-debates-button")
    expect(button).to_have_text("1 nouveau débat")
    expect(page.locator(f"#debate-list > #debate-item-{new.pk}")).to_have_count(0)
    assert last.evaluate("el => el.getBoundingClientRect().top") == top_before  # nothing moved

    button.click()
    expect(page.locator("#debate-list > li").first).to_have_id(f"debate-item-{new.pk}")
    expect(page.locator(f"#debate-item-{new.pk}")).to_be_focused()
    expect(button).to_be_hidden()


def test_a_search_is_live_too_and_only_counts_new_debates_in_a_notice(open_page, alice, bob, fiona, mona, settings):
    """A filtered (or later) page: what it shows updates in place (a comment hidden by moderation leaves the count,
    and comes back); a new debate, which may not belong to it, is counted in a notice linking to the latest."""
    settings.RATE_LIMITS_ENABLED = False  # three debates by one person, in this process
    debate = off_loop(lambda: make_debate(fiona, title="La place du marché piétonne ?"))
    off_loop(lambda: make_debate(fiona, title="Des horaires pour la médiathèque", description="Le dimanche aussi ?"))
    comment = off_loop(lambda: services.post_comment(author=alice, debate=debate, body="Oui, le samedi matin."))
    page = open_page(bob, "/debates/?q=marché")
    wait_live(page)
    expect(page.locator("#debate-list > li")).to_have_count(1)
    item = page.locator(f"#debate-item-{debate.pk}")
    expect(item).to_contain_text("1 commentaire")

    off_loop(lambda: services.hide_comment(comment=comment, actor=mona, reason="Hors sujet"))
    expect(item).to_contain_text("0 commentaire")
    off_loop(lambda: services.unhide_comment(comment=comment, actor=mona))
    expect(item).to_contain_text("1 commentaire")

    new = off_loop(lambda: make_debate(fiona, title="Des bancs au parc Jacques-Brel ?"))
    notice = page.locator("#new-debates-notice")
    expect(notice).to_have_text("1 nouveau débat depuis le chargement de cette page : voir les derniers débats")
    expect(notice.locator("a")).to_have_attribute("href", "/debates/")
    expect(page.locator("#live-announcer")).to_contain_text("Nouveau débat : Des bancs au parc Jacques-Brel ?")
    expect(page.locator(f"#debate-item-{new.pk}")).to_have_count(0)  # not slipped into the search's results
    expect(page.locator("#new-debates-button")).to_be_hidden()

    off_loop(lambda: services.close_debate(debate=debate, actor=fiona,
                                           conclusions="La place sera piétonne le samedi matin."))
    expect(item.locator(".badge-state")).to_have_text("Clos")


def test_after_a_reset_a_new_debate_still_shows_on_top(open_page, bob, fiona):
    """A reset reloads the list (its region) from the page: a debate opened afterwards lands in the new list."""
    off_loop(lambda: make_debate(fiona))
    page = open_page(bob, "/debates/")
    wait_live(page)
    force_reset(page, LIST_STREAM)

    new = off_loop(lambda: make_debate(fiona, title="Ouvert après la remise à zéro"))
    expect(page.locator("#debate-list > li").first).to_have_id(f"debate-item-{new.pk}")
