"""Writes over the open socket (live/socket_writes.py, the `write` frame of live/consumers.py): answered `written`
with the action's result or `refused` with the services' own words, whatever the refusal; unknown actions and
malformed frames refused as "invalid" and counted as bad frames; a write never outlives its session; a socket has a
bounded number of writes in flight."""

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404
from django.utils import timezone

from live import metrics, socket_writes
from live.ratelimit import RateLimited
from live.socket_writes import Actor, socket_write
from tests.helpers import connect, receive, receive_until, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]

seen: list[tuple] = []  # what the test actions were given
release = threading.Event()  # holds tests.wait until set


@socket_write("tests.echo")
def echo(actor: Actor, data):
    seen.append((actor.user, actor.lang, actor.ip, data.getlist("choice"), threading.current_thread().name))
    return {"text": data.get("text", ""), "who": getattr(actor.user, "nickname", None)}


@socket_write("tests.refuse")
def refuse(actor: Actor, data):
    raise {
        "invalid": ValidationError({"body": ["Write a message first."]}),
        "invalid_plain": ValidationError("Too long."),
        "forbidden": PermissionDenied("You cannot write in this conversation."),
        "rate_limited": RateLimited(12, "message"),
        "not_found": ObjectDoesNotExist("Conversation matching query does not exist."),
        "http404": Http404("No such conversation."),
        "unavailable": DatabaseError("server closed the connection unexpectedly"),
        "bug": KeyError("secret body text"),
    }[data["why"]]


@socket_write("tests.wait")
def wait(actor: Actor, data):
    release.wait(10)
    return None


@pytest.fixture(autouse=True)
def _reset():
    seen.clear()
    release.clear()
    yield
    release.set()


async def write(ws, ident, action, data=None):
    await ws.send_json_to({"type": "write", "id": ident, "action": action, "data": data or {}})
    frame, _ = await receive_until(ws, lambda f: f.get("id") == ident)
    return frame


async def test_a_write_is_answered_with_its_result_from_a_pool_thread(alice):
    ws = await connect(alice)
    frame = await write(ws, "w1", "tests.echo", {"text": "Bonjour 👋", "choice": ["a", "b"]})
    assert frame == {"type": "written", "id": "w1", "result": {"text": "Bonjour 👋", "who": "alice"}}
    user, lang, ip, choices, thread = seen[0]
    assert user.pk == alice.pk and lang == "fr" and ip and choices == ["a", "b"]
    assert thread.startswith("live-write")  # the writes' own pool (in_write_pool), not the one thread-sensitive thread
    await ws.disconnect()


async def test_a_guest_writes_as_the_anonymous_user():
    ws = await connect(None)
    frame = await write(ws, "g", "tests.echo", {"text": "hi"})
    assert frame["type"] == "written" and frame["result"]["who"] is None
    assert not seen[0][0].is_authenticated
    await ws.disconnect()


