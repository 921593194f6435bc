"""A phone's writes over its page's socket (meetings/writes.py through live/socket_writes.py): reaction taps, answers
and contributions, answered `written` or `refused` with the services' words, through the real /ws/ endpoint; the
screen gets the taps in its coalesced frames as over HTTP."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db.backends.utils import CursorWrapper

from meetings import reactions, services
from meetings.models import Contribution, ReactionCount, WordEntry
from tests.helpers import connect, receive_until
from tests.meetings.conftest import make_meeting
from tests.meetings.test_consumers import follow, guest_session, screen_session

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def quick_frames(settings):
    settings.MEETINGS_REACTION_FRAME_MS = 50
    settings.MEETINGS_ANSWER_FRAME_MS = 0


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


seen: dict[int, list] = {}  # the frames each socket got while waiting for its writes' answers


async def write(ws, ident, action, data):
    await ws.send_json_to({"type": "write", "id": ident, "action": action, "data": data})
    frame, before = await receive_until(ws, lambda f: f.get("id") == ident)
    seen.setdefault(id(ws), []).extend(before)
    return frame


async def pushed(ws, predicate):
    """The first frame matching `predicate`, among those seen already or to come."""
    for frame in seen.pop(id(ws), []):
        if predicate(frame):
            return frame
    return (await receive_until(ws, predicate))[0]


async def guest_phone(meeting, nickname="Gaston"):
    """A guest's phone page: joined through the QR code (the signed token in its session), its socket open."""
    guest = await sync_to_async(services.join)(meeting=meeting, nickname=nickname, ip="10.0.0.7")
    ws = await connect(cookie=await sync_to_async(guest_session)(guest))
    await follow(ws, meeting.stream_key)
    return ws, guest


async def stored(meeting, expected: dict, timeout: float = 5.0) -> dict:
    """The meeting's stored counts once they are `expected` (or what they are after `timeout`): a frame's flush
    in its timer thread (every 50 ms here) may be writing its counts while this one takes none."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await sync_to_async(reactions.flush)(meeting.pk)
        counts = await sync_to_async(lambda: dict(ReactionCount.objects.filter(meeting=meeting)
                                                  .values_list("kind", "count")))()
        if counts == expected or asyncio.get_running_loop().time() > deadline:
            return counts
        await asyncio.sleep(0.05)


async def test_a_tap_is_counted_and_reaches_the_screen_in_a_frame(open_meeting, alice):
    await sync_to_async(services.join)(meeting=open_meeting, user=alice)
    screen = await connect(cookie=await sync_to_async(screen_session)(open_meeting))
    await follow(screen, open_meeting.screen_stream_key)
    guest, _ = await guest_phone(open_meeting)
    signed_in = await connect(alice)
    await follow(signed_in, open_meeting.stream_key)
    data = {"meeting": str(open_meeting.pk), "kind": "clap"}
    assert await write(guest, "t1", "meetings.react", data) == {"type": "written", "id": "t1", "result": None}
    assert (await write(signed_in, "t2", "meetings.react", {**data, "kind": "heart"}))["type"] == "written"
    shown = await pushed(screen, lambda f: f.get("type") == "event" and "reaction-burst" in f.get("html", ""))
    assert 'data-kind="clap" data-count="1"' in shown["html"] and 'data-kind="heart" data-count="1"' in shown["html"]
    assert await stored(open_meeting, {"clap": 1, "heart": 1}) == {"clap": 1, "heart": 1}
    for ws in (screen, guest, signed_in):
        await ws.disconnect()


def frame_thread() -> bool:
    """A statement of the frames' own writer (a flush in its timer thread, or the sweep), which runs when a frame is
    due whatever the taps do: not a tap's statement (under load a frame fell between the taps counted)."""
    thread = threading.current_thread()
    return isinstance(thread, threading.Timer) or thread.name == "meetings-frame-sweep"


async def test_a_known_guest_phone_taps_without_sql(open_meeting, monkeypatch):
    ws, _ = await guest_phone(open_meeting)
    data = {"meeting": str(open_meeting.pk), "kind": "thumbs"}
    await write(ws, "first", "meetings.react", data)  # who the phone is: read once
    statements = []  # in every thread (the writes run in the pool's)
    execute = CursorWrapper.execute
    monkeypatch.setattr(CursorWrapper, "execute", lambda self, sql, params=None: (
        statements.append(sql) if not frame_thread() else None, execute(self, sql, params))[1])
    for i in range(5):
        assert (await write(ws, f"t{i}", "meetings.react", data))["type"] == "written"
    assert statements == []
    monkeypatch.undo()
    # The counter does see the statements of a write that has some: a phone not known yet reads who it is.
    other, _ = await guest_phone(open_meeting, "Camille")
    monkeypatch.setattr(CursorWrapper, "execute", lambda self, sql, params=None: (
        statements.append(sql) if not frame_thread() else None, execute(self, sql, params))[1])
    assert (await write(other, "o", "meetings.react", data))["type"] == "written"
    assert statements
    monkeypatch.undo()
    assert await stored(open_meeting, {"thumbs": 7}) == {"thumbs": 7}
    for s in (ws, other):
        await s.disconnect()


