"""The room's voice in Chromium (#20): a word cloud answered by three phones (one a guest), a hidden word leaving
the screen and the phones, reactions reaching the screen, a scale's live distribution. Real daphne process."""

import pytest
from playwright.sync_api import expect

from meetings import services
from meetings.models import Poll
from tests.browser.conftest import wait_live
from tests.helpers import off_loop
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}


def answer(phone, card, *texts):
    for i, text in enumerate(texts, start=1):
        card.locator(f"input[name=word] >> nth={i - 1}").fill(text)
    card.locator("button[type=submit]").click()
    expect(card.locator(".flash-success")).to_be_visible()


def test_word_cloud_reactions_and_scale_live(open_page, fiona, alice, bob):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    off_loop(lambda: services.join(meeting=meeting, user=bob))
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    console = open_page(fiona, f"/meetings/{meeting.pk}/console/", viewport={"width": 1600, "height": 1000})
    phones = [open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE),
              open_page(bob, f"/meetings/{meeting.pk}/live/", viewport=PHONE)]
    guest = open_page(None, "/meetings/join/", viewport=PHONE)
    guest.fill("#join-code", meeting.join_code)
    guest.fill("#join-nickname", "Gaston")
    guest.click(".join-form button[type=submit]")
    expect(guest).to_have_url(f"{guest.url.split('/meetings/')[0]}/meetings/{meeting.pk}/live/")
    phones.append(guest)
    for page in (screen, console, *phones):
        wait_live(page)

    # The facilitator prepares and opens an open-text question from the console.
    console.click(".poll-create summary")
    console.fill("#poll-create-form [name=question]", "En un mot, le quartier idéal ?")
    console.select_option("#poll-create-form [name=kind]", "words")
    console.click("#poll-create-form button[type=submit]")
    console.locator("#console-polls button[value=open]").click()
    expect(screen.locator("#screen-poll")).to_contain_text("le quartier idéal")

    # Three phones answer; the screen's cloud grows without a reload, sized by count.
    cards = [phone.locator("#polls .poll", has_text="le quartier idéal") for phone in phones]
    answer(phones[0], cards[0], "Équité", "Ordure")
    answer(phones[1], cards[1], "equite !", "parc")
    answer(phones[2], cards[2], "équité", "ordure")
    cloud = screen.locator("#screen-poll .word-cloud")
    expect(cloud.locator("[data-word=equite]")).to_have_attribute("data-count", "3")
    expect(cloud.locator("[data-word=equite]")).to_have_class("cloud-word size-6")
    expect(cloud.locator("[data-word=parc]")).to_have_class("cloud-word size-1")
    expect(cloud.locator(".cloud-word").first).to_have_attribute("data-word", "equite")  # most frequent first
    big = cloud.locator("[data-word=equite]").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    small = cloud.locator("[data-word=parc]").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert big > 2 * small, (big, small)
    for phone in phones:  # the ranked list on every phone
        expect(phone.locator(".word-ranking [data-word=ordure]")).to_be_visible()

    # The facilitator hides a word: it leaves the screen and every phone at once.
    console.locator("#console-polls tr[data-word=ordure] button[value=hide]").click()
    expect(cloud.locator("[data-word=ordure]")).to_have_count(0)
    for phone in phones:
        expect(phone.locator(".word-ranking [data-word=ordure]")).to_have_count(0)
        expect(phone.locator(".word-ranking [data-word=equite]")).to_be_visible()
    expect(screen.locator("#screen-poll")).not_to_contain_text("rdure")

    # A word put on the meeting's stop-list leaves the cloud; taken off the list from the console, it comes back.
    console.locator("#console-polls tr[data-word=parc] button[value=stop]").click()
    expect(cloud.locator("[data-word=parc]")).to_have_count(0)
    console.locator("#console-polls .stopped-words button[value=unstop]").click()
    expect(cloud.locator("[data-word=parc]")).to_have_attribute("data-count", "1")
    expect(console.locator("#console-polls .stopped-words")).to_have_count(0)

    # Reactions from two phones reach the screen.
    phones[0].locator("#reaction-form button[value=clap]").click()
    phones[1].locator("#reaction-form button[value=heart]").click()
    phones[1].locator("#reaction-form button[value=clap]").click()
    expect(screen.locator("#screen-reaction-totals [data-kind=clap]")).to_have_attribute("data-count", "2")
    expect(screen.locator("#screen-reaction-totals [data-kind=heart]")).to_have_attribute("data-count", "1")
    expect(screen.locator(".reaction-bubble").first).to_be_attached()
    expect(console.locator("#console-reactions")).to_contain_text("2")

    # A scale question shows its live distribution and mean.
    poll = off_loop(lambda: services.create_poll(
        actor=fiona, meeting=meeting, question="De 1 à 5, d'accord ?", kind="scale", scale="1-5",
        low_label="Pas du tout", high_label="Tout à fait"))
    console.locator(f"#cpoll-{poll.pk} button[value=open]").click()
    expect(screen.locator("#screen-poll")).to_contain_text("De 1 à 5")
    for phone, value in zip(phones[:2], ["5", "2"], strict=True):
        card = phone.locator(f"#poll-{poll.pk}")
        card.locator("label.poll-choice", has_text=value).click()
        card.locator("button[type=submit]").click()
        expect(card.locator(".flash-success")).to_be_visible()
    bars = screen.locator("#screen-poll .bar-fill")
    expect(bars.nth(4)).to_have_attribute("style", "width: 50%")
    expect(bars.nth(1)).to_have_attribute("style", "width: 50%")
    expect(screen.locator("#screen-poll .screen-mean")).to_contain_text("3,5")
    assert Poll.objects.get(pk=poll.pk).answers.count() == 2


def test_the_remote_page_frames_the_livestream_only_once_asked(open_page, fiona, alice):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    off_loop(lambda: services.update_meeting(actor=fiona, meeting=meeting, stream_url="https://youtu.be/dQw4w9WgXcQ"))
    off_loop(lambda: services.join(meeting=meeting, user=alice))
    page = open_page(alice, f"/meetings/{meeting.pk}/remote/", viewport={"width": 320, "height": 800})
    wait_live(page)
    expect(page.locator("#remote-stream iframe")).to_have_count(0)
    page.locator("#remote-stream a[href*='show=1']").click()
    frame = page.locator("#remote-stream iframe")
    expect(frame).to_have_attribute("src", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
    wait_live(page)
    # Live like a phone: an agenda change reaches it; it reflows at 320 px (nothing wider than the viewport).
    off_loop(lambda: services.set_current_item(actor=fiona, meeting=meeting, item=meeting.agenda_items.last()))
    expect(page.locator("#current-item")).to_contain_text("Propositions")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not [line for line in page.console_log if "Refused to frame" in line]


def test_with_reduced_motion_the_screen_counts_instead_of_animating(open_page, fiona, alice):
    meeting = off_loop(lambda: make_meeting(fiona, premoderation=False))
    phone = off_loop(lambda: services.join(meeting=meeting, user=alice))
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    screen.emulate_media(reduced_motion="reduce")
    wait_live(screen)
    off_loop(lambda: services.react(participant=phone, kind="thumbs"))
    off_loop(lambda: services.react(participant=phone, kind="thumbs"))
    totals = screen.locator("#screen-reaction-totals [data-kind=thumbs]")
    expect(totals).to_have_attribute("data-count", "2")
    expect(totals).to_be_visible()
    expect(screen.locator(".reaction-stage")).to_be_hidden()
    screen.emulate_media(reduced_motion="no-preference")
    expect(screen.locator(".reaction-stage")).to_be_visible()
