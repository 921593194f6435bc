"""Password reset by email: /accounts/password-reset/ -> the email's link -> a new password -> sign in."""

import re

import pytest
from django.core import mail

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def ask_reset(client, email):
    return client.post("/accounts/password-reset/", {"email": email}, HTTP_ACCEPT_LANGUAGE="en")


def test_it_emails_a_link_that_sets_a_new_password(client, alice):
    response = ask_reset(client, "Alice@example.org")
    assert response["Location"] == "/accounts/password-reset/sent/"
    [email] = mail.outbox
    assert email.to == ["alice@example.org"]
    assert "\n" not in email.subject and "Agora Live" in email.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", email.body).group(1)
    assert "Hello alice," in email.body

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "a-brand-new-passphrase",
                                     "new_password2": "a-brand-new-passphrase"})
    assert response["Location"] == "/accounts/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("a-brand-new-passphrase")
    assert not alice.check_password(PASSWORD)


def test_it_says_the_same_for_an_unknown_address(client, alice):
    response = ask_reset(client, "nobody@example.org")
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_it_refuses_a_used_or_forged_link(client, alice):
    response = client.get("/accounts/reset/MQ/forged-token/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "no longer valid" in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/password-reset/", "/accounts/password-reset/sent/",
                                  "/accounts/reset/done/"])
def test_its_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.content.decode().count("<h1") == 1


def test_it_is_throttled(client, alice, settings):
    settings.RATE_LIMITS = {"signup": "2/3600"}
    for _ in range(2):
        ask_reset(client, "alice@example.org")
    response = ask_reset(client, "alice@example.org")
    assert response.status_code == 429
    assert len(mail.outbox) == 2
