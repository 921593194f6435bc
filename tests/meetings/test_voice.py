"""The room's voice (#20): open-text questions as word clouds, scale questions, reactions."""

import json
import re
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from live import ratelimit, streams
from live.models import Event
from meetings import frames, reactions, rendering, services, words
from meetings.models import Poll, ReactionCount, WordEntry, WordRule
from tests import helpers
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def last_html(stream, audience, lang="en"):
    """What the pages following `stream` as `audience` received for its latest event."""
    event = Event.objects.filter(stream=stream).order_by("-seq").first()
    frame = streams.pick(streams.frames(event), audience, lang)
    return json.loads(frame).get("html", "") if frame else ""


def word_poll(meeting, fiona, **kw):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="En un mot, le quartier idéal ?", kind="words",
                                **kw)
    return services.open_poll(actor=fiona, poll=poll)


def cloud_of(poll):
    return [(w.text, w.count) for w in rendering.word_cloud(poll)["words"]]


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


@pytest.fixture
def room(open_meeting, alice, bob):
    """Three phones in a meeting without pre-moderation: alice and bob signed in, a guest."""
    return [services.join(meeting=open_meeting, user=alice), services.join(meeting=open_meeting, user=bob),
            services.join(meeting=open_meeting, nickname="Gaston", ip="10.0.0.7")]


# --- normalisation and stop-words (pure) ------------------------------------------------------------------------

def test_case_accents_punctuation_and_spaces_make_one_word():
    assert {words.key(t) for t in ["Équité", "equite", "équité !", "  ÉQUITÉ  ", "« équité »", "équité..."]} == \
        {"equite"}
    assert words.tidy("  vivre   ensemble !! ") == "vivre ensemble"
    assert words.tidy("l'écoute") == "l'écoute"  # inner punctuation stays
    assert words.key("Vélo") != words.key("Vélos")  # no stemming: different words stay different


def test_french_and_english_stop_words_are_dropped_but_expressions_kept_whole():
    visible, _hidden = words.tally([(words.key(t), t) for t in ["le", "The", "de la", "et", "la mer", "Mer"]])
    assert [(t, c) for _k, t, c in visible] == [("la mer", 1), ("Mer", 1)]
    visible, _hidden = words.tally([("velo", "vélo"), ("parc", "parc")], stop=frozenset({"velo"}))
    assert [t for _k, t, _c in visible] == ["parc"]


def test_the_most_frequent_spelling_is_shown_most_frequent_first_and_sized():
    entries = [(words.key(t), t) for t in ["équité", "Équité", "équité", "EQUITE", "parc", "Parc", "vélo"]]
    cloud, _hidden = words.cloud(entries, limit=50)
    assert [(w.text, w.count) for w in cloud] == [("équité", 4), ("parc", 2), ("vélo", 1)]
    assert [w.size for w in cloud] == [6, 3, 1]
    cloud, _hidden = words.cloud(entries, limit=2)
    assert [w.text for w in cloud] == ["équité", "parc"]


# --- answering ---------------------------------------------------------------------------------------------------

def test_phones_answer_with_up_to_three_entries_and_edit_them_until_close(open_meeting, fiona, room):
    poll = word_poll(open_meeting, fiona)
    alice, bob, guest = room
    services.answer_words(participant=alice, poll=poll, texts=["Équité", "vélo", ""])
    services.answer_words(participant=bob, poll=poll, texts=["equite"])
    services.answer_words(participant=guest, poll=poll, texts=["équité !", "Parc"])
    assert cloud_of(poll) == [("Équité", 3), ("Parc", 1), ("vélo", 1)]
    services.answer_words(participant=alice, poll=poll, texts=["jardins"])  # edited: her earlier words are gone
    assert cloud_of(poll) == [("equite", 2), ("jardins", 1), ("Parc", 1)]  # a tie: the first spelling typed
    assert services.own_word_entries(alice, poll) == ["jardins"]
    services.close_poll(actor=fiona, poll=poll)
    with pytest.raises(ValidationError, match="closed"):
        services.answer_words(participant=alice, poll=poll, texts=["trop tard"])
    assert services.own_word_entries(alice, poll) == ["jardins"]


@pytest.mark.parametrize(("texts", "message"), [
    ([], "Write at least one word."),
    (["", "  "], "Write at least one word."),
    (["a", "b", "c", "d"], "At most 3 answers."),
    (["x" * 41], "At most 40 characters"),
    (["un deux trois quatre cinq"], "at most 4 words"),
    (["bon\x07jour"], "invisible or control characters"),
    (["vélo", "Vélo !"], "same word"),
    (["?!"], "not only punctuation"),
])
def test_bad_answers_get_a_clear_error_and_write_nothing(open_meeting, fiona, room, texts, message):
    poll = word_poll(open_meeting, fiona)
    services.answer_words(participant=room[0], poll=poll, texts=["avant"])
    with pytest.raises(ValidationError) as refused:
        services.answer_words(participant=room[0], poll=poll, texts=texts)
    assert message in " ".join(refused.value.messages)
    assert list(refused.value.message_dict) == ["word"]  # the answer form's field
    assert refused.value.messages[0]
    assert services.own_word_entries(room[0], poll) == ["avant"]


