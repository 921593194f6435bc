"""The Content-Security-Policy header: pages may open a socket to their own origin only (and to configured ones),
never to any host; the other directives are as they were."""

import pytest

pytestmark = pytest.mark.django_db

OTHER_DIRECTIVES = [
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "font-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
]


def directives(response) -> dict[str, str]:
    parts = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    return {part.split(" ", 1)[0]: part for part in parts}


def test_it_lets_the_page_connect_to_its_own_socket_only(client):
    response = client.get("/", HTTP_HOST="localhost:8000")
    assert directives(response)["connect-src"] == "connect-src 'self' ws://localhost:8000"


def test_an_https_page_connects_to_wss_on_its_own_host(client):
    response = client.get("/", HTTP_HOST="localhost", secure=True)
    assert directives(response)["connect-src"] == "connect-src 'self' wss://localhost"


def test_configured_origins_are_added(client, settings):
    settings.CSP_CONNECT_SRC = ["wss://live.example.org"]
    response = client.get("/", HTTP_HOST="localhost")
    assert directives(response)["connect-src"] == "connect-src 'self' ws://localhost wss://live.example.org"


def test_the_other_directives_are_unchanged(client, settings):
    settings.CSP_FORM_ACTION = []
    found = directives(client.get("/"))
    assert sorted(found.values()) == sorted([*OTHER_DIRECTIVES, found["connect-src"]])


def test_a_host_outside_allowed_hosts_gets_no_socket_origin(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert directives(response)["connect-src"] == "connect-src 'self'"
