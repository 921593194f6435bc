"""The queue follows moderation streams over the real /ws/ endpoint; blocking closes every socket of the person."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from live import streams
from live.accounts import services as accounts
from live.moderation import services
from live.moderation.models import Case
from tests.helpers import connect, receive_until
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
    ("mona", "moderation.debate.8", True),
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
