"""A meeting in the room, in Chromium: a phone (small viewport), the facilitator's console and the projector screen
(1920x1080), each in its own browser context, against a real daphne process."""

import pytest
from playwright.sync_api import expect

from live import streams
from meetings import services
from meetings.models import Contribution, Meeting
from tests.browser.conftest import ARTIFACTS, go_offline, go_online, wait_live
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}


def open_room(open_page, fiona):
    meeting = make_meeting(fiona)
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    wait_live(screen)
    console = open_page(fiona, f"/meetings/{meeting.pk}/console/", viewport={"width": 1600, "height": 1000})
    wait_live(console)
    phone = open_page(None, "/meetings/join/", viewport=PHONE)
    phone.fill("#join-code", meeting.join_code.lower())
    phone.fill("#join-nickname", "Gaston")
    phone.click(".join-form button[type=submit]")
    expect(phone).to_have_url(f"{phone.url.split('/meetings/')[0]}/meetings/{meeting.pk}/live/")
    wait_live(phone)
    return meeting, phone, console, screen


def test_phone_console_and_screen_in_the_room(open_page, fiona):
    meeting, phone, console, screen = open_room(open_page, fiona)

    # The screen: join code and QR, large type, nothing to scroll.
    expect(screen.locator(".screen-code")).to_have_text(meeting.join_code)
    expect(screen.locator(".screen-qr svg")).to_be_visible()
    font = screen.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 32, font
    assert screen.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")

    # The phone sends a question under pre-moderation: the console gets it, the screen does not.
    phone.fill("#contribution-body", "Où en est le projet de jardin partagé ?")
    phone.click("#contribution-form button[type=submit]")
    expect(phone.locator("#contribution-form .form-message")).to_be_visible()
    item = console.locator("#queue .queue-item", has_text="jardin partagé")
    expect(item).to_be_visible()
    expect(screen.locator("#screen-feed")).not_to_contain_text("jardin partagé")
    expect(phone.locator("#contributions")).not_to_contain_text("jardin partagé")

    # The facilitator approves with the keyboard, then pins it: the screen shows it pinned.
    item.focus()
    console.keyboard.press("a")
    expect(console.locator("#queue .queue-item")).to_have_count(0)
    expect(screen.locator("#screen-feed")).to_contain_text("jardin partagé")
    expect(phone.locator("#contributions")).to_contain_text("jardin partagé")
    console.locator("#handled .handled-item", has_text="jardin partagé").locator("button[value=pin]").click()
    expect(screen.locator("#screen-pinned")).to_contain_text("jardin partagé")
    expect(screen.locator("#screen-feed")).not_to_contain_text("jardin partagé")  # pinned, not twice
    expect(phone.locator("#pinned")).to_contain_text("jardin partagé")

    # A poll: prepared and opened on the console, answered on the phone, the screen's bars move.
    console.click(".poll-create summary")
    console.fill("#poll-create-form [name=question]", "Un jardin sur le toit ?")
    console.fill("#poll-create-form [name=choices]", "Oui\nNon")
    console.click("#poll-create-form button[type=submit]")
    console.locator("#console-polls button[value=open]").click()
    expect(screen.locator("#screen-poll")).to_contain_text("Un jardin sur le toit ?")
    bars = screen.locator("#screen-poll .bar-fill")
    expect(bars.first).to_have_attribute("style", "width: 0%")
    poll_card = phone.locator("#polls .poll", has_text="Un jardin sur le toit ?")
    expect(poll_card).to_be_visible()
    poll_card.locator("label", has_text="Oui").click()
    poll_card.locator("button[type=submit]").click()
    expect(bars.first).to_have_attribute("style", "width: 100%")
    expect(console.locator("#console-polls .bar-fill").first).to_have_attribute("style", "width: 100%")
    expect(poll_card.locator(".bar-fill").first).to_have_attribute("style", "width: 100%")

    # The screen's socket is cut during two approvals; it shows both once back.
    for text in ("Première question hors ligne", "Seconde question hors ligne"):
        phone.fill("#contribution-body", text)
        phone.click("#contribution-form button[type=submit]")
        expect(console.locator("#queue .queue-item", has_text=text)).to_be_visible()
    go_offline(screen)
    for text in ("Première question hors ligne", "Seconde question hors ligne"):
        console.locator("#queue .queue-item", has_text=text).locator("button[value=approve]").click()
        expect(console.locator("#queue .queue-item", has_text=text)).to_have_count(0)
    expect(screen.locator("#screen-feed")).not_to_contain_text("hors ligne")
    go_online(screen)
    feed = screen.locator("#screen-feed .feed-item")
    expect(feed.nth(0)).to_contain_text("Seconde question hors ligne")
    expect(feed.nth(1)).to_contain_text("Première question hors ligne")

    # Hiding one takes it off every phone and the screen at once.
    console.locator("#handled .handled-item", has_text="Première question").locator("button[value=hide]").click()
    expect(screen.locator("#screen-feed")).not_to_contain_text("Première question")
    expect(phone.locator("#contributions")).not_to_contain_text("Première question")
    expect(phone.locator("#contributions")).to_contain_text("Seconde question hors ligne")
    ARTIFACTS.mkdir(exist_ok=True)  # what the room saw, for a human look
    for name, page in (("phone", phone), ("console", console), ("screen", screen)):
        page.screenshot(path=str(ARTIFACTS / f"meetings-{name}.png"), full_page=name != "screen")
    assert not [line for page in (phone, console, screen) for line in page.console_log if "error" in line.lower()
                and "csp" in line.lower()]


