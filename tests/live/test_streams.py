"""The stream log: gap-free seq in commit order, publish only after commit, replay and retention."""

import asyncio
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from live import streams
from live.models import Event, StreamCounter

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_numbers_events_from_one_without_gaps():
    for _ in range(5):
        streams.append("debate.1", "test.kind", n=1)
    assert list(Event.objects.filter(stream="debate.1").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert streams.cursor("debate.1").seq == 5


def test_streams_count_independently():
    streams.append("debate.1", "test.kind")
    streams.append("debate.2", "test.kind")
    streams.append("debate.1", "test.kind")
    assert streams.cursor("debate.1").seq == 2
    assert streams.cursor("debate.2").seq == 1


def test_a_rolled_back_transaction_publishes_nothing_and_leaves_no_gap():
    with mock.patch.object(streams, "publish") as publish:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                streams.append("debate.1", "test.kind")
                raise RuntimeError("the service failed after appending")
        publish.assert_not_called()
        streams.append("debate.1", "test.kind")
        assert publish.call_count == 1
    assert list(Event.objects.filter(stream="debate.1").values_list("seq", flat=True)) == [1]


def test_it_publishes_only_after_commit():
    with mock.patch.object(streams, "publish") as publish:
        with transaction.atomic():
            streams.append("debate.1", "test.kind")
            assert publish.call_count == 0
        assert publish.call_count == 1


@pytest.mark.needs_postgres
def test_events_appended_together_go_in_one_statement_in_order_and_are_pushed_after_commit(
        django_assert_num_queries):
    streams.append("debate.1", "test.kind")  # streams with a counter row already: the one-statement case
    streams.append("debate.2", "test.kind")
    streams.append("debate.3", "test.kind")
    with mock.patch.object(streams, "publish_together") as publish:
        with transaction.atomic():
            with django_assert_num_queries(1):
                with streams.together():
                    first = streams.append("debate.2", "test.first", n=1)
                    second = streams.append("debate.1", "test.second", n=[2, 3])
                    third = streams.append("debate.3", "test.third")
                    assert first.seq is None  # numbered when the block ends
            assert publish.call_count == 0
        publish.assert_called_once_with([first, second, third])  # pushed together, after the commit
    assert [(first.seq, first.stream), (second.seq, second.stream), (third.seq, third.stream)] == [
        (2, "debate.2"), (2, "debate.1"), (2, "debate.3")]
    logged = list(Event.objects.filter(seq=2).order_by("id").values_list("stream", "kind", "data"))
    assert logged == [("debate.2", "test.first", {"n": 1}), ("debate.1", "test.second", {"n": [2, 3]}),
                      ("debate.3", "test.third", {})]
    assert all(event.epoch == streams.cursor(event.stream).epoch for event in (first, second, third))


def test_a_change_told_on_several_streams_is_one_push_handed_to_the_layer_in_order(monkeypatch):
    """append_together (a meeting change on phones, screen and console) is pushed as together() is: one push after
    the commit, one hand-off to the layer (its group_send_many), in the order of the streams given."""
    handed = []
    monkeypatch.setattr(streams, "send_to_groups",
                        lambda sends: handed.append([(key, msg["seq"]) for key, msg in sends]))
    with transaction.atomic():
        streams.append_together(["meeting.1.screen", "meeting.1", "meeting.1.console"], "test.kind")
        assert handed == []  # after the commit
    assert handed == [[("meeting.1.screen", 1), ("meeting.1", 1), ("meeting.1.console", 1)]]
    streams.append("meeting.1", "test.kind")
    assert handed[-1] == [("meeting.1", 2)]


def test_events_appended_together_on_one_stream_or_a_new_one_keep_their_order():
    with streams.together():
        streams.append("debate.1", "test.kind", n=1)  # a new stream: its counter row is created
        streams.append("debate.2", "test.kind", n=1)
        streams.append("debate.1", "test.kind", n=2)  # the same stream again: the next statement
    assert list(Event.objects.filter(stream="debate.1").values_list("seq", "data")) == [(1, {"n": 1}), (2, {"n": 2})]
    assert streams.cursor("debate.2").seq == 1


def test_a_change_told_on_several_streams_takes_the_writers_statements_in_its_statement():
    """`append_together(..., riding=)` (a meeting's contribution: its INSERT rides with its three events): one
    statement on PostgreSQL for the events and the writer's own."""
    for key in ("meeting.1", "meeting.1.screen", "debate.8"):
        streams.append(key, "test.kind")
    table = StreamCounter._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        events = streams.append_together(["meeting.1", "meeting.1.screen"], "test.kind", n=1,
                                          riding=[(f"UPDATE {table} SET low_seq = %s WHERE key = %s", [5, "debate.8"])])
    assert [event.seq for event in events] == [2, 2]
    assert StreamCounter.objects.get(key="debate.8").low_seq == 5
    if connection.vendor == "postgresql":
        sent = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]
        assert len(sent) == 1 and sent[0].startswith("WITH riding0")