@pytest.mark.parametrize("typed", ["ﬃ" * 40, "ﷺ" * 6])
def test_an_answer_that_spells_out_longer_than_a_stored_word_is_refused(open_meeting, fiona, room, typed):
    """Within the 40 characters typed, but a ligature folds into several letters ("ﬃ" is "ffi", "ﷺ" 18 letters):
    longer than a stored word. The phone and the console get a clear error, nothing is written, never a 500."""
    poll = word_poll(open_meeting, fiona)
    phone = signed_in(room[0].user)
    refused = phone.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/", {"word": [typed]}, **HTMX)
    assert refused.status_code == 400 and "This word is too long." in refused.content.decode()
    assert not WordEntry.objects.exists()
    console = signed_in(fiona)
    for action in ("hide", "stop", "unhide", "unmerge", "unstop"):
        refused = console.post(f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/words/",
                               {"action": action, "word": typed}, **HTMX)
        assert refused.status_code == 400 and "This word is too long." in refused.content.decode()
    refused = console.post(f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/words/",
                           {"action": "merge", "word": "vélo", "into": typed}, **HTMX)
    assert refused.status_code == 400 and "This word is too long." in refused.content.decode()
    assert not WordRule.objects.exists()


def test_the_limits_are_settings(open_meeting, fiona, room, settings):
    settings.MEETINGS_WORDCLOUD_ENTRIES = 1
    settings.MEETINGS_WORDCLOUD_MAX_WORDS = 1
    poll = word_poll(open_meeting, fiona)
    with pytest.raises(ValidationError, match="At most 1 answers"):
        services.answer_words(participant=room[0], poll=poll, texts=["a", "b"])
    services.answer_words(participant=room[0], poll=poll, texts=["parc"])
    services.answer_words(participant=room[1], poll=poll, texts=["vélo"])
    services.answer_words(participant=room[2], poll=poll, texts=["vélo"])
    assert cloud_of(poll) == [("vélo", 2)]


def test_a_guest_of_another_meeting_or_an_outsider_cannot_answer(open_meeting, fiona, room):
    poll = word_poll(open_meeting, fiona)
    other = make_meeting(fiona, title="Autre réunion")
    stranger = services.join(meeting=other, nickname="Ninon", ip="10.0.0.8")
    with pytest.raises(PermissionDenied, match="not a participant of this meeting"):
        services.answer_words(participant=stranger, poll=poll, texts=["intrus"])
    with pytest.raises(PermissionDenied, match="Join the meeting first"):
        services.answer_words(participant=None, poll=poll, texts=["intrus"])
    with pytest.raises(ValidationError, match="words, not choices"):
        services.answer_poll(participant=room[0], poll=poll, choices=[])
    assert not WordEntry.objects.exists()


# --- moderation ----------------------------------------------------------------------------------------------------

def test_under_premoderation_entries_wait_in_the_console(meeting, fiona, alice_in, guest):
    poll = word_poll(meeting, fiona)
    services.answer_words(participant=alice_in, poll=poll, texts=["Équité", "ordure"])
    assert cloud_of(poll) == []
    assert Event.objects.filter(stream=meeting.console_stream_key, kind="poll.answered").count() == 1
    assert not Event.objects.filter(stream=meeting.stream_key, kind="poll.answered").exists()
    console = last_html(meeting.console_stream_key, "console")
    assert "Answers waiting for moderation" in console and "ordure" in console
    equite, ordure = WordEntry.objects.order_by("position")
    services.moderate_word_entry(actor=fiona, entry=equite, approve=True)
    services.moderate_word_entry(actor=fiona, entry=ordure, approve=False)
    assert cloud_of(poll) == [("Équité", 1)]
    # Editing keeps the approval of an entry left as it was; a new one waits.
    services.answer_words(participant=alice_in, poll=poll, texts=["équité", "vélo"])
    assert cloud_of(poll) == [("équité", 1)]
    with pytest.raises(PermissionDenied):
        services.moderate_word_entry(actor=alice_in.user, entry=WordEntry.objects.last(), approve=True)


