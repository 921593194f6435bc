import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from live import ratelimit
from live.models import Event
from meetings import services
from meetings.models import (
    JOIN_CODE_ALPHABET,
    Contribution,
    ContributionVote,
    Meeting,
    Participant,
    Poll,
    SpeakerRequest,
)
from tests import helpers
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


def kinds(stream):
    return list(Event.objects.filter(stream=stream).order_by("seq").values_list("kind", flat=True))


# --- the session and its join code ---------------------------------------------------------------------------------

def test_open_session_gives_a_six_character_code_without_ambiguous_letters(meeting):
    assert re.fullmatch(f"[{JOIN_CODE_ALPHABET}]{{6}}", meeting.join_code)
    for ambiguous in "0O1IL":
        assert ambiguous not in JOIN_CODE_ALPHABET
    assert meeting.live_open


def test_codes_are_case_and_space_insensitive(meeting):
    code = meeting.join_code
    assert services.meeting_for_code(f" {code[:3].lower()} {code[3:]} ").pk == meeting.pk


def test_a_closed_session_expires_its_code_and_refuses_contributions(meeting, fiona, alice_in):
    code = meeting.join_code
    services.close_session(actor=fiona, meeting=meeting)
    with pytest.raises(ValidationError, match="wrong or has expired"):
        services.meeting_for_code(code)
    with pytest.raises(ValidationError, match="closed"):
        services.post_contribution(participant=alice_in, body="Encore là ?")
    assert not Contribution.objects.exists()


def test_wrong_code_is_refused(meeting):
    with pytest.raises(ValidationError, match="wrong or has expired"):
        services.meeting_for_code("ZZZZZZ" if meeting.join_code != "ZZZZZZ" else "YYYYYY")


def test_closing_closes_open_polls_and_empties_the_speaker_queue(meeting, fiona, alice_in):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Q ?", choices=["Oui", "Non"])
    services.open_poll(actor=fiona, poll=poll)
    services.raise_hand(participant=alice_in)
    services.close_session(actor=fiona, meeting=meeting)
    assert Poll.objects.get(pk=poll.pk).status == "closed"
    assert not SpeakerRequest.objects.exclude(status="done").exists()


def test_closing_the_session_closes_each_open_poll_on_every_phone(meeting, fiona, alice_in):
    """The phones follow the public stream: each poll the closing closed gets its own poll.changed, as close_poll
    emits it, so its card says closed and its answer form hides (kept on the phone for a reopening)."""
    import json

    from live import streams

    poll = services.create_poll(actor=fiona, meeting=meeting, question="Q ?", choices=["Oui", "Non"])
    services.open_poll(actor=fiona, poll=poll)
    answer_url = f"/meetings/{meeting.pk}/live/polls/{poll.pk}/answer/"
    changes = Event.objects.filter(stream=meeting.stream_key, kind="poll.changed", data__poll=poll.pk)
    opened = changes.get()
    assert answer_url in json.loads(streams.pick(streams.frames(opened), "public", "en"))["html"]
    services.close_session(actor=fiona, meeting=meeting)
    closed = changes.exclude(pk=opened.pk).get()
    card = json.loads(streams.pick(streams.frames(closed), "public", "en"))["html"]
    assert f'<h3 id="poll-{poll.pk}-head" class="poll-question is-closed" hx-swap-oob="true">' in card
    assert answer_url not in card


# --- joining -------------------------------------------------------------------------------------------------------

def test_signed_in_users_join_once(meeting, alice):
    first = services.join(meeting=meeting, user=alice)
    assert services.join(meeting=meeting, user=alice).pk == first.pk
    assert Participant.objects.filter(meeting=meeting, user=alice).count() == 1


def test_anonymous_join_needs_permission_and_a_valid_nickname(meeting, fiona):
    with pytest.raises(ValidationError):
        services.join(meeting=meeting, nickname="a<b>", ip="1.2.3.4")
    with pytest.raises(ValidationError):
        services.join(meeting=meeting, nickname="evil\u202egnp", ip="1.2.3.4")
    services.update_session_settings(actor=fiona, meeting=meeting, allow_anonymous=False)
    with pytest.raises(PermissionDenied, match="signed-in"):
        services.join(meeting=Meeting.objects.get(pk=meeting.pk), nickname="Gaston", ip="1.2.3.4")
    assert not Participant.objects.exists()


