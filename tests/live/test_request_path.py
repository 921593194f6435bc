"""The HTTP request path under ASGI: a sync view's middleware chain in one thread hop (live/handlers.py), one Redis
client per process for the cache (live/cache.py)."""

import contextvars
from unittest import mock

import pytest
from asgiref.sync import AsyncToSync
from django.core.cache import caches

from live import internals
from tests.helpers import asgi_http

pytestmark = [pytest.mark.django_db(transaction=True)]


async def get(path):
    from live.asgi import application

    response = await asgi_http(application, "GET", path, headers=[(b"host", b"127.0.0.1:8000")], timeout=10)
    return response["status"], response["body"]


def counting_async_to_sync():
    calls = []
    original = AsyncToSync.__call__

    def counted(self, *args, **kwargs):
        calls.append(getattr(self.awaitable, "__qualname__", repr(self.awaitable)))
        return original(self, *args, **kwargs)

    return calls, mock.patch.object(AsyncToSync, "__call__", counted)


async def test_a_sync_view_runs_its_whole_middleware_chain_in_one_thread_without_going_back_to_the_loop():
    calls, patch = counting_async_to_sync()
    with patch:
        status, body = await get("/accessibility/")
    assert status == 200 and b"<html" in body
    assert calls == []  # Django's async chain went back to the loop (async_to_sync) before every sync view


async def test_an_async_view_still_answers_on_the_event_loop():
    calls, patch = counting_async_to_sync()
    with patch:
        status, body = await get("/healthz")
    assert status == 200 and b'"ok"' in body


async def test_a_page_that_does_not_exist_is_the_404_page():
    status, _body = await get("/no/such/page/")
    assert status == 404


async def test_with_the_shortcut_off_django_s_own_chain_serves_the_same_page():
    with mock.patch.dict(internals.STATUS, {"one_hop": "switched off"}):
        calls, patch = counting_async_to_sync()
        with patch:
            status, body = await get("/accessibility/")
    assert status == 200 and b"<html" in body
    assert calls  # Django's async chain: the hop this handler saves


@pytest.mark.needs_redis
def test_every_cache_object_of_the_process_shares_one_redis_client(settings):
    """Django keeps a cache object per asyncio context (per request under ASGI); each used to open its own Redis
    connection."""
    assert settings.CACHES["default"]["BACKEND"] == "live.cache.RedisCache"
    clients = []

    def in_a_new_context():
        clients.append(caches.create_connection("default")._cache)

    for _ in range(3):
        contextvars.copy_context().run(in_a_new_context)
    assert clients[0] is clients[1] is clients[2]
    cache = caches.create_connection("default")
    cache.set("request-path-test", 7, timeout=5)
    assert caches.create_connection("default").get("request-path-test") == 7


@pytest.mark.needs_redis
def test_many_requests_use_one_redis_connection_pool():
    from live import ratelimit

    pools = set()
    for i in range(20):
        def one_request(i=i):
            ratelimit.hit("comment", f"visitor-{i}")
            pools.add(id(caches["default"]._cache._get_connection_pool(True)))

        contextvars.copy_context().run(one_request)
    assert len(pools) == 1


def test_the_header_s_values_are_read_only_by_a_page_that_shows_the_header(client, alice):
    """A fragment answered to htmx (a vote's buttons) showed no header but paid for its queries (the unread count,
    the personal stream's cursor, the moderator check)."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from live import streams

    request = RequestFactory().post("/")
    request.user = alice
    with mock.patch("live.notifications.services.unread_count", return_value=4) as unread, \
            mock.patch("live.moderation.rules.is_moderator", return_value=False) as moderator, \
            mock.patch("live.streams.cursor", wraps=streams.cursor) as cursor:
        render_to_string("live/announcer.html", {"text": "Voté"}, request=request)
        assert (unread.call_count, moderator.call_count, cursor.call_count) == (0, 0, 0)
        client.force_login(alice)
        page = client.get("/").content.decode()
        assert (unread.call_count, moderator.call_count) == (1, 1)  # read once, though the badge shows it twice
        assert cursor.call_args_list[0].args == (alice.stream_key,)
    assert f'data-live-stream="{alice.stream_key}" data-live-cursor="' in page
    assert "4 notifications non lues" in page or "4 unread notifications" in page


@pytest.mark.needs_redis
def test_a_rate_limit_is_one_redis_round_trip_and_agrees_with_the_cache_api(settings):
    """Every write checks a rate limit: one script call instead of four commands one after the other, on the same
    keys as the cache API's path (which counts while the script is unusable)."""
    from live import ratelimit

    settings.RATE_LIMITS = {"probe": "3/60"}
    sent = []
    client = internals.redis_client(ratelimit._slots.backend())
    original = type(client).execute_command

    def counted(self, *args, **kwargs):
        sent.append(args[0])
        return original(self, *args, **kwargs)

    with mock.patch.object(type(client), "execute_command", counted):
        decisions = [ratelimit.hit("probe", "visitor-rt")[0] for _ in range(4)]
    assert decisions == [True, True, True, False]
    assert [name for name in sent if name not in {"SCRIPT LOAD"}] == ["EVALSHA"] * 4
    with mock.patch.dict(internals.STATUS, {"redis_client": "off"}):  # the cache API's path reads the same counters
        allowed, retry_after = ratelimit.hit("probe", "visitor-rt")
    assert not allowed and retry_after >= 1