def test_the_screen_stays_bounded_for_hours(open_page, fiona):
    """Many approvals later, the screen keeps a fixed number of items and never scrolls."""
    meeting = make_meeting(fiona)
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    wait_live(screen)
    people = [services.join(meeting=meeting, nickname=f"Invite{i}", ip=f"10.1.0.{i}") for i in range(20)]
    for i, person in enumerate(people):
        services.post_contribution(participant=person,
                                   body=f"Idée numéro {i} : " + "une proposition assez longue pour remplir. " * 5)
    expect(screen.locator("#screen-feed")).to_contain_text("Idée numéro 19")
    expect(screen.locator("#screen-feed .feed-item")).to_have_count(6)
    # Markup in a contribution is text on the projector, pushed or not.
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> hx-get="/"'
    services.post_contribution(participant=services.join(meeting=meeting, nickname="Malin", ip="10.1.1.1"),
                               body=payload)
    expect(screen.locator("#screen-feed .feed-item").first).to_contain_text(payload)
    expect(screen.locator("#screen-feed img, #screen-feed script")).to_have_count(0)
    assert screen.evaluate("() => window.__xss") is None
    screen.reload()
    wait_live(screen)
    expect(screen.locator("#screen-feed .feed-item").first).to_contain_text(payload)
    assert screen.evaluate("() => window.__xss") is None
    assert screen.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")
    assert Contribution.objects.filter(meeting=meeting).count() == 21
    # The session closes: the screen says so instead of showing a dead code.
    services.close_session(actor=fiona, meeting=Meeting.objects.get(pk=meeting.pk))
    expect(screen.locator(".screen-code")).to_have_count(0)
    expect(screen.locator(".screen-closed")).to_be_visible()


SEEN_ON_SCREEN = """() => {
  // Every feed item the projector ever shows, in the order each first appears.
  window.__seen = [];
  const note = () => document.querySelectorAll("#screen-feed .feed-item").forEach((li) => {
    if (!window.__seen.includes(li.id)) window.__seen.push(li.id);
  });
  note();
  new MutationObserver(note).observe(document.querySelector(".screen-main"), {childList: true, subtree: true});
}"""


def test_every_contribution_reaches_the_screen_in_order_when_pushes_arrive_late_and_out_of_order(
        open_page, fiona, monkeypatch):
    """S9 under overload (docs/performance.md): pushes leave late, after later contributions committed, in any
    order, and some never reach the screen's process, which reads those from the log once the next ones arrive.
    Each arriving contribution's frame carries its own card, so the projector shows every one, in the order they
    were posted, and ends with the latest six, as a reload does."""
    meeting = make_meeting(fiona, premoderation=False)
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    wait_live(screen)
    screen.evaluate(SEEN_ON_SCREEN)
    late = []
    publish = streams.publish
    monkeypatch.setattr(streams, "publish", late.append)  # committed, not pushed yet: the server runs behind
    phones = [services.join(meeting=meeting, nickname=f"Tel{i}", ip=f"10.2.0.{i}") for i in range(12)]
    posted = [services.post_contribution(participant=phone, body=f"Contribution numéro {i}")
              for i, phone in enumerate(phones)]
    monkeypatch.setattr(streams, "publish", publish)
    on_screen = [event for event in late if event.stream == meeting.screen_stream_key]
    assert [event.data["contribution"] for event in on_screen] == [c.pk for c in posted]
    for event in late:
        if event.stream != meeting.screen_stream_key:
            publish(event)
    # The newest first, then the others backwards; the first three never arrive.
    for event in reversed(on_screen[3:]):
        publish(event)

    screen.wait_for_function("() => window.__seen.length >= 12", timeout=10000)
    assert screen.evaluate("() => window.__seen") == [f"screen-item-{c.pk}" for c in posted]
    latest = [f"screen-item-{c.pk}" for c in reversed(posted[-6:])]
    expect(screen.locator("#screen-feed .feed-item")).to_have_count(6)
    assert screen.locator("#screen-feed .feed-item").evaluate_all("items => items.map((li) => li.id)") == latest
    screen.reload()
    wait_live(screen)
    assert screen.locator("#screen-feed .feed-item").evaluate_all("items => items.map((li) => li.id)") == latest


