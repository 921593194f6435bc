"""The fan-out fast path's pieces: frames built once (live/wire.py) and replays served from the hub's memory
(live/hub.py), which must never resend a frame that a later event made stale."""

import asyncio
import struct

import pytest

from live import hub as hub_module
from live import streams, wire


def parse_frame(frame: bytes) -> tuple[int, bytes]:
    first, second = frame[0], frame[1]
    n, offset = second & 0x7F, 2
    if n == 126:
        n, offset = struct.unpack("!H", frame[2:4])[0], 4
    elif n == 127:
        n, offset = struct.unpack("!Q", frame[2:10])[0], 10
    assert second & 0x80 == 0, "server frames are never masked"
    return first, frame[offset:offset + n]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_frame_bytes_is_one_final_text_frame(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    first, payload = parse_frame(wire.frame_bytes(text))
    assert first == 0x81  # FIN + text opcode
    assert payload.decode("utf-8") == text


def test_encoded_is_built_once_per_audience_and_language():
    msg = {"seq": 3, "frames": {"*:fr": '{"a":1}', "moderators:fr": '{"m":1}'}}
    public = wire.encoded(msg, "debate.1", "public", "fr")
    assert public is wire.encoded(msg, "debate.1", "public", "fr")
    assert parse_frame(wire.encoded(msg, "debate.1", "moderators", "fr"))[1] == b'{"m":1}'
    assert parse_frame(public)[1] == b'{"a":1}'
    # Nothing rendered for this language: the seq still advances.
    assert b'"seq": 3' in parse_frame(wire.encoded(msg, "debate.1", "public", "en"))[1]


def test_refs_name_what_an_event_touches():
    assert streams.refs({"comment": 12, "_control": {"x": 1}, "comments": [3, 4], "flag": True}) == [
        "comment=12", "comments=3", "comments=4"]


def message(seq, *refs):
    return {"type": "live.event", "stream": "debate.1", "seq": seq, "frames": {"*:fr": f"f{seq}"},
            "control": None, "refs": list(refs)}


@pytest.fixture
def hub():
    loop = asyncio.new_event_loop()
    h = hub_module.Hub(loop)
    h.last["debate.1"] = 0
    h.epochs["debate.1"] = "e1"
    yield h
    loop.close()


def deliver(h, msg):
    h._remember("debate.1", msg)
    h.last["debate.1"] = msg["seq"]


def seqs(msgs):
    return None if msgs is None else [m["seq"] for m in msgs]


def test_recent_events_are_replayed_from_memory(hub):
    for seq in (1, 2, 3):
        deliver(hub, message(seq, f"comment={seq}"))
    assert seqs(hub.replay_from_memory("debate.1", 0, "e1")) == [1, 2, 3]
    assert seqs(hub.replay_from_memory("debate.1", 2, "")) == [3]
    assert hub.replay_from_memory("debate.1", 3, "e1") == []
    assert hub.replay_from_memory("debate.1", 4, "e1") is None  # ahead of this process: ask the log
    assert hub.replay_from_memory("debate.1", 1, "other-epoch") is None  # the log answers with a reset
    assert hub.replay_from_memory("debate.9", 0, "") is None  # not followed here


def test_a_later_event_on_the_same_thing_makes_earlier_frames_stale(hub):
    for seq in (1, 2, 3):
        deliver(hub, message(seq, f"comment={seq}"))
    deliver(hub, message(4, "comment=2"))  # e.g. comment 2 hidden: frame 2 must never be resent
    assert hub.replay_from_memory("debate.1", 0, "e1") is None
    assert hub.replay_from_memory("debate.1", 1, "e1") is None
    assert seqs(hub.replay_from_memory("debate.1", 2, "e1")) == [3, 4]


def test_an_event_without_refs_sends_older_positions_to_the_log(hub):
    deliver(hub, message(1, "comment=1"))
    deliver(hub, {**message(2), "refs": None})
    assert hub.replay_from_memory("debate.1", 0, "e1") is None
    assert seqs(hub.replay_from_memory("debate.1", 1, "e1")) == [2]


def test_old_frames_are_not_replayed_from_memory(hub, monkeypatch):
    deliver(hub, message(1, "comment=1"))
    deliver(hub, message(2, "comment=2"))
    now = hub_module.time.monotonic()
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: now + hub_module.RECENT_SECONDS + 1)
    assert hub.replay_from_memory("debate.1", 0, "e1") is None


def test_a_hole_restarts_the_memory(hub):
    deliver(hub, message(1, "comment=1"))
    deliver(hub, message(5, "comment=5"))  # after a reset jumped the position
    assert hub.replay_from_memory("debate.1", 0, "e1") is None
    assert seqs(hub.replay_from_memory("debate.1", 4, "e1")) == [5]


def test_a_replay_from_the_log_extends_the_memory_backwards(hub):
    hub.subscribers["debate.1"] = {object()}
    hub.last["debate.1"] = 5
    deliver(hub, message(6, "comment=6"))
    hub.learn_replay("debate.1", [message(3, "comment=3"), message(4, "comment=4"), message(5, "comment=5")])
    assert seqs(hub.replay_from_memory("debate.1", 2, "e1")) == [3, 4, 5, 6]
    # A replay that does not reach what the hub delivered teaches nothing.
    hub.learn_replay("debate.1", [message(1, "comment=1")])
    assert hub.replay_from_memory("debate.1", 0, "e1") is None


def test_learning_keeps_the_staleness_rule(hub):
    hub.subscribers["debate.1"] = {object()}
    hub.last["debate.1"] = 2
    deliver(hub, message(3, "comment=1"))  # comment 1 changed after the replay below was rendered
    hub.learn_replay("debate.1", [message(1, "comment=1"), message(2, "comment=2")])
    assert hub.replay_from_memory("debate.1", 0, "e1") is None
    assert seqs(hub.replay_from_memory("debate.1", 1, "e1")) == [2, 3]


@pytest.mark.asyncio
async def test_a_shared_replay_whose_first_socket_went_away_is_read_again_for_the_others():
    """Sockets resuming a stream from the same position share one replay, read by the first. When that first one's
    task is cancelled (daphne cancels a consumer still busy 10 s after its client left, which a replay in a
    reconnect storm can be), the others used to get a RuntimeError ("replay cancelled") out of their resume: their
    consumers died with a traceback and without their disconnect (their connection slots kept for the process's
    life). They read the replay themselves instead."""
    hub = hub_module.Hub(asyncio.get_running_loop())
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(10)
        return []

    async def quick():
        return [{"seq": 1}]

    first = asyncio.ensure_future(hub.shared_replay("debate.1", 0, "e1", slow))
    await started.wait()
    second = asyncio.ensure_future(hub.shared_replay("debate.1", 0, "e1", quick))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await asyncio.wait_for(second, 2) == [{"seq": 1}]
    with pytest.raises(asyncio.CancelledError):
        await first
