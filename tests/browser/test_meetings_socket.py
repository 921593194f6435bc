"""A phone's writes over its page's socket in Chromium (#20, #17): two phones tap reactions and a guest answers a word
cloud with no HTTP POST at all, the screen shows them; with the socket closed the same forms post over HTTP."""

from urllib.parse import urlsplit

import pytest
from django.utils import translation
from django.utils.translation import ngettext
from playwright.sync_api import expect

from meetings import services
from meetings.models import Meeting
from tests.browser.conftest import go_offline, wait_live
from tests.helpers import off_loop
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}


def posts_of(page) -> list[str]:
    """The HTTP POSTs this page sends from now on (a list that fills as they go)."""
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    return posts


def guest_joins(open_page, meeting, nickname):
    phone = open_page(None, "/meetings/join/", viewport=PHONE)
    phone.fill("#join-code", meeting.join_code)
    phone.fill("#join-nickname", nickname)
    phone.click(".join-form button[type=submit]")
    expect(phone.locator("#reaction-form")).to_be_visible()
    return phone


def test_taps_and_a_word_answer_go_over_the_socket_and_reach_the_screen(open_page, fiona, alice):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    poll = off_loop(lambda: services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=meeting, question="En un mot, le quartier idéal ?", kind="words")))
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    phones = [open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE), guest_joins(open_page, meeting,
                                                                                                "Gaston")]
    for page in (screen, *phones):
        wait_live(page)
    posts = [posts_of(phone) for phone in phones]

    phones[0].locator("#reaction-form button[value=clap]").click()
    phones[1].locator("#reaction-form button[value=heart]").click()
    phones[1].locator("#reaction-form button[value=clap]").click()
    totals = screen.locator("#screen-reaction-totals")
    expect(totals.locator("[data-kind=clap]")).to_have_attribute("data-count", "2")
    expect(totals.locator("[data-kind=heart]")).to_have_attribute("data-count", "1")
    expect(screen.locator(".reaction-bubble").first).to_be_attached()

    card = phones[1].locator(f"#poll-{poll.pk}")
    card.locator("input[name=word] >> nth=0").fill("Équité")
    card.locator("input[name=word] >> nth=1").fill("jardins")
    card.locator("button[type=submit]").click()
    expect(card.locator("[data-written-said]")).to_have_text("Votre réponse est enregistrée.")
    expect(card.locator("input[name=word] >> nth=0")).to_have_value("Équité")  # kept: editable until it closes
    cloud = screen.locator("#screen-poll .word-cloud")
    expect(cloud.locator("[data-word=equite]")).to_have_attribute("data-count", "1")
    expect(cloud.locator("[data-word=jardins]")).to_be_visible()
    expect(phones[0].locator(".word-ranking [data-word=jardins]")).to_be_visible()  # the other phone's list

    assert posts == [[], []]  # every write went over the sockets

    # A refusal over the socket is said in the form, as an htmx refusal is.
    card.locator("input[name=word] >> nth=0").fill("équité")
    card.locator("input[name=word] >> nth=1").fill("Équité !")
    card.locator("button[type=submit]").click()
    expect(card.locator('[data-refusal="invalid"]')).to_contain_text("même mot")
    assert posts == [[], []]


def test_with_the_socket_closed_a_tap_posts_over_http(open_page, fiona, alice):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    for page in (screen, phone):
        wait_live(page)
    posts = posts_of(phone)
    go_offline(phone)
    phone.locator("#reaction-form button[value=think]").click()
    expect(screen.locator("#screen-reaction-totals [data-kind=think]")).to_have_attribute("data-count", "1")
    assert [urlsplit(url).path for url in posts] == [f"/meetings/{meeting.pk}/live/react/"]


