"""What account changes do to open sockets (RELIABILITY 13): signing out closes that session's sockets (4401); a
password or e-mail change closes the other sessions' sockets and renews one's own (4012: reconnect); a revoked role
makes the sockets reconnect, authorized afresh; a deactivation (4403) and a password reset close them all;
and a socket whose session is no longer valid cannot follow anything new."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.test import Client

from live import streams
from live.accounts import services
from live.accounts.models import RoleAssignment
from live.close_codes import Close
from live.messaging.services import start_conversation
from tests.accounts.test_admin import change
from tests.helpers import PASSWORD, connect, receive_until, session_cookie

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


async def test_a_revoked_scoped_role_closes_the_sockets_and_the_reconnected_one_cannot_follow(alice, admin_user):
    await sync_to_async(RoleAssignment.objects.create)(user=alice, role="moderator", space="debate.42")
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key, "accounts_test.42")

    await sync_to_async(services.revoke_role)(actor=admin_user, user=alice, role="moderator", space="debate.42")

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "roles_changed"
    assert await closed_with(ws, timeout=2) == Close.RECONNECT
    # The page reconnects with the same session: still signed in, the stream the role allowed is refused.
    again = await connect(cookie=cookie)
    await follow(again, alice.stream_key)
    await again.send_json_to({"type": "resume", "streams": {"accounts_test.42": {"epoch": "", "seq": 0}}})
    frame, _ = await receive_until(again, lambda f: f["type"] in {"error", "subscribed"})
    assert frame["code"] == "forbidden"
    await again.disconnect()


async def test_a_revoked_global_role_closes_every_socket_of_the_person(mona, admin_user):
    sockets = [await connect(mona), await connect(mona)]
    await follow(sockets[0], mona.stream_key, "accounts_test.1")

    await sync_to_async(services.revoke_role)(actor=admin_user, user=mona, role="moderator")

    for ws in sockets:
        assert await closed_with(ws, timeout=2) == Close.RECONNECT


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
    await sync_to_async(services.end_sessions)(user=alice, reason="password_changed")
    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "password_changed"
    assert await closed_with(ws) == 4401
    await ws.disconnect()


def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


async def test_an_email_change_closes_the_sockets_of_every_session_and_ends_them(alice, admin_user):
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key)

    response = await sync_to_async(change)(await sync_to_async(admin_client)(admin_user), alice,
                                           email="alice@elsewhere.example", username="alice@elsewhere.example")
    assert response.status_code == 302

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "email_changed"
    assert await closed_with(ws, timeout=2) == 4401
    # The session is over for HTTP too.
    response = await sync_to_async(client_with(cookie).get)("/accounts/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


async def test_deactivating_an_account_closes_its_sockets_with_4403(alice, admin_user):
    ws = await connect(alice)
    await follow(ws, alice.stream_key)

    response = await sync_to_async(change)(await sync_to_async(admin_client)(admin_user), alice, is_active="")
    assert response.status_code == 302

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "deactivated"
    assert await closed_with(ws, timeout=2) == 4403


async def test_changing_ones_password_closes_the_other_sessions_sockets_and_renews_ones_own(alice):
    phone = await sync_to_async(session_cookie)(alice)
    laptop = await sync_to_async(session_cookie)(alice)
    phone_ws, laptop_ws = await connect(cookie=phone), await connect(cookie=laptop)
    for ws in (phone_ws, laptop_ws):
        await follow(ws, alice.stream_key)

    response = await sync_to_async(client_with(laptop).post)("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "another-Horse-battery-7", "new_password2": "another-Horse-battery-7"})
    assert response.status_code == 302

    frame, _ = await receive_until(phone_ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "password_changed"
    assert await closed_with(phone_ws, timeout=2) == 4401
    # The laptop's session goes on under a renewed key: its sockets are told to reconnect with it.
    assert await closed_with(laptop_ws, timeout=2) == Close.RECONNECT
    renewed = response.cookies[settings.SESSION_COOKIE_NAME].value
    again = await connect(cookie=renewed)
    await follow(again, alice.stream_key)
    await again.disconnect()


async def test_a_socket_whose_session_left_the_store_cannot_follow_a_new_stream(alice, bob):
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key)

    # No service and no control event: the session just left the store (expired, flushed elsewhere).
    await sync_to_async(Session.objects.filter(session_key=cookie).delete)()
    message = await sync_to_async(start_conversation)(author=bob, recipients=["alice"], body="Secret plan")

    key = message.conversation.stream_key
    await ws.send_json_to({"type": "resume", "streams": {key: {"epoch": "", "seq": 0}}})
    frame, seen = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "session_ended"
    assert await closed_with(ws, timeout=2) == 4401
    assert not [f for f in seen if f.get("stream") == key]


async def test_a_password_changed_behind_the_services_back_stops_new_subscriptions(alice):
    """`manage.py changepassword` and the shell change the password without any service: the auth hash check
    before each subscription still refuses the old sessions."""
    ws = await connect(alice)
    await follow(ws, alice.stream_key)

    def change_password():
        alice.set_password("another-Horse-battery-7")
        alice.save()

    await sync_to_async(change_password)()
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: {"epoch": "", "seq": 0}}})
    frame, _ = await receive_until(ws, lambda f: f["type"] == "error")
    assert frame["code"] == "session_ended"
    assert await closed_with(ws, timeout=2) == 4401


async def test_a_password_set_by_an_administrator_closes_every_socket_of_the_account(alice, admin_user):
    ws = await connect(alice)
    await follow(ws, alice.stream_key)

    def set_password():
        return admin_client(admin_user).post(f"/admin/accounts/user/{alice.pk}/password/", {
            "password1": "another-Horse-battery-7", "password2": "another-Horse-battery-7",
            "usable_password": "true"})

    response = await sync_to_async(set_password)()
    assert response.status_code == 302, response.content.decode()[:2000]

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "password_changed"
    assert await closed_with(ws, timeout=2) == 4401


async def test_a_session_ended_outside_the_services_closes_its_socket_by_itself(alice, bob, settings):
    """Expiry, `clearsessions`, `manage.py changepassword`: no control event, the socket's own periodic check."""
    settings.LIVE_SESSION_RECHECK_SECONDS = 0.2
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key)

    await sync_to_async(Session.objects.filter(session_key=cookie).delete)()

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "session_ended"
    assert await closed_with(ws, timeout=2) == 4401
    # Nothing of what follows reaches it: the notification of a new private message, for one.
    await sync_to_async(start_conversation)(author=bob, recipients=["alice"], body="Secret plan")
    assert await ws.receive_nothing(timeout=0.5)


