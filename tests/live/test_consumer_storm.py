"""The reconnect-storm paths of the /ws/ endpoint (bench S7) keep every check: who the socket is, what it may
follow, how many sockets a user and an IP may hold.

- live/accounts/socket_auth.py: no session, anonymous without a thread hop; a session, channels' own get_user;
- live/consumers.py SharedAudiences: sockets without user and session asking at once share one authorization;
- live/ratelimit.py: the socket caps in one atomic script per socket, batched per turn of the event loop;
- live/asgi.py: autobahn's debug text built only when logged."""

import asyncio
import json
import pprint

import pytest
import websockets.sync.client as ws_client
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from live import consumers, ratelimit, streams
from tests.debates.conftest import make_debate
from tests.helpers import LiveServer, closed_at_once, connect, daphne_env, follow, free_port, position

pytestmark = [pytest.mark.django_db(transaction=True)]


# --- who the socket is ---------------------------------------------------------------------------------------------

async def test_a_socket_without_a_session_is_anonymous_without_asking_the_database(fiona, monkeypatch):
    debate = await sync_to_async(make_debate)(fiona)

    async def no_lookup(scope):
        raise AssertionError("a socket without a session cookie needs no session or user lookup")

    monkeypatch.setattr("live.accounts.socket_auth._get_user", no_lookup)
    ws = await connect(None)
    assert ws.connected_ok
    assert (await follow(ws, debate.stream_key))["type"] == "subscribed"
    assert (await follow(ws, fiona.stream_key, {"epoch": "", "seq": 0}))["code"] == "not_signed_in"
    await ws.disconnect()


@pytest.mark.parametrize("cookie", ["x", "0123456789abcdefghijklmnopqrstuv"])
async def test_a_malformed_or_unknown_session_cookie_is_anonymous(alice, cookie):
    ws = await connect(None, cookie=cookie)
    assert ws.connected_ok
    frame = await follow(ws, alice.stream_key, {"epoch": "", "seq": 0})
    assert frame["type"] == "error" and frame["code"] == "not_signed_in"
    await ws.disconnect()


async def test_a_signed_in_socket_is_its_user_and_a_stale_session_is_not(alice):
    from tests.helpers import session_cookie

    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(None, cookie=cookie)
    assert (await follow(ws, alice.stream_key))["type"] == "subscribed"
    await ws.disconnect()

    def change_password():
        alice.set_password("an entirely new secret 42")
        alice.save()

    await sync_to_async(change_password)()  # the session's auth hash no longer matches
    ws = await connect(None, cookie=cookie)
    assert ws.connected_ok
    assert (await follow(ws, alice.stream_key, {"epoch": "", "seq": 0}))["code"] == "not_signed_in"
    await ws.disconnect()


# --- what it may follow ----------------------------------------------------------------------------------------------

def counting_authorize(monkeypatch, delay=0.2):
    calls = []
    real = streams.authorize

    def slow(viewer, key):
        import time

        calls.append(key)
        time.sleep(delay)  # long enough for the others to ask meanwhile
        return real(viewer, key)

    monkeypatch.setattr(streams, "authorize", slow)
    return calls


async def test_anonymous_sockets_asking_at_once_share_one_authorization(fiona, monkeypatch):
    debate = await sync_to_async(make_debate)(fiona)
    calls = counting_authorize(monkeypatch)
    viewer = streams.Viewer(user=AnonymousUser())
    shared = consumers.SharedAudiences()
    answers = await asyncio.gather(*(shared.get(debate.stream_key, viewer) for _ in range(20)))
    assert answers == ["public"] * 20 and calls == [debate.stream_key]
    # nothing is kept once the query is done: the next one asks again
    assert await shared.get(debate.stream_key, viewer) == "public" and len(calls) == 2
    assert shared.pending == {}


