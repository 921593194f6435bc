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
