"""`manage.py apply_retention` forgets what is past its retention, keeps the rest, and can run again (or after an
interruption) without harm; the "Données personnelles" page says so from the settings."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from live.messaging import services as messaging
from live.messaging.models import Message
from live.notifications.models import Notification
from live.notifications.services import notify
from meetings import services as meetings
from meetings.models import Participant
from privacy import services
from privacy.models import DataExport
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


def age(queryset, field, days):
    queryset.update(**{field: timezone.now() - timedelta(days=days)})


def test_it_forgets_what_is_past_retention_and_keeps_the_rest(alice, bob, fiona, settings):
    settings.PRIVACY_MESSAGES_DAYS, settings.PRIVACY_NOTIFICATIONS_DAYS = 365, 90
    settings.PRIVACY_GUESTS_DAYS, settings.PRIVACY_IP_DAYS = 30, 30
    old = messaging.start_conversation(author=alice, recipients=[bob], body="Il y a deux ans")
    recent = messaging.send_message(author=bob, conversation=old.conversation, body="Hier")
    age(Message.objects.filter(pk=old.pk), "created_at", 400)
    age(Notification.objects.filter(pk=notify(user=alice, kind="t", text="vieille").pk), "created_at", 100)
    notify(user=alice, kind="t", text="récente")
    meeting = make_meeting(fiona)
    guest = meetings.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    member = meetings.join(meeting=meeting, user=alice, ip="10.0.0.8")
    fresh_guest = meetings.join(meeting=meeting, nickname="Gisèle", ip="10.0.0.9")
    age(Participant.objects.filter(pk__in=[guest.pk, member.pk]), "joined_at", 45)
    expired = DataExport.objects.create(user=alice, status="ready", archive=b"zip", size=3,
                                        expires_at=timezone.now() - timedelta(hours=1))

    call_command("apply_retention")

    assert list(Message.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(Notification.objects.filter(user=alice, kind="t").values_list("text", flat=True)) == ["récente"]
    guest.refresh_from_db(), member.refresh_from_db(), fresh_guest.refresh_from_db()
    assert (guest.nickname, guest.ip) == ("", None)
    assert (member.ip, member.user_id) == (None, alice.pk)  # an account's participation keeps its name, not its IP
    assert (fresh_guest.nickname, fresh_guest.ip) == ("Gisèle", "10.0.0.9")
    expired.refresh_from_db()
    assert expired.archive is None

    again = services.apply_retention()  # idempotent: nothing left to do
    assert {what: count for what, count in again.items() if what != "events"} == {
        "messages": 0, "notifications": 0, "guests": 0, "ips": 0, "deleted": 0, "archives": 0, "export_records": 0, "old_emails": 0, "admin_log": 0,
        "tasks": 0}


def test_a_private_message_forgotten_for_retention_leaves_no_copy_in_moderation(alice, bob, mona, settings):
    """Bob reported alice's message and a moderator hid it: moderation's case and log quoted it. Once the message
    is past retention, the quotes go with it; the decisions stay (who, when, which action)."""
    from live.moderation import services as moderation
    from live.moderation.models import ActionLog, Case

    settings.PRIVACY_MESSAGES_DAYS = 365
    settings.RATE_LIMITS_ENABLED = False
    old = messaging.start_conversation(author=alice, recipients=[bob], body="Un secret de l'an dernier")
    kept = messaging.send_message(author=alice, conversation=old.conversation, body="Un propos récent signalé")
    for message in (old, kept):
        moderation.report(reporter=bob, kind="message", object_id=message.pk, reason="offensive")
        moderation.hide(actor=mona, kind="message", object_id=message.pk, reason="Propos déplacés")
    age(Message.objects.filter(pk=old.pk), "created_at", 400)

    call_command("apply_retention")

    case = Case.objects.get(kind="message", object_id=old.pk)
    assert case.excerpt == "" and case.hidden_at is not None
    assert list(ActionLog.objects.filter(case=case).values_list("action", "excerpt")) == [("hide", "")]
    assert Case.objects.get(kind="message", object_id=kept.pk).excerpt == "Un propos récent signalé"


def test_an_interrupted_run_is_finished_by_the_next(alice, bob, settings, monkeypatch):
    settings.PRIVACY_NOTIFICATIONS_DAYS = 1
    for n in range(5):
        notify(user=alice, kind="t", text=f"n{n}")
    age(Notification.objects.all(), "created_at", 3)
    monkeypatch.setattr(services, "BATCH", 2)
    calls = []
    real = Notification.objects.filter

    def crash_on_second_batch(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(Notification.objects, "filter", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        services.apply_retention()
    assert Notification.objects.count() == 3  # the first batch stays done
    monkeypatch.undo()

    services.apply_retention()
    assert Notification.objects.count() == 0


def test_the_privacy_page_says_what_the_settings_say(db, settings):
    settings.PRIVACY_DPO_CONTACT = "dpo@ville-exemple.fr"
    settings.PRIVACY_CONTROLLER = "Ville d’Exemple"
    settings.PRIVACY_MESSAGES_DAYS, settings.PRIVACY_DELETED_DAYS = 730, 45

    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/privacy/").content.decode()

    assert "<h1>Données personnelles</h1>" in page
    assert "dpo@ville-exemple.fr" in page and "Ville d’Exemple" in page
    assert "730 jours" in page and "45 jours" in page
    home = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/").content.decode()
    assert 'href="/privacy/">Données personnelles</a>' in home


def test_the_privacy_page_gives_each_processing_its_legal_basis_and_the_rights_that_go_with_it(db):
    """GDPR article 13.1.c: every kind of data kept says on what it rests; consent where the person gave one (push
    notifications, their Decidim picture), and how to object, limit or withdraw."""
    import re

    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/privacy/").content.decode()

    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == 12
    for row in rows:
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        assert len(cells) == 4 and "RGPD art. 6.1." in cells[2], row
    assert "<th scope=\"col\">Base légale</th>" in page
    decidim = next(row for row in rows if "Compte Decidim" in row)
    assert "Votre photo : votre consentement (RGPD art. 6.1.a)" in decidim
    assert "Notifications push : votre consentement (RGPD art. 6.1.a)" in page
    assert "vous opposer à un traitement de vos données" in page


def test_the_text_of_a_comment_its_author_deleted_is_forgotten_after_its_retention(alice, bob, mona, settings):
    """Alice deleted her comment: its placeholder keeps the thread in place, and its text, kept meanwhile for a report
    in progress, goes after PRIVACY_DELETED_DAYS, with moderation's quote of it; a recent deletion stays."""
    from debates import services as debates
    from debates.models import Comment
    from live.moderation import services as moderation
    from live.moderation.models import Case

    settings.PRIVACY_DELETED_DAYS = 30
    debate = debates.create_debate(author=bob, title="Le marché", description="Le dimanche ?")
    old = debates.post_comment(author=alice, debate=debate, body="ALICE-regretted")
    moderation.report(reporter=bob, kind="comment", object_id=old.pk, reason="other")
    recent = debates.post_comment(author=alice, debate=debate, body="ALICE-just-deleted")
    kept = debates.post_comment(author=alice, debate=debate, body="ALICE-still-there")
    debates.delete_comment(comment=old, actor=alice), debates.delete_comment(comment=recent, actor=alice)
    age(Comment.objects.filter(pk=old.pk), "deleted_at", 31)

    call_command("apply_retention")

    assert Comment.objects.get(pk=old.pk).body == "" and Comment.objects.get(pk=old.pk).body_html == ""
    assert Case.objects.get(kind="comment", object_id=old.pk).excerpt == ""
    assert Comment.objects.get(pk=recent.pk).body == "ALICE-just-deleted"
    assert Comment.objects.get(pk=kept.pk).body == "ALICE-still-there"
    assert services.apply_retention()["deleted"] == 0