def test_an_answer_left_unanswered_is_said_in_the_form_and_not_sent_again(open_page, fiona, alice):
    """A write without an idempotency key (a poll answer) whose answer never comes: the phone says so in the form's
    error slot, politely announced, instead of looking as if nothing happened; it is not posted again."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    poll = off_loop(lambda: services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=meeting, question="En un mot, le quartier idéal ?", kind="words")))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    posts = posts_of(phone)
    phone.evaluate("""() => window.addEventListener("htmx:wsBeforeMessage", (evt) => {
        if (evt.detail.message.indexOf('"type":"written"') >= 0) { evt.stopPropagation(); evt.preventDefault(); }
    }, true)""")  # the server writes the answer, but its answer never reaches the phone
    card = phone.locator(f"#poll-{poll.pk}")
    card.locator("input[name=word] >> nth=0").fill("Ombre")
    card.locator("button[type=submit]").click()
    said = card.locator(f'#poll-{poll.pk}-form-errors [data-refusal="unanswered"]')
    expect(said).to_contain_text("Aucune réponse du serveur", timeout=15000)
    expect(phone.locator("#live-announcer")).to_contain_text("Aucune réponse du serveur")
    assert posts == []


def test_a_keyboard_vote_keeps_the_focus_on_its_button_when_the_card_is_pushed_anew(open_page, fiona, alice, bob):
    """The +1 goes over the socket and the push replaces the contribution's card (its new count): a keyboard or
    screen-reader user stays on the same button instead of being thrown back to the top of the page."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    author = off_loop(lambda: services.join(meeting=meeting, user=bob))
    idea = off_loop(lambda: services.post_contribution(participant=author, body="Plus de bancs", client_id="b-1"))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    card = phone.locator(f"#contribution-{idea.pk}")
    card.locator(".vote-button").focus()
    phone.keyboard.press("Enter")
    expect(card.locator(".vote-count > [aria-hidden]")).to_have_text("+1")
    expect(card.locator(".vote-button")).to_be_focused()


def test_a_report_being_written_on_a_card_survives_someone_elses_vote(open_page, fiona, alice, bob, carol):
    """Someone votes for the contribution alice is reporting: its card is pushed anew (its count), and alice's open
    report form keeps the reason she chose and the details she is typing."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    author = off_loop(lambda: services.join(meeting=meeting, user=bob))
    voter = off_loop(lambda: services.join(meeting=meeting, user=carol))
    idea = off_loop(lambda: services.post_contribution(participant=author, body="Des idées bizarres", client_id="b-2"))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    card = phone.locator(f"#contribution-{idea.pk}")
    card.locator(".report-disclosure summary").click()
    card.locator(".report-form input[value=spam]").check()
    details = card.locator(".report-form textarea")
    details.click()
    phone.keyboard.type("Publicité")

    off_loop(lambda: services.vote(participant=voter, contribution=idea))
    expect(card.locator(".vote-count > [aria-hidden]")).to_have_text("+1")
    expect(card.locator(".report-form")).to_be_visible()
    expect(card.locator(".report-form input[value=spam]")).to_be_checked()
    expect(details).to_have_value("Publicité")
    expect(details).to_be_focused()
    phone.keyboard.type(" déguisée")
    expect(details).to_have_value("Publicité déguisée")


def test_the_character_count_follows_the_box_emptied_after_sending(open_page, fiona, alice):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    body = phone.locator("#contribution-body")
    body.fill("Des toilettes publiques au parc")
    count = phone.locator("#contribution-form .char-count")
    expect(count).to_have_text("249 / 280")
    phone.locator("#contribution-form button[type=submit]").click()  # over the socket: the form is emptied
    expect(body).to_have_value("")
    expect(count).to_have_text("280 / 280")


def test_raising_a_hand_with_the_keyboard_moves_the_focus_to_lowering_it(open_page, fiona, alice):
    """The pressed button is hidden once the speaker queue shows the raised hand (a rule of the page): the focus goes
    to the button now shown ("Lower my hand"), not back to the top of the page."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    phone.locator(".hand-raise button").focus()
    phone.keyboard.press("Enter")
    lower = phone.locator(".hand-lower button")
    expect(lower).to_be_visible()
    expect(lower).to_be_focused()
    phone.keyboard.press("Enter")
    raise_ = phone.locator(".hand-raise button")
    expect(raise_).to_be_visible()
    expect(raise_).to_be_focused()


