"""Each way a sign-in with Decidim fails gets a page that says what happened, and nothing is created."""

import time

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client

from tests.decidim.conftest import come_back, decidim_answer, sign_in_with_decidim, start_sign_in

pytestmark = [pytest.mark.django_db]
User = get_user_model()


def assert_nothing_created(client):
    assert not User.objects.exists() and not SocialAccount.objects.exists()
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_refused_consent(client, decidim):
    response = sign_in_with_decidim(client, "refuser", allow=False)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Vous n’avez pas autorisé Agora Live" in page or "Vous n'avez pas autorisé Agora Live" in page
    assert 'data-reason="cancelled"' in page
    assert_nothing_created(client)


def test_refused_consent_in_english(client, decidim):
    client.cookies["django_language"] = "en"
    page = sign_in_with_decidim(client, "refuser", allow=False).content.decode()
    assert "You did not allow Agora Live to use your Decidim account" in page


def test_an_answer_to_a_sign_in_started_in_another_browser_is_refused(client, decidim):
    other = Client()
    callback = decidim_answer(start_sign_in(other), "errors")
    response = come_back(client, callback)  # an attacker's code and state, planted in this browser
    assert response.status_code == 400 and 'data-reason="state"' in response.content.decode()
    assert_nothing_created(client)


def test_a_tampered_state_is_refused(client, decidim):
    callback = decidim_answer(start_sign_in(client), "errors")
    response = come_back(client, callback.replace("state=", "state=x"))
    assert response.status_code == 400 and 'data-reason="state"' in response.content.decode()
    assert_nothing_created(client)


def test_decidim_down(client, decidim):
    authorize_url = start_sign_in(client, org="down")
    state = authorize_url.split("state=")[1].split("&")[0]
    # The person got a code somehow (Decidim fell over right after): our server cannot reach the token endpoint.
    response = client.get(f"/decidim/down/login/callback/?code=abc&state={state}")
    assert response.status_code == 502 and 'data-reason="down"' in response.content.decode()
    assert "ne peut pas être joint" in response.content.decode()
    assert_nothing_created(client)


def test_decidim_slow(client, decidim):
    response = sign_in_with_decidim(client, "errors", org="slow")
    assert response.status_code == 504 and 'data-reason="slow"' in response.content.decode()
    assert_nothing_created(client)


def test_token_endpoint_answering_garbage(client, decidim):
    response = sign_in_with_decidim(client, "errors", org="garbage")
    assert response.status_code == 502 and 'data-reason="garbage"' in response.content.decode()
    assert_nothing_created(client)


def test_profile_endpoint_answering_garbage(client, decidim):
    response = sign_in_with_decidim(client, "errors", org="badme")
    assert response.status_code == 502 and 'data-reason="garbage"' in response.content.decode()
    assert_nothing_created(client)


def test_an_error_other_than_a_refusal(client, decidim):
    authorize_url = start_sign_in(client)
    state = authorize_url.split("state=")[1].split("&")[0]
    response = client.get(f"/decidim/main/login/callback/?error=server_error&state={state}")
    page = response.content.decode()
    assert response.status_code == 400 and 'data-reason="refused"' in page and "server_error" in page
    assert_nothing_created(client)


def test_an_unknown_organization_is_not_found(client, decidim):
    assert client.post("/decidim/nowhere/login/").status_code == 404


def test_a_token_answer_trickling_in_is_cut_at_the_timeout(client, decidim):
    callback = decidim_answer(start_sign_in(client, org="trickle"), "errors")
    started = time.monotonic()
    response = come_back(client, callback)
    assert time.monotonic() - started < 4  # the timeout is 1 s; the answer would take 10 s
    assert response.status_code == 504 and 'data-reason="slow"' in response.content.decode()
    assert_nothing_created(client)


def test_a_redirect_of_the_token_request_is_not_followed(client, decidim):
    response = sign_in_with_decidim(client, "errors", org="redirect")
    assert response.status_code == 502 and 'data-reason="garbage"' in response.content.decode()
    assert requests.get(decidim.url + "/elsewhere/oauth/token").json() == {"requests": 0}  # the secret stayed here
    assert_nothing_created(client)


def test_a_profile_of_megabytes_is_not_read_to_the_end(client, decidim):
    response = sign_in_with_decidim(client, "errors", org="hugeme")
    assert response.status_code == 502 and 'data-reason="garbage"' in response.content.decode()
    assert_nothing_created(client)


def test_an_address_we_cannot_use_gets_a_page_saying_so_and_what_to_do(client, decidim):
    """Decidim accepts addresses an account here cannot have ("odile@decidim"): the person is told which address and
    how to fix it, instead of a nickname page whose form fails on a field it does not show."""
    client.cookies["django_language"] = "en"
    response = sign_in_with_decidim(client, "odile")
    page = response.content.decode()
    assert response.status_code == 400, response.get("Location")
    assert 'data-reason="email"' in page
    assert "Decidim sent an address we cannot use: odile@decidim" in page
    assert "Correct it in your account on Decidim" in page
    assert_nothing_created(client)
    assert "decidim_pending" not in client.session
