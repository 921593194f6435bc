import pytest
from asgiref.sync import sync_to_async

from live import streams
from live.notifications.services import notify
from tests.helpers import connect, events, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_it_pushes_a_notification_live(alice):
    cursor = await sync_to_async(streams.cursor)(alice.stream_key)
    ws = await connect(alice)
    assert ws.connected_ok
    await ws.send_json_to({"type": "resume", "streams": {alice.stream_key: {"epoch": cursor.epoch, "seq": cursor.seq}}})
    await receive_until(ws, lambda f: f["type"] == "subscribed")
    await sync_to_async(notify)(user=alice, kind="test", text="Bonjour Alice")
    [frame] = await events(ws, alice.stream_key, 1)
    assert frame["seq"] == cursor.seq + 1
    assert "Bonjour Alice" in frame["html"]
    await ws.disconnect()
