"""Without JavaScript the debate still works: plain forms and full page loads."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from debates import services
from tests import helpers
from tests.debates.conftest import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_without_js(browser, daphne_server):
    contexts = []

    def _open(user, path):
        context = browser.new_context(java_script_enabled=False, locale="fr-FR")
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": helpers.session_cookie(user),
                              "url": daphne_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        page.goto(daphne_server.url + path)
        return page

    yield _open
    for context in contexts:
        context.close()


def test_bob_comments_replies_and_votes_without_javascript(page_without_js, alice, bob, fiona):
    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Je suis pour la place piétonne.")
    page = page_without_js(bob, debate.get_absolute_url())

    page.locator("#comment-body").fill("Contre : ma mère ne pourra plus venir.")
    page.locator('#comment-form input[name="alignment"][value="-1"]').check()
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("article.comment", has_text="ma mère ne pourra plus venir")).to_have_count(1)
    expect(page.locator('#debate-tallies [data-tally="against"]')).to_have_text("1")

    page.locator(f"#comment-{comment.pk}-main .reply-link").click()
    page.locator("textarea[name=body]").fill("Et la navette accessible ?")
    page.locator("form.comment-form button[type=submit]").click()
    expect(page.locator(f"#replies-{comment.pk}")).to_contain_text("Et la navette accessible ?")

    page.goto(page.url.split("#")[0].rsplit("/comments/", 1)[0] + "/")
    page.locator(f"#comment-{comment.pk}-vote .vote-up").click()
    expect(page.locator(f"#comment-{comment.pk}-score")).to_contain_text("1")
    expect(page.locator(f"#comment-{comment.pk}-vote .vote-up")).to_have_attribute("aria-pressed", "true")

    services.close_debate(debate=debate, actor=fiona, conclusions="Un essai aura lieu au printemps.")
    page.reload()
    expect(page.locator("#comment-form-region .notice-closed")).to_be_visible()
    expect(page.locator("#comment-form")).to_have_count(0)
    expect(page.locator(".reply-link").first).to_be_hidden()


def test_a_refused_reply_comes_back_with_the_reason_and_the_text(page_without_js, alice, bob, fiona):
    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Un avis que je vais retirer")
    page = page_without_js(bob, f"/debates/{debate.pk}/comments/{comment.pk}/reply/")
    page.locator("textarea[name=body]").fill("Ma réponse soigneusement rédigée")
    services.delete_comment(comment=comment, actor=alice)  # meanwhile
    page.locator("form.comment-form button[type=submit]").click()
    expect(page.locator("p.flash-error")).to_be_visible()
    expect(page.locator("textarea[name=body]")).to_have_value("Ma réponse soigneusement rédigée")
