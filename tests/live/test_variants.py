"""Render only the (audience, language) variants some socket follows (live/variants.py), and never lose an event
because a variant was not rendered: the hub completes it from the log, replays from memory check it."""

import time
from unittest import mock

import pytest
import redis
from asgiref.sync import sync_to_async

from debates import services
from live import streams, variants
from live.models import Event
from tests.debates.conftest import make_debate
from tests.helpers import connect, events, follow, position, redis_round_trips, resume

pytestmark = [pytest.mark.django_db(transaction=True)]


def _renders():
    """Counts the debate comments built for pushes (debates/comment_html.py), by audience."""
    from debates import comment_html

    real = comment_html.thread_html
    calls = []

    def counting(comment, around, **kwargs):
        calls.append(("thread_html", "moderators" if around.moderator_view else "public"))
        return real(comment, around, **kwargs)

    return calls, mock.patch.object(comment_html, "thread_html", counting)


def _last_event(key):
    return Event.objects.filter(stream=key).order_by("-seq").first()


def test_a_publish_renders_only_the_followed_variants(alice, fiona):
    debate = make_debate(fiona)
    key = debate.stream_key
    services.post_comment(author=alice, debate=debate, body="Pour la place piétonne")
    event = _last_event(key)
    calls, patch = _renders()
    with patch:
        assert variants.wanted(key) == set()
        nobody = streams.message(event, variants.wanted(key))
        assert nobody["frames"] == {} and nobody["only"] == [] and calls == []  # no reader: no render at all

        variants.mark([(key, "public:fr")])
        assert variants.wanted(key) == {"public:fr"}
        one = streams.message(event, variants.wanted(key))
        assert set(one["frames"]) == {"public:fr"} and one["only"] == ["public:fr"]
        assert calls == [("thread_html", "public")]  # one rendering, not four

        variants.mark([(key, "moderators:en")])
        two = streams.message(event, variants.wanted(key))
        assert set(two["frames"]) == {"public:fr", "moderators:en"}
        assert "New comment by alice" in two["frames"]["moderators:en"]
        assert "Nouveau commentaire de alice" in two["frames"]["public:fr"]

        full = streams.message(event)  # replays: every variant, and no "only"
        assert set(full["frames"]) == {"public:fr", "public:en", "moderators:fr", "moderators:en"}
        assert "only" not in full


def test_marks_expire_and_can_be_switched_off(settings, fiona):
    debate = make_debate(fiona)
    key = debate.stream_key
    variants.mark([(key, "public:en")])
    assert variants.covers({"only": ["public:en"]}, "public", "en")
    assert not variants.covers({"only": ["public:en"]}, "public", "fr")
    assert variants.covers({}, "public", "fr")  # a message rendered for all
    with mock.patch("live.variants.time.time", return_value=10**12):
        assert variants.wanted(key) == set()  # not refreshed for longer than HOLD_SECONDS
    settings.LIVE_RENDER_FOLLOWED_ONLY = False
    assert variants.wanted(key) is None


@pytest.mark.needs_redis
def test_a_writer_reads_the_marks_once_per_moment_and_its_own_marks_at_once(fiona):
    """A stream's writes within READ_SECONDS ask Redis once; a mark made in this process counts at once; another
    process's mark counts once what was read is READ_SECONDS old. "Nobody follows" is never kept: the first follower
    in another process counts at once (an ephemeral frame skipped on that word would be lost)."""
    debate = make_debate(fiona)
    key = debate.stream_key
    variants.forget_local()  # the debate's creation read its marks already
    backend, client = variants._redis()
    calls = []
    real = type(client).hgetall

    def counted(self, name):
        calls.append(name)
        return real(self, name)

    with mock.patch.object(type(client), "hgetall", counted):
        assert variants.wanted(key) == set()
        # Another process's first follower: seen by the next write, not READ_SECONDS later.
        client.hset(backend.make_key(f"live:variants:{key}"), mapping={"public:en": time.time() + 60})
        assert variants.wanted(key) == {"public:en"} and len(calls) == 2
        assert variants.wanted(key) == {"public:en"} and len(calls) == 2  # kept: the next write asked nothing

        variants.mark([(key, "public:fr")])  # a socket of this process
        assert variants.wanted(key) == {"public:en", "public:fr"} and len(calls) == 2

        # Another process's socket: its mark in Redis, not in what this process read.
        client.hset(backend.make_key(f"live:variants:{key}"), mapping={"moderators:en": time.time() + 60})
        assert variants.wanted(key) == {"public:en", "public:fr"}
        later = time.monotonic() + variants.READ_SECONDS
        with mock.patch("live.variants.time.monotonic", return_value=later):
            assert variants.wanted(key) == {"public:en", "public:fr", "moderators:en"} and len(calls) == 3


