"""Off the request path: the reply's request only queues the e-mail; django-tasks-db's worker (`manage.py db_worker`,
what `make run` and production start) sends it, to a real SMTP server."""

import subprocess
import sys

import pytest
from django.test import Client

from debates import services as debates
from live.notifications import services
from live.notifications.models import Notification, Rhythm
from tests.helpers import daphne_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_postgres]


def run_worker(settings, *, tasks: int) -> None:
    """`manage.py db_worker` as production runs it, until it has run `tasks` tasks, e-mailing the suite's SMTP."""
    worker = subprocess.run([sys.executable, "manage.py", "db_worker", "--max-tasks", str(tasks),
                             "--no-startup-delay", "--no-reload", "--interval", "0.1"],
                            env=daphne_env(TASKS_BACKEND="django_tasks_db.DatabaseBackend",
                                           EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                                           EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(settings.EMAIL_PORT)),
                            timeout=60, capture_output=True, text=True)
    assert worker.returncode == 0, worker.stderr


def test_the_worker_sends_the_email_the_reply_queued(smtp, settings, debate, alice, bob):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    preferences = services.preferences_of(alice)
    preferences.email_rhythm, preferences.last_language = Rhythm.NOW, "fr"
    preferences.save()
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    client = Client()
    client.force_login(bob)

    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "Avant 10 h.", "parent": root.pk},
                            HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 302)
    assert Notification.objects.get(user=alice, kind="debate.reply").email == "pending"
    assert smtp.messages == []  # the request did not send it

    run_worker(settings, tasks=1)
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["alice@example.org"] and "bob a répondu" in message["Subject"]
    assert Notification.objects.get(user=alice, kind="debate.reply").email == "sent"


def test_opening_a_meeting_session_queues_the_notices_and_the_worker_sends_them(smtp, settings, fiona, alice):
    """The facilitator's request opens the session and only queues the "it is open" notices; the worker tells the
    registered people (here by e-mail, in French, though alice reads her e-mails in a daily digest)."""
    from datetime import timedelta

    from django.utils import timezone

    from meetings import services as meetings
    from tests.meetings.conftest import make_meeting

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    meeting = make_meeting(fiona, open_live=False, registration_enabled=True,
                           starts_at=timezone.now() + timedelta(minutes=10))
    meetings.register(user=alice, meeting=meeting)
    client = Client()
    client.force_login(fiona)
    response = client.post(f"/meetings/{meeting.pk}/console/open/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 204, 302)
    meeting.refresh_from_db()
    assert meeting.live_open
    assert not Notification.objects.filter(kind="meeting.opened").exists()  # the request told nobody

    run_worker(settings, tasks=2)
    assert Notification.objects.get(user=alice, kind="meeting.opened").email == "sent"
    assert [recipients for recipients, _message in smtp.messages] == [["alice@example.org"]]
    assert "La session en direct" in smtp.messages[0][1]["Subject"]
