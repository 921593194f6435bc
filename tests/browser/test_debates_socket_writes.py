"""Comments, stance changes and votes go over the page's open socket in Chromium (`data-live-write` forms, live.js): no HTTP POST,
the other reader sees both without reloading, and a refusal is said in the form's error slot and announced, as the
htmx answer says it."""

import time

import pytest
from playwright.sync_api import expect

from debates import services
from debates.models import Comment
from tests.browser.conftest import HeldAnswers, wait_live
from tests.debates.conftest import make_debate
from tests.helpers import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def posts_of(page) -> list[str]:
    """The HTTP POSTs the page sends from now on."""
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def test_alice_comments_changes_her_stance_and_votes_over_her_socket_and_bob_sees_it(open_page, alice, bob, fiona):
    debate = off_loop(lambda: make_debate(fiona))
    bobs = off_loop(lambda: services.post_comment(author=bob, debate=debate, body="Des bancs à l'ombre."))
    page_a = open_page(alice, f"{debate.get_absolute_url()}?sort=recent", locale="en-US")
    page_b = open_page(bob, debate.get_absolute_url(), locale="en-US")
    wait_live(page_a)
    wait_live(page_b)
    posts = posts_of(page_a)
    client_id = page_a.locator('#comment-form input[name="client_id"]').input_value()

    page_a.locator("#comment-body").fill("Pour, si les livraisons passent le matin.")
    page_a.locator('#comment-form input[name="alignment"][value="1"]').check()
    page_a.locator("#comment-form button[type=submit]").click()
    expect(page_a.locator("article.comment", has_text="si les livraisons passent")).to_be_visible()
    expect(page_a.locator("#comment-body")).to_have_value("")  # the form is ready for the next one
    assert page_a.locator('#comment-form input[name="client_id"]').input_value() not in ("", client_id)
    # Bob's page, without reloading: the tallies and the announcement at once, the comment behind the button.
    expect(page_b.locator('#debate-tallies [data-tally="for"]')).to_have_text("1")
    expect(page_b.locator("#live-announcer")).to_contain_text("alice")
    page_b.locator("#new-comments-button").click()
    expect(page_b.locator("article.comment", has_text="si les livraisons passent")).to_be_visible()

    # Alice changes her stance: the edit form opens in her comment's panel and goes over the socket too.
    mine = page_a.locator("article.comment", has_text="si les livraisons passent")
    mine.locator(".edit-link").click()
    mine.locator('.edit-form input[name="alignment"][value="-1"]').check()
    mine.locator(".edit-form button[type=submit]").click()
    expect(mine.locator(".edit-form")).to_have_count(0)  # the panel closes once written
    expect(page_b.locator('#debate-tallies [data-tally="against"]')).to_have_text("1")
    expect(page_b.locator('#debate-tallies [data-tally="for"]')).to_have_text("0")

    up = page_a.locator(f"#comment-{bobs.pk}-vote .vote-up")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")  # the socket's answer: alice's own vote
    expect(page_b.locator(f"#comment-{bobs.pk}-score")).to_have_attribute("title", "1 up, 0 down")
    expect(page_a.locator(f"#comment-{bobs.pk}-score")).to_have_attribute("title", "1 up, 0 down")
    up.click()  # pressed again: the vote is taken back
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(page_b.locator(f"#comment-{bobs.pk}-score")).to_have_attribute("title", "0 up, 0 down")

    assert posts == [], posts  # everything went over the socket
    assert Comment.objects.filter(author=alice).count() == 1
    for page in (page_a, page_b):
        assert not [line for line in page.console_log if line.startswith("error")], page.console_log


def test_a_refusal_over_the_socket_is_said_in_the_forms_slot_and_announced(open_page, alice, fiona):
    debate = off_loop(lambda: make_debate(fiona))
    page = open_page(alice, debate.get_absolute_url(), locale="en-US")
    wait_live(page)
    posts = posts_of(page)
    body = page.locator("#comment-body")

    body.fill("   ")  # passes the browser's "required", refused by the service
    page.locator("#comment-form button[type=submit]").click()
    slot = page.locator("#comment-form-errors")
    expect(slot.locator('[data-refusal="invalid"]')).to_contain_text("cannot be empty")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#live-announcer")).to_contain_text("cannot be empty")
    expect(body).to_have_value("   ")  # what was typed stays
    assert posts == [], posts
    assert not Comment.objects.exists()

    body.fill("Des arbres, surtout.")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("article.comment", has_text="Des arbres, surtout.")).to_be_visible()
    expect(body).not_to_have_attribute("aria-invalid", "true")
    expect(slot).to_be_empty()
    assert posts == [], posts


