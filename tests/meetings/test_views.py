"""HTTP: the pages and forms a person uses, with and without htmx."""

import csv
import io
import json
import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from live.models import Event
from meetings import services
from meetings.models import Contribution, Meeting, Participant
from tests import helpers
from tests.meetings.conftest import english_client, make_meeting, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_list_shows_live_and_upcoming_meetings_with_the_code_form(client, meeting, fiona):
    make_meeting(fiona, open_live=False, title="Atelier mobilités", starts_at=timezone.now() + timedelta(days=2),
                 ends_at=timezone.now() + timedelta(days=2, hours=2))
    page = client.get("/meetings/").content.decode()
    assert page.index("Budget participatif 2027") < page.index("Atelier mobilités")
    assert 'action="/meetings/join/"' in page


def test_detail_page_shows_place_agenda_and_calendar_link(client, meeting):
    page = client.get(f"/meetings/{meeting.pk}/").content.decode()
    assert "Agora, 20 rue de Stalingrad, Nanterre" in page
    assert "Propositions" in page
    assert f"/meetings/{meeting.pk}/calendar.ics" in page
    assert meeting.join_code in page


def test_ics_export(client, meeting):
    response = client.get(f"/meetings/{meeting.pk}/calendar.ics")
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "END:VEVENT\r\n" in text
    assert "SUMMARY:Budget participatif 2027" in text
    assert "LOCATION:Agora\\, 20 rue de Stalingrad\\, Nanterre" in text
    assert meeting.starts_at.astimezone(UTC).strftime("DTSTART:%Y%m%dT%H%M%SZ") in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_an_anonymous_person_joins_by_code_and_contributes(meeting):
    phone = english_client()
    response = phone.post("/meetings/join/", {"code": meeting.join_code.lower(), "nickname": "Gaston"})
    assert response.status_code == 302 and response["Location"] == f"/meetings/{meeting.pk}/live/"
    page = phone.get(f"/meetings/{meeting.pk}/live/").content.decode()
    assert "Gaston" in page and 'id="contribution-form"' in page
    response = phone.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Et les pistes cyclables ?",
                                                                      "kind": "question"}, **HTMX)
    assert response.status_code == 200
    assert "appear once a facilitator approves it" in response.content.decode()
    assert Contribution.objects.get().participant.nickname == "Gaston"


def test_wrong_code_says_so_and_writes_nothing(meeting):
    response = english_client().post("/meetings/join/", {"code": "QQQQQQ", "nickname": "Gaston"})
    assert response.status_code == 400
    assert "wrong or has expired" in response.content.decode()
    assert not Participant.objects.exists()


def test_a_refused_nickname_marks_the_nickname_not_the_code(meeting):
    """The right code with an empty or refused nickname: the error is tied to the nickname field (invalid, described
    by the error, so it gets the focus), not to the code field, which was right."""
    for nickname in ("", "   "):
        response = english_client().post("/meetings/join/", {"code": meeting.join_code, "nickname": nickname})
        assert response.status_code == 400
        code, = (e["attrs"] for e in helpers.elements(response.content.decode(), "input", id="join-code"))
        name, = (e["attrs"] for e in helpers.elements(response.content.decode(), "input", id="join-nickname"))
        assert name.get("aria-invalid") == "true" and name.get("aria-describedby") == "join-error", name
        assert "aria-invalid" not in code, code
    response = english_client().post("/meetings/join/", {"code": "QQQQQQ", "nickname": "Gaston"})
    code, = (e["attrs"] for e in helpers.elements(response.content.decode(), "input", id="join-code"))
    name, = (e["attrs"] for e in helpers.elements(response.content.decode(), "input", id="join-nickname"))
    assert code.get("aria-invalid") == "true" and code.get("aria-describedby") == "join-error"
    assert "aria-invalid" not in name