def test_a_contribution_sent_over_http_keeps_what_else_was_chosen_and_the_focus(open_page, fiona, alice):
    """The socket closed, a contribution posts with htmx: the answer empties the box and says "Posted." in the form's
    status line; the kind and agenda item chosen and the focus on "Send" stay (the form is not rendered again)."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    item = off_loop(lambda: meeting.agenda_items.last())
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    posts = posts_of(phone)
    go_offline(phone)
    form = phone.locator("#contribution-form")
    form.locator("input[name=kind][value=idea]").check()
    form.locator("#contribution-item").select_option(str(item.pk))
    form.locator("#contribution-body").fill("Des bancs à l'ombre")
    send = form.locator("button[type=submit]")
    send.focus()
    phone.keyboard.press("Enter")
    expect(form.locator("#contribution-form-message")).to_have_text("Publié.")  # French, the default language
    expect(form.locator("#contribution-body")).to_have_value("")
    expect(form.locator("input[name=kind][value=idea]")).to_be_checked()
    expect(form.locator("#contribution-item")).to_have_value(str(item.pk))
    expect(send).to_be_focused()
    assert [urlsplit(url).path for url in posts] == [f"/meetings/{meeting.pk}/live/contribute/"]
    contribution = off_loop(lambda: meeting.contributions.get())
    assert (contribution.kind, contribution.agenda_item_id) == ("idea", item.pk)


def test_a_reopened_poll_shows_alice_her_answer_checked_live(open_page, fiona, alice):
    """alice answered, the facilitator closes the poll and opens it again: her phone shows her own answer checked,
    without a reload and without a request (300 phones, no herd of requests at each reopening): the pushes change
    the card's state around the form her phone holds, hidden while the poll is closed."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    alice_in = off_loop(lambda: services.join(meeting=meeting, user=alice))
    poll = off_loop(lambda: services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=meeting, question="Quel parc ?", kind="multiple", choices=["Malraux", "Chemin de l'île"])))
    first, second = off_loop(lambda: list(poll.choices.all()))
    off_loop(lambda: services.answer_poll(participant=alice_in, poll=poll, choices=[first]))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    card = phone.locator(f"#poll-{poll.pk}")
    expect(card.locator(f"input[name=choice][value='{first.pk}']")).to_be_checked()
    card.locator(f"input[name=choice][value='{second.pk}']").check()  # changed over the socket: not the page's
    card.locator("button[type=submit]").click()
    expect(card.locator("[data-written-said]")).to_have_text("Votre réponse est enregistrée.")
    requests = []
    phone.on("request", lambda request: requests.append(request.url))

    off_loop(lambda: services.close_poll(actor=fiona, poll=poll))
    expect(card.locator(".poll-question .badge")).to_have_text("Clos")
    expect(card.locator(f"#poll-{poll.pk}-form")).to_be_hidden()
    off_loop(lambda: services.open_poll(actor=fiona, poll=poll))
    expect(card.locator(".poll-question .badge")).to_have_text("Ouvert")
    expect(card.locator(f"#poll-{poll.pk}-form")).to_be_visible()
    expect(card.locator(f"input[name=choice][value='{second.pk}']")).to_be_checked()
    expect(card.locator("input[name=choice]:checked")).to_have_count(2)
    phone.wait_for_timeout(300)  # a request a push would have started has had its time to be sent
    assert requests == []


