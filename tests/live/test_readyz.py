"""/readyz: PostgreSQL, the channel layer and the cache (Redis) answer within READYZ_TIMEOUT_SECONDS, else 503
naming what failed, so the load balancer stops sending new sockets to this process."""

import time
from unittest import mock

import pytest

from live import drain
from tests.live.test_faults import own_redis  # noqa: F401  (a redis-server of the test's own, to stop)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_reports_database_channel_layer_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok", "cache": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.fault
def test_it_answers_503_naming_redis_when_its_redis_is_stopped(client, own_redis):  # noqa: F811
    assert client.get("/readyz").status_code == 200
    own_redis.stop()
    started = time.monotonic()
    response = client.get("/readyz")
    took = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "ok"
    assert body["channel_layer"].startswith("error") and body["cache"].startswith("error")
    assert took < 3, f"/readyz took {took:.1f}s with Redis down"


def test_it_answers_503_when_the_database_does_not_answer_in_time(client, settings):
    settings.READYZ_TIMEOUT_SECONDS = 0.2
    with mock.patch("live.views._database_roundtrip", side_effect=lambda: time.sleep(1)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: timeout"
    assert response.json()["cache"] == "ok"


def test_a_process_draining_for_a_restart_is_not_ready(client, monkeypatch):
    monkeypatch.setitem(drain._state, "draining", True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["process"] == "error: draining"
