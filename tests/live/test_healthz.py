from unittest import mock

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_database_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_answers_503_when_the_channel_layer_is_down(client):
    with mock.patch("live.views._layer_roundtrip", side_effect=ConnectionError("redis down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "error: ConnectionError"
    assert response.json()["database"] == "ok"


def test_it_answers_503_when_the_database_is_down(client):
    with mock.patch("live.views.connection") as connection:
        connection.cursor.side_effect = Exception("gone")
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: Exception"
