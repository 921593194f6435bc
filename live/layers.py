"""The channel layer: channels-redis' RedisChannelLayer, with `group_send` in two Redis round trips instead of four
(one when the only member is the publishing process's own hub, which it skips: live/streams.py `_send_async`) and a
receive without the in-flight backup copy.

channels-redis sends a message to a group with four round trips, one after the other: drop the group's expired
members, read the members, drop each member channel's expired messages (a MULTI/EXEC pipeline), then a script that
adds the message to each channel under its capacity. Every event the application publishes pays them
(streams.publish: one group per stream, whose members are the hubs of the processes following it). Here the first
two go in one script call for all the groups of a write (`GROUP_MEMBERS`), and the expiry of each channel's old
messages moves into the script (the same command, in the same order, on the same keys), which is loaded once and
called by its SHA (EVALSHA) instead of sending its text with every message. What is stored, and where, is
channels-redis' own.

Receiving, channels-redis copies each message it pops (`BZPOPMIN`) into an in-flight backup set (`ZADD`, the whole
message again) and pops it from there once handled (`ZPOPMIN`, the message back again), so that a receiver
cancelled between the two awaits gets it again at its next receive: per process following a stream, four commands
and the message crossing the network four times per event (the capacity plan in docs/performance.md: what fills a
single Redis first). The only receiver here is each process's hub (live/hub.py), for which that window does not
exist without the backup (nothing is awaited between the pop and the return), which is cancelled only when it
stops (no socket left to deliver to), and which repairs any missing event of a stream from the log (its sweep and
gap fill). So it receives with `BZPOPMIN` alone: one command, one copy.

And it receives what is waiting at once (`receive_many`). channels-redis pops one message per round trip, and under
load each round trip of the hub waits for a turn of a busy event loop (10-30 ms in S2 at 50 comments/s): a burst of
events queued in Redis drained at one per turn, and S2's slowest comments spent 150-220 ms there (docs/performance.md,
"The hub's receive"). When the message it popped was sent more than BEHIND seconds ago, more are probably queued
behind it, and one `ZPOPMIN` takes them all (up to the hub's batch); a process that keeps up pays nothing more.

pyproject.toml bounds channels-redis (we call its `_group_key`, `_map_channel_keys_to_connection` and
`connection`, and replace `_brpop_with_clean` and `_clean_receive_backup`); live/internals.py checks them at
start-up (`layer_group_send`, `layer_receive`) and this class falls back to channels-redis' own when they changed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from channels_redis import core

from live import internals, thread_redis

logger = logging.getLogger(__name__)

# channels-redis' group_send script, with the expiry of each channel's old messages (its separate pipeline) first.
GROUP_SEND = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 2]
local expiry = ARGV[#ARGV - 1]
local cutoff = ARGV[#ARGV]
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, cutoff)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


# The members of each group (KEYS), its expired ones dropped first: channels-redis' ZREMRANGEBYSCORE and ZRANGE per
# group, in one command whatever the number of groups (a pipeline of two commands per group cost the loop twice the
# packing and parsing in redis-py). ARGV[1]: the cutoff of the join times.
GROUP_MEMBERS = """
local members = {}
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
    members[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
end
return members
"""


# group_add of one channel to many groups (the hub's periodic rejoin of every stream it follows), as channels-redis'
# group_add does for each (ZADD with the time, then EXPIRE), in one command per chunk of groups.
GROUP_ADD_MANY = """
for i=1,#KEYS do
    redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
    redis.call('EXPIRE', KEYS[i], ARGV[3])
end
return #KEYS
"""
# Groups per script call: a call's work in Redis and its arguments in Python stay small (the loop and Redis serve
# other clients between calls).
ADD_CHUNK = 200


# The layer message that carries several messages to one channel (group_send_many); live/hub.py unpacks it.
BUNDLE = "live.bundle"
# members_now: the longest a write's thread waits for Redis's answer (seconds)
BLOCKING_TIMEOUT = 3
# receive_many: a popped message older than this says that others are probably waiting behind it (module docstring)
BEHIND = 0.002


def cancelling() -> bool:
    """Whether the current task was asked to stop, even if what it awaited did not raise CancelledError."""
    task = asyncio.current_task()
    return bool(task and task.cancelling())


class RedisChannelLayer(core.RedisChannelLayer):
    _script = None
    _add_script = None
    _members_script = None
    _members_script_now = None

    async def _members(self, index: int, groups: list[str], now: float) -> list[list[str]]:
        """The member channels of each of `groups` (all on connection `index`), in order, the expired dropped."""
        if self._members_script is None:
            type(self)._members_script = self.connection(0).register_script(GROUP_MEMBERS)
        replies = await self._members_script(keys=[self._group_key(group) for group in groups],
                                             args=[int(now) - self.group_expiry], client=self.connection(index))
        return [[member.decode("utf8") for member in reply] for reply in replies]

    def members_now(self, groups: list[str]) -> list[list[str]] | None:
        """`_members` of `groups`, read from a thread with a blocking client: a write's worker thread reads them
        right after its commit, as the loop would, and hands them with its events (live/streams.py
        `send_to_groups`), so that the loop, which every socket of the process waits on, does not pay that round
        trip: py-spy of S3's private messages put it at 6.9% of the server's samples, a sixth of the loop's, and
        read here at 3.4%; alone, 139 us of CPU a call against 179 through redis-py's asyncio client
        (docs/performance.md, #17). None when this layer cannot (channels-redis' own group_send in use, a
        Sentinel-managed host): the loop reads them. Raises what Redis raises."""
        if not internals.usable("layer_group_send"):
            return None
        now = time.time()
        by_connection: dict[int, list[int]] = {}
        for position, group in enumerate(groups):
            assert self.require_valid_group_name(group), "Group name not valid"
            by_connection.setdefault(self.consistent_hash(group), []).append(position)
        clients = [self._blocking_client(index) for index in by_connection]
        if None in clients:
            return None
        if self._members_script_now is None:
            type(self)._members_script_now = clients[0].register_script(GROUP_MEMBERS)
        out: list[list[str]] = [[] for _group in groups]
        for client, positions in zip(clients, by_connection.values(), strict=True):
            replies = thread_redis.run_script(self._members_script_now,
                                              [self._group_key(groups[position]) for position in positions],
                                              [int(now) - self.group_expiry], client)
            for position, reply in zip(positions, replies, strict=True):
                out[position] = [member.decode("utf8") for member in reply]
        return out

    def _blocking_client(self, index: int):
        """A blocking Redis client of host `index`, built as channels-redis builds its pools (`create_pool`), or
        None for a Sentinel-managed host. One per host and process, shared by the threads (redis-py's are safe)."""
        clients = self._blocking_clients
        if index not in clients:
            import redis

            host = dict(self.hosts[index])
            # Its commands are short: a hung Redis holds a write's thread this long at most, then the layer is
            # skipped (live/streams.py `_members_now`); the layer's own 15 s are for its 5 s blocking pop.
            host["socket_timeout"] = min(host.get("socket_timeout") or BLOCKING_TIMEOUT, BLOCKING_TIMEOUT)
            if "master_name" in host:
                client = None
            elif "address" in host:
                client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(host.pop("address"), **host))
            else:
                client = redis.Redis(connection_pool=redis.ConnectionPool(**host))
            clients[index] = client
        return clients[index]

    @functools.cached_property
    def _blocking_clients(self) -> dict:
        return {}

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        """`group_add(group, channel)` for each of `groups`: the hub rejoins every stream it follows every 30 s (a
        Redis restart forgets memberships), and one group_add is two round trips (ZADD, EXPIRE): 3,000 of them on
        the event loop every 30 s for S3's 1,500 streams, a burst that stalled the sockets' frames. Here one script
        call per ADD_CHUNK groups of a Redis connection stores the same thing. Raises as group_add does."""
        if not internals.usable("layer_group_send"):
            for group in groups:
                await self.group_add(group, channel)
            return
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        if self._add_script is None:
            type(self)._add_script = self.connection(0).register_script(GROUP_ADD_MANY)
        by_connection: dict[int, list[str]] = {}
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_connection.setdefault(self.consistent_hash(group), []).append(self._group_key(group))
        for index, keys in by_connection.items():
            for start in range(0, len(keys), ADD_CHUNK):
                await self._add_script(keys=keys[start:start + ADD_CHUNK], args=[channel, time.time(), self.group_expiry],
                                       client=self.connection(index))

    def can_skip(self) -> bool:
        """Whether `group_send` and `group_send_many` can leave one member channel out (`skip`): the publishing
        process's own hub, which gets its own events without the layer (live/streams.py `_send_async`)."""
        return internals.usable("layer_group_send")

    async def group_send(self, group, message, skip: str | None = None, members: list[str] | None = None):
        """channels-redis' group_send, leaving out the member `skip`; `members`: the group's, read just before
        (`members_now`)."""
        if not internals.usable("layer_group_send"):
            return await super().group_send(group, message)
        assert self.require_valid_group_name(group), "Group name not valid"
        now = time.time()
        if members is None:
            [members] = await self._members(self.consistent_hash(group), [group], now)
        channels = [name for name in members if name != skip]
        if channels:
            await self._send_to_channels(channels, message, now, group)

    async def group_send_many(self, sends: list[tuple[str, dict]], skip: str | None = None,
                              members: list[list[str]] | None = None) -> None:
        """`group_send` of several (group, message), as the events of one write on several streams: the groups'
        members read in one script call, and each member channel gets one layer message, the bundle of those of the
        messages whose groups it is in (`{"type": BUNDLE, "messages": [...]}`, in the order given; a message alone
        when it is in one), so a process following several of the streams receives them at once: two round trips
        and one receive per process instead of two round trips per message and one receive per message. The
        member `skip` gets nothing (`can_skip`). `members`: each group's, read just before (`members_now`)."""
        if not internals.usable("layer_group_send") or len(sends) < 2:
            for position, (group, message) in enumerate(sends):
                options = {} if skip is None else {"skip": skip}
                if members is not None:
                    options["members"] = members[position]
                await self.group_send(group, message, **options)
            return
        now = time.time()
        by_connection: dict[int, list[int]] = {}
        for position, (group, _message) in enumerate(sends):
            assert self.require_valid_group_name(group), "Group name not valid"
            by_connection.setdefault(self.consistent_hash(group), []).append(position)
        channels: dict[str, list[int]] = {}  # channel -> positions of the messages it gets, in order
        for index, positions in by_connection.items():
            if members is None:
                found = await self._members(index, [sends[position][0] for position in positions], now)
            else:
                found = [members[position] for position in positions]
            for position, names in zip(positions, found, strict=True):
                for name in names:
                    if name != skip:
                        channels.setdefault(name, []).append(position)
        by_messages: dict[tuple[int, ...], list[str]] = {}
        for channel, positions in channels.items():
            by_messages.setdefault(tuple(sorted(positions)), []).append(channel)
        for positions, channel_names in by_messages.items():
            if len(positions) == 1:
                message = sends[positions[0]][1]
            else:
                message = {"type": BUNDLE, "messages": [sends[position][1] for position in positions]}
            await self._send_to_channels(channel_names, message, now, ", ".join(sends[p][0] for p in positions))

    async def _send_to_channels(self, channel_names: list[str], message: dict, now: float, group: str) -> None:
        by_connection, messages, capacities = self._map_channel_keys_to_connection(channel_names, message)
        if self._script is None:
            type(self)._script = self.connection(0).register_script(GROUP_SEND)
        for index, channel_keys in by_connection.items():
            args = [messages[k] for k in channel_keys] + [capacities[k] for k in channel_keys]
            args += [now, self.expiry, int(now) - int(self.expiry)]
            over = await self._script(keys=channel_keys, args=args, client=self.connection(index))
            if over > 0:
                logger.info("%s of %s channels over capacity in group %s", over, len(channel_names), group)

    async def receive_many(self, channel: str, limit: int) -> list[dict]:
        """The messages waiting on `channel`, oldest first, at least one (waiting for it) and at most `limit`: the
        hub's receive (module docstring). Only for a process-specific channel (`new_channel`) that has no other
        receiver in this process, as the hub's; channels-redis' `receive` when our receive is off.

        A message addressed to another channel of this process sharing the same Redis key (a hub that stopped, its
        sockets gone) is dropped, where channels-redis' would keep it in memory for a receiver that never comes."""
        if not internals.usable("layer_receive") or "!" not in channel:
            return [await self.receive(channel)]
        assert self.require_valid_channel_name(channel)
        real = self.non_local_name(channel)
        key = self.prefix + real
        connection = self.connection(self.consistent_hash(real))
        while True:
            popped = None
            while popped is None:
                popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if cancelling():
                    # Cancelled meanwhile, and the call returned instead of raising (redis-py can swallow a
                    # cancellation): receiving on would leave this loop popping, and dropping, what the next
                    # receiver of this key is sent (the docstring).
                    raise asyncio.CancelledError
            _key, first, sent_at = popped
            contents = [first]
            if limit > 1 and time.time() - float(sent_at) > BEHIND:
                contents += [member for member, _score in await connection.zpopmin(key, limit - 1)]
            messages = []
            for content in contents:
                message = self.deserialize(content)
                to = message.pop("__asgi_channel__", None)
                if to is None or to == channel or (isinstance(to, list) and channel in to):
                    messages.append(message)
            if messages:
                return messages

    async def _brpop_with_clean(self, index, channel, timeout):
        if not internals.usable("layer_receive"):
            return await super()._brpop_with_clean(index, channel, timeout)
        result = await self.connection(index).bzpopmin(channel, timeout=timeout)
        return None if result is None else result[1]

    async def _clean_receive_backup(self, index, channel):
        if not internals.usable("layer_receive"):
            return await super()._clean_receive_backup(index, channel)
        return None  # nothing was backed up
