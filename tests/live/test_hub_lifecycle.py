"""One hub per event loop for the loop's whole life (live/hub.py, the lifecycle section): a socket that connected
while the hub was stopping (its last socket had just left) and a socket that connects after share one hub, and
every frame reaches both. Two hubs on one loop receive on the same Redis key and drop what each pops for the other:
typing and count frames, which have no log behind them, were lost so (a browser test's "is writing…" now and then)."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from live import hub as hubs
from live import streams
from live.consumers import LiveConsumer, Subscription

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

KEY = "debate.424242"


class Socket:
    """What the hub asks of a LiveConsumer for ephemeral frames: reads() and push()."""

    reads = LiveConsumer.reads

    def __init__(self):
        self.subs = {KEY: Subscription(KEY, "public", 0)}
        self.viewer = streams.Viewer(user=None, lang="fr")
        self.typing: list[int] = []

    async def push(self, key, msg):
        self.typing.append(msg["n"])


def typing_frame(n: int) -> dict:
    return {"type": "live.event", "stream": KEY, "seq": None, "frames": {}, "control": None, "n": n}


async def test_a_socket_that_connected_while_the_hub_stopped_and_a_later_one_share_the_hub_and_every_frame():
    hub = hubs.get_hub()
    leaving = Socket()
    await hub.subscribe(KEY, leaving)
    await hub.unsubscribe(KEY, leaving)  # the last socket leaves: the hub stops in a task of its own
    await asyncio.sleep(0)
    assert hub.stopping is not None  # waiting for its receive loop to end

    early = Socket()  # connected before the stop (it holds this hub) and follows the stream only now
    await hub.subscribe(KEY, early)
    late = Socket()  # connects after
    assert hubs.get_hub() is hub
    await hubs.get_hub().subscribe(KEY, late)
    assert hub.stopping is None and len(hub.tasks) == 3

    layer = get_channel_layer()
    for n in range(30):
        await layer.group_send(streams.group_name(KEY), typing_frame(n))
    async with asyncio.timeout(5):
        while len(early.typing) < 30 or len(late.typing) < 30:
            await asyncio.sleep(0.02)
    assert early.typing == late.typing == list(range(30))

    for sock in (early, late):
        await hub.unsubscribe(KEY, sock)
    async with asyncio.timeout(5):
        while hub.tasks or hub.stopping is not None:
            await asyncio.sleep(0.02)


async def test_the_hub_stops_and_starts_again_each_time_its_sockets_come_and_go():
    """redis-py can swallow the cancellation of a blocking receive (a connection error its retry answers by
    receiving again): the receive loop must still end, or it receives beside the next start's."""
    hub = hubs.get_hub()
    layer = get_channel_layer()
    for n in range(25):
        sock = Socket()
        await hub.subscribe(KEY, sock)
        await asyncio.sleep(0.01 * (n % 5))  # the receive is in BZPOPMIN, or about to be
        await layer.group_send(streams.group_name(KEY), typing_frame(n))
        async with asyncio.timeout(5):
            while sock.typing != [n]:
                await asyncio.sleep(0.01)
        receive = hub.tasks[0]
        await hub.unsubscribe(KEY, sock)
        async with asyncio.timeout(2):
            while hub.tasks or hub.stopping is not None:
                await asyncio.sleep(0.01)
        assert receive.done()


async def test_this_process_s_own_events_reach_its_sockets_without_the_round_trip_through_redis():
    """What a process publishes on a stream its hub follows is queued for its sockets at once (`Hub.publish_here`):
    the layer pushes it to the other processes' channels only, never back to this hub's. Its sockets get it as
    before, in order, and so does another process following the stream."""
    hub = hubs.get_hub()
    sock = Socket()
    await hub.subscribe(KEY, sock)
    layer = get_channel_layer()
    other = await layer.new_channel()  # another process's hub
    await layer.group_add(streams.group_name(KEY), other)
    pushed: list[str] = []
    real = layer._send_to_channels

    async def spy(channel_names, message, now, group):
        pushed.extend(channel_names)
        return await real(channel_names, message, now, group)

    layer._send_to_channels = spy
    try:
        for n in range(5):
            await streams._send_async(layer, [(KEY, typing_frame(n))])
        await streams._send_async(layer, [(KEY, typing_frame(5)), ("debate.0", typing_frame(6))])
        async with asyncio.timeout(5):
            while len(sock.typing) < 6:
                await asyncio.sleep(0.01)
        assert sock.typing == list(range(6))
        assert pushed and set(pushed) == {other}
        assert [(await layer.receive(other))["n"] for _ in range(6)] == list(range(6))
        key = layer.prefix + layer.non_local_name(hub.channel)
        assert await layer.connection(0).zcard(key) == 0
    finally:
        del layer._send_to_channels
        await layer.group_discard(streams.group_name(KEY), other)
        await hub.unsubscribe(KEY, sock)
        async with asyncio.timeout(5):
            while hub.tasks or hub.stopping is not None:
                await asyncio.sleep(0.02)
    await layer.flush()
