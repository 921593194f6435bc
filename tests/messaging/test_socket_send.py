"""The composer over the socket (`messages.send`, live/socket_writes.py): the same parse and service as the HTTP
view, so the same message, the same refusals, and the same idempotency on (author, client_id) across transports."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from live.messaging.models import Message
from tests.helpers import connect, events, receive_until
from tests.messaging.test_consumer import follow

pytestmark = [pytest.mark.django_db(transaction=True)]


async def send(ws, ident, conversation, body, client_id=None):
    await ws.send_json_to({"type": "write", "id": ident, "action": "messages.send",
                           "data": {"conversation": str(conversation), "body": body,
                                    "client_id": str(client_id or uuid.uuid4())}})
    frame, _ = await receive_until(ws, lambda f: f.get("id") == ident)
    return frame


async def test_alices_message_over_the_socket_reaches_bob_live(alice, bob, chat):
    key = chat.stream_key
    ws_bob = await connect(bob)
    await follow(ws_bob, key)
    ws_alice = await connect(alice)
    frame = await send(ws_alice, "m1", chat.pk, "Tu viens **jeudi** ?")
    assert frame["type"] == "written"
    message = await sync_to_async(Message.objects.get)(pk=frame["result"]["id"])
    assert message.author_id == alice.pk and message.conversation_id == chat.pk == frame["result"]["conversation"]
    [event] = await events(ws_bob, key, 1)
    assert "<strong>jeudi</strong>" in event["html"]
    await ws_alice.disconnect()
    await ws_bob.disconnect()


async def test_a_resend_over_http_with_the_same_client_id_writes_the_message_once(alice, bob, chat):
    """The page's fallback: no answer came over the socket in time, so the form is posted with the same key."""
    client_id = uuid.uuid4()
    ws = await connect(alice)
    frame = await send(ws, "m1", chat.pk, "Une seule fois", client_id)
    assert frame["type"] == "written"

    def post():
        client = Client()
        client.force_login(alice)
        return client.post(f"/messages/{chat.pk}/send/", {"body": "Une seule fois", "client_id": str(client_id)},
                           headers={"HX-Request": "true"})

    response = await sync_to_async(post)()
    assert response.status_code == 204 and response["X-Message-Id"] == str(frame["result"]["id"])
    again = await send(ws, "m2", chat.pk, "Une seule fois", client_id)
    assert again["result"]["id"] == frame["result"]["id"]
    assert await sync_to_async(Message.objects.filter(body="Une seule fois").count)() == 1
    await ws.disconnect()


async def test_refusals_are_the_services_own(alice, bob, carol, chat, settings):
    ws = await connect(alice, lang="en")
    too_long = await send(ws, "long", chat.pk, "x" * (settings.MESSAGING_MAX_LENGTH + 1))
    assert too_long["type"] == "refused" and too_long["kind"] == "invalid" and "characters" in too_long["message"]
    empty = await send(ws, "empty", chat.pk, "   ")
    assert empty["kind"] == "invalid" and empty["message"] == "Write a message first."
    stale = await send(ws, "stale", "not-a-number", "Bonjour")
    assert stale["kind"] == "invalid"
    await ws.disconnect()

    ws_carol = await connect(carol)  # not in the conversation: as if it did not exist
    frame = await send(ws_carol, "c", chat.pk, "Je m'incruste")
    assert frame["type"] == "refused" and frame["kind"] == "not_found"
    await ws_carol.disconnect()

    guest = await connect(None)
    frame = await send(guest, "g", chat.pk, "Anonyme")
    assert frame["kind"] == "forbidden"
    await guest.disconnect()
    assert not await sync_to_async(Message.objects.filter(body__in=["Je m'incruste", "Anonyme"]).exists)()


async def test_a_flood_over_the_socket_is_rate_limited_like_over_http(alice, bob, chat, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message": "1/60"}
    ws = await connect(alice, lang="en")
    answers = [await send(ws, f"f{i}", chat.pk, f"Flot {i}") for i in range(3)]
    assert [a["type"] for a in answers].count("written") <= 1
    assert answers[-1]["kind"] == "rate_limited" and answers[-1]["retry_after"] >= 1
    assert answers[-1]["message"].startswith("Too many attempts")
    await ws.disconnect()


async def test_a_conversation_that_is_not_an_id_is_refused_and_writes_nothing(alice, chat):
    """A word, zero, or a number no key can have (it would reach the written-out SQL as a value out of range)."""
    ws = await connect(alice)
    for i, conversation in enumerate(["douze", "0", "-3", str(2**63), "9" * 40]):
        frame = await send(ws, f"bad{i}", conversation, "Perdu ?")
        assert frame["type"] == "refused" and frame["kind"] == "invalid", frame
    assert not await sync_to_async(Message.objects.filter(body="Perdu ?").exists)()
    await ws.disconnect()
