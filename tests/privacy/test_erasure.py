"""Erasing an account (RGPD article 17), as the privacy review checks it: what others keep about the erased person
no longer names them (docs/accounts.md has the whole erasure, tests/accounts/test_erase.py its every table walk).

- alice: erases her account;
- bob: names her in a comment that carol reports and mona hides;
- carol: reports bob's comment, naming alice in her details;
- mona: moderator."""

import pytest
from django.db.models import Q

from debates import services as debates
from live.accounts.services import erase_account
from live.moderation import services as moderation
from live.moderation.models import ActionLog, Case, Report
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_moderators_quotes_of_others_items_no_longer_name_her(alice, bob, carol, mona):
    debate = debates.create_debate(author=bob, title="Le marché", description="Le dimanche ?")
    comment = debates.post_comment(author=bob, debate=debate, body="@alice ment, comme toujours.")
    moderation.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive",
                      details="Il s'en prend encore à Alice.")
    moderation.hide(actor=mona, kind="comment", object_id=comment.pk, reason="Attaque personnelle")
    named = Q(excerpt__icontains="alice")
    assert Case.objects.filter(named).exists() and ActionLog.objects.filter(named).exists()

    erase_account(user=alice, password=PASSWORD)

    assert not Case.objects.filter(named).exists()
    assert not ActionLog.objects.filter(named).exists()
    assert not Report.objects.filter(details__icontains="alice").exists()
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    assert "ment, comme toujours." in case.excerpt  # the rest of the quote stays: moderators still need it


def test_bobs_stored_archive_is_built_again_without_her(alice, bob, carol):
    """Bob's archive, made before alice erased her account, held her messages and her name: it is built again
    without them (same link), and carol's, which never named her, is left as it was."""
    import io
    import zipfile

    from live.messaging import services as messaging
    from privacy import services
    from privacy.models import DataExport

    messaging.start_conversation(author=alice, recipients=[bob], body="ALICE-secret-plan")
    messaging.start_conversation(author=carol, recipients=[bob], body="CAROL-hello")
    bobs, carols = DataExport.objects.create(user=bob), DataExport.objects.create(user=carol)
    services.build_export(export_id=bobs.pk), services.build_export(export_id=carols.pk)
    carols.refresh_from_db()
    carols_bytes = bytes(carols.archive)

    erase_account(user=alice, password=PASSWORD)

    bobs.refresh_from_db(), carols.refresh_from_db()
    assert bobs.status == "ready" and bobs.archive
    with zipfile.ZipFile(io.BytesIO(bytes(bobs.archive))) as archive:
        everything = "".join(archive.read(name).decode() for name in archive.namelist())
    assert "ALICE-secret-plan" not in everything and '"alice"' not in everything.lower()
    assert "CAROL-hello" in everything  # the rest of his data is still there
    assert bytes(carols.archive) == carols_bytes


def test_an_expired_archive_naming_her_is_wiped_not_built_again(alice, bob):
    """Bob's archive had expired (its bytes wait for the daily retention run): it is not made anew for him, which
    would send him a notification about an archive he did not ask for; its bytes go at once."""
    from datetime import timedelta

    from django.utils import timezone

    from live.messaging import services as messaging
    from live.notifications.models import Notification
    from privacy import services
    from privacy.models import DataExport

    messaging.start_conversation(author=alice, recipients=[bob], body="ALICE-secret-plan")
    bobs = DataExport.objects.create(user=bob)
    services.build_export(export_id=bobs.pk)
    DataExport.objects.filter(pk=bobs.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    notes = Notification.objects.filter(user=bob, kind="export_ready").count()

    erase_account(user=alice, password=PASSWORD)

    bobs.refresh_from_db()
    assert bobs.archive is None and bobs.is_expired
    assert Notification.objects.filter(user=bob, kind="export_ready").count() == notes


def test_an_archive_being_built_while_she_is_erased_is_built_again_without_her(alice, bob, monkeypatch):
    """Bob's archive was being built when alice's erasure committed: it had already read their conversation. It
    must not come out with her in it: the build sees the erasure when it finishes and reads everything again."""
    import io
    import zipfile

    from live.messaging import services as messaging
    from privacy import selectors, services
    from privacy.models import DataExport

    messaging.start_conversation(author=alice, recipients=[bob], body="ALICE-secret-plan")
    erased = []

    def erase_after(read):
        def reading(user):
            data = read(user)
            if not erased:  # her erasure commits once bob's messages were read, before his archive is stored
                erased.append(erase_account(user=alice, password=PASSWORD))
            return data
        return reading

    monkeypatch.setattr(selectors, "KINDS", [(name, title, erase_after(read) if name == "messages" else read)
                                             for name, title, read in selectors.KINDS])
    bobs = DataExport.objects.create(user=bob)

    services.build_export(export_id=bobs.pk)

    bobs.refresh_from_db()
    assert erased and bobs.status == "ready"
    with zipfile.ZipFile(io.BytesIO(bytes(bobs.archive))) as archive:
        everything = "".join(archive.read(name).decode() for name in archive.namelist())
    assert "ALICE-secret-plan" not in everything and '"alice"' not in everything.lower()