def test_finished_background_tasks_are_forgotten_after_their_retention(alice, settings):
    """PRIVACY_TASK_RESULTS_DAYS: django-tasks-db's rows keep a task's arguments and result; a finished one goes,
    one still waiting stays (the worker has yet to run it)."""
    from django_tasks_db.models import DBTaskResult

    from privacy.tasks import build_export

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PRIVACY_TASK_RESULTS_DAYS = 7
    old, recent, waiting = (build_export.enqueue(n) for n in (1, 2, 3))
    DBTaskResult.objects.filter(id__in=[old.id, recent.id]).update(status="SUCCESSFUL", finished_at=timezone.now())
    age(DBTaskResult.objects.filter(id=old.id), "finished_at", 8)

    call_command("apply_retention")

    assert {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)} == {recent.id, waiting.id}


def test_the_privacy_page_lists_moderation_records_and_sessions_with_how_long(db, settings):
    """What the service keeps about a person beyond their own content: their reports and the decisions about them,
    their sign-in sessions and push devices; each with why and for how long."""
    settings.SESSION_COOKIE_AGE = 9 * 24 * 3600

    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/privacy/").content.decode()

    assert "Reports you made and moderation decisions about you" in page
    assert "Sign-in sessions and the devices receiving your push notifications" in page
    assert "Until you sign out, at most 9 days" in page


