"""The archive is built off the request path: the request only queues the task; django-tasks-db's worker
(`manage.py db_worker`, what `make run` and production start) builds it."""

import subprocess
import sys

import pytest
from django.test import Client

from privacy.models import DataExport
from tests.helpers import daphne_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_postgres]


def test_the_db_worker_builds_the_archive_the_request_queued(alice, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(alice)

    client.post("/privacy/my-data/export/")

    export = DataExport.objects.get(user=alice)
    assert export.status == "pending"  # the request did not build it
    assert "En préparation" in client.get("/privacy/my-data/").content.decode()
    worker = subprocess.run([sys.executable, "manage.py", "db_worker", "--max-tasks", "1", "--no-startup-delay",
                             "--no-reload", "--interval", "0.1"], env=daphne_env(), timeout=60, capture_output=True,
                            text=True)
    assert worker.returncode == 0, worker.stderr
    export.refresh_from_db()
    assert export.status == "ready" and export.size > 0
    assert client.get(export.get_absolute_url()).status_code == 200