@pytest.mark.parametrize("why, kind, message, extra", [
    ("invalid", "invalid", "Write a message first.", {"fields": {"body": ["Write a message first."]}}),
    ("invalid_plain", "invalid", "Too long.", {}),
    ("forbidden", "forbidden", "You cannot write in this conversation.", {}),
    ("rate_limited", "rate_limited", "Too many attempts. Please try again in 12 seconds.", {"retry_after": 12}),
    ("not_found", "not_found", None, {}),
    ("http404", "not_found", None, {}),
    ("unavailable", "unavailable", None, {"retry_after": 2}),
    ("bug", "unavailable", None, {"retry_after": 2}),
])
async def test_each_refusal_is_answered_with_its_kind_and_words(alice, why, kind, message, extra, caplog):
    ws = await connect(alice, lang="en")
    frame = await write(ws, "r1", "tests.refuse", {"why": why})
    assert frame["type"] == "refused" and frame["id"] == "r1" and frame["kind"] == kind
    assert frame["message"] == message if message else frame["message"]
    assert "does not exist" not in frame["message"] and "server closed" not in frame["message"]
    for key, value in extra.items():
        assert frame[key] == value
    assert "secret body text" not in caplog.text  # no content in logs
    await ws.send_json_to({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}  # the socket goes on
    await ws.disconnect()


async def test_a_refusal_is_said_in_the_sockets_language(alice):
    ws = await connect(alice, lang="fr")
    frame = await write(ws, "r", "tests.refuse", {"why": "rate_limited"})
    assert frame["message"].startswith("Trop de tentatives")
    await ws.disconnect()


async def test_refusals_and_writes_are_counted_per_action(alice, settings):
    settings.METRICS_ENABLED = True
    before = dict(metrics.socket_writes)
    ws = await connect(alice)
    await write(ws, "a", "tests.echo")
    await write(ws, "b", "tests.refuse", {"why": "forbidden"})
    assert metrics.socket_writes[("tests.echo", "written")] == before.get(("tests.echo", "written"), 0) + 1
    assert metrics.socket_writes[("tests.refuse", "forbidden")] == before.get(("tests.refuse", "forbidden"), 0) + 1
    await ws.disconnect()


async def test_an_unknown_action_is_refused_as_invalid_not_closed(alice):
    ws = await connect(alice)
    frame = await write(ws, "u", "launch.missiles")
    assert frame["type"] == "refused" and frame["kind"] == "invalid" and frame["message"]
    await ws.send_json_to({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.disconnect()


@pytest.mark.parametrize("payload", [
    {"type": "write", "action": "tests.echo", "data": {}},                     # no id
    {"type": "write", "id": "x" * 65, "action": "tests.echo", "data": {}},     # id too long
    {"type": "write", "id": 7, "action": "tests.echo", "data": {}},            # id not a string
    {"type": "write", "id": "m", "action": ["tests.echo"], "data": {}},        # action not a name
    {"type": "write", "id": "m", "action": "../etc", "data": {}},
    {"type": "write", "id": "m", "action": "tests.echo", "data": "text=1"},    # data not an object
    {"type": "write", "id": "m", "action": "tests.echo", "data": {"text": {"deep": 1}}},  # not a form's value
    {"type": "write", "id": "m", "action": "tests.echo", "data": {"text": True}},
    {"type": "write", "id": "m", "action": "tests.echo", "data": {f"f{i}": "1" for i in range(65)}},
])
async def test_a_malformed_write_is_refused_as_invalid_and_writes_nothing(alice, payload):
    ws = await connect(alice)
    await ws.send_json_to(payload)
    frame = await receive(ws)
    assert frame["type"] == "refused" and frame["kind"] == "invalid" and frame["message"]
    assert frame["id"] == (payload["id"] if isinstance(payload.get("id"), str) and len(payload["id"]) <= 64 else None)
    assert not seen
    await ws.disconnect()


async def test_repeated_malformed_writes_close_the_socket_like_other_bad_frames(alice):
    ws = await connect(alice)
    for i in range(6):
        await ws.send_json_to({"type": "write", "id": f"m{i}", "action": "nobody.here", "data": {}})
        await receive(ws)
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4408}


def _end_behind_the_services_back(how, alice, cookie):
    """Sessions also end outside the services (no control event closes the socket): the check before each write
    must see it."""
    if how == "deleted":  # expired and cleared, flushed elsewhere
        Session.objects.filter(session_key=cookie).delete()
    elif how == "expired":
        Session.objects.filter(session_key=cookie).update(expire_date=timezone.now() - timedelta(seconds=1))
    elif how == "password":  # manage.py changepassword
        alice.set_password("another-Horse-battery-7")
        alice.save()
    elif how == "deactivated":
        type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    elif how == "blocked":
        type(alice).objects.filter(pk=alice.pk).update(blocked_at=timezone.now())


@pytest.mark.parametrize("how", ["deleted", "expired", "password", "deactivated", "blocked"])
async def test_a_write_after_the_session_ended_is_refused_and_the_socket_closed(alice, how):
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    assert (await write(ws, "ok", "tests.echo"))["type"] == "written"
    assert (await write(ws, "ok2", "tests.echo"))["type"] == "written"  # the socket's signer is known by now

    await sync_to_async(_end_behind_the_services_back)(how, alice, cookie)
    seen.clear()
    frame = await write(ws, "late", "tests.echo", {"text": "after"})
    assert frame["type"] == "refused" and frame["kind"] == "forbidden"
    error, _ = await receive_until(ws, lambda f: f.get("type") == "error")
    assert error["code"] == "session_ended"
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
    assert not seen  # the action never ran


async def test_a_socket_reads_its_session_from_the_store_once_at_its_connect(alice, monkeypatch):
    """Who signs the session in is read at the connect (to find the socket's user); its writes check the session
    afresh (still_signed_in, one statement) without loading and decoding it again."""
    from live.accounts.sessions import SessionStore

    loads = []
    real_load = SessionStore.load
    monkeypatch.setattr(SessionStore, "load", lambda self: loads.append(self.session_key) or real_load(self))
    cookie = await sync_to_async(session_cookie)(alice)
    loads.clear()  # signing in
    ws = await connect(cookie=cookie)
    assert loads == [cookie]
    for ident in ("first", "second"):
        frame = await write(ws, ident, "tests.echo")
        assert frame["type"] == "written" and frame["result"]["who"] == "alice"
    assert loads == [cookie]
    await ws.disconnect()


async def test_writes_in_flight_are_bounded_per_socket(alice, settings):
    settings.LIVE_MAX_WRITES_IN_FLIGHT = 3
    ws = await connect(alice)
    for i in range(3):
        await ws.send_json_to({"type": "write", "id": f"slow{i}", "action": "tests.wait", "data": {}})
    await ws.send_json_to({"type": "write", "id": "one-too-many", "action": "tests.echo", "data": {}})
    frame = await receive(ws)
    assert frame["id"] == "one-too-many" and frame["kind"] == "rate_limited" and frame["retry_after"] == 1
    await ws.send_json_to({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}  # the socket keeps reading while its writes run
    release.set()
    answers = {(await receive(ws))["id"] for _ in range(3)}
    assert answers == {"slow0", "slow1", "slow2"}
    assert (await write(ws, "again", "tests.echo"))["type"] == "written"  # room again once they are answered
    await ws.disconnect()


async def test_a_socket_closed_while_its_write_runs_is_left_alone(alice):
    ws = await connect(alice)
    await ws.send_json_to({"type": "write", "id": "slow", "action": "tests.wait", "data": {}})
    await asyncio.sleep(0.1)
    await ws.disconnect()
    release.set()
    await asyncio.sleep(0.2)  # the write's answer finds no socket: nothing raised


def test_the_registry_refuses_a_second_function_under_a_taken_name():
    with pytest.raises(ValueError):
        socket_write("tests.echo")(lambda actor, data: None)
    with pytest.raises(ValueError):
        socket_write("Not A Name")


def test_the_registry_finds_the_apps_writes_without_a_request():
    assert "tests.echo" in socket_writes.registered()


async def test_a_socket_that_closes_ends_every_task_it_started(alice):
    """A closing socket's tasks (its session watch, its writes in flight, its catch-ups) end with its disconnect:
    the watch used to be cancelled without being waited for, and the writes were left running, each a task still
    pending after its socket was gone (at the loop's end: "Task was destroyed but it is pending"). A write's thread
    cannot be stopped: what it writes commits or not as without the socket; nobody is answered."""
    from live.hub import get_hub

    ws = await connect(alice)
    [consumer] = get_hub().subscribers[alice.stream_key]
    await ws.send_json_to({"type": "write", "id": "slow", "action": "tests.wait", "data": {}})
    for _ in range(200):
        if consumer.writes:
            break
        await asyncio.sleep(0.01)
    tasks = [consumer.session_watch, *consumer.writes]
    assert len(tasks) == 2 and not any(task.done() for task in tasks)
    await consumer.disconnect(1000)
    pending = [task for task in tasks if not task.done()]
    release.set()
    await ws.disconnect()
    assert not pending
