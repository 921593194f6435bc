"""Each preference path, the digest, the flood, hidden content and the one-click unsubscribe."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from debates import services as debates
from live.moderation import services as moderation
from live.notifications import email, services
from live.notifications.models import Channel, Notification, Rhythm
from tests.notifications.conftest import prefs


@pytest.fixture
def reply_to_alice(debate, alice, bob, django_capture_on_commit_callbacks):
    """bob replies to alice (as many times as asked), the commits' work run as in production."""
    root = debates.post_comment(author=alice, debate=debate, body="La place doit rester ouverte.")

    def reply(times=1):
        with django_capture_on_commit_callbacks(execute=True):
            return [debates.post_comment(author=bob, debate=debate, body=f"Réponse {n}", parent=root)
                    for n in range(times)]

    return reply


def _later(hours=0, minutes=0):
    return timezone.now() + timedelta(hours=hours, minutes=minutes)


def test_defaults_are_email_in_a_daily_digest_and_french(alice):
    preferences = services.preferences_of(alice)
    assert preferences.reply == preferences.moderation == Channel.EMAIL
    assert preferences.email_rhythm == Rhythm.DAILY
    assert preferences.notification_language == "fr"


def test_on_this_site_only_sends_no_email(alice, reply_to_alice):
    prefs(alice, reply=Channel.SITE, email_rhythm=Rhythm.NOW)
    reply_to_alice()
    assert Notification.objects.filter(user=alice, kind="debate.reply").count() == 1
    email.send_due(_later(hours=25))
    assert mail.outbox == []


def test_email_at_once_in_html_and_text_with_one_click_unsubscribe(alice, reply_to_alice):
    prefs(alice, email_rhythm=Rhythm.NOW, last_language="fr")
    reply_to_alice()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert message.subject.startswith("Agora Live : bob a répondu à votre commentaire")
    assert "https://agora.example.org/debates/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and 'lang="fr"' in html and "bob a répondu" in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://agora.example.org/notifications/unsubscribe/") and link in message.body
    # Nothing left for the digest: it was sent.
    assert email.send_due(_later(hours=25)) == 0


def test_the_daily_digest_sends_everything_pending_once_a_day(debate, alice, bob, fiona, mona, reply_to_alice,
                                                              django_capture_on_commit_callbacks):
    prefs(alice, last_language="en")
    reply_to_alice(2)
    with django_capture_on_commit_callbacks(execute=True):
        debates.post_comment(author=bob, debate=debate, body="Qu’en pense @alice ?")
        debates.close_debate(debate=debate, actor=fiona, conclusions="La place sera piétonne le samedi matin.")
    assert mail.outbox == []  # a digest, not at once
    assert email.send_due() == 2  # bob took part too: the conclusion alone, his own digest
    message = next(message for message in mail.outbox if message.to == ["alice@example.org"])
    assert message.subject == "Agora Live: 4 new notifications"
    assert message.body.count("bob replied to your comment") == 2
    assert "bob mentioned you" in message.body and "is closed: read its conclusions" in message.body
    assert "Stop every e-mail notification" in message.body
    # Once a day: a new item waits for tomorrow's digest.
    moderation.warn(actor=mona, user=alice, reason="Restez courtoise.")
    assert email.send_due(_later(hours=2)) == 0
    assert email.send_due(_later(hours=25)) == 1
    assert "A moderator warns you: Restez courtoise." in mail.outbox[2].body and len(mail.outbox) == 3