def test_the_qr_code_leads_to_the_prefilled_join_form(client, meeting):
    page = client.get(f"/meetings/join/?code={meeting.join_code}").content.decode()
    assert f'value="{meeting.join_code}"' in page


def test_the_qr_code_points_to_the_public_url_whatever_host_served_the_screen(meeting, fiona, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    console = signed_in(fiona)
    page = console.get(f"/meetings/{meeting.pk}/console/", HTTP_HOST="evil.example").content.decode()
    assert "localhost:8000/meetings/join/" in page and "evil.example/meetings/join" not in page
    # The push is rendered without a request: it no longer takes the host of the last page served.
    from meetings.rendering import screen_context

    pushed = screen_context(meeting)
    assert pushed["join_url"] == f"{settings.PUBLIC_URL}/meetings/join/?code={meeting.join_code}"
    assert pushed["join_url"].startswith("http://localhost:8000/")


def test_contributing_without_joining_is_refused(client, meeting):
    response = client.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Hello"}, **HTMX)
    assert "Join the meeting first" in response.content.decode()
    # in the form's error slot (what was typed stays in the form), as a refusal
    assert response.status_code == 403 and response["HX-Retarget"] == "#contribution-form-errors"
    assert not Contribution.objects.exists()


def test_contribution_text_is_escaped_on_the_page_and_in_the_push(meeting, fiona, alice_in):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    services.post_contribution(participant=alice_in, body='<script>alert(1)</script><img src=x onerror=alert(2)>')
    page = english_client().get(f"/meetings/{meeting.pk}/live/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    from live import streams

    for key, audience in ((meeting.stream_key, "public"), (meeting.screen_stream_key, "screen"),
                          (meeting.console_stream_key, "console")):
        event = Event.objects.filter(stream=key, kind="contribution.changed").last()
        html = json.loads(streams.pick(streams.frames(event), audience, "fr"))["html"]
        assert "<script>alert" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_the_screen_needs_the_secret_url_or_a_facilitator(meeting, fiona, alice):
    assert english_client().get(f"/meetings/{meeting.pk}/screen/{'x' * 43}/").status_code == 404
    assert signed_in(alice).get(f"/meetings/{meeting.pk}/screen/").status_code == 403
    assert signed_in(fiona).get(f"/meetings/{meeting.pk}/screen/").status_code == 200
    projector = english_client()
    response = projector.get(f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/")
    page = response.content.decode()
    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    assert meeting.join_code in page and "<svg" in page
    assert f'data-live-stream="meeting.{meeting.pk}.screen"' in page
    assert projector.session["meetings.screens"][str(meeting.pk)] == meeting.screen_token


def test_console_moderation_over_htmx_answers_204(meeting, fiona, alice_in):
    contribution = services.post_contribution(participant=alice_in, body="À approuver")
    client = signed_in(fiona)
    response = client.post(f"/meetings/{meeting.pk}/console/contributions/{contribution.pk}/", {"action": "approve"},
                           **HTMX)
    assert response.status_code == 204
    assert Contribution.objects.get(pk=contribution.pk).status == "approved"
    response = client.post(f"/meetings/{meeting.pk}/console/contributions/{contribution.pk}/", {"action": "nuke"},
                           **HTMX)
    assert response["HX-Retarget"] == "#flash" and "Unknown action" in response.content.decode()
    assert response.status_code == 400


def test_console_page_lists_the_queue_and_previews_the_screen(meeting, fiona, alice_in):
    services.post_contribution(participant=alice_in, body="En attente de modération")
    page = signed_in(fiona).get(f"/meetings/{meeting.pk}/console/").content.decode()
    assert "En attente de modération" in page
    assert 'data-shortcut="a"' in page and 'id="screen-preview"' in page
    assert f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/" in page


def test_exports_are_safe_for_spreadsheets(meeting, fiona, alice_in):
    services.post_contribution(participant=alice_in, body="=HYPERLINK(\"http://evil\")")
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Q", choices=["a", "b"])
    services.open_poll(actor=fiona, poll=poll)
    services.answer_poll(participant=alice_in, poll=poll, choices=[poll.choices.first().pk])
    client = signed_in(fiona)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/meetings/{meeting.pk}/export/contributions.csv")
                                           .content.decode("utf-8-sig"))))
    assert rows[0]["text"] == "'=HYPERLINK(\"http://evil\")" and rows[0]["author"] == "alice"
    polls = list(csv.DictReader(io.StringIO(client.get(f"/meetings/{meeting.pk}/export/polls.csv")
                                            .content.decode("utf-8-sig"))))
    assert [(r["choice"], r["count"]) for r in polls] == [("a", "1"), ("b", "0")]
    data = json.loads(client.get(f"/meetings/{meeting.pk}/export/meeting.json").content)
    assert data["contributions"][0]["text"].startswith("=HYPERLINK") and data["meeting"]["counts"]["polls"] == 1


