from unittest import mock

import pytest

pytestmark = pytest.mark.django_db


def test_it_says_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_stays_cheap_when_the_database_is_down(client):
    # liveness: a database outage must not make a supervisor restart processes that recover by themselves
    with mock.patch("live.views.connection") as connection:
        connection.cursor.side_effect = Exception("gone")
        response = client.get("/healthz")
    assert response.status_code == 200
