"""Property: whatever frame a client sends, the socket answers with frames daphne can send (valid UTF-8 JSON of a
documented type) or closes with a documented code; it never crashes (which daphne turns into 1011).

Before the frame check (live.text.storable in LiveConsumer.receive), a stream key with an escaped lone surrogate
came back in an error frame that cannot be encoded: daphne's 1011, and the socket lost."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debates import services as debates
from live.close_codes import Close
from tests.helpers import connect, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_TYPES = {"event", "ephemeral", "reset", "error", "pong", "subscribed"}
CLOSE_CODES = {value for name, value in vars(Close).items() if name.isupper()}

surrogates = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.one_of(
    st.text(max_size=12),
    st.text(st.one_of(st.characters(), surrogates, st.sampled_from("\x00\u202e\u2066\ufeff")), max_size=12),
    st.sampled_from(["", "\ud800", "a\x00b", "\u202egnp.exe", "debate.1\x00", "x" * 300]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)


def frames(real_keys: list[str]):
    ids = st.one_of(st.integers(-1, 10**12).map(str), texts)
    kinds = st.sampled_from(["debate", "user", "conversation", "meeting", "notifications", "x", ""])
    keys = st.one_of(st.sampled_from(real_keys), st.builds("{}.{}".format, kinds, ids), texts)
    positions = st.one_of(json_values, st.fixed_dictionaries(
        {"seq": st.one_of(st.integers(-1, 2**60), json_values)}, optional={"epoch": st.one_of(texts, json_values)}))
    objects = st.one_of(
        st.fixed_dictionaries({"type": st.just("resume"),
                               "streams": st.one_of(json_values, st.dictionaries(keys, positions, max_size=3))}),
        st.fixed_dictionaries({"type": st.just("typing"), "stream": st.one_of(keys, json_values)}),
        st.fixed_dictionaries({"type": st.one_of(st.sampled_from(["ping", "resume", "typing"]), json_values)}),
        json_values,
    )
    return st.one_of(
        objects.map(lambda value: json.dumps(value)),  # escapes: the way a lone surrogate travels in JSON
        objects.map(lambda value: json.dumps(value, ensure_ascii=False)).filter(_encodable),
        st.text(max_size=50).filter(_encodable),  # daphne hands over valid UTF-8 only
        st.binary(max_size=50),
        st.just("[" + " " * 70_000 + "]"),  # over the 64 KB frame limit
    )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def exchange(cookie: str, frame, times: int) -> None:
    ws = await connect(cookie=cookie)
    assert ws.connected_ok
    try:
        # send_input, not send_to: an empty frame is a frame too. Repeated, a bad frame closes the socket.
        for _ in range(times):
            await ws.send_input({"type": "websocket.receive", "bytes" if isinstance(frame, bytes) else "text": frame})
        await ws.send_to(text_data='{"type": "ping"}')  # answered in order: everything before its pong is the answer
        while True:
            output = await ws.receive_output(timeout=5)  # re-raises whatever crashed the consumer
            if output["type"] == "websocket.close":
                assert output.get("code", 1000) in CLOSE_CODES | {1000}, output
                return
            text = output["text"]
            text.encode("utf-8")  # what daphne does with it; a lone surrogate here was the 1011
            payload = json.loads(text)
            assert payload.get("type") in FRAME_TYPES, payload
            if payload["type"] == "pong":
                return
    finally:
        await ws.disconnect()


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_any_frame_gets_an_answer_or_a_documented_close(alice, cast, data):
    cookie, keys = cast
    await exchange(cookie, data.draw(frames(keys), label="frame"), data.draw(st.integers(1, 7), label="times"))


@pytest.fixture
def cast(alice, fiona):
    debate = debates.create_debate(author=fiona, title="Un débat", description="Pour les trames.")
    return session_cookie(alice), [debate.stream_key, alice.stream_key]