def _reads(trips):
    """The round trips that read marks (`mark` writes them in one of its own)."""
    return [trip for trip in trips if "HGETALL" in trip]


@pytest.mark.needs_redis
def test_the_marks_of_a_writes_streams_are_read_in_one_round_trip():
    """A write publishing on several streams (a message: its conversation, its author's and its recipient's
    personal streams) reads their marks in one Redis round trip, and keeps what it read as `wanted` does: for
    READ_SECONDS, with this process's own marks added at once, and never "nobody follows"."""
    n = time.time_ns()
    conversation, author, recipient = keys = [f"conversation.{n}", f"user.{n}", f"user.{n + 1}"]
    backend, client = variants._redis()
    until = time.time() + 60
    client.hset(backend.make_key(f"live:variants:{conversation}"), mapping={"u1:fr": until, "u2:en": until})
    client.hset(backend.make_key(f"live:variants:{author}"), mapping={"self:fr": until})  # other processes' sockets
    variants.forget_local()
    with redis_round_trips() as trips:
        assert variants.wanted_many([*keys, conversation]) == {
            conversation: {"u1:fr", "u2:en"}, author: {"self:fr"}, recipient: set()}
        assert _reads(trips) == [["HGETALL", "HGETALL", "HGETALL"]]  # one round trip for the three streams

        # The next write within READ_SECONDS asks only about the stream nobody followed (not kept).
        assert variants.wanted_many(keys) == {conversation: {"u1:fr", "u2:en"}, author: {"self:fr"},
                                              recipient: set()}
        assert _reads(trips)[1:] == [["HGETALL"]]

        variants.mark([(author, "self:en"), (recipient, "self:fr")])  # sockets of this process
        assert variants.wanted_many(keys) == {conversation: {"u1:fr", "u2:en"}, author: {"self:fr", "self:en"},
                                              recipient: {"self:fr"}}
        assert _reads(trips)[2:] == [["HGETALL"]]  # the recipient, not kept until now: read, and now kept
        assert variants.wanted(recipient) == {"self:fr"} and len(_reads(trips)) == 3

        # Another process's new mark counts once what was read is READ_SECONDS old: all three in one round trip.
        client.hset(backend.make_key(f"live:variants:{conversation}"), mapping={"u3:fr": until})
        later = time.monotonic() + variants.READ_SECONDS
        with mock.patch("live.variants.time.monotonic", return_value=later):
            assert variants.wanted_many(keys)[conversation] == {"u1:fr", "u2:en", "u3:fr"}
        assert _reads(trips)[3:] == [["HGETALL", "HGETALL", "HGETALL"]]


@pytest.mark.needs_redis
def test_marks_that_cannot_be_read_render_every_variant_of_every_stream():
    n = time.time_ns()
    keys = [f"conversation.{n}", f"user.{n}"]
    variants.mark([(keys[0], "u1:fr")])
    variants.forget_local()
    backend, client = variants._redis()
    with mock.patch.object(type(client), "pipeline", side_effect=redis.ConnectionError("down")):
        assert variants.wanted_many(keys) == {keys[0]: None, keys[1]: None}


def test_without_redis_the_marks_of_several_streams_are_this_processs():
    n = time.time_ns()
    keys = [f"conversation.{n}", f"user.{n}"]
    with mock.patch.object(variants, "_redis", return_value=None), redis_round_trips() as trips:
        variants.mark([(keys[0], "u1:fr"), (keys[0], "u2:en")])
        assert variants.wanted_many(keys) == {keys[0]: {"u1:fr", "u2:en"}, keys[1]: set()}
        assert variants.wanted(keys[0]) == {"u1:fr", "u2:en"}
    assert trips == []
    variants.forget_local()