async def test_past_its_quota_a_phone_is_refused_with_when_to_try_again(open_meeting, settings):
    settings.RATE_LIMITS = {"reaction": "2/10"}
    ws, _ = await guest_phone(open_meeting)
    other, _ = await guest_phone(open_meeting, "Camille")
    data = {"meeting": str(open_meeting.pk), "kind": "laugh"}
    for i in range(2):
        assert (await write(ws, f"t{i}", "meetings.react", data))["type"] == "written"
    refused = await write(ws, "t2", "meetings.react", data)
    assert refused["type"] == "refused" and refused["kind"] == "rate_limited" and refused["retry_after"] >= 1
    assert "Trop de tentatives" in refused["message"]  # the socket's language: French by default
    assert (await write(other, "o", "meetings.react", data))["type"] == "written"  # others are not held back
    assert await stored(open_meeting, {"laugh": 3}) == {"laugh": 3}
    for s in (ws, other):
        await s.disconnect()


async def test_a_guest_of_another_meeting_is_refused(open_meeting, fiona):
    other = await sync_to_async(make_meeting)(fiona, title="Autre réunion", premoderation=False)
    ws, _ = await guest_phone(other)
    refused = await write(ws, "t", "meetings.react", {"meeting": str(open_meeting.pk), "kind": "clap"})
    assert refused["type"] == "refused" and refused["kind"] == "forbidden"
    missing = await write(ws, "m", "meetings.react", {"meeting": str(other.pk + 1000), "kind": "clap"})
    assert missing["type"] == "refused" and missing["kind"] == "not_found"
    assert (await write(ws, "n", "meetings.react", {"kind": "clap"}))["kind"] == "not_found"
    assert await stored(open_meeting, {}) == {}
    await ws.disconnect()


async def test_a_closed_meeting_refuses_the_next_tap(open_meeting, fiona):
    ws, _ = await guest_phone(open_meeting)
    data = {"meeting": str(open_meeting.pk), "kind": "clap"}
    assert (await write(ws, "before", "meetings.react", data))["type"] == "written"
    await sync_to_async(services.close_session)(actor=fiona, meeting=open_meeting)
    refused = await write(ws, "after", "meetings.react", data)
    assert refused["type"] == "refused" and refused["kind"] == "invalid"
    assert refused["message"] == "La séance en direct est close."
    assert await stored(open_meeting, {"clap": 1}) == {"clap": 1}
    await ws.disconnect()


async def test_a_removed_participant_is_refused(open_meeting, bob):
    ws, guest = await guest_phone(open_meeting)
    data = {"meeting": str(open_meeting.pk), "kind": "clap"}
    assert (await write(ws, "before", "meetings.react", data))["type"] == "written"
    # The guest signed up in another tab: the participation is the account's now, the guest's token acts no more.
    await sync_to_async(services.claim_participant)(participant=guest, user=bob)
    refused = await write(ws, "after", "meetings.react", data)
    assert refused["type"] == "refused" and refused["kind"] == "forbidden"
    assert await stored(open_meeting, {"clap": 1}) == {"clap": 1}
    await ws.disconnect()


async def test_a_bad_reaction_is_refused_and_nothing_counted(open_meeting):
    ws, _ = await guest_phone(open_meeting)
    for i, kind in enumerate(["💩", "", "clap" * 50, "CLAP"]):
        refused = await write(ws, f"b{i}", "meetings.react", {"meeting": str(open_meeting.pk), "kind": kind})
        assert refused["type"] == "refused" and refused["kind"] == "invalid"
    assert await stored(open_meeting, {}) == {}
    await ws.disconnect()


