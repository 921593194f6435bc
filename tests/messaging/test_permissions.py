"""A third person (carol), an anonymous visitor and a conversation that does not exist all look the same: 404 (or
the sign-in page for the anonymous visitor), over every endpoint, HTTP and socket; and nothing leaks through
export, search or notifications."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from live import streams
from live.messaging import services
from live.messaging.models import Message
from tests.helpers import connect, receive_until, resume

ENDPOINTS = [
    # name, method, extra POST data
    ("messaging:conversation", "get", None),
    ("messaging:conversation-earlier", "get", None),
    ("messaging:send", "post", {"body": "intrusion", "client_id": str(uuid.uuid4())}),
    ("messaging:read", "post", {}),
    ("messaging:leave", "post", {}),
    ("messaging:add", "post", {"to": "carol"}),
    ("messaging:report", "get", None),
]


def url_for(name, conversation, message):
    if name == "messaging:conversation-earlier":
        return reverse("messaging:conversation", args=[conversation.pk]) + f"?before={message.pk + 1}"
    if name == "messaging:report":
        return reverse(name, args=[conversation.pk, message.pk])
    return reverse(name, args=[conversation.pk])


@pytest.fixture
def group(alice, bob, dave):
    return services.start_conversation(author=alice, recipients=["bob", "dave"], body="Secret de groupe",
                                       client_id=uuid.uuid4())


def request(client, method, url, data, htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if method == "get":
        return client.get(url, **headers)
    return client.post(url, data or {}, **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("name, method, data", ENDPOINTS)
@pytest.mark.parametrize("htmx", [False, True])
def test_carol_cannot_reach_alice_and_bobs_conversation(carol, group, name, method, data, htmx):
    client = Client()
    client.force_login(carol)
    conversation = group.conversation
    response = request(client, method, url_for(name, conversation, group), data, htmx)
    assert response.status_code == 404
    assert b"Secret de groupe" not in response.content
    missing = request(client, method, url_for(name, type(conversation)(pk=999999), group), data, htmx)
    assert missing.status_code == 404  # the same answer as for a conversation that does not exist
    assert Message.objects.filter(body="intrusion").count() == 0
    assert conversation.participants.filter(left_at__isnull=True).count() == 3
    assert not conversation.participants.filter(user=carol).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name, method, data", ENDPOINTS)
def test_anonymous_visitors_are_sent_to_sign_in(group, name, method, data):
    response = request(Client(), method, url_for(name, group.conversation, group), data)
    assert response.status_code in (302, 404, 405)
    if response.status_code == 302:
        assert reverse("accounts:login") in response["Location"]
    assert Message.objects.filter(body="intrusion").count() == 0


@pytest.mark.django_db
def test_someone_who_left_is_a_stranger(bob, group):
    services.leave_conversation(user=bob, conversation=group.conversation)
    client = Client()
    client.force_login(bob)
    for name, method, data in ENDPOINTS:
        assert request(client, method, url_for(name, group.conversation, group), data).status_code == 404, name


@pytest.mark.django_db
def test_carol_cannot_find_or_export_it(carol, group):
    client = Client()
    client.force_login(carol)
    found = client.get(reverse("messaging:search"), {"q": "Secret"})
    assert found.status_code == 200 and b"Secret de groupe" not in found.content
    exported = client.get(reverse("messaging:export"))
    assert exported.status_code == 200
    assert json.loads(exported.content)["conversations"] == []
    inbox = client.get(reverse("messaging:inbox"))
    assert f"inbox-conversation-{group.conversation_id}".encode() not in inbox.content
    assert not carol.notifications.exists()


@pytest.mark.django_db
def test_participants_can_reach_every_endpoint(bob, group):
    client = Client()
    client.force_login(bob)
    for name, method, data in ENDPOINTS:
        if name in ("messaging:leave", "messaging:send", "messaging:add"):
            continue
        assert request(client, method, url_for(name, group.conversation, group), data).status_code in (200, 302), name
    found = client.get(reverse("messaging:search"), {"q": "Secret"})
    assert b"Secret de groupe" in found.content
    assert json.loads(client.get(reverse("messaging:export")).content)["conversations"][0]["id"] == group.conversation_id


@pytest.mark.django_db
def test_export_and_search_require_signing_in(group):
    for name in ("messaging:export", "messaging:search", "messaging:inbox", "messaging:settings", "messaging:new"):
        response = Client().get(reverse(name), {"q": "Secret"})
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"], name


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["carol", "anonymous", "left"])
async def test_strangers_cannot_follow_the_conversation_over_the_socket(alice, bob, carol, dave, who):
    message = await sync_to_async(services.start_conversation)(author=alice, recipients=["bob", "dave"],
                                                               body="Secret", client_id=uuid.uuid4())
    key = f"conversation.{message.conversation_id}"
    user = {"carol": carol, "anonymous": None, "left": dave}[who]
    if who == "left":
        await sync_to_async(services.leave_conversation)(user=dave, conversation=message.conversation)
    ws = await connect(user)
    assert ws.connected_ok
    await resume(ws, **{key: {"epoch": "", "seq": 0}, "conversation.999999": {"epoch": "", "seq": 0}})
    errors = []
    for _ in range(2):
        frame, seen = await receive_until(ws, lambda f: f["type"] == "error")
        assert not [f for f in seen if f.get("type") == "event"]
        errors.append(frame)
    assert {(e["stream"], e["code"]) for e in errors} == {(key, "not_found"), ("conversation.999999", "not_found")}
    # Typing on a stream one does not follow is refused too, and nothing reaches the participants.
    await ws.send_json_to({"type": "typing", "stream": key})
    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "invalid_frame"
    await sync_to_async(services.send_message)(author=alice, conversation=message.conversation, body="Encore",
                                               client_id=uuid.uuid4())
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


@pytest.mark.django_db
def test_stream_authorization_as_a_function(alice, bob, carol, group):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import ObjectDoesNotExist

    key = f"conversation.{group.conversation_id}"
    assert streams.authorize(streams.Viewer(user=bob), key) == f"u{bob.pk}"
    for user in (carol, AnonymousUser()):
        with pytest.raises(ObjectDoesNotExist):
            streams.authorize(streams.Viewer(user=user), key)
    for bad in ("conversation.abc", "conversation.0", "conversation.-1"):
        with pytest.raises(ObjectDoesNotExist):
            streams.authorize(streams.Viewer(user=bob), bad)
