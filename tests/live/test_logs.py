"""Logs (live/logs.py): one JSON object per line with the request id the response carries; requests and sockets
logged without content, e-mail addresses or IP addresses."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async

import live.asgi  # noqa: F401  (imported here: its first import configures logging again, caplog's handler gone)
from live.logs import JsonFormatter
from tests.debates.conftest import make_debate
from tests.helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_TEXT = "Mon voisin cache des choses"


def lines(caplog, logger):
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records if record.name == logger]


def test_a_post_is_logged_as_one_json_line_with_its_request_id_and_nothing_personal(client, caplog, fiona, alice):
    debate = make_debate(fiona)
    client.force_login(alice)
    caplog.set_level(logging.INFO, logger="live.access")
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": SECRET_TEXT, "client_id": "c-log-1"},
                           headers={"X-Forwarded-For": "203.0.113.7"}, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302
    rid = response["X-Request-ID"]
    [line] = lines(caplog, "live.access")
    assert line["request_id"] == rid and line["logger"] == "live.access" and line["level"] == "INFO"
    assert line["method"] == "POST" and line["path"] == f"/debates/{debate.pk}/comments/"
    assert line["status"] == 302 and line["user"] == alice.pk and line["duration_ms"] >= 0
    assert line["time"].endswith("Z")
    text = json.dumps(line)
    for personal in (SECRET_TEXT, alice.email, "203.0.113.7", "198.51.100.9", "c-log-1"):
        assert personal not in text


def test_the_request_id_of_the_proxy_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "nginx-3f2a9c1d"})["X-Request-ID"] == "nginx-3f2a9c1d"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"})["X-Request-ID"]
    assert replaced != "<script>" and len(replaced) == 16


def test_nothing_is_logged_per_request_unless_asked(client, caplog):
    caplog.set_level(logging.WARNING)
    client.get("/healthz")
    assert lines(caplog, "live.access") == []


async def test_sockets_opened_closed_and_refused_are_logged_without_content(caplog, alice):
    caplog.set_level(logging.INFO, logger="live.sockets")
    ws = await connect(alice)
    await ws.send_json_to({"type": "typing", "stream": alice.stream_key, "text": SECRET_TEXT})
    await ws.disconnect()
    refused = await connect(alice, origin=b"http://evil.example")
    assert not refused.connected_ok
    logged = await sync_to_async(lines)(caplog, "live.sockets")
    assert [line["message"] for line in logged] == ["socket opened", "socket closed", "socket refused"]
    assert logged[0]["user"] == alice.pk and logged[0]["path"] == "/ws/"
    assert logged[2]["reason"] == "origin"
    assert SECRET_TEXT not in json.dumps(logged) and alice.email not in json.dumps(logged)


def test_the_documented_unit_turns_off_daphnes_own_access_log_which_writes_ips_and_query_strings():
    from pathlib import Path

    deploy = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    starts = [line for line in deploy.splitlines() if line.startswith("ExecStart=") and "bin/daphne " in line]
    assert starts and all("--access-log /dev/null" in line for line in starts)