def test_the_next_comment_typed_before_the_first_is_answered_is_kept_and_sent(open_page, alice, fiona):
    """The room's copy of a comment can arrive before the socket's answer to its writer: the writer types and sends
    the next one meanwhile. It is neither emptied by the late answer nor dropped as a double click: it is sent once
    the first is answered, and a second click on an unchanged form still sends nothing more."""
    debate = off_loop(lambda: make_debate(fiona))
    page = open_page(alice, f"{debate.get_absolute_url()}?sort=oldest", locale="en-US")
    answers = HeldAnswers(page)  # the answer to the writer kept back; everything else goes through
    page.reload()
    wait_live(page)
    body, submit = page.locator("#comment-body"), page.locator("#comment-form button[type=submit]")

    body.fill("Premier : des arbres.")
    submit.click()
    expect(page.locator("article.comment", has_text="Premier : des arbres.")).to_be_visible()  # the room's copy
    # The answer may reach the route after the room's copy reached the page: the form is busy until it is let through.
    expect(page.locator("#comment-form")).to_have_attribute("aria-busy", "true")
    body.fill("Second : des bancs.")
    submit.click()  # before the first is answered
    submit.click()  # and again: the same form, one sending
    expect(page.locator("#comment-form")).to_have_attribute("aria-busy", "true")
    answers.wait()
    answers.release()
    expect(page.locator("article.comment", has_text="Second : des bancs.")).to_be_visible()
    expect(body).to_have_value("")
    expect(page.locator("article.comment")).to_have_count(2)
    assert list(Comment.objects.filter(author=alice).values_list("body", flat=True).order_by("pk")) == [
        "Premier : des arbres.", "Second : des bancs."]


def test_an_unanswered_comment_is_not_sent_again_under_the_next_ones_text(open_page, alice, fiona):
    """The socket drops before answering the first comment while the next one is typed: the fallback post would send
    the form as it is now, the next text under the first one's key (one of the two lost). The form is not posted;
    the person is told there was no answer and keeps what they typed; sent again, it is written as a new comment."""
    debate = off_loop(lambda: make_debate(fiona))
    page = open_page(alice, f"{debate.get_absolute_url()}?sort=oldest", locale="en-US")
    state = {"drop": True, "held": 0, "ws": None}

    def route(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))

        def from_server(message):
            if state["drop"] and '"written"' in str(message):
                state["held"] += 1  # the answer to the writer, lost
            else:
                ws.send(message)
        server.on_message(from_server)
        state["ws"] = ws

    page.route_web_socket("**/ws/**", route)
    page.reload()
    wait_live(page)
    posts = posts_of(page)
    body, submit = page.locator("#comment-body"), page.locator("#comment-form button[type=submit]")

    body.fill("Premier : des arbres.")
    submit.click()
    expect(page.locator("article.comment", has_text="Premier : des arbres.")).to_be_visible()
    deadline = time.monotonic() + 10
    while not state["held"] and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert state["held"], "the socket's answer never came"
    body.fill("Second : des bancs.")
    state["drop"] = False
    state["ws"].close(code=1011)  # the socket drops, the first write unanswered
    expect(page.locator('#comment-form-errors [data-refusal="unanswered"]')).to_be_visible()
    expect(body).to_have_value("Second : des bancs.")
    assert not [url for url in posts if "/comments/" in url], posts  # nothing posted under the first one's key
    assert Comment.objects.filter(author=alice).count() == 1

    wait_live(page)  # back
    submit.click()
    expect(page.locator("article.comment", has_text="Second : des bancs.")).to_be_visible()
    expect(body).to_have_value("")
    assert list(Comment.objects.filter(author=alice).values_list("body", flat=True).order_by("pk")) == [
        "Premier : des arbres.", "Second : des bancs."]
