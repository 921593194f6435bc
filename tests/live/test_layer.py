"""The channel layer's group_send (live/layers.py): what channels-redis' own does, in two round trips."""

import asyncio
import time
from unittest import mock

import pytest
from django.conf import settings

from live import internals
from live.layers import RedisChannelLayer

pytestmark = [pytest.mark.needs_redis]


def make_layer(**config):
    base = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    base.update(prefix="layertest", **config)
    return RedisChannelLayer(**base)


@pytest.mark.parametrize("ours", [True, False])
async def test_every_member_of_the_group_gets_the_message_and_nobody_else(ours):
    layer = make_layer()
    with mock.patch.dict(internals.STATUS, {"layer_group_send": None if ours else "off"}):
        a, b, outsider = [await layer.new_channel() for _ in range(3)]
        await layer.group_add("live.debate.1", a)
        await layer.group_add("live.debate.1", b)
        await layer.group_add("live.debate.2", outsider)
        for seq in (1, 2):
            await layer.group_send("live.debate.1", {"type": "live.event", "seq": seq})
        for channel in (a, b):
            assert [(await layer.receive(channel))["seq"] for _ in range(2)] == [1, 2]
        await layer.group_send("live.debate.2", {"type": "live.event", "seq": 9})
        assert (await layer.receive(outsider))["seq"] == 9
    await layer.flush()


@pytest.mark.parametrize("ours", [True, False])
async def test_several_groups_at_once_each_channel_gets_one_message_with_what_it_follows_in_order(ours):
    """group_send_many (a write's events on several streams): a channel in several of the groups gets them in one
    bundle, in the order given; a channel in one gets that message alone; one in none gets nothing."""
    from live.layers import BUNDLE

    layer = make_layer()
    with mock.patch.dict(internals.STATUS, {"layer_group_send": None if ours else "off"}):
        both, conversation_only, user_only, outsider = [await layer.new_channel() for _ in range(4)]
        for channel in (both, conversation_only):
            await layer.group_add("live.conversation.1", channel)
        for channel in (both, user_only):
            await layer.group_add("live.user.2", channel)
        await layer.group_add("live.debate.3", outsider)
        first, second = {"type": "live.event", "stream": "conversation.1"}, {"type": "live.event", "stream": "user.2"}
        await layer.group_send_many([("live.conversation.1", first), ("live.user.2", second)])
        if ours:
            got = await layer.receive(both)
            assert got["type"] == BUNDLE
            assert [m["stream"] for m in got["messages"]] == ["conversation.1", "user.2"]
        else:  # channels-redis' own group_send, one message per group
            assert [(await layer.receive(both))["stream"] for _ in range(2)] == ["conversation.1", "user.2"]
        assert (await layer.receive(conversation_only))["stream"] == "conversation.1"
        assert (await layer.receive(user_only))["stream"] == "user.2"
        await layer.group_send("live.debate.3", {"type": "live.event", "stream": "debate.3"})
        assert (await layer.receive(outsider))["stream"] == "debate.3"  # nothing of the others before it
        for channel in (both, conversation_only, user_only):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await layer.receive(channel)
    await layer.flush()


async def test_a_full_channel_drops_what_it_cannot_hold_and_a_left_member_gets_nothing():
    layer = make_layer(capacity=2)
    full, left = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("live.debate.3", full)
    await layer.group_add("live.debate.3", left)
    await layer.group_discard("live.debate.3", left)
    for seq in (1, 2, 3):
        await layer.group_send("live.debate.3", {"type": "live.event", "seq": seq})
    assert [(await layer.receive(full))["seq"] for _ in range(2)] == [1, 2]  # the third was over capacity
    connection = layer.connection(0)
    assert await connection.zcard(layer.prefix + layer.non_local_name(left)) == 0
    await layer.flush()