def test_a_hidden_word_vanishes_everywhere_at_once_and_never_reaches_the_exports(open_meeting, fiona, room):
    poll = word_poll(open_meeting, fiona)
    for participant, texts in zip(room, [["Équité", "Ordure"], ["ordure !"], ["parc"]], strict=True):
        services.answer_words(participant=participant, poll=poll, texts=texts)
    assert "Ordure" in last_html(open_meeting.screen_stream_key, "screen")
    services.hide_word(actor=fiona, poll=poll, word="ORDURE")
    for stream, audience in [(open_meeting.stream_key, "public"), (open_meeting.screen_stream_key, "screen")]:
        html = last_html(stream, audience)
        assert "Équité" in html and "rdure" not in html
    assert "rdure" not in json.dumps(rendering.report_context(open_meeting)["report_polls"][0]["words"],
                                     default=lambda w: w.text)
    client = signed_in(fiona)
    exported = client.get(f"/meetings/{open_meeting.pk}/export/meeting.json").content.decode()
    assert "Équité" in exported and "rdure" not in exported
    report = client.get(f"/meetings/{open_meeting.pk}/report/").content.decode()
    assert "Équité" in report and "rdure" not in report
    polls_csv = client.get(f"/meetings/{open_meeting.pk}/export/polls.csv").content.decode()
    assert "parc" in polls_csv and "rdure" not in polls_csv
    console = last_html(open_meeting.console_stream_key, "console")
    assert "Hidden words" in console and "ordure" in console  # the console still shows it, to unhide it
    services.unhide_word(actor=fiona, poll=poll, word="ordure")
    assert cloud_of(poll)[0] == ("Ordure", 2)
    with pytest.raises(ValidationError, match="not hidden"):
        services.unhide_word(actor=fiona, poll=poll, word="ordure")


def test_people_whose_every_word_is_hidden_are_not_counted_as_answering(open_meeting, fiona, room):
    """alice's only word is hidden, bob's only word is merged into a hidden one, the guest's is a stop-word of the
    meeting: "N people answered" counts those with a word shown, on the phones, the screen, and in the exports."""
    poll = word_poll(open_meeting, fiona)
    for participant, texts in zip(room, [["Ordure", "parc"], ["vélo"], ["banc"]], strict=True):
        services.answer_words(participant=participant, poll=poll, texts=texts)
    assert "3 people answered" in last_html(open_meeting.stream_key, "public")
    services.hide_word(actor=fiona, poll=poll, word="ordure")
    assert "3 people answered" in last_html(open_meeting.stream_key, "public")  # alice still has "parc"
    services.answer_words(participant=room[0], poll=poll, texts=["Ordure"])
    services.merge_words(actor=fiona, poll=poll, word="vélo", into="ordure")
    services.stop_word(actor=fiona, poll=poll, word="banc")
    for stream, audience in [(open_meeting.stream_key, "public"), (open_meeting.screen_stream_key, "screen")]:
        assert "0 people answered" in last_html(stream, audience)
    services.answer_words(participant=room[1], poll=poll, texts=["vélo", "parc"])
    assert "1 person answered" in last_html(open_meeting.stream_key, "public")
    exported = json.loads(signed_in(fiona).get(f"/meetings/{open_meeting.pk}/export/meeting.json").content)
    assert [p["respondents"] for p in exported["polls"] if p["question"] == poll.question] == [1]


def test_a_space_moderator_can_hide_a_word_a_participant_cannot(open_meeting, fiona, room, alice):
    poll = word_poll(open_meeting, fiona)
    services.answer_words(participant=room[1], poll=poll, texts=["insulte"])
    with pytest.raises(PermissionDenied):
        services.hide_word(actor=alice, poll=poll, word="insulte")
    moderator = helpers.make_user("mona")
    from live.accounts.models import RoleAssignment

    RoleAssignment.objects.create(user=moderator, role="moderator", space=open_meeting.space)
    services.hide_word(actor=moderator, poll=poll, word="insulte")
    assert cloud_of(poll) == []


def test_merging_two_words_and_the_meeting_stop_list(open_meeting, fiona, room):
    poll = word_poll(open_meeting, fiona)
    for participant, texts in zip(room, [["vélo", "bancs"], ["pistes cyclables"], ["Vélo", "bancs"]], strict=True):
        services.answer_words(participant=participant, poll=poll, texts=texts)
    services.merge_words(actor=fiona, poll=poll, word="velo", into="pistes cyclables")
    assert cloud_of(poll) == [("pistes cyclables", 3), ("bancs", 2)]
    with pytest.raises(ValidationError, match="two different"):
        services.merge_words(actor=fiona, poll=poll, word="bancs", into="Bancs !")
    with pytest.raises(ValidationError) as refused:  # the field the refusal names is the one that is wrong
        services.merge_words(actor=fiona, poll=poll, word="bancs", into="?!")
    assert list(refused.value.message_dict) == ["into"]
    services.stop_word(actor=fiona, poll=poll, word="bancs")
    assert cloud_of(poll) == [("pistes cyclables", 3)]
    later = word_poll(open_meeting, fiona)  # the stop-list is the meeting's: later questions too
    services.answer_words(participant=room[0], poll=later, texts=["bancs", "arbres"])
    assert cloud_of(later) == [("arbres", 1)]


