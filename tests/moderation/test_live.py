"""The queue follows moderation streams over the real /ws/ endpoint; blocking closes every socket of the person."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from live import streams
from live.accounts import services as accounts
from live.moderation import services
from live.moderation.models import Case
from tests.helpers import PASSWORD, connect, receive_until
from tests.moderation.conftest import make_thing

pytestmark = [pytest.mark.django_db(transaction=True)]


async def follow(ws, key):
    cursor = await sync_to_async(streams.cursor)(key)
    await ws.send_json_to({"type": "resume", "streams": {key: {"epoch": cursor.epoch, "seq": cursor.seq}}})
    return await receive_until(ws, lambda f: f.get("stream") == key and f["type"] in ("subscribed", "error"))


def is_event(key):
    return lambda f: f.get("type") == "event" and f.get("stream") == key


async def test_a_report_slides_into_every_moderators_queue_and_a_decision_removes_it(alice, bob, mona, sam):
    thing = await sync_to_async(make_thing)(alice, "Lien douteux", space="debate.7")
    ws_mona, ws_sam = await connect(mona), await connect(sam)
    (subscribed, _), (subscribed_sam, _) = (await follow(ws_mona, "moderation.global"),
                                            await follow(ws_sam, "moderation.debate.7"))
    assert subscribed["type"] == subscribed_sam["type"] == "subscribed"

    await sync_to_async(services.report)(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    case = await Case.objects.aget()
    for ws, key, counter in ((ws_mona, "moderation.global", "queue-count-global"),
                             (ws_sam, "moderation.debate.7", "queue-count-debate-7")):
        frame, _ = await receive_until(ws, is_event(key))
        assert f'id="case-{case.pk}"' in frame["html"] and "Lien douteux" in frame["html"]
        assert 'hx-swap-oob="afterbegin:#queue-open"' in frame["html"]
        assert f'id="{counter}" class="badge queue-count" hx-swap-oob="true">1<' in frame["html"]

    await sync_to_async(services.dismiss)(actor=sam, kind="thing", object_id=thing.pk)
    for ws, key in ((ws_mona, "moderation.global"), (ws_sam, "moderation.debate.7")):
        frame, _ = await receive_until(ws, is_event(key))
        assert f'<article id="case-{case.pk}" hx-swap-oob="delete">' in frame["html"]
        assert ">0<" in frame["html"]
    await ws_mona.disconnect()
    await ws_sam.disconnect()


@pytest.mark.parametrize("who,key,allowed", [
    ("bob", "moderation.global", False),
    ("bob", "moderation.debate.7", False),
    ("sam", "moderation.global", False),
    ("sam", "moderation.debate.8", False),
    ("sam", "moderation.debate.7", True),
    ("mona", "moderation.global", True),
    # Every case is told on moderation.global: a global moderator follows that one (so that the streams a
    # revocation takes away can each be told, live.moderation.streams.followable).
    ("mona", "moderation.debate.8", False),
    ("anonymous", "moderation.global", False),
])
async def test_who_may_follow_moderation_streams(bob, sam, mona, who, key, allowed):
    ws = await connect({"bob": bob, "sam": sam, "mona": mona}.get(who))
    frame, _ = await follow(ws, key)
    assert (frame["type"] == "subscribed") is allowed
    await ws.disconnect()


async def test_a_space_moderator_revoked_while_connected_loses_the_queue_at_once(alice, bob, sam, admin_user):
    from tests.helpers import session_cookie

    cookie = await sync_to_async(session_cookie)(sam)
    ws = await connect(cookie=cookie)
    await follow(ws, "moderation.debate.7")
    await sync_to_async(accounts.revoke_role)(actor=admin_user, user=sam, role="moderator", space="debate.7")
    frame, _ = await receive_until(ws, lambda f: f.get("type") == "error", timeout=2)
    assert frame["code"] == "roles_changed"
    out = await ws.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": 4012}  # his page reconnects, authorized afresh
    again = await connect(cookie=cookie)
    frame, _ = await follow(again, "moderation.debate.7")
    assert frame["type"] == "error" and frame["code"] == "forbidden"
    thing = await sync_to_async(make_thing)(alice, space="debate.7")
    await sync_to_async(services.report)(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    assert await again.receive_nothing(timeout=0.5)  # no row reaches him any more
    await again.disconnect()


async def test_blocking_closes_every_socket_of_the_person_within_two_seconds(alice, mona):
    from tests.helpers import session_cookie

    cookie = await sync_to_async(session_cookie)(alice)
    sockets = [await connect(cookie=cookie), await connect(alice)]
    assert all(ws.connected_ok for ws in sockets)
    await sync_to_async(services.block)(actor=mona, user=alice, reason="Menaces")

    async def closed(ws):
        frame, _ = await receive_until(ws, lambda f: f.get("type") == "error", timeout=2)
        assert frame["code"] == "blocked"
        out = await ws.receive_output(timeout=2)
        while out["type"] != "websocket.close":
            out = await ws.receive_output(timeout=2)
        return out["code"]

    codes = await asyncio.gather(*(closed(ws) for ws in sockets))
    assert codes == [4403, 4403]
    # a new socket with her old session cookie is no longer hers: anonymous, it cannot follow her stream
    again = await connect(cookie=cookie)
    frame, _ = await follow(again, alice.stream_key)
    assert frame["type"] == "error" and frame["code"] == "not_signed_in"
    await again.disconnect()


async def frames_until_quiet(ws, quiet=2) -> list[dict]:
    """Every frame the socket sends until it stays quiet for `quiet` seconds or closes."""
    import json

    frames = []
    while not await ws.receive_nothing(timeout=quiet):
        output = await ws.receive_output()
        if output["type"] != "websocket.send":
            break
        frames.append(json.loads(output["text"]))
    return frames


def revoke_sams_assignment_in_the_admin(admin_user, sam):
    from django.test import Client

    from live.accounts.models import RoleAssignment
    from tests.accounts.test_admin import change

    assignment = RoleAssignment.objects.get(user=sam, space="debate.7")
    client = Client()
    client.force_login(admin_user)
    response = change(client, sam, **{
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "1",
        "role_assignments-0-id": str(assignment.pk), "role_assignments-0-user": str(sam.pk),
        "role_assignments-0-role": "moderator", "role_assignments-0-space": "debate.7",
        "role_assignments-0-DELETE": "on"})
    assert response.status_code == 302


def deactivate_in_the_admin(admin_user, user):
    from django.test import Client

    from tests.accounts.test_admin import change

    client = Client()
    client.force_login(admin_user)
    assert change(client, user, is_active="").status_code == 302


@pytest.mark.parametrize("who,key,revoke", [
    ("sam", "moderation.debate.7", "service"),
    ("sam", "moderation.debate.7", "admin"),
    ("mona", "moderation.global", "service"),
    ("mona", "moderation.global", "block"),
    ("sam", "moderation.debate.7", "block"),
    ("sam", "moderation.debate.7", "erase"),
    ("mona", "moderation.global", "deactivate"),
])
async def test_a_revoked_moderators_queue_gets_nothing_written_after_the_revocation(
        alice, bob, sam, mona, admin_user, settings, monkeypatch, who, key, revoke):
    """An administrator takes the moderator's right back while their queue is open, and the control on their own
    stream that closes their sockets is late (the layer lost it: the sweep brings it seconds later). The moderation
    stream itself says to re-check before anything written on it after the revocation: the new report's row never
    reaches them."""
    settings.LIVE_SWEEP_SECONDS = 0.5
    moderator = {"sam": sam, "mona": mona}[who]
    thing = await sync_to_async(make_thing)(alice, "Secret de modération", space="debate.7")
    ws = await connect(moderator)
    frame, _ = await follow(ws, key)
    assert frame["type"] == "subscribed"
    publish = streams.publish
    monkeypatch.setattr(streams, "publish", lambda event: None if event.stream == moderator.stream_key
                        else publish(event))
    if revoke == "admin":
        await sync_to_async(revoke_sams_assignment_in_the_admin)(admin_user, sam)
    elif revoke == "block":
        await sync_to_async(services.block)(actor=admin_user, user=moderator, reason="Abus de pouvoir")
    elif revoke == "erase":
        await sync_to_async(accounts.erase_account)(user=moderator, password=PASSWORD)
    elif revoke == "deactivate":
        await sync_to_async(deactivate_in_the_admin)(admin_user, moderator)
    else:
        await sync_to_async(accounts.revoke_role)(actor=admin_user, user=moderator, role="moderator",
                                                  space="debate.7" if who == "sam" else "")
    await sync_to_async(services.report)(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    frames = await frames_until_quiet(ws)
    assert not [f for f in frames if "Secret de modération" in f.get("html", "")], frames
    assert {"type": "error", "code": "forbidden", "stream": key,
            "detail": "You may no longer follow this stream."} in frames


async def test_a_revocation_whose_live_copies_are_lost_still_takes_effect(alice, bob, sam, admin_user, settings,
                                                                            monkeypatch):
    """The live copies of both controls are lost (on the person's stream and on the moderation stream): the next
    event on the moderation stream shows the hub a hole, which it fills from the log through the sockets' push,
    control included, so the subscription is re-checked before the report written after the revocation is shown.
    (A socket's own catch-up, on resume, does not apply the controls it replays: an old block's close, undone
    since, would end a new session's socket; its subscription was authorized after them.)"""
    settings.LIVE_SWEEP_SECONDS = 60  # no sweep: the hole is what brings the control back
    thing = await sync_to_async(make_thing)(alice, "Secret de modération", space="debate.7")
    ws = await connect(sam)
    frame, _ = await follow(ws, "moderation.debate.7")
    assert frame["type"] == "subscribed"
    publish = streams.publish
    monkeypatch.setattr(streams, "publish", lambda event: None if event.stream == sam.stream_key
                        or event.kind == "moderators.changed" else publish(event))
    await sync_to_async(accounts.revoke_role)(actor=admin_user, user=sam, role="moderator", space="debate.7")
    await sync_to_async(services.report)(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    frames = await frames_until_quiet(ws)
    assert not [f for f in frames if "Secret de modération" in f.get("html", "")], frames
    assert {"type": "error", "code": "forbidden", "stream": "moderation.debate.7",
            "detail": "You may no longer follow this stream."} in frames


async def test_the_other_moderators_queue_keeps_receiving_after_a_revocation(alice, bob, sam, admin_user):
    from live.accounts.models import RoleAssignment
    from tests.helpers import make_user

    thing = await sync_to_async(make_thing)(alice, "Toujours là", space="debate.7")
    other = await sync_to_async(make_user)("samia")  # samia: moderates debate.7 too
    await RoleAssignment.objects.acreate(user=other, role="moderator", space="debate.7")
    ws = await connect(other)
    await follow(ws, "moderation.debate.7")
    await sync_to_async(accounts.revoke_role)(actor=admin_user, user=sam, role="moderator", space="debate.7")
    await sync_to_async(services.report)(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    frame, seen = await receive_until(ws, lambda f: "Toujours là" in f.get("html", ""))
    assert not [f for f in seen if f.get("type") == "error"]
    await ws.disconnect()
