"""End to end against a real SMTP server (aiosmtpd) the test starts on a spare port: what a mail client receives."""

import smtplib

import pytest
from django.core.management import call_command
from django.test import Client

from debates import services as debates
from live.notifications import email, services
from live.notifications.models import Channel, Notification, Rhythm
from tests.notifications.conftest import prefs


def test_a_reply_reaches_the_smtp_server_in_french_with_a_working_one_click_unsubscribe(
        smtp, debate, alice, bob, django_capture_on_commit_callbacks):
    preferences = services.preferences_of(alice)
    preferences.email_rhythm, preferences.last_language = Rhythm.NOW, "fr"
    preferences.save()
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    with django_capture_on_commit_callbacks(execute=True):
        debates.post_comment(author=bob, debate=debate, body="Le matin avant 10 h.", parent=root)
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["alice@example.org"]
    # (French typography: no-break spaces before ':' and inside « »; the header may come folded)
    assert " ".join(message["Subject"].split()) == "Agora Live : bob a répondu à votre commentaire dans « " \
                                                   "Faut-il piétonniser la place du marché ? »"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour alice" in text and "bob a répondu" in text
    assert 'lang="fr"' in html and "Ne plus recevoir ces e-mails" in html
    link = message["List-Unsubscribe"].strip().strip("<>").removeprefix("https://agora.example.org")
    assert Client(enforce_csrf_checks=True).post(link, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert services.preferences_of(alice).reply == Channel.SITE


def test_the_digest_command_sends_one_email_through_smtp(smtp, debate, alice, bob):
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    for n in range(3):
        debates.post_comment(author=bob, debate=debate, body=f"Réponse {n}", parent=root)
    assert smtp.messages == []  # the default: a daily digest
    call_command("send_notification_emails", stdout=open("/dev/null", "w"))
    assert len(smtp.messages) == 1
    _recipients, message = smtp.messages[0]
    assert " ".join(message["Subject"].split()) == "Agora Live : 3 nouvelles notifications"
    assert message.get_body(preferencelist=("plain",)).get_content().count("bob a répondu") == 3


def test_a_temporary_failure_on_the_second_email_sends_the_first_once_and_keeps_the_second(smtp, debate, alice,
                                                                                             bob):
    prefs(alice, email_rhythm=Rhythm.NOW)
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    first, second = [debates.post_comment(author=bob, debate=debate, body=f"Réponse {n}", parent=root)
                     for n in range(2)]  # both pending: their commit's task has not run yet
    smtp.accept = 1  # the server takes one message, then answers 451 to the next

    with pytest.raises(smtplib.SMTPDataError):
        email.send_for(alice.pk)

    assert len(smtp.messages) == 1
    assert Notification.objects.get(subject=f"comment:{first.pk}").email == "sent"
    assert Notification.objects.get(subject=f"comment:{second.pk}").email == "pending"
    email.send_for(alice.pk)  # the task retried, or the next run
    assert len(smtp.messages) == 2
    bodies = [message.get_body(preferencelist=("plain",)).get_content() for _to, message in smtp.messages]
    assert first.get_absolute_url() in bodies[0] and second.get_absolute_url() not in bodies[0]
    assert second.get_absolute_url() in bodies[1] and first.get_absolute_url() not in bodies[1]
    assert email.send_for(alice.pk) == 0
