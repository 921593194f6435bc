"""The cast, named once:

- alice: a participant who writes a lot;
- bob: another participant, who reads what alice writes;
- carol: a third participant, who must never see alice and bob's private things;
- mona: a global moderator;
- fiona: a facilitator;
- an anonymous visitor (no fixture: a client without login).
"""

import asyncio
import contextlib
import inspect
import os

import pytest
from channels.layers import channel_layers
from django.conf import settings

from live import ratelimit, variants
from tests import helpers


def pytest_report_header(config):
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [f"agora: database={db} channel_layer={layer} browser={os.environ.get('AGORA_BROWSER', '/usr/bin/chromium')}"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, and before it drops the test database, the connections the tests' threads left open closed:
    that of asgiref's one thread for thread-sensitive `sync_to_async` calls (it lives on), those of the sockets'
    write pool (live/consumers.py: its threads end, the pool is made again on next use), and those of threads gone
    with their event loops (closed when their wrappers are collected, which a collection run makes sure of). Left
    open, the drop failed ("being accessed by other users") and left the database behind."""
    yield
    import gc

    from asgiref.sync import SyncToAsync
    from django.db import connections

    from live import consumers

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
    while consumers._write_pool:
        consumers._write_pool.pop().shutdown(wait=True)
    gc.collect()


def pytest_collection_modifyitems(config, items):
    """Browser tests last; tests that need a real server are skipped on the embedded default, with the reason,
    unless AGORA_REQUIRE_FULL_STACK=1 (.ci/run), where a missing server is a failure."""
    strict = os.environ.get("AGORA_REQUIRE_FULL_STACK") == "1"
    has_pg = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(settings.REDIS_URL)
    for item in items:
        reason = None
        if item.get_closest_marker("needs_postgres") and not has_pg:
            reason = "needs PostgreSQL: set DATABASE_URL or start it on 127.0.0.1:5432"
        if item.get_closest_marker("needs_redis") and not has_redis:
            reason = "needs Redis: set REDIS_URL or start it on 127.0.0.1:6379"
        if reason:
            if strict:
                item.add_marker(pytest.mark.xfail(reason=f"FULL STACK REQUIRED: {reason}", run=False, strict=True))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))
    items.sort(key=lambda item: 1 if item.get_closest_marker("browser") else 0)
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("_no_layer_read_left")


@pytest.fixture(autouse=True)
def _clean_cache_and_limits(settings):
    from django.core.cache import cache

    cache.clear()
    ratelimit._local_stamps.clear()
    ratelimit._slots.held.clear()
    ratelimit._fallback.clear()
    ratelimit.degraded.clear()
    ratelimit._breaker.succeeded()
    yield


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test runs on its own event loop, so it gets its own channel layer and hubs. channels-redis keeps
    per-channel asyncio locks on the layer object and releases one only when a clean-up task finishes; a test whose
    loop closes first leaves it locked and bound to that dead loop, and every later receive on the same layer fails
    with "bound to a different event loop" (the hub retries for ever and ephemeral frames never arrive). Production
    runs one loop per process, so this only concerns the test run."""
    channel_layers.backends.clear()
    variants.forget_local()
    yield


@pytest.fixture
async def _no_layer_read_left():
    """After an async test, on its own loop: stop what it left running (a communicator never disconnected keeps its
    consumer reading the channel layer). A cancelled channels-redis receive does not always stop at once: left to
    the loop's own teardown, two of them hung it for the whole 120 s timeout in one full run. So the layer's
    connections are closed under the reads still running after 0.2 s."""
    yield
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if not left:
        return
    for task in left:
        task.cancel()
    _done, pending = await asyncio.wait(left, timeout=0.2)
    layer = channel_layers.backends.get("default")
    if pending and hasattr(layer, "close_pools"):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(layer.close_pools(), timeout=2)
        await asyncio.wait(pending, timeout=2)


@pytest.fixture
def alice(db):
    return helpers.make_user("alice")


@pytest.fixture
def bob(db):
    return helpers.make_user("bob")


@pytest.fixture
def carol(db):
    return helpers.make_user("carol")


@pytest.fixture
def mona(db):
    return helpers.make_user("mona", role="moderator")


@pytest.fixture
def fiona(db):
    return helpers.make_user("fiona", role="facilitator")


@pytest.fixture
def admin_user(db):
    return helpers.make_user("adminette", role="administrator", is_staff=True, is_superuser=True)