def test_a_flood_of_replies_is_a_few_emails_then_one_digest(alice, reply_to_alice):
    prefs(alice, email_rhythm=Rhythm.NOW)
    reply_to_alice(12)
    assert len(mail.outbox) == 3  # the notification_email rate limit: 3 per 15 minutes
    assert email.send_due() == 0  # held back for NOTIFICATIONS_HOLD_MINUTES, not sent one by one
    call_command("send_notification_emails", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 3
    assert email.send_due(_later(minutes=16)) == 1
    assert len(mail.outbox) == 4 and mail.outbox[3].body.count("a répondu à votre commentaire") == 9


def test_nothing_is_sent_for_a_comment_hidden_or_deleted_since(debate, alice, bob, mona, reply_to_alice):
    prefs(bob, moderation=Channel.SITE)  # only alice's replies are pending
    hidden, deleted = reply_to_alice(2)
    moderation.hide(actor=mona, kind="comment", object_id=hidden.pk, reason="Hors sujet")
    debates.delete_comment(comment=deleted, actor=bob)
    assert email.send_due() == 0
    assert mail.outbox == []
    assert set(Notification.objects.filter(user=alice, kind="debate.reply").values_list("email", flat=True)) \
        == {"dropped"}


def test_a_blocked_person_is_not_emailed_what_waited_for_them(alice, mona, reply_to_alice):
    """Blocked, alice cannot sign in to read what the e-mails link to: the replies waiting for her digest are dropped
    (as the message digest and the meeting reminders leave blocked accounts out); moderation tells her of the block
    itself in its own e-mail."""
    reply_to_alice(2)
    moderation.block(actor=mona, user=alice, reason="Harcèlement")
    mail.outbox.clear()  # the block's own e-mail
    assert email.send_due(_later(hours=25)) == 0
    assert mail.outbox == []
    assert set(Notification.objects.filter(user=alice, kind="debate.reply").values_list("email", flat=True)) \
        == {"dropped"}


def test_the_unsubscribe_link_works_without_signing_in(alice, reply_to_alice):
    prefs(alice, email_rhythm=Rhythm.NOW)
    reply_to_alice()
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").removeprefix("https://agora.example.org")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link)
    assert page.status_code == 200 and "Ne plus recevoir les e-mails pour : Réponses à mes commentaires" in \
        page.content.decode()
    # RFC 8058: the mail client posts this body, with no cookie and no CSRF token.
    done = browser.post(link, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    preferences = services.preferences_of(alice)
    assert preferences.reply == Channel.SITE and preferences.mention == Channel.EMAIL
    reply_to_alice()
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(user=alice, kind="debate.reply").count() == 2


def test_switching_replies_to_site_only_on_the_page_drops_the_replies_waiting_for_the_digest(
        client, debate, alice, bob, reply_to_alice, django_capture_on_commit_callbacks):
    reply_to_alice()  # pending: the daily digest is the default
    with django_capture_on_commit_callbacks(execute=True):
        debates.post_comment(author=bob, debate=debate, body="Qu’en pense @alice ?")
    client.force_login(alice)
    response = client.post("/notifications/preferences/", {
        "language": "", "reply": "site", "mention": "email", "conclusion": "email", "message": "email",
        "meeting": "email", "moderation": "email", "email_rhythm": "daily"})
    assert response.status_code == 302

    assert email.send_due(_later(hours=25)) == 1
    assert len(mail.outbox) == 1  # the mention alone: she still wants those
    assert "vous a mentionné" in mail.outbox[0].body and "a répondu" not in mail.outbox[0].body
    assert Notification.objects.get(user=alice, kind="debate.reply").email == "dropped"


def test_a_choice_changed_while_items_wait_is_the_one_the_sender_follows(alice, reply_to_alice):
    reply_to_alice()
    prefs(alice, reply=Channel.SITE)  # however the choice changed (the page, the admin, a script)

    assert email.send_due(_later(hours=25)) == 0
    assert mail.outbox == []
    assert Notification.objects.get(user=alice, kind="debate.reply").email == "dropped"


def test_a_forged_unsubscribe_link_changes_nothing(alice):
    token = services.unsubscribe_token(alice, "reply")
    response = Client().post(f"/notifications/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 404
    assert services.preferences_of(alice).reply == Channel.EMAIL


def test_the_preferences_page_saves_the_choices(client, alice):
    client.force_login(alice)
    page = client.get("/notifications/preferences/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Réponses à mes commentaires" in page.content.decode()
    response = client.post("/notifications/preferences/", {
        "language": "en", "reply": "site", "mention": "email", "conclusion": "email", "message": "site",
        "meeting": "email", "moderation": "email", "email_rhythm": "now"})
    assert response.status_code == 302
    preferences = services.preferences_of(alice)
    assert (preferences.language, preferences.reply, preferences.message, preferences.email_rhythm) == \
        ("en", "site", "site", "now")
    bad = client.post("/notifications/preferences/", {"reply": "pigeon", "email_rhythm": "now"})
    assert bad.status_code == 400
    assert services.preferences_of(alice).reply == "site"


def test_push_is_not_offered_while_nothing_would_be_pushed(client, alice):
    client.force_login(alice)
    assert 'value="push"' not in client.get("/notifications/preferences/").content.decode()
    response = client.post("/notifications/preferences/", {
        "language": "", "reply": "push", "mention": "email", "conclusion": "email", "message": "email",
        "meeting": "email", "moderation": "email", "email_rhythm": "daily"})
    assert response.status_code == 400
    assert services.preferences_of(alice).reply == Channel.EMAIL


def test_a_digest_readers_time_sensitive_item_held_by_the_rate_limit_goes_after_the_hold_not_tomorrow(
        alice, reply_to_alice, django_capture_on_commit_callbacks):
    from meetings.notifications import OPENED_TEXT

    prefs(alice, digest_sent_at=timezone.now())  # her daily digest went this morning
    reply_to_alice()  # waits for tomorrow's digest
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):  # four meetings opening their live session within 15 minutes
            services.notify(user=alice, kind="meeting.opened", at_once=True, text=OPENED_TEXT,
                            params={"title": f"Réunion {n}"})
    assert len(mail.outbox) == 3  # the notification_email rate limit: 3 per 15 minutes
    assert email.send_due(_later(minutes=5)) == 0  # held back for NOTIFICATIONS_HOLD_MINUTES

    assert email.send_due(_later(minutes=16)) == 1
    assert len(mail.outbox) == 4 and "Réunion 3" in mail.outbox[3].subject
    assert Notification.objects.get(user=alice, kind="debate.reply").email == "pending"  # still the digest's
    assert email.send_due(_later(hours=25)) == 1 and "a répondu" in mail.outbox[4].body


def test_a_digest_marks_the_items_written_in_another_language_than_its_own(alice):
    """alice's notifications were written in French; she then chose English: the digest is in English and each
    French item says so (lang, WCAG 3.1.2), so a screen reader reads it with French pronunciation."""
    prefs(alice, language="fr")
    services.notify(user=alice, kind="debate.reply", text="Une réponse à votre commentaire")
    prefs(alice, language="en")
    services.notify(user=alice, kind="debate.reply", text="A reply to your comment")
    Notification.objects.filter(user=alice).update(email="pending")

    assert email.send_for(alice.pk, digest=True) == 1

    html = mail.outbox[0].alternatives[0][0]
    assert '<html lang="en">' in html
    assert 'lang="fr"' in html.split("Une réponse")[0].rsplit("<li", 1)[1]
    assert 'lang=' not in html.split("A reply to your comment")[0].rsplit("<li", 1)[1]
