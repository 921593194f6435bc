"""Replays are rendered once for every socket that resumes (a reconnect storm), never reusing a rendering that a
later event on the same thing made stale."""

import threading
import time

import pytest
from django.db import connection

from live import streams

pytestmark = pytest.mark.django_db(transaction=True)

STATE = {}
CALLS = []
BEFORE_RENDERING = []  # what a test does inside the first rendering, once


@pytest.fixture(autouse=True)
def renderer():
    streams._replay_cache.clear()
    CALLS.clear()

    @streams.renderer("test.item")
    def render(event, r):
        CALLS.append(event.seq)
        while BEFORE_RENDERING:
            BEFORE_RENDERING.pop()()
        return f"<p id='item-{event.data['item']}'>{STATE.get(event.data['item'], 'shown')}</p>"

    yield
    streams._renderers.pop("test.item", None)
    BEFORE_RENDERING.clear()


def html_of(msgs):
    return [m["frames"]["*:fr"] for m in msgs]


def test_a_storm_renders_each_event_once():
    for item in (1, 2, 3):
        streams.append("debate.7", "test.item", item=item)
    epoch = streams.cursor("debate.7").epoch
    first = streams.replay_messages("debate.7", 0, epoch=epoch)
    calls = len(CALLS)
    for _ in range(50):
        assert html_of(streams.replay_messages("debate.7", 0, epoch=epoch)) == html_of(first)
    assert len(CALLS) == calls  # 50 more sockets, no more rendering


def test_a_later_event_on_the_same_thing_forces_a_fresh_rendering():
    streams.append("debate.7", "test.item", item=1)
    streams.append("debate.7", "test.item", item=2)
    assert "shown" in html_of(streams.replay_messages("debate.7", 0))[0]
    STATE[1] = "hidden"  # the item is hidden, and that is an event touching it
    streams.append("debate.7", "test.item", item=1)
    try:
        replayed = html_of(streams.replay_messages("debate.7", 0))
    finally:
        STATE.clear()
    assert "shown" not in replayed[0] and "hidden" in replayed[0]
    assert len(replayed) == 3


def test_sockets_replaying_one_stream_at_once_wait_for_the_first_rendering_and_reuse_it():
    """A reconnect storm: the first socket renders, the others wait for its lock and reuse what it rendered."""
    for item in (1, 2, 3):
        streams.append("debate.7", "test.item", item=item)
    epoch = streams.cursor("debate.7").epoch
    sockets = 6

    def the_others_wait():  # inside the first rendering: every other socket is waiting for the stream's lock
        deadline = time.monotonic() + 10
        while streams._render_locks.get("debate.7", [None, 0])[1] < sockets:
            assert time.monotonic() < deadline, "the other sockets never waited for the first one's rendering"
            time.sleep(0.001)

    BEFORE_RENDERING.append(the_others_wait)
    results, go = [], threading.Barrier(sockets)

    def resume():
        try:
            go.wait(10)
            results.append(html_of(streams.replay_messages("debate.7", 0, epoch=epoch)))
        finally:
            connection.close()

    threads = [threading.Thread(target=resume) for _ in range(sockets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(results) == sockets and all(result == results[0] for result in results)
    assert "debate.7" not in streams._render_locks  # nobody holds or waits for it any more
    storm = sorted(CALLS)
    streams._replay_cache.clear()
    CALLS.clear()
    streams.replay_messages("debate.7", 0, epoch=epoch)
    assert storm == sorted(CALLS)  # the six of them rendered each event as often as one socket alone does


def test_replaying_many_streams_leaves_no_lock_behind():
    """A long-running process replays thousands of streams (every debate, conversation, person): it used to keep one
    lock per stream it ever replayed, for its whole life."""
    keys = [f"conversation.{n}" for n in range(1, 201)]
    for n, key in enumerate(keys):
        streams.append(key, "test.item", item=n)
    for key in keys:
        assert len(streams.replay_messages(key, 0)) == 1
    assert len(streams._render_locks) == 0
