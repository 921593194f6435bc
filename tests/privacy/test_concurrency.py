"""Two requests for the same person's archive at the same moment (two tabs, a double click), on PostgreSQL."""

import pytest

from privacy import services
from privacy.models import DataExport
from tests.helpers import while_held

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_requests_at_once_make_one_archive(alice, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production: the worker builds it
    # The second request waits for the first's transaction, then finds its archive, still pending.
    first, second = while_held(lambda: services.request_export(user=alice), lambda: services.request_export(user=alice))
    assert second == first
    assert DataExport.objects.filter(user=alice).count() == 1
