"""Work after a commit (live/effects.py) never turns a saved action into an error: the mail server is down, the
moderator's block still answers with its real outcome, the failure is retried once and then logged at ERROR."""

import logging
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from live import effects
from live.messaging import digest
from live.messaging.models import Participant

ATTEMPTS = []


class DownMailServer(BaseEmailBackend):
    """An SMTP server that hangs up on every message, whatever fail_silently says."""

    def send_messages(self, messages):
        ATTEMPTS.extend(m.to for m in messages)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "tests.live.test_effects.DownMailServer"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ATTEMPTS.clear()


@pytest.mark.django_db(transaction=True)  # real commits: on_commit work runs inside the request, as in production
def test_a_block_holds_and_answers_normally_when_the_mail_server_is_down(alice, mona, mail_server_down, caplog):
    moderator = Client(HTTP_ACCEPT_LANGUAGE="en")
    moderator.force_login(mona)
    with caplog.at_level(logging.WARNING, logger="live.effects"):
        response = moderator.post(f"/moderation/people/{alice.pk}/", {"action": "block", "reason": "Spam répété"},
                                  follow=True)
    assert response.status_code == 200
    assert "Account blocked." in response.content.decode()
    alice.refresh_from_db()
    assert alice.is_blocked
    assert ATTEMPTS == [["alice@example.org"], ["alice@example.org"]]  # tried again once
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"moderation e-mail to user {alice.pk} failed after 2 attempt(s)" in error.getMessage()


@pytest.mark.django_db
def test_a_digest_that_could_not_be_sent_is_sent_by_the_next_run(alice, bob, settings, mail_server_down):
    from live.messaging import services
    from tests.messaging.test_digest import age

    services.start_conversation(author=alice, recipients=["bob"], body="Tu viens ce soir ?")
    age(20)
    assert digest.send_digests() == 0
    assert ATTEMPTS and Participant.objects.get(user=bob).digest_sent_at is None  # the claim was given back
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert digest.send_digests() == 1
    assert mail.outbox[0].to == ["bob@example.org"]


def test_run_reports_false_after_the_last_attempt_and_true_on_a_retry_that_works(caplog):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("first try fails")

    assert effects.run("flaky work", flaky) is True and len(calls) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert effects.run("broken work", lambda: 1 / 0, attempts=3) is False
    assert "broken work failed after 3 attempt(s)" in caplog.records[-1].getMessage()


def test_work_after_a_commit_goes_through_the_one_helper():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    callers = [str(path.relative_to(root)) for app in ("live", "debates", "meetings", "decidim")
               for path in (root / app).rglob("*.py") if "on_commit(" in path.read_text()]
    assert callers == ["live/effects.py"]
