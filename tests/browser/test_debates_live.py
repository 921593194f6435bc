"""Two residents on the same debate in Chromium: what one does, the other sees, without reloading."""

import time

import pytest
from playwright.sync_api import expect

from debates import services
from tests.browser.conftest import force_reset, go_offline, go_online, wait_live
from tests.debates.conftest import make_debate
from tests.helpers import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post_root(page, text, stance="1"):
    page.locator("#comment-body").fill(text)
    page.locator(f'#comment-form input[name="alignment"][value="{stance}"]').check()
    page.locator("#comment-form button[type=submit]").click()


def article(page, text):
    return page.locator("article.comment", has=page.locator(".comment-body", has_text=text))


def test_bob_sees_alices_comment_and_reply_live_in_the_right_places(open_page, alice, bob, fiona):
    debate = make_debate(fiona)
    page_a = open_page(alice, debate.get_absolute_url())
    page_b = open_page(bob, debate.get_absolute_url())
    wait_live(page_a)
    wait_live(page_b)

    post_root(page_a, "Je suis pour : la place sera enfin à nous.")
    # Alice's own page shows her comment at once, through the same push as everyone's.
    mine = article(page_a, "la place sera enfin à nous")
    expect(mine).to_be_visible()
    expect(page_a.locator("#comment-body")).to_have_value("")
    # Bob is not yanked: a button tells him there is something new; the tallies moved already.
    button = page_b.locator("#new-comments-button")
    expect(button).to_be_visible()
    expect(button).to_contain_text("1")
    expect(page_b.locator('#debate-tallies [data-tally="for"]')).to_have_text("1")
    expect(page_b.locator("#live-announcer")).to_contain_text("alice")
    button.click()
    root = page_b.locator("#comments > article.comment").first
    expect(root).to_contain_text("la place sera enfin à nous")
    expect(button).to_be_hidden()

    root_id = root.get_attribute("id")
    mine = page_a.locator(f"#{root_id}")
    mine.locator(".reply-link").first.click()
    mine.locator(".reply-form textarea").first.fill("Et les livraisons du matin ?")
    mine.locator(".reply-form button[type=submit]").first.click()
    expect(mine.locator(".reply-form")).to_have_count(0)  # the panel closes after sending
    reply_on_b = page_b.locator(f"#replies-{root_id.split('-')[1]} > article.comment")
    expect(reply_on_b).to_have_count(1)
    expect(reply_on_b).to_contain_text("Et les livraisons du matin ?")
    expect(page_a.locator(f"#replies-{root_id.split('-')[1]} > article.comment")).to_have_count(1)
    assert not [line for line in page_b.console_log if line.startswith("error")], page_b.console_log


def test_bobs_vote_changes_the_score_alice_sees(open_page, alice, bob, fiona):
    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Votez pour moi")
    page_a = open_page(alice, debate.get_absolute_url())
    page_b = open_page(bob, debate.get_absolute_url())
    wait_live(page_a)
    wait_live(page_b)
    expect(page_a.locator(f"#comment-{comment.pk}-score")).to_contain_text("0")
    # Alice cannot vote on her own comment: no button for her.
    expect(page_a.locator(f"#comment-{comment.pk}-vote .vote-up")).to_be_hidden()
    page_b.locator(f"#comment-{comment.pk}-vote .vote-up").click()
    expect(page_b.locator(f"#comment-{comment.pk}-vote .vote-up")).to_have_attribute("aria-pressed", "true")
    expect(page_a.locator(f"#comment-{comment.pk}-score")).to_contain_text("1")
    expect(page_b.locator(f"#comment-{comment.pk}-score")).to_contain_text("1")


def test_closing_turns_bobs_form_into_the_closed_notice(open_page, alice, bob):
    debate = make_debate(alice)
    services.post_comment(author=bob, debate=debate, body="Mon avis")
    page_b = open_page(bob, debate.get_absolute_url())
    wait_live(page_b)
    expect(page_b.locator("#comment-form")).to_be_visible()
    expect(page_b.locator(".reply-link").first).to_be_visible()

    page_a = open_page(alice, f"/debates/{debate.pk}/close/")
    page_a.locator("textarea[name=conclusions]").fill("Le conseil retient un essai sur trois samedis au printemps.")
    page_a.locator("form button[type=submit]").click()
    expect(page_a.locator("#conclusions")).to_contain_text("trois samedis")

    expect(page_b.locator("#comment-form")).to_have_count(0)
    expect(page_b.locator("#comment-form-region .notice-closed")).to_be_visible()
    expect(page_b.locator("#conclusions")).to_contain_text("trois samedis")
    expect(page_b.locator(".reply-link").first).to_be_hidden()  # no more replies either
    expect(page_b.locator(".vote-up").first).to_be_hidden()


def test_bob_offline_gets_each_of_alices_three_comments_once(open_page, alice, bob, fiona):
    debate = make_debate(fiona)
    page_a = open_page(alice, debate.get_absolute_url())
    page_b = open_page(bob, f"{debate.get_absolute_url()}?sort=oldest")
    wait_live(page_a)
    wait_live(page_b)
    go_offline(page_b)
    for i in range(3):
        post_root(page_a, f"Commentaire numéro {i + 1}")
        expect(article(page_a, f"Commentaire numéro {i + 1}")).to_be_visible()
    go_online(page_b)
    for i in range(3):
        expect(article(page_b, f"Commentaire numéro {i + 1}")).to_have_count(1)
    expect(page_b.locator("article.comment")).to_have_count(3)
    expect(page_b.locator('#debate-tallies [data-tally="for"]')).to_have_text("3")