def test_anonymous_joins_are_rate_limited_per_ip(meeting, settings):
    settings.RATE_LIMITS = {"join_ip": "3/60"}
    for i in range(3):
        services.join(meeting=meeting, nickname=f"Guest{i}", ip="10.9.9.9")
    with pytest.raises(ratelimit.RateLimited):
        services.join(meeting=meeting, nickname="Guest9", ip="10.9.9.9")
    services.join(meeting=meeting, nickname="Other", ip="10.9.9.10")  # another IP is not affected
    assert Participant.objects.count() == 4


def test_a_whole_room_behind_one_wifi_can_join(meeting):
    for i in range(120):
        services.join(meeting=meeting, nickname=f"Voisin{i}", ip="192.0.2.1")
    assert Participant.objects.count() == 120


def test_joining_is_refused_when_the_session_is_closed(fiona, alice):
    meeting = make_meeting(fiona, open_live=False)
    with pytest.raises(ValidationError, match="closed"):
        services.join(meeting=meeting, user=alice)


def test_a_guest_who_signs_up_keeps_their_contributions(meeting, guest, fiona):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    contribution = services.post_contribution(participant=guest, body="Une idée de guest", kind="idea")
    newcomer = helpers.make_user("gaston")
    mine = services.claim_participant(participant=guest, user=newcomer)
    contribution.refresh_from_db()
    assert contribution.participant.user == newcomer
    assert mine.user == newcomer


def test_claiming_merges_into_an_existing_participation(meeting, guest, alice_in, fiona):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    contribution = services.post_contribution(participant=guest, body="Écrit en invité")
    mine = services.claim_participant(participant=guest, user=alice_in.user)
    assert mine.pk == alice_in.pk
    assert Contribution.objects.get(pk=contribution.pk).participant_id == alice_in.pk
    assert not Participant.objects.filter(pk=guest.pk).exists()


# --- contributions -------------------------------------------------------------------------------------------------

def test_under_premoderation_a_contribution_waits_in_the_console_only(meeting, alice_in):
    contribution = services.post_contribution(participant=alice_in, body="Quand commencent les travaux ?")
    assert contribution.status == "pending"
    assert kinds(meeting.console_stream_key)[-1] == "contribution.changed"
    assert "contribution.changed" not in kinds(meeting.stream_key)
    assert "contribution.changed" not in kinds(meeting.screen_stream_key)


