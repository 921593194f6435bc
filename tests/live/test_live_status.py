"""'État du direct' (live/views.py: live_status): staff see the live figures of every process that reported."""

import threading
import time
from unittest import mock

import pytest

from live import metrics
from tests.helpers import elements, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db):
    # sam: a member of the city's IT staff (Django staff), not a moderator
    return make_user("sam", is_staff=True)


def other_process(**figures):
    return {**metrics.snapshot(), "process": "web2.internal:4242", **figures}


def test_staff_see_each_process_that_reported_and_the_totals(client, sam):
    metrics.publish_snapshot(metrics.snapshot())
    metrics.publish_snapshot(other_process(sockets=40, events=7))
    client.force_login(sam)
    response = client.get("/live-status/", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "État du direct" in html
    rows = {row["attrs"]["data-process"]: row["text"] for row in elements(html, "tr")
            if "data-process" in row["attrs"]}
    assert set(rows) == {metrics.PROCESS, "web2.internal:4242"}
    assert "40" in rows["web2.internal:4242"].split()
    [total] = [row["text"] for row in elements(html, "tr") if "Total" in row["text"]]
    assert str(40 + len(metrics.sockets)) in total.split()


def test_a_process_that_stopped_reporting_leaves_the_page(client, sam):
    from django.core.cache import cache

    metrics.publish_snapshot(other_process())
    cache.delete("live:status:web2.internal:4242")  # its snapshot expired (SNAPSHOT_TTL)
    metrics.publish_snapshot(other_process(process="web3.internal:77", at=time.time() - metrics.SNAPSHOT_TTL - 1))
    client.force_login(sam)
    html = client.get("/live-status/").content.decode()
    assert "web2.internal:4242" not in html and "web3.internal:77" not in html


def test_processes_reporting_at_the_same_instant_are_all_listed(client, sam):
    """Each report is one atomic write: twenty processes reporting at once never hide one another (a shared list
    read, completed and written back by each lost most of them)."""
    names = [f"web{n}.internal:{1000 + n}" for n in range(20)]
    start = threading.Barrier(len(names))

    def report(name):
        start.wait()
        metrics.publish_snapshot(other_process(process=name))

    threads = [threading.Thread(target=report, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {p["process"] for p in metrics.reported()} >= set(names)
    client.force_login(sam)
    rows = {row["attrs"]["data-process"] for row in elements(client.get("/live-status/").content.decode(), "tr")
            if "data-process" in row["attrs"]}
    assert rows >= set(names)


def test_staff_are_told_when_redis_cannot_be_read(client, sam):
    client.force_login(sam)
    with mock.patch("live.metrics.reported", side_effect=ConnectionError("Redis is down")):
        response = client.get("/live-status/", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert "Redis" in response.content.decode() and "ne répond pas" in response.content.decode()


def test_staff_are_told_when_the_metrics_are_off(client, sam, settings):
    settings.METRICS_ENABLED = False
    client.force_login(sam)
    html = client.get("/live-status/", headers={"Accept-Language": "fr"}).content.decode()
    assert "METRICS_ENABLED" in html


def test_participants_are_refused_and_visitors_sent_to_sign_in(client, alice):
    assert client.get("/live-status/").status_code == 302
    client.force_login(alice)
    assert client.get("/live-status/").status_code == 403


def test_a_process_that_timed_writes_reports_them(client, sam, settings):
    """The snapshot of a process whose writes were timed (every process serving writes with the metrics on): it
    raised on the histogram's children before, and such a process never reached the page."""
    settings.METRICS_ENABLED = True
    metrics.WRITE_SECONDS.labels("tests.status").observe(0.040)
    metrics.WRITE_SECONDS.labels("tests.status.other").observe(0.020)
    figures = metrics.snapshot()
    assert figures["writes"] >= 2 and figures["write_ms"] is not None and figures["write_ms"] > 0
    metrics.publish_snapshot(figures)
    client.force_login(sam)
    rows = {row["attrs"]["data-process"] for row in elements(client.get("/live-status/").content.decode(), "tr")
            if "data-process" in row["attrs"]}
    assert metrics.PROCESS in rows