def test_after_a_reset_bob_still_gets_the_new_comments(open_page, alice, bob, fiona):
    """A reset reloads the debate's region from the page (live.js): the "N new comments" button and the box the
    pushes fill are new elements, and what comes next must still reach bob."""
    debate = make_debate(fiona)
    page = open_page(bob, debate.get_absolute_url())
    wait_live(page)
    force_reset(page, debate.stream_key)

    off_loop(lambda: services.post_comment(author=alice, debate=debate, body="Arrivé après la remise à zéro"))
    button = page.locator("#new-comments-button")
    expect(button).to_be_visible()
    expect(button).to_contain_text("1")
    button.click()
    expect(article(page, "Arrivé après la remise à zéro")).to_be_visible()
    expect(button).to_be_hidden()


def test_a_reset_keeps_the_comment_bob_is_typing(open_page, alice, bob, fiona):
    """A reset reloads the whole debate region, the comment form included: what bob is typing stays, with the focus."""
    debate = make_debate(fiona)
    page = open_page(bob, debate.get_absolute_url())
    wait_live(page)
    body = page.locator("#comment-body")
    body.click()
    page.keyboard.type("Je suis pour, à condition")
    page.locator('#comment-form input[name="alignment"][value="1"]').check()
    body.focus()
    force_reset(page, debate.stream_key)

    expect(body).to_have_value("Je suis pour, à condition")
    expect(page.locator('#comment-form input[name="alignment"][value="1"]')).to_be_checked()
    expect(body).to_be_focused()
    page.keyboard.type(" que les livraisons passent.")
    expect(body).to_have_value("Je suis pour, à condition que les livraisons passent.")


def test_comments_pushed_while_a_reset_reloads_the_page_are_not_lost(open_page, alice, bob, fiona):
    """A reset reloads the debate's region from a page rendered at one position; a comment committed just after that
    rendering reaches the socket before the reloaded region is in, and is applied to the old region that the fresh
    one then replaces. The client resumes from the fresh region's position: that comment is replayed, and the live
    updates go on (the next comment shows too)."""
    debate = make_debate(fiona)
    page = open_page(bob, debate.get_absolute_url())
    wait_live(page)

    def hold(route):
        if not route.request.headers.get("x-live-reset"):
            route.continue_()
            return
        response = route.fetch()  # the page is rendered now, without the comment below
        off_loop(lambda: services.post_comment(author=alice, debate=debate, body="Pendant le rechargement"))
        time.sleep(4)  # its push reaches the page (through the sweep at worst) before the reloaded region
        route.fulfill(response=response)

    page.route(lambda url: f"/debates/{debate.pk}/" in url, hold)
    force_reset(page, debate.stream_key)
    expect(page.locator("article.comment", has_text="Pendant le rechargement")).to_be_attached()
    off_loop(lambda: services.post_comment(author=alice, debate=debate, body="Après le rechargement"))
    expect(page.locator("article.comment", has_text="Après le rechargement")).to_be_attached()
    expect(page.locator("article.comment", has_text="Pendant le rechargement")).to_have_count(1)


def test_a_reply_being_written_survives_a_reset_and_is_sent(open_page, alice, bob, fiona):
    """The reply form opened under a comment is not part of the page a reset fetches again: the reply bob is typing
    stays, in its form, and goes when he sends it."""
    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Fermons la place le samedi.")
    page = open_page(bob, debate.get_absolute_url())
    wait_live(page)
    page.locator(f"#comment-{comment.pk}-main .reply-link").click()
    reply = page.locator(f"#reply-body-{comment.pk}")
    expect(reply).to_be_focused()
    page.keyboard.type("Et le marché du samedi")
    force_reset(page, debate.stream_key)

    expect(reply).to_have_value("Et le marché du samedi")
    expect(reply).to_be_focused()
    page.keyboard.type(" ?")
    page.locator(f"#reply-form-{comment.pk} button[type=submit]").click()
    expect(page.locator(f"#replies-{comment.pk} > article.comment")).to_contain_text("Et le marché du samedi ?")
    expect(page.locator(f"#reply-form-{comment.pk}")).to_have_count(0)


def test_an_edit_being_typed_survives_a_reset(open_page, alice, bob, fiona):
    """The edit form opened in bob's own comment is not part of the page a reset fetches again: the new text he is
    typing (and the stance he changed) stays, with the focus, and goes when he saves."""
    debate = make_debate(fiona)
    comment = services.post_comment(author=bob, debate=debate, body="Fermons la place le samedi.")
    page = open_page(bob, debate.get_absolute_url())
    wait_live(page)
    mine = page.locator(f"#comment-{comment.pk}")
    mine.locator(".edit-link").first.click()
    edit = page.locator(f"#edit-body-{comment.pk}")
    expect(edit).to_be_focused()
    edit.fill("Fermons la place le dimanche.")
    force_reset(page, debate.stream_key)

    expect(edit).to_have_value("Fermons la place le dimanche.")
    expect(edit).to_be_focused()
    page.keyboard.type(" Et le samedi ?")
    mine.locator(".edit-form button[type=submit]").click()
    expect(mine.locator(".edit-form")).to_have_count(0)
    expect(mine).to_contain_text("Fermons la place le dimanche. Et le samedi ?")
