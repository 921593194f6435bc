"""/metrics (live/metrics.py): Prometheus figures of this process, moved by real actions through the real ASGI
stack, refused to whoever is neither in the configured networks nor holding the token, and named as docs/deploy.md
names them.

The counters are the process's: each test reads them before and after what it does."""

import asyncio
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from prometheus_client.parser import text_string_to_metric_families

from live import ratelimit, streams
from live.consumers import LiveConsumer
from live.notifications.services import notify
from live.socket_writes import socket_write
from tests.debates.conftest import make_debate
from tests.helpers import connect, events, follow, position, receive, receive_until, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
CSRF = "k" * 32  # a CSRF secret chosen by the test: sent as the cookie and as the header, as htmx does


@pytest.fixture(autouse=True)
def _scraping_allowed(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.METRICS_TOKEN = ""


def scrape(client) -> dict[str, float]:
    """{'name{label="v",...}': value} of every sample /metrics answers."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def moved(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


async def post(user, path, data, cookie=None):
    """A POST through live.asgi.application, as daphne hands it over (the write timing wraps it there)."""
    from live.asgi import application

    cookie = cookie or await sync_to_async(session_cookie)(user)
    communicator = HttpCommunicator(application, "POST", path, body=urlencode(data).encode(), headers=[
        (b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
        (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}; csrftoken={CSRF}".encode()),
        (b"x-csrftoken", CSRF.encode())])
    return await communicator.get_response(timeout=10)


# --- access ---------------------------------------------------------------------------------------------------------

def test_it_refuses_a_scrape_from_outside_the_networks_without_the_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "s3cret-token"}).status_code == 404
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200 and b"agora_sockets_open" in response.content


def test_nobody_may_scrape_when_nothing_is_configured(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 404


def test_it_lets_a_configured_network_scrape(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.1"]
    assert client.get("/metrics").status_code == 200


# --- counters moved by real actions ------------------------------------------------------------------------------------

async def test_a_comment_moves_events_appended_frames_delivered_and_the_comment_latency(client, fiona, alice, bob):
    debate = await sync_to_async(make_debate)(fiona)
    key = debate.stream_key
    readers = [await connect(bob), await connect(None)]
    for ws in readers:
        assert (await follow(ws, key))["type"] == "subscribed"
    before = await sync_to_async(scrape)(client)

    response = await post(alice, f"/debates/{debate.pk}/comments/", {"body": "Oui, le samedi matin",
                                                                     "client_id": "c-metrics-1"})
    assert response["status"] == 302
    for ws in readers:
        [event] = await events(ws, key, 1)
        assert "Oui, le samedi matin" in event["html"]
    after = await sync_to_async(scrape)(client)

    assert moved(before, after, 'agora_events_appended_total{kind="comment.posted",stream="debate"}') == 1
    assert moved(before, after, 'agora_frames_delivered_total{stream="debate"}') == 2
    assert moved(before, after, 'agora_http_write_seconds_count{action="comment"}') == 1
    assert moved(before, after, 'agora_render_seconds_count{kind="comment.posted"}') == 1
    assert after['agora_subscriptions{stream="debate"}'] == 2
    assert after["agora_sockets_open{}"] >= 2
    for ws in readers:
        await ws.disconnect()
    assert moved(after, await sync_to_async(scrape)(client), "agora_sockets_open{}") == -2


def _vote(fiona, alice, bob, mona):
    from debates import services as debates

    debate = make_debate(fiona)
    comment = debates.post_comment(author=alice, debate=debate, body="Oui")
    return bob, f"/debates/{debate.pk}/comments/{comment.pk}/vote/", {"value": "up"}


def _message(fiona, alice, bob, mona):
    from live.messaging import services as messaging

    chat = messaging.start_conversation(author=alice, recipients=["bob"], body="Salut Bob",
                                        client_id=uuid.uuid4()).conversation
    return bob, f"/messages/{chat.pk}/send/", {"body": "Salut Alice", "client_id": str(uuid.uuid4())}


def _contribution(fiona, alice, bob, mona):
    from meetings import services as meetings
    from tests.meetings.conftest import make_meeting

    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    return alice, f"/meetings/{meeting.pk}/live/contribute/", {"body": "Et le vélo ?", "kind": "question",
                                                               "client_id": str(uuid.uuid4())}


def _moderation(fiona, alice, bob, mona):
    from debates import services as debates

    comment = debates.post_comment(author=alice, debate=make_debate(fiona), body="Hors sujet")
    return mona, "/moderation/act/", {"kind": "comment", "id": comment.pk, "action": "hide", "reason": "Hors sujet"}


@pytest.mark.parametrize(("action", "write"), [("vote", _vote), ("message", _message),
                                               ("contribution", _contribution), ("moderate", _moderation)])
async def test_each_write_is_timed_under_its_own_action(client, fiona, alice, bob, mona, action, write):
    user, path, data = await sync_to_async(write)(fiona, alice, bob, mona)
    before = await sync_to_async(scrape)(client)
    response = await post(user, path, data)
    assert response["status"] in (200, 302), response
    after = await sync_to_async(scrape)(client)
    assert moved(before, after, f'agora_http_write_seconds_count{{action="{action}"}}') == 1
    assert moved(before, after, 'agora_http_write_seconds_count{action="other"}') == 0


async def test_a_refused_write_moves_the_rate_limit_and_refusal_counters(client, settings, fiona, alice):
    settings.RATE_LIMITS = {"comment": "1/60"}
    debate = await sync_to_async(make_debate)(fiona)
    cookie = await sync_to_async(session_cookie)(alice)
    before = await sync_to_async(scrape)(client)
    path = f"/debates/{debate.pk}/comments/"
    assert (await post(alice, path, {"body": "Premier", "client_id": "c-m-1"}, cookie))["status"] == 302
    assert (await post(alice, path, {"body": "Second", "client_id": "c-m-2"}, cookie))["status"] == 429
    after = await sync_to_async(scrape)(client)
    assert moved(before, after, 'agora_rate_limit_refusals_total{action="comment"}') == 1
    assert moved(before, after, 'agora_write_refusals_total{action="comment",reason="rate_limited"}') == 1
    assert moved(before, after, 'agora_http_write_seconds_count{action="comment"}') == 2


# --- writes over the socket (live/socket_writes.py): the same histogram and refusal counters as HTTP writes ---------

held = threading.Event()


@socket_write("tests.metered")
def metered_write(actor, data):
    """A socket write that checks the rate limit a private message checks, as the messaging service does."""
    ratelimit.enforce("message", actor.user)
    if data.get("hold"):
        held.wait(10)


async def write(ws, ident, data=None):
    await ws.send_json_to({"type": "write", "id": ident, "action": "tests.metered", "data": data or {}})
    frame, _ = await receive_until(ws, lambda f: f.get("id") == ident)
    return frame


async def test_a_socket_write_is_timed_under_its_rate_limit_action_from_its_arrival(client, alice, monkeypatch):
    run_write = LiveConsumer.run_write

    def queued(self, *args):  # as if the frame waited for a worker thread (or its session's check) for 0.2 s
        time.sleep(0.2)
        return run_write(self, *args)

    monkeypatch.setattr(LiveConsumer, "run_write", queued)
    ws = await connect(alice)
    before = await sync_to_async(scrape)(client)
    assert (await write(ws, "w1"))["type"] == "written"
    after = await sync_to_async(scrape)(client)
    await ws.disconnect()
    assert moved(before, after, 'agora_http_write_seconds_count{action="message"}') == 1
    assert moved(before, after, 'agora_http_write_seconds_sum{action="message"}') >= 0.2  # the wait included
    assert moved(before, after, 'agora_socket_writes_total{action="tests.metered",outcome="written"}') == 1
    assert moved(before, after, 'agora_http_write_seconds_count{action="tests.metered"}') == 0


async def test_a_refused_socket_write_moves_the_rate_limit_and_refusal_counters(client, settings, alice):
    settings.RATE_LIMITS = {"message": "1/60"}
    ws = await connect(alice)
    before = await sync_to_async(scrape)(client)
    assert (await write(ws, "r1"))["type"] == "written"
    frame = await write(ws, "r2")
    assert frame["type"] == "refused" and frame["kind"] == "rate_limited"
    after = await sync_to_async(scrape)(client)
    await ws.disconnect()
    assert moved(before, after, 'agora_rate_limit_refusals_total{action="message"}') == 1
    assert moved(before, after, 'agora_write_refusals_total{action="message",reason="rate_limited"}') == 1
    assert moved(before, after, 'agora_socket_writes_total{action="tests.metered",outcome="rate_limited"}') == 1
    assert moved(before, after, 'agora_http_write_seconds_count{action="message"}') == 2


async def test_socket_writes_refused_before_they_run_are_counted(client, settings, alice):
    """Too many writes in flight on one socket: refused at once (rate_limited), counted under the socket action."""
    settings.LIVE_MAX_WRITES_IN_FLIGHT = 1
    held.clear()
    ws = await connect(alice)
    before = await sync_to_async(scrape)(client)
    await ws.send_json_to({"type": "write", "id": "slow", "action": "tests.metered", "data": {"hold": "1"}})
    await asyncio.sleep(0.2)
    await ws.send_json_to({"type": "write", "id": "busy", "action": "tests.metered", "data": {}})
    frame = await receive(ws)
    assert frame["id"] == "busy" and frame["kind"] == "rate_limited"
    held.set()
    assert (await receive(ws))["id"] == "slow"
    after = await sync_to_async(scrape)(client)
    await ws.disconnect()
    assert moved(before, after, 'agora_socket_writes_total{action="tests.metered",outcome="rate_limited"}') == 1
    assert moved(before, after, 'agora_write_refusals_total{action="tests.metered",reason="rate_limited"}') == 1
    assert moved(before, after, 'agora_http_write_seconds_count{action="message"}') == 1  # the one that ran


async def test_a_socket_write_after_its_session_ended_is_counted_as_forbidden(client, alice):
    cookie = await sync_to_async(session_cookie)(alice)
    ws = await connect(cookie=cookie)
    before = await sync_to_async(scrape)(client)
    await sync_to_async(Session.objects.filter(session_key=cookie).delete)()
    frame = await write(ws, "late")
    assert frame["type"] == "refused" and frame["kind"] == "forbidden"
    after = await sync_to_async(scrape)(client)
    await ws.disconnect()
    assert moved(before, after, 'agora_socket_writes_total{action="tests.metered",outcome="forbidden"}') == 1
    assert moved(before, after, 'agora_write_refusals_total{action="tests.metered",reason="forbidden"}') == 1


async def test_a_refused_origin_moves_the_rejection_counter(client, alice):
    before = await sync_to_async(scrape)(client)
    ws = await connect(alice, origin=b"http://evil.example")
    assert not ws.connected_ok
    after = await sync_to_async(scrape)(client)
    assert moved(before, after, 'agora_socket_rejections_total{reason="origin"}') == 1
    assert moved(before, after, 'agora_socket_rejections_total{reason="limit"}') == 0


async def test_a_resume_from_behind_moves_the_replay_counters(client, alice):
    pos = await sync_to_async(position)(alice.stream_key)
    for text in ("un", "deux", "trois"):
        await sync_to_async(notify)(user=alice, kind="test", text=text)
    before = await sync_to_async(scrape)(client)
    ws = await connect(alice)
    assert (await follow(ws, alice.stream_key, pos))["type"] == "subscribed"
    after = await sync_to_async(scrape)(client)
    assert moved(before, after, 'agora_replays_total{stream="user"}') == 1
    assert moved(before, after, 'agora_replayed_events_total{stream="user"}') == 3
    await ws.disconnect()


async def test_a_hole_the_layer_left_moves_the_sweep_counters(client, settings, alice, monkeypatch):
    settings.LIVE_SWEEP_SECONDS = 0.2
    ws = await connect(alice)
    assert (await follow(ws, alice.stream_key))["type"] == "subscribed"
    before = await sync_to_async(scrape)(client)
    with monkeypatch.context() as patched:
        patched.setattr(streams, "publish", lambda event: None)  # lost: the event exists only in the log
        await sync_to_async(notify)(user=alice, kind="test", text="par le balayage")
    [event] = await events(ws, alice.stream_key, 1, timeout=5)
    assert "par le balayage" in event["html"]
    after = await sync_to_async(scrape)(client)
    assert moved(before, after, 'agora_holes_found_total{source="sweep"}') == 1
    assert moved(before, after, 'agora_hole_events_repaired_total{source="sweep"}') == 1
    # The layer skipped (Redis failing): counted; this process's own socket still gets the event at once.
    streams.breaker.failed()
    try:
        await sync_to_async(notify)(user=alice, kind="test", text="sans la couche")
        [event] = await events(ws, alice.stream_key, 1, timeout=5)
    finally:
        streams.breaker.succeeded()
    assert "sans la couche" in event["html"]
    last = await sync_to_async(scrape)(client)
    assert moved(after, last, 'agora_channel_layer_failures_total{how="skipped"}') >= 1
    assert moved(after, last, 'agora_holes_found_total{source="sweep"}') == 0
    await ws.disconnect()


# --- switched off ------------------------------------------------------------------------------------------------------

async def test_with_the_metrics_off_nothing_is_counted_and_nobody_may_scrape(client, settings, fiona, alice, bob):
    from prometheus_client import REGISTRY

    from live import metrics

    settings.METRICS_ENABLED = False
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 404  # from an allowed network
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 404
    debate = await sync_to_async(make_debate)(fiona)
    ws = await connect(bob)
    assert (await follow(ws, debate.stream_key))["type"] == "subscribed"
    counted = (sum(metrics.appended.values()), sum(metrics.delivered.values()),
               REGISTRY.get_sample_value("agora_http_write_seconds_count", {"action": "comment"}) or 0,
               REGISTRY.get_sample_value("agora_render_seconds_count", {"kind": "comment.posted"}) or 0)

    response = await post(alice, f"/debates/{debate.pk}/comments/", {"body": "Sans compteurs",
                                                                     "client_id": "c-metrics-off"})
    assert response["status"] == 302
    [event] = await events(ws, debate.stream_key, 1)
    assert "Sans compteurs" in event["html"]  # served as usual
    assert (sum(metrics.appended.values()), sum(metrics.delivered.values()),
            REGISTRY.get_sample_value("agora_http_write_seconds_count", {"action": "comment"}) or 0,
            REGISTRY.get_sample_value("agora_render_seconds_count", {"kind": "comment.posted"}) or 0) == counted
    await ws.disconnect()

    settings.METRICS_ENABLED = True
    assert client.get("/metrics").status_code == 200


# --- the docs cannot drift ---------------------------------------------------------------------------------------------

def test_every_metric_docs_deploy_names_exists(client):
    documented = set(re.findall(r"`(agora_[a-z_]+)", DEPLOY.read_text()))
    assert len(documented) >= 15
    text = client.get("/metrics").content.decode()
    exposed = set()
    for family in text_string_to_metric_families(text):
        exposed |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    assert documented - exposed == set()


def test_the_dashboard_and_the_alerts_only_query_metrics_that_exist(client):
    text = client.get("/metrics").content.decode()
    exposed = set()
    for family in text_string_to_metric_families(text):
        exposed |= {sample.name for sample in family.samples} | {family.name, f"{family.name}_total",
                                                                   f"{family.name}_bucket"}
    grafana = DEPLOY.parent / "grafana"
    queried = set()
    for path in (grafana / "agora-live.json", grafana / "agora-alerts.yml"):
        queried |= set(re.findall(r"\bagora_[a-z_]+", path.read_text())) - {"agora_live"}
    assert len(queried) >= 12
    assert queried - exposed == set()