def test_a_guest_who_signs_up_in_the_same_browser_keeps_their_contributions(meeting):
    phone = english_client()
    phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    phone.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Écrit avant mon inscription"})
    live = f"/meetings/{meeting.pk}/live/"
    response = phone.post(f"/accounts/signup/?next={live}", {"nickname": "gaston", "email": "gaston@example.org",
                                                              "password": "un-mot-de-passe-solide-42"})
    assert response.status_code == 302 and response["Location"] == live
    contribution = Contribution.objects.get()
    assert contribution.participant.user.nickname == "gaston"  # claimed as the account signed in
    page = phone.get(live).content.decode()
    assert "You take part as gaston." in page and "Create an account to keep" not in page


def test_a_guest_who_signs_in_elsewhere_first_keeps_their_contributions(meeting, alice):
    phone = english_client()
    phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    phone.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Écrit avant de me connecter"})
    phone.post("/accounts/login/", {"username": "alice", "password": helpers.PASSWORD})
    assert Contribution.objects.get().participant.user == alice


def test_a_guest_who_signed_in_through_the_admin_keeps_their_contributions_on_the_meeting_page(meeting, admin_user):
    phone = english_client()
    phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    phone.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Écrit avant de me connecter"})
    phone.post("/admin/login/", {"username": admin_user.username, "password": helpers.PASSWORD})
    page = phone.get(f"/meetings/{meeting.pk}/live/").content.decode()
    assert Contribution.objects.get().participant.user == admin_user
    assert f"You take part as {admin_user.nickname}." in page


def test_wrong_join_codes_are_throttled_but_the_right_one_gets_in(meeting, settings):
    settings.RATE_LIMITS = {"join_code": "5/60"}
    phone = english_client()
    for _ in range(5):
        assert phone.post("/meetings/join/", {"code": "QQQQQQ", "nickname": "Gaston"}).status_code == 400
    refused = phone.post("/meetings/join/", {"code": "QQQQQR", "nickname": "Gaston"})
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0 and 'value="Gaston"' in refused.content.decode()
    # Someone in the room mistyped five times: the code on the screen still lets the room in.
    response = phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    assert response.status_code == 302 and response["Location"] == f"/meetings/{meeting.pk}/live/"
    assert Participant.objects.get().nickname == "Gaston"


def test_join_codes_cannot_be_enumerated(meeting, settings):
    settings.RATE_LIMITS = {"join_ip": "8/60"}  # every attempt, right or wrong, per IP: bounds any enumeration
    phone = english_client()
    for i in range(8):
        phone.post("/meetings/join/", {"code": f"QQQQQ{i}", "nickname": "Gaston"})
    response = phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert not Participant.objects.exists()


