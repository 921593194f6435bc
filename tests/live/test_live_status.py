"""'État du direct' (live/views.py: live_status): staff see the live figures of every process that reported."""

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
    client.force_login(sam)
    assert "web2.internal:4242" not in client.get("/live-status/").content.decode()


def test_participants_are_refused_and_visitors_sent_to_sign_in(client, alice):
    assert client.get("/live-status/").status_code == 302
    client.force_login(alice)
    assert client.get("/live-status/").status_code == 403