def test_the_console_takes_a_word_off_the_stop_list_and_separates_merged_words(open_meeting, fiona, room, alice):
    poll = word_poll(open_meeting, fiona)
    for participant, texts in zip(room, [["vélo", "bancs"], ["pistes cyclables"], ["Vélo", "bancs"]], strict=True):
        services.answer_words(participant=participant, poll=poll, texts=texts)
    console = signed_in(fiona)
    url = f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/words/"
    assert console.post(url, {"action": "stop", "word": "bancs"}, **HTMX).status_code == 204
    assert console.post(url, {"action": "merge", "word": "velo", "into": "pistes cyclables"}, **HTMX).status_code == 204
    assert cloud_of(poll) == [("pistes cyclables", 3)]
    page = console.get(f"/meetings/{open_meeting.pk}/console/").content.decode()
    assert "The meeting&#x27;s stop-list" in page and 'value="unstop"' in page and "velo counted as pistes cyclables" in page
    # Nobody else takes it back; a word not on the list is a clear error, nothing changes.
    refused = signed_in(alice).post(url, {"action": "unstop", "word": "bancs"}, **HTMX)
    assert refused.status_code == 403 and cloud_of(poll) == [("pistes cyclables", 3)]
    wrong = console.post(url, {"action": "unstop", "word": "arbres"}, **HTMX)
    assert wrong.status_code == 400 and "not on the meeting" in wrong.content.decode()
    assert console.post(url, {"action": "unstop", "word": "Bancs !"}, **HTMX).status_code == 204
    assert cloud_of(poll) == [("pistes cyclables", 3), ("bancs", 2)]
    screen = last_html(open_meeting.screen_stream_key, "screen")  # the screen shows it again at once
    assert 'data-word="bancs" data-count="2"' in screen
    assert 'value="unstop"' not in last_html(open_meeting.console_stream_key, "console")
    services.unmerge_word(actor=fiona, poll=poll, word="Vélo")
    assert cloud_of(poll) == [("bancs", 2), ("vélo", 2), ("pistes cyclables", 1)]
    with pytest.raises(ValidationError, match="not merged"):
        services.unmerge_word(actor=fiona, poll=poll, word="vélo")
    with pytest.raises(ValidationError, match="Choose a word"):
        services.unstop_word(actor=fiona, poll=poll, word=" !! ")


# --- answers reach the screen in frames --------------------------------------------------------------------------

@pytest.fixture
def answer_frames(monkeypatch, settings):
    """Answers coalesced as in production, their frames held until the test runs them."""
    settings.MEETINGS_ANSWER_FRAME_MS = 500
    scheduled = []
    monkeypatch.setattr(services.ANSWER_FRAMES, "_schedule",
                        lambda delay, meeting_pk: scheduled.append(lambda: services.ANSWER_FRAMES.flush(meeting_pk)))
    return scheduled


def test_answers_reach_the_screen_in_one_frame_showing_every_one(open_meeting, fiona, room, answer_frames,
                                                                  django_capture_on_commit_callbacks):
    poll = word_poll(open_meeting, fiona)
    with django_capture_on_commit_callbacks(execute=True):
        for participant, texts in zip(room, [["Équité", "parc"], ["équité !"], ["vélo"]], strict=True):
            services.answer_words(participant=participant, poll=poll, texts=texts)
        services.answer_words(participant=room[2], poll=poll, texts=["vélo", "parc"])  # an edit
    assert len(answer_frames) == 1  # four answers, one frame scheduled, nothing rendered yet
    assert not Event.objects.filter(kind="poll.answered").exists()
    answer_frames.pop()()
    answered = Event.objects.filter(kind="poll.answered")
    # One event per audience, carrying how many answers it covers.
    assert sorted((e.stream, e.data["poll"], e.data["answers"]) for e in answered) == sorted(
        (stream, poll.pk, 4) for stream in (open_meeting.stream_key, open_meeting.screen_stream_key,
                                            open_meeting.console_stream_key))
    screen = last_html(open_meeting.screen_stream_key, "screen")
    for word, count in [("equite", 2), ("parc", 2), ("velo", 1)]:
        assert f'data-word="{word}" data-count="{count}"' in screen
    phones = last_html(open_meeting.stream_key, "public")
    assert "équité" in phones.casefold() and "vélo" in phones
    # Scale answers are framed the same way; the next answer opens the next frame.
    scale = services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=open_meeting, question="D'accord ?", kind="scale", scale="1-5"))
    with django_capture_on_commit_callbacks(execute=True):
        for participant, label in zip(room, "453", strict=True):
            services.answer_poll(participant=participant, poll=scale, choices=[scale.choices.get(label=label)])
    answer_frames.pop()()
    assert answer_frames == []
    assert "mean 4.0" in last_html(open_meeting.screen_stream_key, "screen")


def test_pending_answers_make_a_console_frame_only(meeting, fiona, alice_in, answer_frames,
                                                  django_capture_on_commit_callbacks):
    poll = word_poll(meeting, fiona)
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_words(participant=alice_in, poll=poll, texts=["propreté"])
    answer_frames.pop()()
    assert list(Event.objects.filter(kind="poll.answered").values_list("stream", flat=True)) == \
        [meeting.console_stream_key]
    assert "propreté" in last_html(meeting.console_stream_key, "console")