async def test_a_shared_refusal_is_a_refusal_for_each_and_is_not_kept(alice, monkeypatch):
    calls = counting_authorize(monkeypatch)
    viewer = streams.Viewer(user=AnonymousUser())
    shared = consumers.SharedAudiences()
    results = await asyncio.gather(*(shared.get(alice.stream_key, viewer) for _ in range(5)),
                                   *(shared.get("debate.999999", viewer) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, PermissionDenied) for r in results[:5])
    assert all(isinstance(r, ObjectDoesNotExist) for r in results[5:])
    assert sorted(calls) == sorted([alice.stream_key, "debate.999999"])
    with pytest.raises(PermissionDenied):
        await shared.get(alice.stream_key, viewer)
    assert len(calls) == 3


async def test_a_shared_authorization_whose_asker_went_away_is_asked_again_for_the_others(fiona, monkeypatch):
    """When the socket whose query the others wait for is cancelled (daphne cancels a consumer still busy 10 s
    after its client left), the others used to get a RuntimeError out of their resume: their consumers died with a
    traceback and without their disconnect (connection slots kept). They ask again instead."""
    debate = await sync_to_async(make_debate)(fiona)
    calls = counting_authorize(monkeypatch, delay=0.3)
    viewer = streams.Viewer(user=AnonymousUser())
    shared = consumers.SharedAudiences()
    first = asyncio.ensure_future(shared.get(debate.stream_key, viewer))
    while not calls:
        await asyncio.sleep(0.01)
    others = [asyncio.ensure_future(shared.get(debate.stream_key, viewer)) for _ in range(3)]
    await asyncio.sleep(0.01)
    first.cancel()
    assert await asyncio.wait_for(asyncio.gather(*others), 5) == ["public"] * 3
    assert len(calls) == 2 and shared.pending == {}


async def test_sockets_with_a_user_or_a_session_are_authorized_one_by_one(alice, fiona, monkeypatch):
    debate = await sync_to_async(make_debate)(fiona)

    async def not_shared(key, viewer):
        raise AssertionError("only sockets without user and session share an authorization")

    monkeypatch.setattr(consumers.PUBLIC_AUDIENCES, "get", not_shared)
    ws = await connect(alice)
    assert (await follow(ws, debate.stream_key))["type"] == "subscribed"
    await ws.disconnect()
    ws = await connect(None, cookie=await sync_to_async(anonymous_session)())
    assert (await follow(ws, debate.stream_key))["type"] == "subscribed"
    await ws.disconnect()


def anonymous_session() -> str:
    from importlib import import_module

    from django.conf import settings

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["meetings_screens"] = {}
    session.save()
    return session.session_key


async def test_many_anonymous_sockets_resume_a_debate_together(fiona):
    debate = await sync_to_async(make_debate)(fiona)
    pos = await sync_to_async(position)(debate.stream_key)
    sockets = await asyncio.gather(*(connect(None) for _ in range(15)))
    assert all(ws.connected_ok for ws in sockets)
    frames = await asyncio.gather(*(follow(ws, debate.stream_key, pos) for ws in sockets))
    assert [f["type"] for f in frames] == ["subscribed"] * 15
    for ws in sockets:
        await ws.disconnect()


# --- how many sockets --------------------------------------------------------------------------------------------------

def redis_ttl(key) -> int:
    return cache._cache.get_client(write=True).ttl(cache.make_key(key))


@pytest.mark.needs_redis
async def test_a_refused_socket_takes_no_slot_at_all(settings, alice):
    settings.LIVE_MAX_SOCKETS_PER_USER = 1
    first = await connect(alice)
    assert first.connected_ok
    second = await connect(alice)
    assert second.connected_ok and await closed_at_once(second) == 4429
    # the IP slot the refused socket took before its user cap said no was given back in the same step
    ip_key = f"conn:ip:{ratelimit.client_ip(first.scope)}"
    assert await sync_to_async(cache.get)(ip_key) == 1
    assert await sync_to_async(cache.get)(f"conn:user:{alice.pk}") == 1
    assert 0 < await sync_to_async(redis_ttl)(f"conn:user:{alice.pk}") <= ratelimit.SLOT_SECONDS
    await first.disconnect()
    assert await sync_to_async(cache.get)(f"conn:user:{alice.pk}") == 0


