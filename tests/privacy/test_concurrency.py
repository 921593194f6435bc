"""Two requests for the same person's archive at the same moment (two tabs, a double click), on PostgreSQL."""

import threading

import pytest
from django.db import connection, transaction

from privacy import services
from privacy.models import DataExport
from tests.helpers import wait_until_blocked_on_a_lock

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_requests_at_once_make_one_archive(alice, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production: the worker builds it
    first_in, second_ready, release = threading.Event(), threading.Event(), threading.Event()
    errors, second = [], {}

    def first():
        try:
            with transaction.atomic():
                services.request_export(user=alice)
                first_in.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_in.set()
            connection.close()

    def then_second():
        try:
            first_in.wait(10)
            second["pid"] = connection.cursor().connection.info.backend_pid
            second_ready.set()
            services.request_export(user=alice)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            second_ready.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=then_second)]
    for thread in threads:
        thread.start()
    second_ready.wait(10)
    try:
        wait_until_blocked_on_a_lock(second["pid"])  # the second waits for the first's transaction
    finally:
        release.set()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert DataExport.objects.filter(user=alice).count() == 1  # the second found the first, still pending
