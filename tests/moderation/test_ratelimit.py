"""live/ratelimit.py: the one rate-limit mechanism (reports, moderation actions, sign-ups, ...) and socket caps."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from live import ratelimit
from live.accounts import services as accounts
from live.moderation import services
from live.moderation.models import Report
from tests import helpers
from tests.moderation.conftest import HIDDEN, make_thing


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(1_000_000.0)  # the start of a 5-second window
    monkeypatch.setattr(ratelimit.time, "time", clock)
    return clock


@pytest.fixture
def limits(settings):
    settings.RATE_LIMITS = {"probe": "3/5"}
    return settings


def test_the_quota_holds_within_a_window_and_says_when_to_retry(limits, clock):
    assert [ratelimit.hit("probe", "ip-1")[0] for _ in range(3)] == [True, True, True]
    clock.now += 1
    allowed, retry_after = ratelimit.hit("probe", "ip-1")
    assert not allowed and 1 <= retry_after <= 2 * 5  # a sliding estimate: at most two windows
    with pytest.raises(ratelimit.RateLimited) as exc:
        ratelimit.enforce("probe", "ip-1")
    assert exc.value.retry_after >= 1 and str(exc.value.retry_after) in exc.value.message


def test_a_burst_across_a_window_boundary_cannot_double_the_quota(limits, clock):
    clock.now += 4.9  # the end of a window
    assert all(ratelimit.hit("probe", "ip-1")[0] for _ in range(3))
    clock.now += 0.2  # just past the boundary: a fixed window would allow 3 more at once
    assert not ratelimit.hit("probe", "ip-1")[0]
    clock.now += 5  # the burst has aged out
    assert ratelimit.hit("probe", "ip-1")[0]


def test_refused_attempts_are_not_counted_and_the_wait_is_honest(limits, clock):
    for _ in range(3):
        ratelimit.hit("probe", "ip-1")
    for _ in range(50):  # flooding
        allowed, retry_after = ratelimit.hit("probe", "ip-1")
        assert not allowed
    clock.now += retry_after
    assert ratelimit.hit("probe", "ip-1")[0]


def test_other_people_are_unaffected(limits, clock, alice, bob):
    for _ in range(3):
        ratelimit.enforce("probe", alice)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.enforce("probe", alice)
    ratelimit.enforce("probe", bob)
    ratelimit.enforce("probe", "ip-2")


def test_blocked_for_looks_without_counting(limits, clock):
    assert ratelimit.blocked_for("probe", "x") == 0
    for _ in range(3):
        ratelimit.hit("probe", "x")
    assert ratelimit.blocked_for("probe", "x") >= 1
    ratelimit.reset("probe", "x")
    assert ratelimit.blocked_for("probe", "x") == 0


def test_a_cache_outage_counts_in_this_process_and_waits_for_redis_once(limits, clock, monkeypatch, caplog):
    tries = []

    def down(*args, **kwargs):
        tries.append(args)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr(ratelimit, "_hit_in_redis", down)  # the one-round-trip path when the cache is Redis
    # nobody is refused because Redis is down, and the quota still holds within this process
    assert [ratelimit.hit("probe", "ip-1")[0] for _ in range(4)] == [True, True, True, False]
    assert ratelimit.hit("probe", "ip-2")[0]
    assert len(tries) == 1  # the breaker: one wait for the dead server, not one per request
    assert ratelimit.degraded["probe"] == 5
    assert [r.levelname for r in caplog.records if r.name == "live.ratelimit"] == ["WARNING"]


def test_flooding_reports_writes_nothing_past_the_quota(db, settings, alice, bob, carol):
    settings.RATE_LIMITS = {"report": "4/600"}
    things = [make_thing(alice, f"n°{i}") for i in range(6)]
    for thing in things[:4]:
        services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    with pytest.raises(ratelimit.RateLimited) as exc:
        services.report(reporter=bob, kind="thing", object_id=things[4].pk, reason="spam")
    assert exc.value.retry_after > 0
    assert Report.objects.filter(reporter=bob).count() == 4
    services.report(reporter=carol, kind="thing", object_id=things[5].pk, reason="spam")  # carol is unaffected


def test_flooding_the_report_form_answers_429_with_retry_after(db, settings, client, alice, bob):
    settings.RATE_LIMITS = {"report": "2/600"}
    things = [make_thing(alice, f"n°{i}") for i in range(3)]
    client.force_login(bob)
    statuses = [client.post("/moderation/report/", {"kind": "thing", "id": t.pk, "reason": "spam"}).status_code
                for t in things]
    assert statuses == [302, 302, 429]
    response = client.post("/moderation/report/", {"kind": "thing", "id": things[2].pk, "reason": "spam"})
    assert int(response["Retry-After"]) > 0
    assert Report.objects.count() == 2


def test_moderation_actions_are_rate_limited(db, settings, alice, mona):
    settings.RATE_LIMITS = {"moderate": "2/60"}
    things = [make_thing(alice, f"n°{i}") for i in range(3)]
    services.hide(actor=mona, kind="thing", object_id=things[0].pk, reason="a")
    services.hide(actor=mona, kind="thing", object_id=things[1].pk, reason="b")
    with pytest.raises(ratelimit.RateLimited):
        services.hide(actor=mona, kind="thing", object_id=things[2].pk, reason="c")
    assert things[2].pk not in HIDDEN


def test_sign_ups_are_rate_limited_per_ip(db, settings):
    settings.RATE_LIMITS = {"signup": "2/3600"}
    for i in range(2):
        accounts.sign_up(nickname=f"newcomer{i}", email=f"n{i}@example.org", password="a-long-pass-phrase-1",
                         ip="203.0.113.9")
    with pytest.raises(ratelimit.RateLimited):
        accounts.sign_up(nickname="newcomer9", email="n9@example.org", password="a-long-pass-phrase-1",
                         ip="203.0.113.9")
    accounts.sign_up(nickname="neighbour", email="nb@example.org", password="a-long-pass-phrase-1",
                     ip="198.51.100.7")
    assert get_user_model().objects.filter(nickname__startswith="newcomer").count() == 2


# --- socket caps -----------------------------------------------------------------------------------------------

async def open_socket(user=None, ip="192.0.2.1"):
    from live.asgi import application

    headers = [(b"origin", helpers.ORIGIN)]
    if user is not None:
        cookie = await sync_to_async(helpers.session_cookie)(user)
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    ws = WebsocketCommunicator(application, "/ws/", headers=headers)
    ws.scope["client"] = (ip, 50000)
    connected, code = await ws.connect(timeout=5)
    if connected:  # a socket over a cap is accepted, then closed with 4429 (docs/realtime.md)
        code = await helpers.closed_at_once(ws)
        connected = code is None
    return ws, connected, code


@pytest.mark.django_db(transaction=True)
async def test_sockets_are_capped_per_user_and_released_on_disconnect(settings, alice, bob):
    settings.LIVE_MAX_SOCKETS_PER_USER = 2
    first, ok1, _ = await open_socket(alice)
    second, ok2, _ = await open_socket(alice)
    third, ok3, code = await open_socket(alice)
    assert (ok1, ok2, ok3) == (True, True, False) and code == 4429
    other, ok, _ = await open_socket(bob)  # bob is unaffected
    assert ok
    await first.disconnect()
    again, ok, _ = await open_socket(alice)
    assert ok
    for ws in (second, again, other):
        await ws.disconnect()
    assert cache.get(f"conn:user:{alice.pk}") == 0 and cache.get(f"conn:user:{bob.pk}") == 0


@pytest.mark.django_db(transaction=True)
async def test_sockets_are_capped_per_ip(settings):
    settings.LIVE_MAX_SOCKETS_PER_IP = 2
    sockets = [await open_socket(ip="198.51.100.20") for _ in range(3)]
    assert [ok for _ws, ok, _code in sockets] == [True, True, False]
    assert sockets[2][2] == 4429
    elsewhere, ok, _ = await open_socket(ip="198.51.100.21")
    assert ok
    for ws, _ok, _code in sockets[:2]:
        await ws.disconnect()
    await elsewhere.disconnect()
    assert cache.get("conn:ip:198.51.100.20") == 0
    replacement, ok, _ = await open_socket(ip="198.51.100.20")
    assert ok
    await replacement.disconnect()


def test_a_zero_limit_refuses_with_a_retry_time_instead_of_crashing(settings):
    from live import ratelimit

    settings.RATE_LIMITS = {"comment": "0/60"}
    allowed, retry_after = ratelimit.hit("comment", "someone")
    assert not allowed and retry_after > 0


@pytest.mark.needs_redis
def test_the_cache_redis_client_is_built_once_and_forgotten_with_the_cache_settings(settings):
    """Every rate limit and every publish's marks read asked Django for the cache's client, which built a new one
    each time: it is kept, on the same connection pool, until the CACHES setting changes."""
    first = ratelimit.cache_redis()
    assert first is not None and ratelimit.cache_redis() is first
    backend, client = first
    assert client.connection_pool is backend._cache.get_client(write=True).connection_pool
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ratelimit.cache_redis() is None