def test_facilitators_create_meetings_participants_cannot(fiona, alice):
    data = {"title": "Conseil de quartier", "description": "", "kind": "hybrid", "place": "Agora",
            "online_url": "https://visio.example.org/conseil", "starts_at": "2026-12-10T18:00",
            "ends_at": "2026-12-10T20:00", "agenda": "Accueil | 10\nDébat | 60", "facilitator_names": "alice",
            "allow_anonymous": "on", "premoderation": "on", "capacity": "", "registration_code": ""}
    assert signed_in(alice).post("/meetings/new/", data).status_code == 403
    response = signed_in(fiona).post("/meetings/new/", data)
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/meetings/{meeting.pk}/"
    assert [i.title for i in meeting.agenda_items.all()] == ["Accueil", "Débat"]
    assert services.facilitators(meeting).filter(nickname="alice").exists()
    bad = signed_in(fiona).post("/meetings/new/", {**data, "kind": "online", "online_url": ""})
    assert bad.status_code == 400 and "online link" in bad.content.decode()


def test_minutes_of_two_lines_are_saved_with_their_line_break(meeting, fiona):
    # Refused with 400 "invisible or control characters" before live/text.py's one policy (issue 14).
    minutes = "Ouverture à 18 h.\nClôture à 20 h."
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/report/", {"report_minutes": minutes,
                                                                          "report_attendees": "12", "publish": "on"})
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.report_minutes == minutes


def test_an_attendee_count_past_what_the_column_holds_is_refused_and_nothing_is_saved(meeting, fiona):
    # Was a 500 (PostgreSQL "integer out of range") after the form accepted any whole number.
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/report/", {
        "report_minutes": "Compte rendu.", "report_attendees": "99999999999", "publish": "on"})
    assert response.status_code == 400
    assert "less than or equal to 2147483647" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.report_minutes == "" and meeting.report_attendees is None and meeting.report_published_at is None


def test_a_speaker_action_the_console_does_not_offer_is_refused_and_the_hand_stays_in_the_queue(meeting, fiona, alice_in):
    # Any action but "floor" used to take the person off the queue ("done"), with its event on every screen.
    hand = services.raise_hand(participant=alice_in)
    events = Event.objects.count()
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/console/speakers/{hand.pk}/", {"action": "flor"},
                                     **HTMX)
    assert response.status_code == 400 and "Unknown action." in response.content.decode()
    hand.refresh_from_db()
    assert hand.status == "waiting" and Event.objects.count() == events


def test_a_hand_action_other_than_raise_or_lower_is_refused_and_raises_no_hand(meeting, alice, alice_in):
    # Anything but "lower" used to raise the hand ("lowr" too), with its event on the console and the screen.
    events = Event.objects.count()
    response = signed_in(alice).post(f"/meetings/{meeting.pk}/live/hand/", {"action": "lowr"}, **HTMX)
    assert response.status_code == 400 and "Unknown action." in response.content.decode()
    assert not meeting.speaker_requests.exists() and Event.objects.count() == events


@pytest.mark.parametrize("value", ["abc", "0", "1.5"])
def test_an_agenda_item_that_is_no_id_is_not_found_and_the_current_item_stays(meeting, fiona, value):
    # Only "" ("No current item") clears it; a value that is no id used to clear it too, on every screen.
    item = meeting.agenda_items.first()
    services.set_current_item(actor=fiona, meeting=meeting, item=item)
    events = Event.objects.count()
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/console/agenda/", {"item": value}, **HTMX)
    assert response.status_code == 404
    meeting.refresh_from_db()
    assert meeting.current_item_id == item.pk and Event.objects.count() == events


def test_a_contribution_of_two_lines_is_posted_with_its_line_break(meeting, alice, alice_in):
    # Nothing was written before live/text.py's one policy (issue 14).
    body = "Plus d'arbres\net des bancs à l'ombre"
    response = signed_in(alice).post(f"/meetings/{meeting.pk}/live/contribute/", {"body": body, "kind": "idea"})
    assert response.status_code == 302
    assert list(Contribution.objects.values_list("body", flat=True)) == [body]