@pytest.mark.needs_postgres
def test_a_contribution_is_written_with_its_events_in_one_statement(meeting, fiona, alice_in):
    """Its id taken with the slow mode's stamp, the contribution's INSERT rides with its three events' statement
    (#17): the stamp (after the account's share lock, in the same round trip) and that one statement; a retry with
    the same client id then finds it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    meeting = services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    services.post_contribution(participant=alice_in, body="Pour chauffer", meeting=meeting)
    with CaptureQueriesContext(connection) as queries:
        contribution = services.post_contribution(participant=alice_in, body="Des fontaines", client_id="fontaines",
                                                  meeting=meeting)
    sent = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in q["sql"]]
    assert len(sent) == 3, sent
    assert sent[-1].startswith('WITH riding0 AS (INSERT INTO "meetings_contribution"')
    stored = Contribution.objects.get(pk=contribution.pk)
    assert (stored.body, stored.client_id, stored.is_visible) == ("Des fontaines", "fontaines", True)
    for key in (meeting.stream_key, meeting.screen_stream_key, meeting.console_stream_key):
        assert Event.objects.filter(stream=key).latest("seq").data["contribution"] == contribution.pk
    again = services.post_contribution(participant=alice_in, body="Des fontaines", client_id="fontaines",
                                       meeting=meeting)
    assert again.pk == contribution.pk and Contribution.objects.filter(client_id="fontaines").count() == 1


def test_without_premoderation_it_shows_everywhere_at_once(meeting, fiona, alice_in):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    contribution = services.post_contribution(participant=alice_in, body="Plus d'arbres", kind="idea")
    assert contribution.status == "approved" and contribution.is_visible
    for key in (meeting.stream_key, meeting.screen_stream_key, meeting.console_stream_key):
        assert kinds(key)[-1] == "contribution.changed"


@pytest.mark.parametrize("body,message", [
    ("", "required"),
    ("x" * 281, "At most 280"),
    ("nul\x00byte", "invisible or control"),
])
def test_bad_contributions_are_refused_with_a_clear_message(meeting, alice_in, body, message):
    with pytest.raises(ValidationError, match=message):
        services.post_contribution(participant=alice_in, body=body)
    assert not Contribution.objects.exists()


def test_280_characters_and_emoji_are_fine(meeting, alice_in):
    body = "é🌳" * 140
    assert services.post_contribution(participant=alice_in, body=body).body == body


def test_the_length_limit_is_a_setting(meeting, alice_in, settings):
    settings.MEETINGS_CONTRIBUTION_MAX_LENGTH = 10
    with pytest.raises(ValidationError, match="At most 10"):
        services.post_contribution(participant=alice_in, body="onze chars!")


def test_slow_mode_spaces_contributions(meeting, fiona, alice_in):
    services.update_session_settings(actor=fiona, meeting=meeting, slow_mode_seconds=60)
    services.post_contribution(participant=alice_in, body="Première")
    with pytest.raises(ValidationError, match="Slow mode"):
        services.post_contribution(participant=alice_in, body="Deuxième")
    Participant.objects.filter(pk=alice_in.pk).update(last_contribution_at=timezone.now() - timedelta(seconds=61))
    services.post_contribution(participant=alice_in, body="Troisième")
    assert Contribution.objects.count() == 2


def test_contributions_are_rate_limited_per_participant(meeting, alice_in, guest, settings):
    settings.RATE_LIMITS = {"contribution": "2/60"}
    services.post_contribution(participant=alice_in, body="1")
    services.post_contribution(participant=alice_in, body="2")
    with pytest.raises(ratelimit.RateLimited):
        services.post_contribution(participant=alice_in, body="3")
    services.post_contribution(participant=guest, body="guest 1")
    assert Contribution.objects.count() == 3


def test_a_refused_contribution_spends_none_of_the_rate_limit(meeting, fiona, alice_in, settings):
    settings.RATE_LIMITS = {"contribution": "2/60"}
    other = make_meeting(fiona, open_live=False, title="Autre")
    for bad in ({"body": "   "}, {"body": "x" * (settings.MEETINGS_CONTRIBUTION_MAX_LENGTH + 1)},
                {"body": "Une idée", "kind": "rumour"}, {"body": "?", "agenda_item": other.agenda_items.first()}):
        with pytest.raises(ValidationError):
            services.post_contribution(participant=alice_in, **bad)
    services.post_contribution(participant=alice_in, body="1")
    services.post_contribution(participant=alice_in, body="2")
    with pytest.raises(ratelimit.RateLimited):
        services.post_contribution(participant=alice_in, body="3")
    assert Contribution.objects.count() == 2


def test_agenda_item_of_another_meeting_is_refused(meeting, fiona, alice_in):
    other = make_meeting(fiona, open_live=False, title="Autre")
    with pytest.raises(ValidationError):
        services.post_contribution(participant=alice_in, body="?", agenda_item=other.agenda_items.first())


def test_one_pinned_contribution_at_a_time(meeting, fiona, alice_in, guest):
    first = services.post_contribution(participant=alice_in, body="A")
    second = services.post_contribution(participant=guest, body="B")
    services.pin_contribution(actor=fiona, contribution=first)
    services.pin_contribution(actor=fiona, contribution=second)
    assert list(Contribution.objects.filter(pinned=True)) == [second]
    assert Contribution.objects.get(pk=first.pk).status == "approved"  # pinning approves


def test_hidden_or_rejected_contributions_leave_the_screen(meeting, fiona, alice_in):
    c = services.post_contribution(participant=alice_in, body="A")
    services.pin_contribution(actor=fiona, contribution=c)
    services.hide_contribution(actor=fiona, contribution=c, reason="hors sujet")
    c.refresh_from_db()
    assert not c.is_visible and not c.pinned
    with pytest.raises(ValidationError):
        services.pin_contribution(actor=fiona, contribution=c)
    services.unhide_contribution(actor=fiona, contribution=c)
    services.reject_contribution(actor=fiona, contribution=c)
    assert not Contribution.objects.get(pk=c.pk).is_visible


def test_answered(meeting, fiona, alice_in):
    c = services.post_contribution(participant=alice_in, body="A")
    services.mark_answered(actor=fiona, contribution=c)
    assert Contribution.objects.get(pk=c.pk).answered_at is not None


# --- votes -----------------------------------------------------------------------------------------------------------

def test_one_vote_each_and_not_for_oneself(meeting, fiona, alice_in, guest):
    c = services.post_contribution(participant=alice_in, body="A")
    with pytest.raises(ValidationError, match="not visible"):
        services.vote(participant=guest, contribution=c)
    services.approve_contribution(actor=fiona, contribution=c)
    c.refresh_from_db()
    assert services.vote(participant=guest, contribution=c).vote_count == 1
    with pytest.raises(ValidationError, match="already"):
        services.vote(participant=guest, contribution=c)
    with pytest.raises(ValidationError, match="own"):
        services.vote(participant=alice_in, contribution=c)
    assert Contribution.objects.get(pk=c.pk).vote_count == 1


def test_a_participant_of_another_meeting_cannot_vote(meeting, fiona, alice_in, bob):
    other = make_meeting(fiona, title="Autre")
    bob_elsewhere = services.join(meeting=other, user=bob)
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    c = services.post_contribution(participant=alice_in, body="A")
    with pytest.raises(PermissionDenied):
        services.vote(participant=bob_elsewhere, contribution=c)


# --- polls ---------------------------------------------------------------------------------------------------------

def test_poll_lifecycle_single_choice(meeting, fiona, alice_in, guest):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Le parc ?", choices=["Oui", "Non", ""])
    yes, no = poll.choices.all()
    with pytest.raises(ValidationError, match="closed"):
        services.answer_poll(participant=alice_in, poll=poll, choices=[yes.pk])
    services.open_poll(actor=fiona, poll=poll)
    services.answer_poll(participant=alice_in, poll=poll, choices=[yes.pk])
    services.answer_poll(participant=guest, poll=poll, choices=[yes.pk])
    with pytest.raises(ValidationError, match="only one"):
        services.answer_poll(participant=alice_in, poll=poll, choices=[yes.pk, no.pk])
    services.answer_poll(participant=alice_in, poll=poll, choices=[no.pk])  # changed while open
    assert [(r["choice"].label, r["count"], r["percent"]) for r in poll.results()] == [("Oui", 1, 50), ("Non", 1, 50)]
    services.close_poll(actor=fiona, poll=poll)
    with pytest.raises(ValidationError, match="closed"):
        services.answer_poll(participant=guest, poll=poll, choices=[no.pk])
    assert poll.answers.count() == 2


def test_multiple_choice(meeting, fiona, alice_in):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Quels jours ?", kind="multiple",
                                choices=["Lundi", "Mardi", "Jeudi"])
    services.open_poll(actor=fiona, poll=poll)
    a, b, c = poll.choices.all()
    services.answer_poll(participant=alice_in, poll=poll, choices=[a.pk, c.pk])
    assert services.own_answers(alice_in, poll) == {a.pk, c.pk}
    assert [r["percent"] for r in poll.results()] == [100, 0, 100]


@pytest.mark.parametrize("choices,message", [(["Seul"], "at least two"), (["Oui", "oui"], "same"),
                                             ([str(i) for i in range(11)], "At most 10")])
def test_bad_polls_are_refused(meeting, fiona, choices, message):
    with pytest.raises(ValidationError, match=message):
        services.create_poll(actor=fiona, meeting=meeting, question="?", choices=choices)
    assert not Poll.objects.exists()


def test_a_choice_of_another_poll_is_refused(meeting, fiona, alice_in):
    p1 = services.create_poll(actor=fiona, meeting=meeting, question="1", choices=["a", "b"])
    p2 = services.create_poll(actor=fiona, meeting=meeting, question="2", choices=["c", "d"])
    services.open_poll(actor=fiona, poll=p1)
    with pytest.raises(ValidationError):
        services.answer_poll(participant=alice_in, poll=p1, choices=[p2.choices.first().pk])


# --- speaker queue and agenda --------------------------------------------------------------------------------------

def test_speaker_queue(meeting, fiona, alice_in, guest):
    r1 = services.raise_hand(participant=alice_in)
    with pytest.raises(ValidationError, match="already"):
        services.raise_hand(participant=alice_in)
    r2 = services.raise_hand(participant=guest)
    assert [r.pk for r in services.speaker_queue(meeting)] == [r1.pk, r2.pk]
    services.give_floor(actor=fiona, request=r2)
    assert [r.pk for r in services.speaker_queue(meeting)] == [r2.pk, r1.pk]
    services.give_floor(actor=fiona, request=r1)
    assert [r.pk for r in services.speaker_queue(meeting)] == [r1.pk]  # the previous speaker is done
    services.clear_speakers(actor=fiona, meeting=meeting)
    assert services.speaker_queue(meeting) == []
    services.raise_hand(participant=guest)
    services.lower_hand(participant=guest)
    assert services.speaker_queue(meeting) == []


def test_current_agenda_item(meeting, fiona):
    item = meeting.agenda_items.last()
    services.set_current_item(actor=fiona, meeting=meeting, item=item)
    assert Meeting.objects.get(pk=meeting.pk).current_item == item
    for key in (meeting.stream_key, meeting.screen_stream_key, meeting.console_stream_key):
        assert kinds(key)[-1] == "agenda.changed"


# --- meetings, registration, report ----------------------------------------------------------------------------------

def test_meeting_needs_a_place_or_link_and_a_sane_time(fiona):
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.create_meeting(actor=fiona, title="X", kind="in_person", place="", starts_at=now, ends_at=now)
    with pytest.raises(ValidationError):
        services.create_meeting(actor=fiona, title="X", kind="online", starts_at=now, ends_at=now)
    with pytest.raises(ValidationError):
        services.create_meeting(actor=fiona, title="X", kind="in_person", place="Agora", starts_at=now,
                                ends_at=now - timedelta(hours=1))
    assert not Meeting.objects.exists()


def test_agenda_parsing_and_editing_keeps_items(meeting, fiona):
    first = meeting.agenda_items.first()
    services.update_meeting(actor=fiona, meeting=meeting, agenda=services.parse_agenda("Bienvenue | 5\nVote\n"))
    items = list(meeting.agenda_items.all())
    assert [(i.title, i.duration_minutes) for i in items] == [("Bienvenue", 5), ("Vote", 0)]
    assert items[0].pk == first.pk
    with pytest.raises(ValidationError, match="number of minutes"):
        services.parse_agenda("Titre | dix")


def test_registration_with_capacity_and_code(fiona, alice, bob, carol):
    meeting = make_meeting(fiona, open_live=False, registration_enabled=True, capacity=2, registration_code="AGORA")
    with pytest.raises(ValidationError, match="Wrong registration code"):
        services.register(user=alice, meeting=meeting, code="nope")
    services.register(user=alice, meeting=meeting, code="agora")
    with pytest.raises(ValidationError, match="already"):
        services.register(user=alice, meeting=meeting, code="AGORA")
    services.register(user=bob, meeting=meeting, code="AGORA")
    with pytest.raises(ValidationError, match="full"):
        services.register(user=carol, meeting=meeting, code="AGORA")
    services.unregister(user=bob, meeting=meeting)
    services.register(user=carol, meeting=meeting, code="AGORA")
    assert meeting.registrations.count() == 2


def test_wrong_registration_codes_are_throttled_per_person(fiona, alice, bob, settings):
    settings.RATE_LIMITS = {"registration_code": "3/3600"}
    meeting = make_meeting(fiona, open_live=False, registration_enabled=True, registration_code="AGORA")
    for guess in ("AAAA", "BBBB", "CCCC"):
        with pytest.raises(ValidationError, match="Wrong registration code"):
            services.register(user=alice, meeting=meeting, code=guess)
    with pytest.raises(ratelimit.RateLimited):  # past the quota no code is checked, the right one included
        services.register(user=alice, meeting=meeting, code="AGORA")
    services.register(user=bob, meeting=meeting, code="AGORA")  # nobody else is locked out
    assert list(meeting.registrations.values_list("user__nickname", flat=True)) == ["bob"]


def test_closing_report_counts(meeting, fiona, alice_in, guest):
    services.post_contribution(participant=alice_in, body="A")
    services.post_contribution(participant=guest, body="B", kind="idea")
    meeting = services.save_report(actor=fiona, meeting=meeting, minutes="Compte rendu", attendees=40, publish=True)
    assert meeting.report_published
    counts = services.report_counts(meeting)
    assert counts["contributions"] == 2 and counts["participants"] == 2 and counts["ideas"] == 1


def test_home_page_lists_live_then_upcoming_then_past(fiona):
    now = timezone.now()
    past = make_meeting(fiona, open_live=False, title="Passée", starts_at=now - timedelta(days=3),
                        ends_at=now - timedelta(days=3, hours=-2))
    later = make_meeting(fiona, open_live=False, title="Plus tard", starts_at=now + timedelta(days=9),
                         ends_at=now + timedelta(days=9, hours=2))
    soon = make_meeting(fiona, open_live=False, title="Bientôt", starts_at=now + timedelta(days=1),
                        ends_at=now + timedelta(days=1, hours=2))
    live = make_meeting(fiona, title="En direct")
    assert list(Meeting.objects.home_page()) == [live, soon, later, past]


def test_a_retried_post_with_the_same_client_id_makes_one_contribution(meeting, alice_in, guest):
    first = services.post_contribution(participant=alice_in, body="Une fois", client_id="abc123")
    again = services.post_contribution(participant=alice_in, body="Une fois", client_id="abc123")
    assert again.pk == first.pk
    services.post_contribution(participant=guest, body="Autre personne, même id", client_id="abc123")
    assert Contribution.objects.count() == 2
    assert kinds(meeting.console_stream_key).count("contribution.changed") == 2


def test_claiming_does_not_count_a_double_vote_twice(meeting, fiona, guest, alice_in, bob):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    bobs = services.join(meeting=meeting, user=bob)
    c = services.post_contribution(participant=bobs, body="Soutenue deux fois par la même personne")
    services.vote(participant=guest, contribution=c)
    services.vote(participant=alice_in, contribution=c)
    services.claim_participant(participant=guest, user=alice_in.user)
    assert Contribution.objects.get(pk=c.pk).vote_count == 1


def test_claiming_drops_a_guest_support_that_became_a_self_support(meeting, fiona, guest, alice_in, bob):
    """Gaston (a guest) supported alice's contribution, alice supported Gaston's; then Gaston signs in as alice in
    the same browser: one person may not support their own contribution, so both +1 go and the counts show it."""
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    bobs = services.join(meeting=meeting, user=bob)
    hers = services.post_contribution(participant=alice_in, body="Écrite par alice")
    his = services.post_contribution(participant=guest, body="Écrite par Gaston")
    services.vote(participant=guest, contribution=hers)
    services.vote(participant=bobs, contribution=hers)
    services.vote(participant=alice_in, contribution=his)
    before = Event.objects.filter(stream=meeting.stream_key, kind="contribution.changed").count()
    services.claim_participant(participant=guest, user=alice_in.user)
    assert Contribution.objects.get(pk=hers.pk).vote_count == 1  # bob's only
    assert Contribution.objects.get(pk=his.pk).vote_count == 0
    assert not ContributionVote.objects.filter(participant=alice_in).exists()
    changed = Event.objects.filter(stream=meeting.stream_key, kind="contribution.changed").order_by("seq")[before:]
    assert {e.data["contribution"] for e in changed} == {hers.pk, his.pk}


def test_the_phones_hear_the_session_open_or_close_only_when_it_opens_or_closes(meeting, fiona):
    """The phones' polite announcer says "The live session is open/closed." when it opens or closes, not again at
    every other change of the session or the meeting (pre-moderation, slow mode, an edit of its title)."""
    import json

    from live import streams

    def announced():
        event = Event.objects.filter(stream=meeting.stream_key).order_by("-seq").first()
        html = json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]
        match = re.search(r'<div id="live-announcer" hx-swap-oob="innerHTML">(.*?)</div>', html)
        return match.group(1) if match else None

    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    assert announced() is None
    services.update_session_settings(actor=fiona, meeting=meeting, slow_mode_seconds=30)
    assert announced() is None
    services.update_meeting(actor=fiona, meeting=meeting, title="Budget participatif 2027 (suite)")
    assert announced() is None
    services.close_session(actor=fiona, meeting=meeting)
    assert announced() == "The live session is closed."
    services.open_session(actor=fiona, meeting=meeting)
    assert announced() == "The live session is open."