def test_a_contribution_about_an_item_deleted_since_is_refused_under_the_list(open_page, fiona, alice):
    """Over the socket, a contribution naming an agenda item that no longer exists is refused under the "About" list,
    which alone is marked invalid (the text stays, valid); nothing is posted."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    posts = posts_of(phone)
    form = phone.locator("#contribution-form")
    phone.evaluate("() => { document.querySelector('#contribution-item option:last-child').value = '99999999'; }")
    form.locator("#contribution-item").select_option("99999999")
    form.locator("#contribution-body").fill("Des bancs à l'ombre")
    form.locator("button[type=submit]").click()
    expect(phone.locator("#contribution-item-errors")).not_to_be_empty()
    expect(form.locator("#contribution-item")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#contribution-item")).to_be_focused()
    expect(form.locator("#contribution-body")).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator("#contribution-body")).to_have_value("Des bancs à l'ombre")
    assert posts == [] and off_loop(lambda: meeting.contributions.count()) == 0


@pytest.mark.parametrize("over", ["socket", "http"])
def test_a_refusal_about_the_kind_marks_and_focuses_the_kind_not_the_text(open_page, fiona, alice, over):
    """A refusal names its field (here the kind: a page whose choices the server no longer takes): that field is marked
    invalid and takes the focus, over the socket and over HTTP alike; the text box, which the form's error slot
    describes, stays valid and keeps what was typed."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    if over == "http":
        go_offline(phone)
    form = phone.locator("#contribution-form")
    phone.evaluate("() => { document.querySelector('#contribution-form input[value=idea]').value = 'proposal'; }")
    form.locator("input[name=kind] >> nth=1").check()
    form.locator("#contribution-body").fill("Des bancs à l'ombre")
    form.locator("button[type=submit]").click()
    expect(form.locator('#contribution-form-errors [data-refusal="invalid"]')).not_to_be_empty()
    expect(form.locator("input[name=kind] >> nth=0")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("input[name=kind] >> nth=0")).to_be_focused()
    expect(form.locator("#contribution-body")).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator("#contribution-body")).to_have_value("Des bancs à l'ombre")
    assert off_loop(lambda: meeting.contributions.count()) == 0


def test_the_projectors_support_count_is_read_as_what_it_counts(open_page, fiona, alice, bob, carol):
    """On the projector, a contribution's " · +2" (in the feed, pushed as votes come, and under the pinned one) is read
    "Supported by 2 people", as on the phones; the bare "+3" is hidden from screen readers."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    author = off_loop(lambda: services.join(meeting=meeting, user=alice))
    idea = off_loop(lambda: services.post_contribution(participant=author, body="Plus de bancs", client_id="a-1"))
    first = off_loop(lambda: services.join(meeting=meeting, user=bob))
    off_loop(lambda: services.vote(participant=first, contribution=idea))
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    wait_live(screen)
    voter = off_loop(lambda: services.join(meeting=meeting, user=carol))
    off_loop(lambda: services.vote(participant=voter, contribution=idea))  # pushed to the screen
    with translation.override("fr"):
        said = ngettext("Supported by %(count)s person", "Supported by %(count)s people", 2) % {"count": 2}
    item = screen.locator(f"#screen-item-{idea.pk} .feed-meta")
    expect(item.locator(".visually-hidden")).to_have_text(said)
    expect(item.locator("[aria-hidden=true]")).to_have_text("+2")
    off_loop(lambda: services.pin_contribution(actor=fiona, contribution=idea))  # out of the feed, pinned
    pinned = screen.locator(f"[data-contribution='{idea.pk}'] footer")
    expect(pinned.locator(".visually-hidden")).to_have_text(said)


@pytest.mark.parametrize("where", ["console", "edit form"])
def test_guests_switched_off_turn_a_visitors_join_form_into_sign_in_at_once(open_page, fiona, where):
    """A phone opened before the facilitator allows signed-in participants only (from the console or the meeting's
    edit form alike): the nickname form gives way to "sign in to take part" without a reload, and it is said."""
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: Meeting.objects.filter(pk=meeting.pk).update(allow_anonymous=True))
    phone = open_page(None, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    expect(phone.locator("#live-nickname")).to_be_visible()
    if where == "console":
        off_loop(lambda: services.update_session_settings(actor=fiona, meeting=meeting, allow_anonymous=False))
    else:
        off_loop(lambda: services.update_meeting(actor=fiona, meeting=meeting, allow_anonymous=False))
    expect(phone.locator("#live-nickname")).to_be_hidden()
    sign_in = phone.locator(".join-panel .guests-closed-only a")
    expect(sign_in).to_be_visible()
    with translation.override("fr"):
        said = services.guests_closed_message()
    expect(phone.locator("#live-announcer")).to_have_text(said)