def test_registration_over_http(fiona, alice):
    meeting = make_meeting(fiona, open_live=False, registration_enabled=True, capacity=10)
    client = signed_in(alice)
    client.post(f"/meetings/{meeting.pk}/register/")
    page = client.get(f"/meetings/{meeting.pk}/").content.decode()
    assert "You are registered." in page and "1 person registered / 10" in page


def test_closing_report_is_published_on_the_meeting_page(meeting, fiona, alice_in):
    services.post_contribution(participant=alice_in, body="Une")
    signed_in(fiona).post(f"/meetings/{meeting.pk}/report/", {"report_minutes": "Nous avons parlé du parc.",
                                                               "report_attendees": "35", "publish": "on"})
    page = english_client().get(f"/meetings/{meeting.pk}/").content.decode()
    assert "Nous avons parlé du parc." in page and "35 attendees" in page and "1 contribution" in page


def test_answering_a_poll_over_htmx_shows_my_choice(meeting, fiona, guest_client, guest):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Q", choices=["a", "b"])
    services.open_poll(actor=fiona, poll=poll)
    b = poll.choices.last()
    response = guest_client.post(f"/meetings/{meeting.pk}/live/polls/{poll.pk}/answer/", {"choice": b.pk}, **HTMX)
    html = response.content.decode()
    assert "Your answer is saved." in html and f'value="{b.pk}" checked' in html
    services.close_poll(actor=fiona, poll=poll)
    response = guest_client.post(f"/meetings/{meeting.pk}/live/polls/{poll.pk}/answer/", {"choice": b.pk}, **HTMX)
    assert "This poll is closed." in response.content.decode()


def test_publishing_the_approved_contributions_as_a_debate(meeting, fiona, alice_in, guest):
    from debates.models import Debate

    client = signed_in(fiona)
    response = client.post(f"/meetings/{meeting.pk}/console/publish-debate/", follow=True)
    assert "no approved contribution to publish yet" in response.content.decode()
    assert not Debate.objects.exists()
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    first = services.post_contribution(participant=alice_in, body="Plus de bancs publics")
    services.post_contribution(participant=guest, body="Une fontaine")
    services.vote(participant=guest, contribution=first)
    hidden = services.post_contribution(participant=alice_in, body="Texte masqué par l'animatrice")
    services.hide_contribution(actor=fiona, contribution=hidden)
    response = client.post(f"/meetings/{meeting.pk}/console/publish-debate/")
    debate = Debate.objects.get()
    assert response.status_code == 302 and response["Location"] == debate.get_absolute_url()
    assert debate.description.index("Plus de bancs publics") < debate.description.index("Une fontaine")
    assert "masqué" not in debate.description
    assert Meeting.objects.get(pk=meeting.pk).debate_id == debate.pk
    client.post(f"/meetings/{meeting.pk}/console/publish-debate/")
    assert Debate.objects.count() == 1


def test_joining_again_from_the_same_browser_keeps_the_same_guest(meeting):
    phone = english_client()
    phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    phone.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston2"})
    assert list(Participant.objects.values_list("nickname", flat=True)) == ["Gaston"]