def test_the_record_of_an_expired_or_failed_archive_is_deleted_after_its_retention(alice, settings):
    """Once its bytes are gone, an archive's row (its link, when it was asked for and expired) is still about
    alice: it goes PRIVACY_EXPORT_RECORDS_DAYS after it expired (or was asked for, when it never was ready)."""
    settings.PRIVACY_EXPORT_RECORDS_DAYS = 30
    now = timezone.now()
    old = DataExport.objects.create(user=alice, status="ready", expires_at=now - timedelta(days=31))
    failed = DataExport.objects.create(user=alice, status="failed", created_at=now - timedelta(days=31))
    recent = DataExport.objects.create(user=alice, status="ready", expires_at=now - timedelta(days=2))
    ready = DataExport.objects.create(user=alice, status="ready", archive=b"zip", size=3,
                                      expires_at=now + timedelta(hours=5))

    call_command("apply_retention")

    assert set(DataExport.objects.values_list("pk", flat=True)) == {recent.pk, ready.pk}
    assert not DataExport.objects.filter(pk__in=[old.pk, failed.pk]).exists()
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/privacy/").content.decode()
    assert "then the record that you asked for it (its dates, no data): 30 days" in page


def test_an_anonymised_guest_loses_the_token_that_tied_its_browser_to_its_contributions(fiona, settings):
    """Past PRIVACY_GUESTS_DAYS a guest's nickname and IP go; the token their browser kept (signed, in its session)
    went on naming the row: whoever holds that session could still be linked to what the guest wrote. It goes too,
    also from a guest anonymised before this was done."""
    from meetings.sessions import session_participant

    settings.PRIVACY_GUESTS_DAYS = 30
    meeting = make_meeting(fiona)
    guest = meetings.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    earlier = meetings.join(meeting=meeting, nickname="Gérard", ip="10.0.0.8")
    Participant.objects.filter(pk=earlier.pk).update(nickname="", ip=None)  # anonymised before tokens were
    age(Participant.objects.filter(pk__in=[guest.pk, earlier.pk]), "joined_at", 45)
    session = {}
    from meetings.sessions import remember_participant

    remember_participant(session, guest)

    call_command("apply_retention")

    for participant, token in ((guest, guest.token), (earlier, earlier.token)):
        participant.refresh_from_db()
        assert participant.token != token
        assert not Participant.objects.filter(token=token).exists()
    assert session_participant(session, meeting) is None
    assert services.apply_retention()["guests"] == 0


def test_an_address_that_is_no_longer_her_profiles_is_forgotten_by_the_daily_run(alice, bob):
    """allauth recorded the address Decidim sent when alice signed up; her profile's address has changed since (an
    administrator fixed it): the old one was kept until her erasure. The daily run keeps only her current one."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=alice, email="alice.old@decidim.example", verified=True, primary=True)
    EmailAddress.objects.create(user=alice, email="Alice@Example.org", verified=True, primary=False)
    EmailAddress.objects.create(user=bob, email=bob.email, verified=True, primary=True)

    done = services.apply_retention()

    assert set(EmailAddress.objects.values_list("email", flat=True)) == {"Alice@Example.org", bob.email}
    assert done["old_emails"] == 1
    assert services.apply_retention()["old_emails"] == 0
