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


def test_an_archive_finishing_while_an_erasure_commits_waits_for_it_and_is_not_stored(alice, bob):
    """Bob's archive was read before alice's erasure; it finishes while the erasure is still open: storing it waits
    for the erasure, sees it, and stores nothing (the build then reads everything again)."""
    from live.accounts.services import erase_account
    from tests.helpers import PASSWORD

    bobs = DataExport.objects.create(user=bob, status=DataExport.Status.RUNNING)

    _erased, stored = while_held(lambda: erase_account(user=alice, password=PASSWORD),
                                 lambda: services._store(bobs, 0, b"read before her erasure"))

    assert stored is False
    bobs.refresh_from_db()
    assert bobs.status == DataExport.Status.RUNNING and bobs.archive is None
