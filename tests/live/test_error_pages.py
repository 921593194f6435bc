"""Error pages in the site's look and the visitor's language."""

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_it_shows_a_404_page(client):
    response = client.get("/accounts/people/nobody-here/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page introuvable</h1>" in html and 'class="skip-link"' in html
    assert "No User matches" not in html


def test_it_shows_a_403_page_with_the_reason(client, alice):
    client.force_login(alice)
    response = client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html
    assert "This page is for moderators." in html


def test_it_explains_an_expired_form():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "alice", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "This form is out of date: reload the page and try again." in response.content.decode()


def test_it_shows_a_standalone_500_page():
    with translation.override("fr"):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="fr">' in html and "<h1>Un problème est survenu</h1>" in html and "live/live.css" in html
    # Nothing shown before the page: a template comment over two lines is text to Django.
    assert html.lstrip().startswith("<!doctype html>") and "standalone on purpose" not in html


def test_a_database_outage_answers_503_with_retry_after_instead_of_500(rf):
    from django.db import OperationalError

    from live.views import server_error

    with translation.override("fr"):
        try:
            raise OperationalError("terminating connection due to administrator command")
        except OperationalError:
            response = server_error(rf.get("/"))
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert "<h1>Momentanément indisponible</h1>" in response.content.decode()