async def _reader(user, key, lang):
    ws = await connect(user, lang=lang)
    assert (await follow(ws, key))["type"] == "subscribed"
    return ws


async def test_a_reader_whose_variant_was_not_rendered_gets_the_event_from_the_log(alice, bob, mona, fiona):
    """The marks never reach the writer (lost, late, Redis down): the hub renders what its sockets need."""
    debate = await sync_to_async(make_debate)(fiona)
    with mock.patch.object(variants, "mark", lambda pairs: None):
        ws_fr = await _reader(bob, debate.stream_key, "fr")
        ws_mod_en = await _reader(mona, debate.stream_key, "en")
        comment = await sync_to_async(services.post_comment)(author=alice, debate=debate, body="Propos vifs")
        published = await sync_to_async(streams.message)(await sync_to_async(_last_event)(debate.stream_key),
                                                         await sync_to_async(variants.wanted)(debate.stream_key))
        assert published["frames"] == {}  # what the writer sent: nothing rendered
        [fr] = await events(ws_fr, debate.stream_key, 1)
        [mod] = await events(ws_mod_en, debate.stream_key, 1)
    assert f'id="comment-{comment.pk}"' in fr["html"] and "Nouveau commentaire de alice" in fr["html"]
    assert f'id="comment-{comment.pk}"' in mod["html"] and "New comment by alice" in mod["html"]
    assert fr["seq"] == mod["seq"]
    await ws_fr.disconnect()
    await ws_mod_en.disconnect()


async def test_a_resume_in_a_new_variant_does_not_replay_frames_rendered_for_others(alice, bob, carol, fiona):
    """The hub's memory holds the events as rendered for French readers: an English reader resuming from before
    them is served from the log, with the comments in full."""
    debate = await sync_to_async(make_debate)(fiona)
    start = await sync_to_async(position)(debate.stream_key)
    ws_fr = await _reader(bob, debate.stream_key, "fr")
    posted = []
    for body in ("Premier", "Deuxième"):
        posted.append(await sync_to_async(services.post_comment)(author=alice, debate=debate, body=body))
    delivered = await events(ws_fr, debate.stream_key, 2)
    assert all("Nouveau commentaire" in frame["html"] for frame in delivered)

    ws_en = await connect(carol, lang="en")
    await resume(ws_en, **{debate.stream_key: start})
    replayed = await events(ws_en, debate.stream_key, 2)
    assert [frame["seq"] for frame in replayed] == [start["seq"] + 1, start["seq"] + 2]
    for frame, comment in zip(replayed, posted, strict=True):
        assert f'id="comment-{comment.pk}"' in frame["html"] and "New comment by alice" in frame["html"]
    await ws_fr.disconnect()
    await ws_en.disconnect()


@pytest.mark.needs_redis
def test_marking_many_streams_holds_each_variant_in_chunks():
    """The hub's refresh marks every stream it follows in one script call per MARK_CHUNK streams: each hash gets
    its variants with the hold's end and expires after HOLD_SECONDS, as HSET and EXPIRE did."""
    backend, client = variants._redis()
    keys = [f"conversation.{n}" for n in range(9001, 9006)]
    pairs = [(key, "u1:fr") for key in keys] + [(keys[0], "u1:en"), (keys[4], "moderators:fr")]
    with mock.patch.object(variants, "MARK_CHUNK", 2):
        before = time.time()
        variants.mark(pairs)
    for key in keys:
        name = backend.make_key(f"live:variants:{key}")
        fields = {f.decode(): float(v) for f, v in client.hgetall(name).items()}
        expected = {"u1:fr"} | ({"u1:en"} if key == keys[0] else set()) | (
            {"moderators:fr"} if key == keys[4] else set())
        assert set(fields) == expected
        assert all(before + variants.HOLD_SECONDS - 1 <= until <= time.time() + variants.HOLD_SECONDS
                   for until in fields.values())
        assert 0 < client.ttl(name) <= variants.HOLD_SECONDS
    variants.forget_local()
    assert variants.wanted(keys[4]) == {"u1:fr", "moderators:fr"}