async def test_a_channel_s_expired_messages_are_dropped_before_the_new_one():
    layer = make_layer(expiry=30)
    channel = await layer.new_channel()
    await layer.group_add("live.debate.4", channel)
    key = layer.prefix + layer.non_local_name(channel)
    connection = layer.connection(0)
    await connection.zadd(key, {b"stale-message": 1})  # stored in 1970: long expired
    await layer.group_send("live.debate.4", {"type": "live.event", "seq": 1})
    assert await connection.zcard(key) == 1
    assert (await layer.receive(channel))["seq"] == 1
    await layer.flush()


@pytest.mark.parametrize("ours", [True, False])
async def test_receiving_pops_the_message_and_keeps_no_in_flight_copy(ours):
    """The hub is the only receiver and repairs a lost event from the log: no backup copy of every message."""
    layer = make_layer()
    with mock.patch.dict(internals.STATUS, {"layer_receive": None if ours else "off"}):
        channel = await layer.new_channel()
        await layer.group_add("live.debate.5", channel)
        for seq in (1, 2, 3):
            await layer.group_send("live.debate.5", {"type": "live.event", "seq": seq})
        assert [(await layer.receive(channel))["seq"] for _ in range(3)] == [1, 2, 3]
        await layer.wait_received()
        connection = layer.connection(0)
        key = layer.prefix + layer.non_local_name(channel)
        assert await connection.zcard(key) == 0
        assert await connection.exists(key + "$inflight") == 0
    await layer.flush()


async def test_receive_many_takes_what_is_waiting_at_once_in_order_and_only_this_channel_s():
    """The hub's receive (live/layers.py receive_many): one message when it keeps up; the backlog in one more
    command when the popped message had waited; a message for another channel sharing the process's key (a hub
    that stopped) dropped."""
    from live import layers

    layer = make_layer()
    channel, stopped = await layer.new_channel(prefix="hub"), await layer.new_channel(prefix="hub")
    assert layer.non_local_name(channel) == layer.non_local_name(stopped)
    await layer.group_add("live.debate.6", channel)
    await layer.group_add("live.debate.7", stopped)
    await layer.group_send("live.debate.7", {"type": "live.event", "seq": 0})
    for seq in (1, 2, 3, 4):
        await layer.group_send("live.debate.6", {"type": "live.event", "seq": seq})
    with mock.patch.object(layers, "BEHIND", 3600):  # as if each had just been sent: one at a time
        assert [m["seq"] for m in await layer.receive_many(channel, 64)] == [1]
    with mock.patch.object(layers, "BEHIND", -1):  # waited: the rest at once, up to the limit
        assert [m["seq"] for m in await layer.receive_many(channel, 2)] == [2, 3]
        assert [m["seq"] for m in await layer.receive_many(channel, 64)] == [4]
    assert await layer.connection(0).zcard(layer.prefix + layer.non_local_name(channel)) == 0
    with mock.patch.dict(internals.STATUS, {"layer_receive": "off"}):  # channels-redis' receive, one message
        await layer.group_send("live.debate.6", {"type": "live.event", "seq": 5})
        await layer.group_send("live.debate.6", {"type": "live.event", "seq": 6})
        assert [m["seq"] for m in await layer.receive_many(channel, 64)] == [5]
        assert [m["seq"] for m in await layer.receive_many(channel, 64)] == [6]
    await layer.flush()


async def test_the_hubs_receive_ends_when_cancelled_even_if_the_blocking_pop_swallows_the_cancellation():
    """A cancellation lost inside the client's blocking read (the pop returns as if it had timed out) must still
    end `receive_many`: receiving on, it would pop, and drop, what the next receiver of the process's key is sent."""
    layer = make_layer()
    channel = await layer.new_channel(prefix="hub")

    class Swallowing:
        pops = 0

        async def bzpopmin(self, key, timeout):
            self.pops += 1
            try:
                await asyncio.sleep(timeout)
            except asyncio.CancelledError:
                pass  # as if the read had timed out
            return None

    connection = Swallowing()
    with mock.patch.object(layer, "connection", return_value=connection):
        task = asyncio.ensure_future(layer.receive_many(channel, 8))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await task
    assert connection.pops == 1


