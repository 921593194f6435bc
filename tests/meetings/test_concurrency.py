"""Concurrent writes on one meeting, on PostgreSQL (bench S9 found the deadlock below under a real burst)."""

import threading

import pytest
from django.db import connection, transaction

from meetings import services
from meetings.models import Contribution
from tests.helpers import wait_until_blocked_on_a_lock

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_approving_while_a_phone_posts_under_premoderation_does_not_deadlock(meeting, fiona, alice_in, guest,
                                                                             settings):
    settings.RATE_LIMITS_ENABLED = False
    waiting = services.post_contribution(participant=guest, body="Où en est le budget des écoles ?")
    posted, approving, release = threading.Event(), threading.Event(), threading.Event()
    errors, approver = [], {}

    def phone_posts():
        # The post's transaction holds the console stream's counter row; at its commit PostgreSQL checks the new
        # contribution's foreign key, which takes a KEY SHARE lock on the meeting row.
        try:
            with transaction.atomic():
                services.post_contribution(participant=alice_in, body="Et les pistes cyclables ?")
                posted.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            posted.set()
            connection.close()

    def facilitator_approves():
        # Locks the meeting row, then waits for the console counter the post holds.
        try:
            posted.wait(10)
            approver["pid"] = connection.cursor().connection.info.backend_pid
            approving.set()
            services.approve_contribution(actor=fiona, contribution=waiting)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=phone_posts), threading.Thread(target=facilitator_approves)]
    for thread in threads:
        thread.start()
    posted.wait(10)
    approving.wait(10)
    try:
        # The approval holds the meeting row and waits for the console counter the post holds: the moment of the
        # deadlock bench S9 found, which the post's commit below must get through.
        wait_until_blocked_on_a_lock(approver["pid"])
    finally:
        release.set()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert Contribution.objects.get(pk=waiting.pk).status == Contribution.Status.APPROVED
    assert Contribution.objects.filter(meeting=meeting, status=Contribution.Status.PENDING).count() == 1


def test_a_contribution_under_way_while_its_author_is_blocked_with_all_their_content_is_refused(meeting, alice_in,
                                                                                                mona, settings):
    """A moderator blocks alice, hiding all she wrote, while her contribution is being posted from her phone (its
    request read her account before the block): the contribution waits for the block, then is refused; it never
    reaches the screen, missed by the block's hiding."""
    from django.core.exceptions import PermissionDenied

    from live.moderation import services as moderation
    from tests.helpers import while_held

    settings.RATE_LIMITS_ENABLED = False
    _log, outcome = while_held(
        lambda: moderation.block(actor=mona, user=alice_in.user, reason="Harcèlement", hide_content=True),
        lambda: services.post_contribution(participant=alice_in, body="Encore une question pendant le blocage"),
        must_wait=False)
    assert isinstance(outcome, PermissionDenied), outcome
    assert not Contribution.objects.filter(participant=alice_in, hidden_at__isnull=True).exists()
