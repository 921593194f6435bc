"""A RateLimited is always a 429 with Retry-After: the form again when the view has one (sign-up), a full page for
a plain form post without one (a write outside the seam, caught by live.middleware), the bare message for htmx."""

import pytest

from live import ratelimit
from tests.helpers import elements

pytestmark = pytest.mark.django_db


@pytest.fixture
def exhausted(settings):
    settings.RATE_LIMITS = {"signup": "1/3600"}
    ratelimit.hit("signup", "127.0.0.1")  # the test client's address, as sign-up counts it
    ratelimit.hit("signup", "reset:127.0.0.1")  # and as the password reset form counts it


def post_signup(client, **headers):
    return client.post("/accounts/signup/", {"nickname": "dora", "email": "dora@example.org",
                                             "password": "a-long-enough-passphrase"},
                       HTTP_ACCEPT_LANGUAGE="en", **headers)


def test_it_shows_a_full_page_to_a_plain_form_post(client, exhausted):
    response = client.post("/accounts/password-reset/", {"email": "dora@example.org"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    html = response.content.decode()
    assert "<h1>Too many attempts</h1>" in html and 'class="skip-link"' in html
    assert f"Please try again in {response['Retry-After']} seconds." in html
    assert int(response["Retry-After"]) > 0


def test_a_form_comes_back_with_what_was_typed(client, exhausted):
    response = post_signup(client)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert f"Please try again in {response['Retry-After']} seconds." in html
    [nickname] = elements(html, "input", name="nickname")
    assert nickname["attrs"]["value"] == "dora"


def test_it_sends_only_the_message_to_htmx(client, exhausted):
    response = post_signup(client, HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    html = response.content.decode().strip()
    [message] = elements(html, "p", data_refusal="rate_limited")
    assert message["attrs"]["class"] == "flash-error" and message["text"].startswith("Too many attempts.")
    [announced] = elements(html, "div", id="live-announcer")  # said politely, by the page's announcer
    assert announced["text"] == message["text"]
    assert "<html" not in html
    assert response["HX-Retarget"] == "#flash" and int(response["Retry-After"]) > 0