def test_a_refused_answer_schedules_no_frame(open_meeting, fiona, room, answer_frames,
                                            django_capture_on_commit_callbacks):
    poll = word_poll(open_meeting, fiona)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.answer_words(participant=room[0], poll=poll, texts=["x" * 80])
    assert answer_frames == [] and services.ANSWER_FRAMES.flush(open_meeting.pk) == {}


def test_while_redis_is_down_each_answer_renders_at_once(open_meeting, fiona, room, answer_frames, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    poll = word_poll(open_meeting, fiona)
    monkeypatch.setattr(frames, "_redis", lambda: (_ for _ in ()).throw(ConnectionError("redis down")))
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_words(participant=room[0], poll=poll, texts=["parc"])
    assert answer_frames == []
    assert 'data-word="parc" data-count="1"' in last_html(open_meeting.screen_stream_key, "screen")


def test_the_announcement_is_made_when_a_frame_reaches_the_next_ten_people(open_meeting, fiona, answer_frames,
                                                                          django_capture_on_commit_callbacks):
    poll = word_poll(open_meeting, fiona)
    phones = [services.join(meeting=open_meeting, nickname=f"Voix {k}", ip="10.0.0.9") for k in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        for phone in phones[:7]:
            services.answer_words(participant=phone, poll=poll, texts=["parc"])
    answer_frames.pop()()
    assert "Most frequent" not in last_html(open_meeting.stream_key, "public")  # 7 people: not yet
    with django_capture_on_commit_callbacks(execute=True):
        for phone in phones[7:]:
            services.answer_words(participant=phone, poll=poll, texts=["parc"])
    answer_frames.pop()()
    assert "12 answers. Most frequent: parc" in last_html(open_meeting.stream_key, "public")  # 7 -> 12 crossed 10


# --- scale questions -----------------------------------------------------------------------------------------------

def test_a_scale_question_shows_its_distribution_and_mean_live(open_meeting, fiona, room):
    poll = services.create_poll(actor=fiona, meeting=open_meeting, question="D'accord ?", kind="scale", scale="0-10",
                                low_label="Pas du tout", high_label="Tout à fait")
    assert [c.label for c in poll.choices.all()] == [str(n) for n in range(11)]
    services.open_poll(actor=fiona, poll=poll)
    card = last_html(open_meeting.stream_key, "public")  # the phones get the question with its form
    assert card.count('type="radio" name="choice"') == 11 and "0 = Pas du tout" in card and "10 = Tout à fait" in card
    by_label = {c.label: c.pk for c in poll.choices.all()}
    services.answer_poll(participant=room[0], poll=poll, choices=[by_label["10"]])
    services.answer_poll(participant=room[1], poll=poll, choices=[by_label["7"]])
    services.answer_poll(participant=room[2], poll=poll, choices=[by_label["2"]])
    services.answer_poll(participant=room[2], poll=poll, choices=[by_label["4"]])  # changed while open
    card = rendering.poll_card(poll)
    assert card["mean"] == 7.0 and card["respondents"] == 3
    screen = last_html(open_meeting.screen_stream_key, "screen")
    assert "mean 7.0" in screen and "Pas du tout" in screen and "Tout à fait" in screen
    with pytest.raises(ValidationError, match="only one"):
        services.answer_poll(participant=room[0], poll=poll, choices=[by_label["1"], by_label["2"]])
    with pytest.raises(ValidationError, match="scale from 1 to 5 or from 0 to 10"):
        services.create_poll(actor=fiona, meeting=open_meeting, question="?", kind="scale", scale="1-100")


# --- reactions -------------------------------------------------------------------------------------------------------

@pytest.fixture
def frames_later(monkeypatch):
    """The frames reactions schedule, held until the test runs them."""
    scheduled = []
    monkeypatch.setattr(reactions.FRAMES, "_schedule",
                        lambda delay, meeting_pk: scheduled.append(lambda: reactions.flush(meeting_pk)))
    return scheduled


def test_taps_are_coalesced_into_one_frame_with_their_counts(open_meeting, fiona, room, frames_later, settings):
    settings.RATE_LIMITS = {"reaction": "100/10"}
    for _ in range(20):
        for participant in room:
            services.react(participant=participant, kind="clap")
    services.react(participant=room[0], kind="heart")
    assert len(frames_later) == 1  # 61 taps, one frame
    assert not ReactionCount.objects.exists()  # counts, not rows per tap: nothing written before the frame
    frames_later.pop()()
    assert dict(ReactionCount.objects.values_list("kind", "count")) == {"clap": 60, "heart": 1}
    events = Event.objects.filter(stream=open_meeting.screen_stream_key, kind="reactions.changed")
    assert [e.data["counts"] for e in events] == [{"clap": 60, "heart": 1}]
    screen = last_html(open_meeting.screen_stream_key, "screen")
    assert screen.count("👏") >= 6 and "Applause:</span> 60" in screen
    # The next tap opens the next frame; the counts add up per agenda item for the console and the report.
    services.set_current_item(actor=fiona, meeting=open_meeting, item=open_meeting.agenda_items.first())
    services.react(participant=room[1], kind="clap")
    frames_later.pop()()
    rows = rendering.reactions_by_item(open_meeting)
    assert [(r["item"], r["counts"][0]["count"]) for r in rows] == [("Accueil", 1), (None, 60)]
    assert "Accueil" in last_html(open_meeting.console_stream_key, "console")
    report = signed_in(fiona).get(f"/meetings/{open_meeting.pk}/report/").content.decode()
    assert re.search(r"<th scope=\"row\">Accueil</th><td>1</td>", report)  # the closing report, per agenda item
    assert "reaction,count" in signed_in(fiona).get(f"/meetings/{open_meeting.pk}/export/reactions.csv") \
        .content.decode()


def test_each_phone_is_rate_limited_with_a_clear_answer(open_meeting, room, frames_later, settings):
    settings.RATE_LIMITS = {"reaction": "3/10"}
    for _ in range(3):
        services.react(participant=room[0], kind="think")
    with pytest.raises(ratelimit.RateLimited):
        services.react(participant=room[0], kind="think")
    services.react(participant=room[1], kind="think")  # others are not held back
    client = signed_in(room[0].user)
    refused = client.post(f"/meetings/{open_meeting.pk}/live/react/", {"kind": "think"}, **HTMX)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many attempts" in refused.content.decode()
    frames_later[0]()
    assert ReactionCount.objects.get().count == 4


def test_bad_reactions_are_refused(open_meeting, fiona, room, frames_later):
    with pytest.raises(ValidationError, match="Unknown reaction"):
        services.react(participant=room[0], kind="💩")
    other = make_meeting(fiona, title="Autre réunion")
    with pytest.raises(PermissionDenied):
        services.react(participant=room[0], kind="clap", meeting=other)
    services.close_session(actor=fiona, meeting=open_meeting)
    with pytest.raises(ValidationError, match="closed"):
        services.react(participant=room[0], kind="clap")
    assert frames_later == [] and not ReactionCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_taps_lose_nothing_and_make_few_frames(fiona, settings):
    """Eight phones tapping as fast as they can, with real frame timers: every tap is counted once, in far fewer
    frames than taps."""
    settings.MEETINGS_REACTION_FRAME_MS = 20
    meeting = make_meeting(fiona, premoderation=False)

    def phone():
        for i in range(100):
            reactions.tap(meeting.pk, None, ("clap", "heart")[i % 2])

    threads = [threading.Thread(target=phone) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(ReactionCount.objects.values_list("count", flat=True)) < 800:
        time.sleep(0.02)
    assert dict(ReactionCount.objects.values_list("kind", "count")) == {"clap": 400, "heart": 400}
    frames = Event.objects.filter(stream=meeting.screen_stream_key, kind="reactions.changed")
    assert sum(sum(e.data["counts"].values()) for e in frames) == 800
    assert frames.count() < 100


# --- the phone's pages, with and without JavaScript -----------------------------------------------------------------

def test_without_javascript_the_phone_answers_with_a_plain_form(open_meeting, fiona, room, frames_later):
    poll = word_poll(open_meeting, fiona)
    phone = signed_in(room[0].user)
    page = phone.get(f"/meetings/{open_meeting.pk}/live/").content.decode()
    assert f'action="/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/"' in page and 'name="word"' in page
    response = phone.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/", {"word": ["Équité", "", ""]})
    assert response.status_code == 302
    page = phone.get(f"/meetings/{open_meeting.pk}/live/").content.decode()
    assert 'value="Équité"' in page and "Your answer is saved." in page and "Change my answer" in page
    fragment = phone.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/",
                          {"word": ["vélo", "parc"]}, **HTMX).content.decode()
    assert 'value="vélo"' in fragment and 'value="parc"' in fragment
    refused = phone.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/", {"word": ["x" * 80]}, **HTMX)
    assert refused.status_code == 400 and "At most 40 characters" in refused.content.decode()
    assert services.own_word_entries(room[0], poll) == ["vélo", "parc"]
    assert phone.post(f"/meetings/{open_meeting.pk}/live/react/", {"kind": "clap"}).status_code == 302
    frames_later[0]()
    assert ReactionCount.objects.get().count == 1


def test_while_redis_is_down_each_tap_is_written_directly(open_meeting, room, frames_later, monkeypatch):
    def down():
        raise ConnectionError("redis down")

    monkeypatch.setattr(frames, "_redis", down)
    services.react(participant=room[0], kind="laugh")
    services.react(participant=room[1], kind="laugh")
    assert frames_later == [] and ReactionCount.objects.get().count == 2
    assert Event.objects.filter(stream=open_meeting.screen_stream_key, kind="reactions.changed").count() == 2


def test_counts_a_dead_process_left_behind_are_flushed_by_the_sweep(open_meeting, room, monkeypatch, settings):
    """The process that opened the frame window died before its frame: its counts are not lost, the sweep of any
    other process delivers them once they waited for a few frames; and closing the session writes what is left."""
    monkeypatch.setattr(reactions.FRAMES, "_schedule", lambda delay, meeting_pk: None)  # the timer never fires
    services.react(participant=room[0], kind="clap")
    services.react(participant=room[1], kind="clap")
    now = frames._now_ms()
    assert reactions.FRAMES.sweep(now) == [] and not ReactionCount.objects.exists()  # fresh: its frame may come
    assert reactions.FRAMES.sweep(now + 1500) == [open_meeting.pk]
    assert ReactionCount.objects.get().count == 2
    assert Event.objects.get(stream=open_meeting.screen_stream_key, kind="reactions.changed").data["counts"] == \
        {"clap": 2}
    assert reactions.FRAMES.sweep(now + 1500) == []  # nothing twice
    # The window the dead process opened is gone with its counts: the next tap schedules a frame again.
    scheduled = []
    monkeypatch.setattr(reactions.FRAMES, "_schedule", lambda delay, meeting_pk: scheduled.append(meeting_pk))
    services.react(participant=room[2], kind="heart")
    assert scheduled == [open_meeting.pk]


def test_the_sweep_of_any_process_covers_reactions_and_answers(open_meeting, fiona, room, monkeypatch, settings,
                                                               django_capture_on_commit_callbacks):
    settings.MEETINGS_ANSWER_FRAME_MS = 500
    for kind in (reactions.FRAMES, services.ANSWER_FRAMES):
        monkeypatch.setattr(kind, "_schedule", lambda delay, meeting_pk: None)  # their process died
    poll = word_poll(open_meeting, fiona)
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_words(participant=room[0], poll=poll, texts=["parc"])
    services.react(participant=room[1], kind="clap")
    assert frames.sweep_all(frames._now_ms() + 2500) == {"reactions": [open_meeting.pk],
                                                         "answers": [open_meeting.pk]}
    shown = Event.objects.get(stream=open_meeting.screen_stream_key, kind="poll.answered")
    assert shown.data["answers"] == 1
    assert 'data-word="parc" data-count="1"' in json.loads(streams.pick(streams.frames(shown), "screen", "en"))["html"]
    assert ReactionCount.objects.get().count == 1


def test_closing_the_session_writes_the_counts_still_waiting(open_meeting, fiona, room, frames_later,
                                                            django_capture_on_commit_callbacks):
    services.react(participant=room[0], kind="heart")
    with django_capture_on_commit_callbacks(execute=True):
        services.close_session(actor=fiona, meeting=open_meeting)
    assert ReactionCount.objects.get().count == 1
    frames_later[0]()  # the frame that was scheduled finds nothing left: no second count
    assert ReactionCount.objects.get().count == 1


def test_the_sweep_thread_delivers_without_any_further_tap(open_meeting, room, monkeypatch, settings):
    """The real sweep, in its thread: counts left behind reach the database without another tap."""
    settings.MEETINGS_FRAME_SWEEP_SECONDS = 0.05
    monkeypatch.setattr(reactions.FRAMES, "_schedule", lambda delay, meeting_pk: None)
    written = threading.Event()
    monkeypatch.setattr(reactions.FRAMES, "write", lambda pk, counts: written.set())
    monkeypatch.setattr(frames, "STALE_FRAMES", 0)
    monkeypatch.setattr(frames, "_sweeper", {})
    monkeypatch.setattr(frames, "_now_ms", lambda: int(time.time() * 1000) + 1000)  # a second later
    services.react(participant=room[0], kind="laugh")
    assert written.wait(5)


def test_a_failed_frame_puts_its_counts_back(open_meeting, room, frames_later, monkeypatch):
    services.react(participant=room[0], kind="think")
    monkeypatch.setattr(services, "add_reactions", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db")))
    with pytest.raises(RuntimeError):
        frames_later[0]()
    monkeypatch.undo()
    assert reactions.flush(open_meeting.pk) == {"0:think": 1}
    assert ReactionCount.objects.get().count == 1


def test_pending_word_entries_are_moderated_from_the_console(meeting, fiona, alice_in):
    poll = word_poll(meeting, fiona)
    services.answer_words(participant=alice_in, poll=poll, texts=["propreté"])
    entry = WordEntry.objects.get()
    console = signed_in(fiona)
    assert "propreté" in console.get(f"/meetings/{meeting.pk}/console/").content.decode()
    response = console.post(f"/meetings/{meeting.pk}/console/words/{entry.pk}/", {"action": "approve"}, **HTMX)
    assert response.status_code == 204 and cloud_of(poll) == [("propreté", 1)]
    refused = signed_in(alice_in.user).post(f"/meetings/{meeting.pk}/console/words/{entry.pk}/",
                                            {"action": "reject"}, **HTMX)
    assert refused.status_code == 403 and cloud_of(poll) == [("propreté", 1)]


def test_a_guest_of_another_meeting_is_refused_by_the_pages(open_meeting, fiona, meeting, guest_client):
    poll = word_poll(open_meeting, fiona)  # guest_client is a guest of `meeting`, not of `open_meeting`
    refused = guest_client.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/", {"word": ["intrus"]},
                                **HTMX)
    assert refused.status_code == 403 and "Join the meeting first" in refused.content.decode()
    assert guest_client.post(f"/meetings/{open_meeting.pk}/live/react/", {"kind": "clap"}).status_code in (302, 403)
    assert not WordEntry.objects.exists() and not ReactionCount.objects.exists()


def test_the_console_prepares_opens_and_moderates_word_clouds(open_meeting, fiona, room):
    console = signed_in(fiona)
    response = console.post(f"/meetings/{open_meeting.pk}/console/polls/",
                            {"question": "Un mot ?", "kind": "words", "choices": "", "scale": "1-5"})
    assert response.status_code == 302
    poll = Poll.objects.get(kind="words")
    console.post(f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/", {"action": "open"})
    services.answer_words(participant=room[0], poll=poll, texts=["bruit"])
    page = console.get(f"/meetings/{open_meeting.pk}/console/").content.decode()
    assert 'name="action" value="hide"' in page and "bruit" in page
    console.post(f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/words/", {"action": "hide", "word": "bruit"})
    assert cloud_of(poll) == []
    refused = signed_in(room[1].user).post(f"/meetings/{open_meeting.pk}/console/polls/{poll.pk}/words/",
                                           {"action": "unhide", "word": "bruit"})
    assert refused.status_code == 403 and cloud_of(poll) == []


# --- remote participants ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "src", "cookies"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", True),
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", True),
    ("https://framatube.org/w/9c9de5e8-0a1e-484a-b099-e80766180a6d",
     "https://framatube.org/videos/embed/9c9de5e8-0a1e-484a-b099-e80766180a6d", False),
    ("https://meet.jit.si/ConseilDeQuartierNanterre", "https://meet.jit.si/ConseilDeQuartierNanterre", True),
])
def test_livestream_addresses_become_embeds_of_allowed_providers(url, src, cookies):
    from meetings.embeds import embed_for

    embed = embed_for(url)
    assert (embed.src, embed.sets_cookies) == (src, cookies)


@pytest.mark.parametrize(("url", "message"), [
    ("https://evil.example/live", "can be embedded from"),
    ("http://framatube.org/w/9c9de5e8", "must start with https://"),
    ("https://www.youtube.com/watch?v=", "names no video"),
])
def test_a_livestream_from_elsewhere_is_refused_and_nothing_is_saved(open_meeting, fiona, url, message):
    with pytest.raises(ValidationError, match=message):
        services.update_meeting(actor=fiona, meeting=open_meeting, stream_url=url)
    open_meeting.refresh_from_db()
    assert open_meeting.stream_url == ""


def test_the_remote_page_frames_nothing_before_the_person_asks(open_meeting, fiona, room):
    services.update_meeting(actor=fiona, meeting=open_meeting, stream_url="https://youtu.be/dQw4w9WgXcQ")
    poll = word_poll(open_meeting, fiona)
    phone = signed_in(room[0].user)
    response = phone.get(f"/meetings/{open_meeting.pk}/remote/")
    page = response.content.decode()
    assert "<iframe" not in page and "?show=1" in page and "youtube-nocookie.com, which may set cookies" in page
    assert "frame-src https://www.youtube-nocookie.com" in response["Content-Security-Policy"]
    # The same controls as a phone in the room, on the same live stream.
    assert 'id="reaction-form"' in page and f'id="poll-{poll.pk}-form"' in page
    assert f'data-live-stream="meeting.{open_meeting.pk}"' in page
    page = phone.get(f"/meetings/{open_meeting.pk}/remote/?show=1").content.decode()
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in page
    assert "<iframe" in phone.get(f"/meetings/{open_meeting.pk}/remote/").content.decode()  # remembered
    # A provider without cookies is framed at once; pages elsewhere frame nothing.
    services.update_meeting(actor=fiona, meeting=open_meeting,
                            stream_url="https://framatube.org/w/9c9de5e8-0a1e-484a-b099-e80766180a6d")
    response = signed_in(room[1].user).get(f"/meetings/{open_meeting.pk}/remote/")
    assert "<iframe" in response.content.decode()
    assert "frame-src https://framatube.org" in response["Content-Security-Policy"]
    assert "frame-src" not in phone.get(f"/meetings/{open_meeting.pk}/live/")["Content-Security-Policy"]