async def test_a_word_answer_over_the_socket_is_in_the_cloud(open_meeting, fiona):
    poll = await sync_to_async(lambda: services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=open_meeting, question="En un mot ?", kind="words")))()
    screen = await connect(cookie=await sync_to_async(screen_session)(open_meeting))
    await follow(screen, open_meeting.screen_stream_key)
    ws, guest = await guest_phone(open_meeting)
    answer = {"meeting": str(open_meeting.pk), "poll": str(poll.pk), "word": ["Équité", "vélo"]}
    written = await write(ws, "a", "meetings.answer", answer)
    assert written["type"] == "written" and written["result"]["message"] == "Votre réponse est enregistrée."
    shown = await pushed(screen, lambda f: f.get("type") == "event" and 'data-word="equite"' in f.get("html", ""))
    assert 'data-word="velo"' in shown["html"]
    refused = await write(ws, "b", "meetings.answer", {**answer, "word": ["x" * 200]})
    assert refused["type"] == "refused" and refused["kind"] == "invalid" and list(refused["fields"]) == ["word"]  # the form's field
    assert await sync_to_async(lambda: sorted(WordEntry.objects.values_list("text", flat=True)))() == \
        ["vélo", "Équité"]
    await sync_to_async(services.close_poll)(actor=fiona, poll=poll)
    closed = await write(ws, "c", "meetings.answer", {**answer, "word": ["parc"]})
    assert closed["type"] == "refused" and closed["kind"] == "invalid"
    for s in (screen, ws):
        await s.disconnect()


async def test_a_scale_answer_over_the_socket(open_meeting, fiona):
    poll = await sync_to_async(lambda: services.open_poll(actor=fiona, poll=services.create_poll(
        actor=fiona, meeting=open_meeting, question="D'accord ?", kind="scale", scale="1-5")))()
    ws, guest = await guest_phone(open_meeting)
    four = await sync_to_async(lambda: poll.choices.get(label="4").pk)()
    written = await write(ws, "s", "meetings.answer", {"meeting": str(open_meeting.pk), "poll": str(poll.pk),
                                                       "choice": str(four)})
    assert written["type"] == "written"
    assert await sync_to_async(lambda: list(guest.poll_answers.values_list("choice", flat=True)))() == [four]
    await ws.disconnect()


async def test_a_contribution_over_the_socket_is_one_row_even_when_sent_again(open_meeting, alice):
    await sync_to_async(services.join)(meeting=open_meeting, user=alice)
    ws = await connect(alice)
    await follow(ws, open_meeting.stream_key)
    data = {"meeting": str(open_meeting.pk), "body": "Des bancs à l'ombre", "kind": "idea", "client_id": "abc123"}
    written = await write(ws, "c1", "meetings.contribute", data)
    assert written["type"] == "written" and written["result"]["pending"] is False
    again = await write(ws, "c2", "meetings.contribute", data)  # no answer seen, sent again: the same row
    assert again["result"]["id"] == written["result"]["id"]
    await pushed(ws, lambda f: f.get("type") == "event" and "Des bancs" in f.get("html", ""))
    assert await sync_to_async(Contribution.objects.count)() == 1
    empty = await write(ws, "c3", "meetings.contribute", {**data, "body": "  ", "client_id": "other"})
    assert empty["type"] == "refused" and empty["kind"] == "invalid" and "body" in empty["fields"]
    await ws.disconnect()


async def test_a_visitor_who_has_not_joined_cannot_write(open_meeting):
    ws = await connect()
    await follow(ws, open_meeting.stream_key)
    for action, extra in (("meetings.react", {"kind": "clap"}), ("meetings.contribute", {"body": "Bonjour"})):
        refused = await write(ws, action, action, {"meeting": str(open_meeting.pk), **extra})
        assert refused["type"] == "refused" and refused["kind"] == "forbidden"
    assert await stored(open_meeting, {}) == {}
    await ws.disconnect()


async def test_a_vote_over_the_socket_counts_once_and_is_pushed(open_meeting, alice):
    await sync_to_async(services.join)(meeting=open_meeting, user=alice)
    ws, guest = await guest_phone(open_meeting)
    alices = await sync_to_async(lambda: services.post_contribution(
        participant=open_meeting.participants.get(user=alice), body="Un marché le dimanche"))()
    data = {"meeting": str(open_meeting.pk), "contribution": str(alices.pk)}
    assert (await write(ws, "v1", "meetings.vote", data)) == {"type": "written", "id": "v1", "result": None}
    counted = await pushed(ws, lambda f: f.get("type") == "event" and ">+1</span>" in f.get("html", ""))
    assert f'id="contribution-{alices.pk}"' in counted["html"]
    again = await write(ws, "v2", "meetings.vote", data)
    assert again["type"] == "refused" and again["kind"] == "invalid"
    other = await write(ws, "v3", "meetings.vote", {**data, "contribution": str(alices.pk + 1000)})
    assert other["type"] == "refused" and other["kind"] == "not_found"
    await sync_to_async(alices.refresh_from_db)()
    assert alices.vote_count == 1
    await ws.disconnect()


