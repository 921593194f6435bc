"""What account changes do to open sockets: signing out closes that session's sockets (4401), a revoked role
drops the streams it allowed (a `forbidden` error frame), a password reset closes every socket of the account."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client

from live import streams
from live.accounts import services
from live.accounts.models import RoleAssignment
from tests.helpers import connect, receive_until, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]


def _moderators_only(viewer, rest):
    """A stream only the moderators of debate.<rest> may follow, standing for any role-gated stream."""
    if not viewer.user.has_role("moderator", f"debate.{rest}"):
        raise PermissionDenied
    return "moderators"


streams.register_stream("accounts_test", authorize=_moderators_only)


def position(key):
    cursor = streams.cursor(key)
    return {"epoch": cursor.epoch, "seq": cursor.seq}


async def follow(ws, *keys):
    positions = {key: await sync_to_async(position)(key) for key in keys}
    await ws.send_json_to({"type": "resume", "streams": positions})
    for key in keys:
        frame, _ = await receive_until(ws, lambda f, key=key: f.get("stream") == key and f["type"] != "event")
        assert frame["type"] == "subscribed", frame


async def closed_with(ws, timeout=5):
    """The close code the server sent, skipping the frames before it."""
    while True:
        output = await ws.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code")


def client_with(cookie):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


async def test_signing_out_closes_that_sessions_sockets_with_4401(alice):
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key)

    response = await sync_to_async(client_with(cookie).post)("/accounts/logout/")
    assert response.status_code == 302

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "signed_out"
    assert await closed_with(ws) == 4401
    await ws.disconnect()


async def test_signing_out_leaves_the_other_sessions_sockets_open(alice):
    phone_cookie = await sync_to_async(session_cookie)(alice)
    laptop = await connect(alice)
    await follow(laptop, alice.stream_key)

    await sync_to_async(client_with(phone_cookie).post)("/accounts/logout/")

    # The laptop sees the event go by (its seq advances) and stays connected.
    frame, _ = await receive_until(laptop, lambda f: f["type"] == "event")
    assert "html" not in frame
    await laptop.send_json_to({"type": "ping"})
    frame, _ = await receive_until(laptop, lambda f: f["type"] in {"pong", "error"})
    assert frame["type"] == "pong"
    await laptop.disconnect()


async def test_a_revoked_scoped_role_drops_its_stream_at_once(alice, admin_user):
    await sync_to_async(RoleAssignment.objects.create)(user=alice, role="moderator", space="debate.42")
    ws = await connect(alice)
    await follow(ws, alice.stream_key, "accounts_test.42")

    await sync_to_async(services.revoke_role)(actor=admin_user, user=alice, role="moderator", space="debate.42")

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame == {"type": "error", "code": "forbidden", "stream": "accounts_test.42",
                     "detail": "You may no longer follow this stream."}
    # Still connected, still on the personal stream; following the stream again is refused.
    await ws.send_json_to({"type": "resume", "streams": {"accounts_test.42": {"epoch": "", "seq": 0}}})
    frame, _ = await receive_until(ws, lambda f: f["type"] in {"error", "subscribed"})
    assert frame["code"] == "forbidden"
    await ws.disconnect()


async def test_a_revoked_global_role_drops_its_streams(mona, admin_user):
    ws = await connect(mona)
    await follow(ws, mona.stream_key, "accounts_test.1", "accounts_test.2")

    await sync_to_async(services.revoke_role)(actor=admin_user, user=mona, role="moderator")

    dropped = set()
    while len(dropped) < 2:
        frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
        assert frame["code"] == "forbidden"
        dropped.add(frame["stream"])
    assert dropped == {"accounts_test.1", "accounts_test.2"}
    await ws.disconnect()


async def test_a_granted_role_keeps_what_was_followed(alice, admin_user):
    ws = await connect(alice)
    await follow(ws, alice.stream_key)
    await sync_to_async(services.set_role)(actor=admin_user, user=alice, role="moderator")
    frame, _ = await receive_until(ws, lambda f: f["type"] in {"event", "error"})
    assert frame["type"] == "event"
    await follow(ws, "accounts_test.5")  # and the new role opens new streams on the same socket
    await ws.disconnect()


async def test_a_password_reset_closes_every_socket_of_the_account(alice):
    ws = await connect(alice)
    await follow(ws, alice.stream_key)
    await sync_to_async(services.end_all_sessions)(user=alice)
    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "password_changed"
    assert await closed_with(ws) == 4401
    await ws.disconnect()