def test_the_projector_session_is_read_only(meeting, fiona, alice_in):
    projector = english_client()
    projector.get(f"/meetings/{meeting.pk}/screen/{meeting.screen_token}/")
    response = projector.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Depuis l'écran"}, **HTMX)
    assert "Join the meeting first" in response.content.decode()
    contribution = services.post_contribution(participant=alice_in, body="À modérer")
    response = projector.post(f"/meetings/{meeting.pk}/console/contributions/{contribution.pk}/",
                              {"action": "approve"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Contribution.objects.get(pk=contribution.pk).status == "pending"
    assert Contribution.objects.count() == 1


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_pushed_contribution_is_the_one_the_pages_show(meeting, fiona, alice_in, lang):
    """The phones' and the console's pushes of a new contribution render the same partials as their pages: the
    same HTML, in each language (the pages' forms carry their CSRF token and `next`)."""
    from django.utils import translation

    from live import streams

    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    c = services.post_contribution(participant=alice_in, body="Des bancs <b>à l'ombre</b> & des arbres")
    for key, audience, path, start in (
            (meeting.stream_key, "public", f"/meetings/{meeting.pk}/live/", f'<article id="contribution-{c.pk}"'),
            (meeting.console_stream_key, "console", f"/meetings/{meeting.pk}/console/", f'<article id="row-{c.pk}" ')):
        event = Event.objects.filter(stream=key, kind="contribution.changed").last()
        with translation.override(lang):
            pushed = json.loads(streams.pick(streams.frames(event), audience, lang))["html"]
        pushed = pushed[pushed.index(start):pushed.index("</article>", pushed.index(start))]
        client = signed_in(fiona)
        client.cookies["django_language"] = lang
        html = client.get(path).content.decode()
        shown = html[html.index(start):html.index("</article>", html.index(start))]
        shown = re.sub(r'<input type="hidden" name="(csrfmiddlewaretoken|next)" value="[^"]*">', "", shown)
        assert "&lt;b&gt;" in shown and shown == pushed, audience


@pytest.mark.parametrize(("duration", "message"), [
    ("²", "Line 2: the duration must be a number of minutes."),
    ("٣", "Line 2: the duration must be a number of minutes."),
    ("99999999999", "Line 2: the duration must be at most 1440 minutes."),
    ("1441", "Line 2: the duration must be at most 1440 minutes."),
    ("9" * 5000, "Line 2: the duration must be at most 1440 minutes."),
])
def test_an_agenda_duration_that_is_not_a_plain_number_of_minutes_is_refused(meeting, fiona, duration, message):
    """A superscript or non-Latin digit, or a duration past a day, gets the line's error on the edit form, never a
    500; the agenda stays as it was."""
    before = [(i.title, i.duration_minutes) for i in meeting.agenda_items.all()]
    data = {"title": meeting.title, "description": "", "kind": "in_person", "place": meeting.place, "online_url": "",
            "starts_at": "2026-12-10T18:00", "ends_at": "2026-12-10T20:00",
            "agenda": f"Bienvenue | 5\nAccueil | {duration}", "facilitator_names": "", "premoderation": "on",
            "capacity": "", "registration_code": ""}
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/edit/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert [(i.title, i.duration_minutes) for i in meeting.agenda_items.all()] == before
    data["agenda"] = "Bienvenue | 5\nAccueil | 1440"
    assert signed_in(fiona).post(f"/meetings/{meeting.pk}/edit/", data).status_code == 302
    assert [(i.title, i.duration_minutes) for i in meeting.agenda_items.all()] == [("Bienvenue", 5), ("Accueil", 1440)]


def test_a_contribution_refused_without_javascript_comes_back_in_its_form(meeting, fiona, alice_in, alice):
    """Without JavaScript, a contribution refused by the slow mode (or any refusal) is not lost: the phone page comes
    back with the reason next to the box, the text in it and the same client id (sent again, it is one
    contribution), with the refusal's status."""
    services.update_session_settings(actor=fiona, meeting=meeting, slow_mode_seconds=60)
    phone = signed_in(alice)
    phone.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Première", "client_id": "c-1"})
    response = phone.post(f"/meetings/{meeting.pk}/live/contribute/",
                          {"body": "Une seconde question, longue à écrire", "kind": "idea", "client_id": "c-2"})
    assert response.status_code == 400
    page = response.content.decode()
    form = page[page.index('id="contribution-form"'):page.index("</form>", page.index('id="contribution-form"'))]
    assert "Une seconde question, longue à écrire</textarea>" in form
    assert 'value="c-2"' in form
    assert re.search(r'value="idea"\s+checked', form)
    errors = form[form.index('id="contribution-form-errors"'):]
    assert "Slow mode is on" in errors
    assert Contribution.objects.filter(participant=alice_in).count() == 1