def test_phones_follow_the_session_closing_and_reopening(open_page, fiona, alice):
    meeting = make_meeting(fiona)
    services.join(meeting=meeting, user=alice)
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    expect(phone.locator("#contribution-form")).to_be_visible()
    services.close_session(actor=fiona, meeting=meeting)
    expect(phone.locator("#live-state")).to_have_class("live-state is-closed")
    expect(phone.locator("#contribution-form")).to_be_hidden()
    expect(phone.locator("#live-announcer")).not_to_be_empty()
    services.open_session(actor=fiona, meeting=Meeting.objects.get(pk=meeting.pk))
    expect(phone.locator("#contribution-form")).to_be_visible()
    services.set_current_item(actor=fiona, meeting=Meeting.objects.get(pk=meeting.pk),
                              item=meeting.agenda_items.last())
    expect(phone.locator("#current-item")).to_contain_text("Propositions")


def test_raising_a_hand_and_getting_the_floor(open_page, fiona, alice):
    meeting = make_meeting(fiona)
    services.join(meeting=meeting, user=alice)
    phone = open_page(alice, f"/meetings/{meeting.pk}/live/", viewport=PHONE)
    wait_live(phone)
    screen = open_page(None, f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/", viewport=PROJECTOR)
    wait_live(screen)
    expect(phone.locator(".hand-lower")).to_be_hidden()
    phone.locator(".hand-raise button").click()
    expect(phone.locator("#speakers")).to_contain_text("alice")
    expect(screen.locator("#screen-speakers")).to_contain_text("alice")
    expect(phone.locator(".hand-raise")).to_be_hidden()
    expect(phone.locator(".hand-lower")).to_be_visible()
    request = meeting.speaker_requests.get()
    services.give_floor(actor=fiona, request=request)
    expect(screen.locator("#screen-speakers .is-speaking")).to_contain_text("alice")
    services.finish_speaker(actor=fiona, request=request)
    expect(phone.locator("#speakers")).not_to_contain_text("alice")
    expect(phone.locator(".hand-raise")).to_be_visible()  # the facilitator lowered it: raise again possible


def test_console_keyboard_shortcuts(open_page, fiona, alice):
    meeting = make_meeting(fiona)
    author = services.join(meeting=meeting, user=alice)
    for text in ("Premier en file", "Deuxième en file", "Troisième en file"):
        services.post_contribution(participant=author, body=text)
    console = open_page(fiona, f"/meetings/{meeting.pk}/console/", viewport={"width": 1600, "height": 1000})
    wait_live(console)
    queue = console.locator("#queue .queue-item")
    expect(queue).to_have_count(3)
    queue.first.focus()
    console.keyboard.press("r")                      # reject the first; focus moves to the next one
    expect(queue).to_have_count(2)
    expect(console.locator("#queue .queue-item:focus")).to_contain_text("Deuxième en file")
    console.keyboard.press("j")
    expect(console.locator("#queue .queue-item:focus")).to_contain_text("Troisième en file")
    console.keyboard.press("p")                      # pin (and so approve) the third
    expect(queue).to_have_count(1)
    expect(console.locator("#screen-preview #screen-pinned")).to_contain_text("Troisième en file")
    statuses = dict(Contribution.objects.values_list("body", "status"))
    assert statuses == {"Premier en file": "rejected", "Deuxième en file": "pending", "Troisième en file": "approved"}
    assert Contribution.objects.get(body="Troisième en file").pinned


def test_the_meeting_page_offers_to_take_part_when_the_session_opens(open_page, fiona):
    meeting = make_meeting(fiona, open_live=False)
    page = open_page(None, f"/meetings/{meeting.pk}/", viewport=PHONE)
    wait_live(page)
    expect(page.locator(".take-part")).to_have_count(0)
    meeting = services.open_session(actor=fiona, meeting=meeting)
    expect(page.locator(".take-part .join-code")).to_have_text(meeting.join_code)
    page.locator(".take-part a").click()
    expect(page.locator("#live-nickname")).to_be_visible()


def test_a_shortcut_on_a_handled_contribution_keeps_the_focus_on_it(open_page, fiona, alice):
    """A handled contribution stays in its list when the facilitator pins it with "p": the push re-renders it in
    place, and the keyboard stays on it (for the next shortcut) instead of falling back to the top of the page."""
    meeting = make_meeting(fiona, premoderation=False)
    author = services.join(meeting=meeting, user=alice)
    item = services.post_contribution(participant=author, body="Déjà approuvée")
    console = open_page(fiona, f"/meetings/{meeting.pk}/console/", viewport={"width": 1600, "height": 1000})
    wait_live(console)
    row = console.locator(f"#row-{item.pk}")
    row.focus()
    console.keyboard.press("p")
    expect(row.locator("button[value=unpin]")).to_be_attached()
    expect(row).to_be_focused()