async def test_a_hand_raised_and_lowered_over_the_socket(open_meeting, fiona):
    console = await connect(fiona)
    await follow(console, open_meeting.console_stream_key)
    ws, guest = await guest_phone(open_meeting)
    data = {"meeting": str(open_meeting.pk), "action": "raise"}
    assert (await write(ws, "h1", "meetings.hand", data))["type"] == "written"
    raised = await pushed(console, lambda f: f.get("type") == "event" and "Gaston" in f.get("html", ""))
    assert "speaker" in raised["html"]
    again = await write(ws, "h2", "meetings.hand", data)
    assert again["type"] == "refused" and again["kind"] == "invalid"  # already raised: said, nothing doubled
    assert (await write(ws, "h3", "meetings.hand", {**data, "action": "lower"}))["type"] == "written"
    waiting = await sync_to_async(lambda: list(open_meeting.speaker_requests.exclude(status="done")))()
    assert waiting == []
    for s in (console, ws):
        await s.disconnect()


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
async def test_a_contribution_over_the_socket_stays_within_the_statement_budget(open_meeting, alice, monkeypatch):
    """Issue 17: a contribution from a signed-in phone and from a guest's, each over its socket, costs at most
    MAX_QUERIES statements in every thread (the session check, the write, its three events rendered for every
    variant of the phones, the screen and the console in both languages), as over HTTP (test_write_cost.py)."""
    from tests.debates.test_socket_writes import AllThreadsQueries
    from tests.live.write_cost import MAX_QUERIES
    from tests.live.write_cost import follow as mark_followed

    meeting = open_meeting
    await sync_to_async(mark_followed)((meeting.stream_key, "public"), (meeting.screen_stream_key, "screen"),
                                       (meeting.console_stream_key, "console"))
    await sync_to_async(services.join)(meeting=meeting, user=alice)
    mine = await connect(alice)
    await follow(mine, meeting.stream_key)
    guest, _participant = await guest_phone(meeting)
    data = {"meeting": str(meeting.pk), "kind": "question"}
    # Warm: the first write creates what lasts.
    assert (await write(mine, "w0", "meetings.contribute", {**data, "body": "Bonjour", "client_id": "warm0"}))[
        "type"] == "written"
    await pushed(guest, lambda f: f.get("type") == "event" and "Bonjour" in f.get("html", ""))
    for name, ws, other in (("signed in", mine, guest), ("guest", guest, mine)):
        body = f"Des bancs sous les platanes ({name})"
        queries = AllThreadsQueries()
        with queries.counting(monkeypatch):
            written = await write(ws, name, "meetings.contribute", {**data, "body": body, "client_id": name[:5]})
            assert written["type"] == "written", written
            await pushed(other, lambda f, body=body: f.get("type") == "event" and body in f.get("html", ""))
        assert len(queries.sql) <= MAX_QUERIES, (name, len(queries.sql), queries.sql)
    await mine.disconnect()
    await guest.disconnect()


async def test_a_contribution_about_an_unknown_agenda_item_is_refused_over_the_socket(open_meeting, alice):
    await sync_to_async(services.join)(meeting=open_meeting, user=alice)
    ws = await connect(alice, lang="en")  # its refusals in English
    await follow(ws, open_meeting.stream_key)
    for value in ("999999", "trois"):
        refused = await write(ws, f"c-{value}", "meetings.contribute", {
            "meeting": str(open_meeting.pk), "body": "Des bancs", "agenda_item": value, "client_id": f"c-{value}"})
        assert refused["type"] == "refused" and refused["kind"] == "invalid"
        assert "agenda item" in refused["fields"]["agenda_item"][0]
    assert await sync_to_async(Contribution.objects.count)() == 0
    await ws.disconnect()



async def test_an_answer_with_a_bad_choice_is_refused_over_the_socket(open_meeting, fiona, alice):
    participant = await sync_to_async(services.join)(meeting=open_meeting, user=alice)
    poll = await sync_to_async(services.create_poll)(actor=fiona, meeting=open_meeting, question="Quel parc ?",
                                                     kind="multiple", choices=["Malraux", "Anciennes-Mairies"])
    await sync_to_async(services.open_poll)(actor=fiona, poll=poll)
    good = await sync_to_async(lambda: poll.choices.first().pk)()
    ws = await connect(alice)
    await follow(ws, open_meeting.stream_key)
    refused = await write(ws, "a1", "meetings.answer", {"meeting": str(open_meeting.pk), "poll": str(poll.pk),
                                                        "choice": [str(good), "x"]})
    assert refused["type"] == "refused" and refused["kind"] == "invalid" and "choices" in refused["fields"]
    assert await sync_to_async(lambda: participant.poll_answers.count())() == 0
    await ws.disconnect()