@pytest.mark.parametrize("ours", [True, False])
async def test_joining_many_groups_at_once_stores_what_group_add_stores(ours):
    """group_add_many (the hub's rejoin of every stream it follows): each group gets the channel with the time as
    its score and the group's expiry, as group_add gives it, in one script call per chunk of groups."""
    from live import layers

    layer = make_layer()
    with mock.patch.dict(internals.STATUS, {"layer_group_send": None if ours else "off"}), \
            mock.patch.object(layers, "ADD_CHUNK", 3):
        channel, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("live.debate.1", other)
        groups = [f"live.debate.{n}" for n in range(1, 8)]  # three chunks
        await layer.group_add_many(groups, channel)
        connection = layer.connection(0)
        for group in groups:
            key = layer._group_key(group)
            members = {m.decode() for m in await connection.zrange(key, 0, -1)}
            assert channel in members and (other in members) == (group == "live.debate.1")
            assert 0 < await connection.ttl(key) <= layer.group_expiry
        await layer.group_send("live.debate.7", {"type": "live.event", "seq": 1})
        assert (await layer.receive(channel))["seq"] == 1
    await layer.flush()


async def test_a_hub_rejoins_every_stream_in_one_call_and_marks_them_joined():
    """The hub's periodic rejoin goes through group_add_many, once for all its streams."""
    from live.hub import Hub

    calls = []

    class Layer:
        async def group_add_many(self, groups, channel):
            calls.append((list(groups), channel))

    hub = Hub.__new__(Hub)
    hub.layer, hub.channel, hub.joined, hub.layer_ok = Layer(), "chan!1", set(), False
    hub.subscribers = {"debate.1": set(), "user.2": set()}
    await hub._rejoin()
    assert calls == [(["live.debate.1", "live.user.2"], "chan!1")]
    assert hub.joined == {"debate.1", "user.2"} and hub.layer_ok


async def test_a_send_that_skips_a_member_reaches_every_other_member_and_not_that_one():
    """The publishing process's own hub takes its events without the layer (live/streams.py `_send_async`): the
    layer leaves its channel out, of one group and of several at once, and still reaches the other processes."""
    layer = make_layer()
    here, other = await layer.new_channel(prefix="hub"), await layer.new_channel()
    for group in ("live.conversation.8", "live.user.9"):
        for channel in (here, other):
            await layer.group_add(group, channel)
    assert layer.can_skip()
    await layer.group_send("live.conversation.8", {"type": "live.event", "seq": 1}, skip=here)
    await layer.group_send_many([("live.conversation.8", {"type": "live.event", "seq": 2}),
                                 ("live.user.9", {"type": "live.event", "seq": 7})], skip=here)
    assert (await layer.receive(other))["seq"] == 1
    assert [m["seq"] for m in (await layer.receive(other))["messages"]] == [2, 7]
    assert await layer.connection(0).zcard(layer.prefix + layer.non_local_name(here)) == 0
    await layer.group_send_many([("live.conversation.8", {"type": "live.event", "seq": 3})], skip=here)
    assert (await layer.receive(other))["seq"] == 3
    assert await layer.connection(0).zcard(layer.prefix + layer.non_local_name(here)) == 0
    with mock.patch.dict(internals.STATUS, {"layer_group_send": "off"}):  # channels-redis' own cannot skip
        assert not layer.can_skip()
    await layer.flush()


