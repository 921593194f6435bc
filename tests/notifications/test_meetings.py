"""Meetings I registered for: the reminders (the cron command), the live session opened, the closing report
published; each in the recipient's language, by e-mail or push as they chose, once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from live.notifications import email, services
from live.notifications.models import Channel, Notification, PushSubscription, Rhythm
from meetings import notifications
from meetings import services as meetings
from tests.helpers import make_user, session_cookie
from tests.meetings.conftest import make_meeting
from tests.notifications.conftest import prefs
from tests.notifications.test_push import push_service  # noqa: F401  (fixture)


@pytest.fixture
def registered(fiona, alice, bob, mona, django_capture_on_commit_callbacks):
    """A meeting tomorrow evening (registration open), alice (French, e-mails in the daily digest: the default) and
    bob (English, e-mails at once) registered; mona is not."""
    starts = timezone.now() + timedelta(hours=20)
    meeting = make_meeting(fiona, open_live=False, registration_enabled=True, starts_at=starts,
                           ends_at=starts + timedelta(hours=2))
    prefs(alice, last_language="fr")
    prefs(bob, last_language="en", email_rhythm=Rhythm.NOW)
    for person in (alice, bob):
        meetings.register(user=person, meeting=meeting)
    return meeting


def _run(capture, fn, *args, **kwargs):
    with capture(execute=True):  # the commits' work (e-mail and push tasks) runs, as the worker would
        return fn(*args, **kwargs)


def _texts(kind):
    return dict(Notification.objects.filter(kind=kind).values_list("user__nickname", "text"))


def test_reminders_the_day_before_and_an_hour_before_once_each_in_the_recipients_language(
        registered, alice, bob, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    _run(capture, call_command, "send_meeting_reminders")
    texts = _texts("meeting.reminder_day")
    assert set(texts) == {"alice", "bob"}  # registered people only (not mona, not the facilitator)
    start = timezone.localtime(registered.starts_at)
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]
    assert texts["alice"] == (f"Rappel : « Budget participatif 2027 » a lieu le {start.day} {months[start.month - 1]} "
                              f"{start.year} à {start:%H:%M}, Agora, 20 rue de Stalingrad, Nanterre.")
    assert texts["bob"].startswith("Reminder: “Budget participatif 2027” is on ")
    # Time-sensitive: e-mailed at once, the daily-digest reader included (her digest could come after the meeting).
    assert sorted(message.to[0] for message in mail.outbox) == ["alice@example.org", "bob@example.org"]
    french = next(message for message in mail.outbox if message.to == ["alice@example.org"])
    assert french.subject.startswith("Agora Live : Rappel")
    assert "List-Unsubscribe" in french.extra_headers

    # The cron job runs every 5 minutes: nothing twice.
    _run(capture, call_command, "send_meeting_reminders")
    assert Notification.objects.filter(kind="meeting.reminder_day").count() == 2 and len(mail.outbox) == 2

    hour_before = registered.starts_at - timedelta(minutes=40)
    assert _run(capture, notifications.send_reminders, hour_before) == 2
    assert _run(capture, notifications.send_reminders, hour_before + timedelta(minutes=5)) == 0
    texts = _texts("meeting.reminder_hour")
    assert texts["alice"] == (f"« Budget participatif 2027 » commence à {start:%H:%M}, dans moins d’une heure : "
                              "Agora, 20 rue de Stalingrad, Nanterre.")
    assert len(mail.outbox) == 4
    # Once it has started, nothing more.
    assert notifications.send_reminders(registered.starts_at + timedelta(minutes=1)) == 0


def test_a_meeting_moved_to_another_day_is_reminded_again_and_a_late_registration_gets_the_right_reminder(
        registered, fiona, mona, django_capture_on_commit_callbacks):
    notifications.send_reminders()
    moved = registered.starts_at + timedelta(days=2)
    meetings.update_meeting(actor=fiona, meeting=registered, starts_at=moved, ends_at=moved + timedelta(hours=2))
    registered.refresh_from_db()
    assert notifications.send_reminders() == 0  # not due yet
    assert notifications.send_reminders(moved - timedelta(hours=23)) == 2  # reminded of the new date
    # mona registers half an hour before: the hour's reminder only, not "the day before".
    meetings.register(user=mona, meeting=registered)
    assert notifications.send_reminders(moved - timedelta(minutes=30)) == 3
    assert list(Notification.objects.filter(user=mona).values_list("kind", flat=True)) == ["meeting.reminder_hour"]


def test_on_this_site_only_or_never_sends_no_email_and_push_goes_to_the_devices(
        registered, alice, bob, push_service, django_capture_on_commit_callbacks):  # noqa: F811
    prefs(alice, meeting=Channel.SITE)
    prefs(bob, meeting=Channel.PUSH)
    services.subscribe_push(user=bob, session_key=session_cookie(bob), **push_service.device("phone"))
    _run(django_capture_on_commit_callbacks, notifications.send_reminders)
    assert Notification.objects.filter(kind="meeting.reminder_day").count() == 2  # both see it on the site
    assert mail.outbox == []
    assert [message["body"] for _device, message in push_service.received] == [_texts("meeting.reminder_day")["bob"]]
    assert push_service.received[0][1]["url"] == f"https://agora.example.org/meetings/{registered.pk}/"

    prefs(alice, meeting=Channel.EMAIL, email_rhythm=Rhythm.NEVER)
    _run(django_capture_on_commit_callbacks, notifications.send_reminders, registered.starts_at - timedelta(minutes=5))
    assert mail.outbox == []
    assert PushSubscription.objects.filter(user=bob).count() == 1 and len(push_service.received) == 2


def test_the_open_session_is_told_to_registered_people_once_a_day(registered, fiona, alice, bob,
                                                                  django_capture_on_commit_callbacks):
    felix = make_user("felix")
    meetings.register(user=felix, meeting=registered)
    meetings.register(user=fiona, meeting=registered)  # the facilitator who opens it is not told
    _run(django_capture_on_commit_callbacks, meetings.open_session, actor=fiona, meeting=registered)
    texts = _texts("meeting.opened")
    assert set(texts) == {"alice", "bob", "felix"}
    assert texts["alice"] == "La session en direct de « Budget participatif 2027 » est ouverte : rejoignez-la depuis " \
                             "votre téléphone."
    assert Notification.objects.filter(kind="meeting.opened", user=alice).get().url == \
        f"/meetings/{registered.pk}/live/"
    assert {message.to[0] for message in mail.outbox} == {"alice@example.org", "bob@example.org",
                                                          "felix@example.org"}
    # Closed by mistake and opened again: nobody is told twice.
    registered.refresh_from_db()
    meetings.close_session(actor=fiona, meeting=registered)
    _run(django_capture_on_commit_callbacks, meetings.open_session, actor=fiona, meeting=registered)
    assert Notification.objects.filter(kind="meeting.opened").count() == 3
    # Closed before the task ran: nobody is invited to a closed session.
    registered.refresh_from_db()
    meetings.close_session(actor=fiona, meeting=registered)
    Notification.objects.filter(kind="meeting.opened").delete()
    assert notifications.announce(registered.pk, notifications.OPENED) == 0


def test_the_published_report_is_told_to_registered_people_and_attendees_in_their_digest(
        registered, fiona, alice, bob, mona, django_capture_on_commit_callbacks):
    registered = meetings.open_session(actor=fiona, meeting=registered)
    meetings.join(meeting=registered, user=mona)  # came without registering
    meetings.join(meeting=registered, nickname="Gaston")  # a guest: no account to tell
    registered.refresh_from_db()
    meetings.close_session(actor=fiona, meeting=registered)
    Notification.objects.all().delete()
    mail.outbox.clear()
    capture = django_capture_on_commit_callbacks
    _run(capture, meetings.save_report, actor=fiona, meeting=registered, minutes="Draft", attendees=40,
         publish=False)
    assert not Notification.objects.exists()  # a draft tells nobody
    _run(capture, meetings.save_report, actor=fiona, meeting=registered, minutes="42 propositions.", attendees=40,
         publish=True)
    texts = _texts("meeting.report")
    assert texts == {"alice": "Le compte rendu de « Budget participatif 2027 » est publié.",
                     "bob": "The closing report of “Budget participatif 2027” is published.",
                     "mona": "Le compte rendu de « Budget participatif 2027 » est publié."}
    assert [message.to for message in mail.outbox] == [["bob@example.org"]]  # at once; alice and mona: digest
    email.send_due(timezone.now() + timedelta(hours=25))
    assert sorted(message.to[0] for message in mail.outbox) == ["alice@example.org", "bob@example.org",
                                                                "mona@example.org"]
    # Unpublished and published again: once.
    _run(capture, meetings.save_report, actor=fiona, meeting=registered, minutes="x", attendees=40, publish=False)
    _run(capture, meetings.save_report, actor=fiona, meeting=registered, minutes="y", attendees=40, publish=True)
    assert Notification.objects.filter(kind="meeting.report").count() == 3


def test_nothing_is_emailed_about_a_meeting_over_or_deleted_before_sending(registered, fiona, alice):
    # Queued, but the task did not run (the worker was down) and the meeting ended meanwhile.
    prefs(alice, email_rhythm=Rhythm.NOW)
    notifications.send_reminders()  # the commits' work is not run: both stay pending
    assert set(Notification.objects.filter(kind="meeting.reminder_day").values_list("email", flat=True)) == \
        {"pending"}
    registered.__class__.objects.filter(pk=registered.pk).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1))
    assert email.send_due(timezone.now() + timedelta(hours=25)) == 0
    assert mail.outbox == []
    assert set(Notification.objects.filter(kind="meeting.reminder_day").values_list("email", flat=True)) == \
        {"dropped"}
    # About its report: deleted meeting, nothing sent.
    notification = services.notify(user=alice, kind="meeting.report", text=notifications.REPORT_TEXT,
                                   params={"title": "x"}, subject=f"meeting:{registered.pk}")
    registered.delete()
    assert email.send_for(alice.pk) == 0
    notification.refresh_from_db()
    assert notification.email == "dropped"


def test_the_meeting_page_tells_a_registered_person_what_they_will_hear(client, registered, alice):
    client.force_login(alice)
    page = client.get(f"/meetings/{registered.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Nous vous le rappellerons la veille et une heure avant" in page
    assert 'href="/notifications/preferences/"' in page


def test_the_preferences_page_says_what_meetings_send_and_when(client, alice):
    client.force_login(alice)
    page = client.get("/notifications/preferences/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Un rappel la veille et une heure avant" in page
    assert "arrivent tout de suite" in page