def test_a_writers_statements_ride_with_the_events_of_its_block():
    """`together(riding)`: the writer's own INSERTs/UPDATEs (of rows the events' statement does not touch), added up
    to the block's end, go in the events' statement (PostgreSQL; each its own elsewhere), also when nested or when
    the block appends nothing."""
    for key in ("debate.1", "debate.2", "debate.7", "debate.8", "debate.9"):  # counter rows: one statement for the events
        streams.append(key, "test.kind")
    table = StreamCounter._meta.db_table
    riding = [(f"UPDATE {table} SET low_seq = %s WHERE key = %s", [7, "debate.8"])]
    with CaptureQueriesContext(connection) as queries:
        with streams.together(riding):
            with streams.together([(f"UPDATE {table} SET low_seq = %s WHERE key = %s", [8, "debate.9"])]):
                streams.append("debate.1", "test.kind")
            riding.append((f"UPDATE {table} SET low_seq = low_seq + %s WHERE key = %s", [1, "debate.7"]))
            streams.append("debate.2", "test.kind")
    low = dict(StreamCounter.objects.values_list("key", "low_seq"))
    assert (low["debate.7"], low["debate.8"], low["debate.9"]) == (2, 7, 8)
    assert streams.cursor("debate.1").seq == 2 and streams.cursor("debate.2").seq == 2
    if connection.vendor == "postgresql":
        assert [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")][0].startswith("WITH riding0")
        assert len([q for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]) == 1
    with streams.together([(f"UPDATE {table} SET low_seq = %s WHERE key = %s", [1, "debate.8"])]):
        pass
    assert StreamCounter.objects.get(key="debate.8").low_seq == 1


def test_a_failing_block_appends_nothing():
    with mock.patch.object(streams, "publish_together") as publish:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                with streams.together():
                    streams.append("debate.1", "test.kind")
                    raise RuntimeError("the service failed")
        publish.assert_not_called()
    assert not Event.objects.exists()
    with streams.together():
        streams.append("debate.1", "test.kind")
    assert streams.cursor("debate.1").seq == 1


@pytest.mark.needs_postgres
def test_two_concurrent_writers_get_gap_free_seq_in_commit_order():
    published = []
    lock = threading.Lock()

    def record(event):
        with lock:
            published.append(event.seq)

    def writer():
        try:
            for _ in range(500):
                with transaction.atomic():
                    streams.append("debate.77", "test.kind")
        finally:
            connection.close()

    with mock.patch.object(streams, "publish", side_effect=record):
        threads = [threading.Thread(target=writer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seqs = list(Event.objects.filter(stream="debate.77").order_by("id").values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, 1001))
    assert sorted(published) == list(range(1, 1001))
    # Rows inserted later always carry a higher seq: seq order is commit order.
    assert seqs == sorted(seqs)


def test_events_after_replays_in_order():
    for _ in range(10):
        streams.append("debate.1", "test.kind")
    epoch = streams.cursor("debate.1").epoch
    assert [e.seq for e in streams.events_after("debate.1", 4, epoch=epoch)] == [5, 6, 7, 8, 9, 10]
    assert [e.seq for e in streams.events_after("debate.1", 4, upto=6)] == [5, 6]
    assert streams.events_after("debate.1", 10) == []


@pytest.mark.parametrize("after, epoch", [(11, None), (-5, None), (3, "other")])
def test_positions_that_cannot_be_replayed_reset(after, epoch):
    for _ in range(10):
        streams.append("debate.1", "test.kind")
    with pytest.raises(streams.Reset) as raised:
        streams.events_after("debate.1", after, epoch=epoch)
    assert raised.value.seq == 10


def test_prune_keeps_the_last_events_and_resets_clients_behind_it(settings):
    settings.LIVE_RETENTION_EVENTS = 5
    settings.LIVE_RETENTION_DAYS = 7
    for _ in range(12):
        streams.append("debate.1", "test.kind")
    assert streams.prune() == 7
    assert list(Event.objects.filter(stream="debate.1").values_list("seq", flat=True)) == [8, 9, 10, 11, 12]
    assert [e.seq for e in streams.events_after("debate.1", 7)] == [8, 9, 10, 11, 12]
    with pytest.raises(streams.Reset):
        streams.events_after("debate.1", 6)


def test_prune_drops_events_older_than_the_retention_days():
    for _ in range(3):
        streams.append("debate.1", "test.kind")
    Event.objects.filter(seq__lte=2).update(created_at=timezone.now() - timedelta(days=8))
    streams.prune()
    assert list(Event.objects.values_list("seq", flat=True)) == [3]
    assert StreamCounter.objects.get(key="debate.1").low_seq == 3


def test_a_failing_channel_layer_does_not_fail_the_write():
    streams.breaker.succeeded()
    with mock.patch("live.streams.get_channel_layer") as layer:
        layer.return_value.group_send.side_effect = ConnectionError("redis is down")
        with transaction.atomic():
            streams.append("debate.1", "test.kind")
    assert Event.objects.filter(stream="debate.1").count() == 1
    assert not streams.breaker.allows()
    streams.breaker.succeeded()


def test_a_publish_from_a_thread_running_its_own_event_loop_does_not_raise():
    """publish never raises: from a thread whose own event loop runs (Playwright's, a notebook's), the layer cannot
    be called synchronously; the push is left to the sweep, as when the layer is down."""
    event = streams.append("debate.1", "test.kind")
    streams.breaker.succeeded()

    async def from_a_loop():
        streams.publish(event)
        streams.publish_together([event, event])

    asyncio.run(from_a_loop())
    assert not streams.breaker.allows()
    streams.breaker.succeeded()


def test_a_broken_renderer_still_advances_the_seq():
    @streams.renderer("test.broken")
    def broken(event, r):
        raise ValueError("bug")

    event = streams.append("debate.1", "test.broken")
    frames = streams.frames(event)
    assert set(frames) == {"*:fr", "*:en"}
    assert '"seq":1' in frames["*:fr"] and "html" not in frames["*:fr"]


def test_stream_keys_are_validated():
    with pytest.raises(AssertionError):
        streams.append("debate 1; drop", "test.kind")


# templates/live/announcer.html as it was before live.streams.announcement built it (the bytes every page and push
# showed): the builder and the template's tag must give exactly these.
ANNOUNCER_BEFORE = (
    "{# The polite announcer's new text: base.html's #live-announcer keeps its element (a region put in anew is not always #}\n"
    "{# announced); live.js adds a text that comes right after another instead of overwriting it. #}\n"
    '<div id="live-announcer" hx-swap-oob="innerHTML">{{ text }}</div>\n')


@pytest.mark.parametrize("text", ["Nouveau commentaire de Zoé", "a <b> & \"c\" 'd'", "", None,
                                  "<em>déjà sûr</em>", "lazy"])
def test_the_announcer_is_the_bytes_its_template_wrote(text):
    from django.template import engines
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    if text == "<em>déjà sûr</em>":
        text = mark_safe(text)
    elif text == "lazy":
        text = gettext_lazy("Stances")
    before = engines["django"].from_string(ANNOUNCER_BEFORE).render({"text": text})
    assert streams.announcement(text) == before
    assert render_to_string("live/announcer.html", {"text": text}) == before
    included = engines["django"].from_string('<p>{% include "live/announcer.html" with text=announce %}</p>')
    assert included.render({"announce": text}) == f"<p>{before}</p>"
