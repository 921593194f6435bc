"""The sweep (live/hub.py) delivers from the log only what was committed at least one sweep ago and never arrived:
an event whose publish is still on its way (rendering, then Redis) is left to it, so each event keeps its own frame
rendered when it happened (a bounded view such as the meeting screen's latest six would otherwise skip some)."""

import asyncio

import pytest

from live import streams
from live.hub import Hub

KEY = "debate.1"


@pytest.mark.asyncio
async def test_the_sweep_fills_only_what_was_already_missing_at_the_previous_sweep(monkeypatch):
    hub = Hub(asyncio.get_running_loop())
    hub.subscribers[KEY] = {object()}
    hub.last[KEY] = 3
    heads = {KEY: ("e1", 5, 1)}
    monkeypatch.setattr(streams, "heads", lambda keys: {k: heads[k] for k in keys})
    fills = []

    async def fill(key, after, upto=None):
        fills.append((key, after, upto))
        hub.last[key] = upto

    monkeypatch.setattr(hub, "_fill", fill)

    await hub.sweep()  # 4 and 5 were just committed: their publish may be under way
    assert fills == []
    heads[KEY] = ("e1", 7, 1)
    await hub.sweep()  # 4 and 5 are a whole interval old and still missing: read them; 6 and 7 wait
    assert fills == [(KEY, 3, 5)]
    hub.last[KEY] = 7  # 6 and 7 arrive from the layer
    await hub.sweep()
    assert fills == [(KEY, 3, 5)]


@pytest.mark.asyncio
async def test_a_log_read_that_ends_after_the_last_socket_left_leaves_nothing_of_the_stream_behind(monkeypatch):
    """The last socket of a stream may leave while a hub task reads the stream's log (the sweep, a hole). What that
    read returns must not be delivered into the forgotten stream: it used to recreate the stream's position and its
    recent-events memory (up to RECENT_EVENTS rendered events) for a stream nobody here followed any more, kept for
    the process's life; and a later subscriber found that stale position instead of the log's head, read the whole
    difference from the log again as a hole, or was reset when it was more than LIVE_REPLAY_LIMIT behind."""
    from live import hub as hub_module

    loop = asyncio.get_running_loop()
    hub = Hub(loop)
    consumer = object()
    hub.subscribers[KEY] = {consumer}
    hub.last[KEY] = 3
    hub.swept = {KEY: 5}
    monkeypatch.setattr(streams, "heads", lambda keys: {k: ("e1", 5, 1) for k in keys})

    def read_while_the_socket_leaves(key, after, upto):
        asyncio.run_coroutine_threadsafe(hub.unsubscribe(KEY, consumer), loop).result(5)
        return [{"type": "live.event", "stream": KEY, "seq": seq, "frames": {}, "control": None, "refs": []}
                for seq in range(after + 1, upto + 1)]

    monkeypatch.setattr(hub_module, "_messages_after", read_while_the_socket_leaves)
    await hub.sweep()
    assert KEY not in hub.subscribers
    assert KEY not in hub.last and KEY not in hub.recent and KEY not in hub.touched
