"""Render only what somebody reads: the (audience, language) variants of each stream that some socket follows.

A published event used to be rendered for every audience and every language (a debate comment: public and
moderators, French and English: four template renders), most of them for nobody: rendering was a third of a
comment's CPU (docs/performance.md). Now:

- every hub marks the variants its sockets follow (`mark`): one Redis hash per stream, field `"<audience>:<lang>"`,
  value the time until which it holds, refreshed by the hub's sweep while a socket of that variant stays;
- `streams.publish` asks `wanted(key)` and renders only those variants (`publish_together`, a write's events on
  several streams, asks `wanted_many` once for all of them: one Redis round trip); the message says which it rendered
  (`"only"`), so a variant missing from `"frames"` because nobody wanted it is told apart from one the renderer
  left empty on purpose;
- the mark is only a hint. A socket that starts following a new variant while an event rendered without it is on
  its way gets that event from its hub, which renders it again from the log (`Hub._complete`), and replays from
  the hub's memory check the variant too (`covers`). A late, lost or expired mark costs a render, never an event.

Replays (a resuming socket, a hub filling a gap, the sweep) always render every variant.

A process keeps what it read of a stream's marks for READ_SECONDS (`wanted`): the stream's writes within that time
ask Redis nothing (a comment asked twice: its stream, and the debate list's count), and this process's own marks
update what it keeps at once. Another process's new mark is seen up to READ_SECONDS late, which is the late mark
above: a render in that process's hub, never an event. An answer of "nobody follows" is not kept: an ephemeral frame
skipped on its word (the debate list's comment count, `debates.streams.comment_count_changed`) has no log to be
rendered from, so a page opened meanwhile in another process would miss it.

With a cache that is not Redis (development, one process), the marks live in this process.
LIVE_RENDER_FOLLOWED_ONLY = False renders every variant of every event, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from django.conf import settings

logger = logging.getLogger(__name__)

HOLD_SECONDS = 60  # a mark holds this long without a refresh
REFRESH_SECONDS = 20  # hubs refresh the marks of the variants they still follow this often
# What `wanted` read of a stream's marks in Redis serves this long in this process: a conversation or a debate gets a
# write every few seconds, which 2 s mostly missed (S3: a read per message; docs/performance.md, "Own events"), and
# 10 s a third of the time at S3's 300/s (a personal stream gets a message every 3 s there). Under HOLD_SECONDS -
# REFRESH_SECONDS, so that a mark read just before its refresh still holds while it is kept.
READ_SECONDS = 30.0
READ_STREAMS = 4096  # streams whose marks a process keeps (the least recently read go first)

_local: dict[str, dict[str, float]] = {}  # stream -> {variant: until}, when the cache is not Redis
_local_lock = threading.Lock()
_read: OrderedDict[str, tuple[float, dict[str, float]]] = OrderedDict()  # stream -> (read at, {variant: until})
_read_lock = threading.Lock()


def variant(audience: str, lang: str) -> str:
    return f"{audience}:{lang}"


def audiences_for(only: Iterable[str], lang: str) -> frozenset[str]:
    """The audiences of `lang` among the variants `only`."""
    suffix = f":{lang}"
    return frozenset(name[: -len(suffix)] for name in only if name.endswith(suffix))


def enabled() -> bool:
    return settings.LIVE_RENDER_FOLLOWED_ONLY


def covers(msg: dict, audience: str, lang: str) -> bool:
    """Whether a stream message holds what (audience, lang) must see: every variant, or this one was wanted."""
    only = msg.get("only")
    return only is None or variant(audience, lang) in only


def _hash(key: str) -> str:
    return f"live:variants:{key}"


def _redis():
    """(backend, the cache's Redis client: the process-wide one of live.ratelimit), or None when the cache is not
    Redis."""
    from live import ratelimit

    return ratelimit.cache_redis()


# `mark`'s HSET and EXPIRE of each stream's hash in one script call per MARK_CHUNK streams: as a pipeline, the hub's
# refresh of 2,000 followed streams (every REFRESH_SECONDS) cost 31-34 ms of CPU holding the GIL (#17, S3).
# ARGV: the hold, the time until which the marks hold, then for each key its number of variants and their names.
MARK = """
local i = 3
for k = 1, #KEYS do
    local n = tonumber(ARGV[i])
    local fields = {}
    for j = 1, n do
        fields[2 * j - 1] = ARGV[i + j]
        fields[2 * j] = ARGV[2]
    end
    redis.call('HSET', KEYS[k], unpack(fields))
    redis.call('EXPIRE', KEYS[k], ARGV[1])
    i = i + 1 + n
end
return #KEYS
"""
MARK_CHUNK = 200
_mark_script = None


def mark(pairs: Iterable[tuple[str, str]]) -> None:
    """Record that (stream, variant) pairs are followed, for HOLD_SECONDS. Blocking: call from a thread."""
    until = time.time() + HOLD_SECONDS
    by_key: dict[str, dict[str, float]] = {}
    for key, name in pairs:
        by_key.setdefault(key, {})[name] = until
    if not by_key:
        return
    redis = _redis()
    if redis is None:
        with _local_lock:
            for key, fields in by_key.items():
                _local.setdefault(key, {}).update(fields)
        return
    backend, client = redis
    global _mark_script
    if _mark_script is None:
        _mark_script = client.register_script(MARK)
    items = list(by_key.items())
    for start in range(0, len(items), MARK_CHUNK):
        keys, args = [], [HOLD_SECONDS, until]
        for key, fields in items[start:start + MARK_CHUNK]:
            keys.append(backend.make_key(_hash(key)))
            args.append(len(fields))
            args += fields
        _mark_script(keys=keys, args=args, client=client)
    with _read_lock:  # what this process keeps of these streams' marks has them from now on
        for key, fields in by_key.items():
            kept = _read.get(key)
            if kept is not None:
                _read[key] = (kept[0], {**kept[1], **fields})


def wanted(key: str) -> set[str] | None:
    """The variants of `key` that some socket follows (possibly none), or None when unknown: render them all."""
    return wanted_many([key])[key]


def wanted_many(keys: Iterable[str]) -> dict[str, set[str] | None]:
    """`wanted` of each of `keys` (the streams of one write's publish), reading those not kept in one round trip."""
    keys = list(dict.fromkeys(keys))
    if not enabled():
        return dict.fromkeys(keys)
    now = time.time()
    try:
        redis = _redis()
        if redis is None:
            with _local_lock:
                marks = {key: dict(_local.get(key, {})) for key in keys}
        else:
            marks = _read_marks(keys, *redis)
    except Exception:
        logger.warning("followed variants of %s unknown; rendering them all", ", ".join(keys), exc_info=True)
        return dict.fromkeys(keys)
    return {key: {name for name, until in fields.items() if until > now} for key, fields in marks.items()}


def _read_marks(keys: list[str], backend, client) -> dict[str, dict[str, float]]:
    """`{stream: {variant: until}}` of `keys` from Redis, one round trip for those not read within the last
    READ_SECONDS (module docstring)."""
    read_at = time.monotonic()
    marks: dict[str, dict[str, float]] = {}
    missing: list[str] = []
    with _read_lock:
        for key in keys:
            kept = _read.get(key)
            if kept is not None and read_at - kept[0] < READ_SECONDS:
                _read.move_to_end(key)
                marks[key] = kept[1]
            else:
                missing.append(key)
    if not missing:
        return marks
    if len(missing) == 1:  # a pipeline of one costs more Python than the command alone
        replies = [client.hgetall(backend.make_key(_hash(missing[0])))]
    else:
        pipe = client.pipeline(transaction=False)
        for key in missing:
            pipe.hgetall(backend.make_key(_hash(key)))
        replies = pipe.execute()
    with _read_lock:
        for key, reply in zip(missing, replies, strict=True):
            fields = {(name.decode() if isinstance(name, bytes) else name): float(until)
                      for name, until in reply.items()}
            kept = _read.get(key)
            if kept is not None and kept[0] > read_at:  # read again meanwhile, by another thread
                marks[key] = kept[1]
                continue
            marks[key] = fields
            if not fields:  # "nobody follows" is not kept: a frame skipped on its word would be lost (docstring)
                _read.pop(key, None)
                continue
            _read[key] = (read_at, fields)
            _read.move_to_end(key)
        while len(_read) > READ_STREAMS:
            _read.popitem(last=False)
    return marks


def forget_local() -> None:
    """Tests: drop this process's marks, and what it read of the others'."""
    with _local_lock:
        _local.clear()
    with _read_lock:
        _read.clear()