async def test_the_members_read_from_a_thread_are_those_the_loop_reads_and_a_send_given_them_reads_none():
    """`members_now` (a write's worker thread, blocking client) answers what `_members` does, expired members
    dropped; group_send and group_send_many given them send to those without asking Redis again."""
    layer = make_layer(group_expiry=60)
    a, b, c = [await layer.new_channel() for _ in range(3)]
    for group, channel in [("live.conversation.1", a), ("live.conversation.1", b), ("live.user.2", b)]:
        await layer.group_add(group, channel)
    stale = layer._group_key("live.user.2")
    await layer.connection(0).zadd(stale, {c: 1})  # joined long ago, never renewed: expired
    groups = ["live.conversation.1", "live.user.2", "live.debate.3"]
    now = await asyncio.to_thread(layer.members_now, groups)
    assert [sorted(m) for m in now] == [sorted([a, b]), [b], []]
    assert now == await layer._members(0, groups, time.time())

    async def no_read(*args, **kwargs):
        raise AssertionError("the members were read again")

    with mock.patch.object(layer, "_members", no_read):
        await layer.group_send_many([("live.conversation.1", {"type": "live.event", "seq": 1}),
                                     ("live.user.2", {"type": "live.event", "seq": 2})], skip=a, members=now[:2])
        await layer.group_send("live.conversation.1", {"type": "live.event", "seq": 3}, members=now[0])
    assert [m["seq"] for m in (await layer.receive(b))["messages"]] == [1, 2]
    assert (await layer.receive(a))["seq"] == 3 and (await layer.receive(b))["seq"] == 3
    with mock.patch.dict(internals.STATUS, {"layer_group_send": "off"}):  # channels-redis' own: the loop reads
        assert layer.members_now(groups) is None
    await layer.flush()


async def test_a_write_thread_hands_the_loop_its_events_with_their_members_and_a_failed_read_skips_the_layer(
        monkeypatch, caplog):
    """live/streams.py send_to_groups in a server's worker thread: the members read there travel with the sends,
    and the loop sends without reading them; when that read fails, the layer is skipped as after a failed send
    (the hubs' sweep delivers from the log)."""
    from live import streams

    layer = make_layer()
    other = await layer.new_channel()
    for group in ("live.conversation.8", "live.user.9"):
        await layer.group_add(group, other)
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(internals, "server_loop", lambda: loop)
    monkeypatch.setattr(streams, "get_channel_layer", lambda: layer)

    async def no_read(*args, **kwargs):
        raise AssertionError("the loop read the members")

    monkeypatch.setattr(layer, "_members", no_read)
    sends = [("conversation.8", {"type": "live.event", "seq": 4}), ("user.9", {"type": "live.event", "seq": 5})]
    await asyncio.to_thread(streams.send_to_groups, sends)
    async with asyncio.timeout(5):
        assert [m["seq"] for m in (await layer.receive(other))["messages"]] == [4, 5]
    await asyncio.to_thread(streams.send_to_groups, sends[:1])
    async with asyncio.timeout(5):
        assert (await layer.receive(other))["seq"] == 4

    def down(groups):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(layer, "members_now", down)
    try:
        await asyncio.to_thread(streams.send_to_groups, sends)
        assert "channel layer unavailable; conversation.8, user.9" in caplog.text
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await layer.receive(other)
    finally:
        streams.breaker.succeeded()
    await layer.flush()


async def test_a_write_thread_hands_its_own_hub_the_events_before_it_reads_the_members(monkeypatch):
    """This process's sockets do not wait for the members' read: the hub has the events first, and the layer's send
    then leaves the hub's channel out."""
    import threading

    from live import hub as hub_module
    from live import streams

    layer = make_layer()
    here, other = await layer.new_channel(prefix="hub"), await layer.new_channel()
    await layer.group_add("live.conversation.8", here)
    await layer.group_add("live.conversation.8", other)
    taken, seen = threading.Event(), []

    class Hub:
        def publish_here(self, sends):
            seen.append([msg["seq"] for _key, msg in sends])
            taken.set()
            return here

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(internals, "server_loop", lambda: loop)
    monkeypatch.setattr(streams, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(hub_module, "running_hub", lambda: Hub())
    read = layer.members_now
    waited = []

    def members_now(groups):
        waited.append(taken.wait(5))  # the loop has handed the hub its events while this thread reads
        return read(groups)

    monkeypatch.setattr(layer, "members_now", members_now)
    await asyncio.to_thread(streams.send_to_groups, [("conversation.8", {"type": "live.event", "seq": 6})])
    async with asyncio.timeout(5):
        assert (await layer.receive(other))["seq"] == 6
    assert waited == [True] and seen == [[6]]
    assert await layer.connection(0).zcard(layer.prefix + layer.non_local_name(here)) == 0  # skipped
    await layer.flush()