@pytest.mark.needs_redis
async def test_a_release_never_goes_below_zero_nor_revives_an_expired_counter():
    await ratelimit.release_connection(["conn:ip:203.0.113.9"])
    assert await sync_to_async(cache.get)("conn:ip:203.0.113.9") is None
    await sync_to_async(cache.set)("conn:ip:203.0.113.9", 0)
    await ratelimit.release_connection(["conn:ip:203.0.113.9"])
    assert await sync_to_async(cache.get)("conn:ip:203.0.113.9") == 0


@pytest.mark.needs_redis
async def test_simultaneous_sockets_share_round_trips_and_each_is_counted(settings, monkeypatch):
    settings.LIVE_MAX_SOCKETS_PER_IP = 30
    batches = []
    real = ratelimit._run_scripts

    def counting(calls):
        batches.append(len(calls))
        return real(calls)

    monkeypatch.setattr(ratelimit, "_run_scripts", counting)
    scope = {"client": ("198.51.100.7", 1234), "user": AnonymousUser()}
    slots = await asyncio.gather(*(ratelimit.acquire_connection(scope) for _ in range(40)))
    assert sum(slot is not None for slot in slots) == 30  # the cap holds, whatever the batching
    assert await sync_to_async(cache.get)("conn:ip:198.51.100.7") == 30
    assert sum(batches) == 40 and len(batches) < 40
    await asyncio.gather(*(ratelimit.release_connection(slot) for slot in slots if slot))
    assert await sync_to_async(cache.get)("conn:ip:198.51.100.7") == 0


# --- the handshake's cost ----------------------------------------------------------------------------------------------

def test_autobahn_builds_its_debug_text_only_when_it_is_logged():
    from autobahn.websocket import protocol

    import live.asgi  # noqa: F401 - applies it

    config = [("openHandshakeTimeout", 5, "Factory"), ("autoPingInterval", 0, "Factory")]
    lazy = protocol.pformat(config)
    assert not isinstance(lazy, str)
    assert f"\n{lazy}" == "\n" + pprint.pformat(config)
    assert isinstance(str(protocol.Timings()), str)


# --- through daphne: control frames written straight to the socket stay in order with the events -------------------

@pytest.fixture
def daphne_server(django_db_setup):
    server = LiveServer(free_port(), daphne_env()).start()
    yield server
    server.stop()


@pytest.mark.needs_redis
def test_frames_through_daphne_arrive_whole_and_in_order(daphne_server, fiona, alice, settings):
    from debates import services

    settings.RATE_LIMITS_ENABLED = False
    debate = make_debate(fiona)
    key = debate.stream_key
    start = position(key)
    for i in range(3):
        services.post_comment(author=alice, debate=debate, body=f"Avant {i}")
    url = f"ws://127.0.0.1:{daphne_server.port}/ws/"
    with ws_client.connect(url, origin=daphne_server.url) as reader:
        reader.send(json.dumps({"type": "resume", "streams": {key: start, "debate.999999": {"epoch": "", "seq": 0}}}))
        reader.send(json.dumps({"type": "ping"}))
        frames = []
        while not frames or frames[-1]["type"] != "pong":
            frames.append(json.loads(reader.recv(timeout=10)))
    events = [f for f in frames if f["type"] == "event"]
    assert len(events) >= 3 and [f["seq"] for f in events] == list(range(start["seq"] + 1, start["seq"] + 1 + len(events)))
    assert "Avant 2" in events[-1]["html"] or any("Avant 2" in f.get("html", "") for f in events)
    assert frames[len(events):] == [
        {"type": "subscribed", "stream": key, "seq": events[-1]["seq"]},
        {"type": "error", "code": "not_found", "stream": "debate.999999", "detail": "No such stream."},
        {"type": "pong"}]