async def test_erasing_the_account_closes_every_socket_of_it_at_once(alice):
    sockets = [await connect(alice), await connect(alice)]
    await follow(sockets[0], alice.stream_key)

    await sync_to_async(services.erase_account)(user=alice, password=PASSWORD)

    frame, _ = await receive_until(sockets[0], lambda f: f["type"] == "error")
    assert frame["code"] == "account_erased"
    for ws in sockets:
        assert await closed_with(ws, timeout=2) == Close.NOT_SIGNED_IN


async def test_superuser_status_taken_back_in_the_admin_closes_the_sockets_as_revoke_role_does(alice, admin_user):
    from live.accounts.models import User

    await User.objects.filter(pk=alice.pk).aupdate(is_staff=True, is_superuser=True)
    await alice.arefresh_from_db()
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    await follow(ws, alice.stream_key, "accounts_test.1")  # a superuser holds every role

    response = await sync_to_async(change)(await sync_to_async(admin_client)(admin_user), alice, is_staff="on")
    assert response.status_code == 302

    frame, _ = await receive_until(ws, lambda f: f["type"] == "error", timeout=2)
    assert frame["code"] == "roles_changed"
    assert await closed_with(ws, timeout=2) == Close.RECONNECT
    again = await connect(cookie=cookie)
    await again.send_json_to({"type": "resume", "streams": {"accounts_test.1": {"epoch": "", "seq": 0}}})
    frame, _ = await receive_until(again, lambda f: f["type"] in {"error", "subscribed"})
    assert frame["code"] == "forbidden"
    await again.disconnect()
