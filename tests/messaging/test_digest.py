"""E-mail digests: after the delay, once per conversation until read, never while connected, no text by default."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from live.messaging import digest, services
from live.messaging.models import Message
from tests.messaging.conftest import send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MESSAGING_DIGEST_DELAY_MINUTES = 15


def age(minutes):
    Message.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_it_is_sent_once_when_the_recipient_is_offline(alice, bob, chat):
    send(alice, chat, "Un secret")
    age(5)
    assert digest.send_digests() == 0  # not before the delay
    age(16)
    call_command("send_message_digests", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["bob@example.org"]
    assert "2" in email.subject
    assert "alice" in email.body
    assert "http://localhost:8000/messages/" in email.body  # an absolute link to the inbox
    assert "Un secret" not in email.body and "Salut Bob" not in email.body  # no message text by default
    send(alice, chat, "Encore un")
    age(20)
    assert digest.send_digests() == 0  # at most once per conversation until read
    assert len(mail.outbox) == 1


def test_after_reading_a_new_digest_may_go_out(alice, bob, chat):
    age(16)
    assert digest.send_digests() == 1
    services.mark_read(user=bob, conversation=chat)
    send(alice, chat, "Après lecture")
    age(16)
    assert digest.send_digests() == 1
    assert len(mail.outbox) == 2


def test_it_is_not_sent_when_the_recipient_was_connected_and_read_it(alice, bob, chat):
    cache.set(f"conn:user:{bob.pk}", 1)  # bob has a page open (the consumer's connection counter)
    age(16)
    assert digest.send_digests() == 0
    services.mark_read(user=bob, conversation=chat)  # ... and he read it there
    cache.delete(f"conn:user:{bob.pk}")
    assert digest.send_digests() == 0
    assert mail.outbox == []


def test_a_connected_recipient_who_leaves_without_reading_gets_it_later(alice, bob, chat):
    cache.set(f"conn:user:{bob.pk}", 2)
    age(16)
    assert digest.send_digests() == 0
    cache.set(f"conn:user:{bob.pk}", 0)
    assert digest.send_digests() == 1


def test_text_only_when_the_setting_says_so(settings, alice, bob, chat):
    settings.MESSAGING_DIGEST_INCLUDE_TEXT = True
    age(16)
    digest.send_digests()
    assert "Salut Bob" in mail.outbox[0].body


def test_nothing_for_blocked_authors_people_without_email_or_who_left(alice, bob, carol, dave):
    group = services.start_conversation(author=alice, recipients=["bob", "carol", "dave"], body="Groupe",
                                        client_id=uuid.uuid4()).conversation
    services.block_user(blocker=bob, blocked=alice)
    send(alice, group, "Après blocage")
    Message.objects.filter(body="Groupe").update(created_at=timezone.now() - timedelta(minutes=30))
    Message.objects.filter(body="Après blocage").update(created_at=timezone.now() - timedelta(minutes=20))
    services.mark_read(user=bob, conversation=group, upto=group.messages.get(body="Groupe").pk)
    carol.email = None
    carol.save()
    services.leave_conversation(user=dave, conversation=group)
    assert digest.send_digests() == 0
    assert mail.outbox == []


def test_it_follows_the_private_message_preference(alice, bob, chat):
    from live.notifications import services as notifications
    from live.notifications.models import Channel, Rhythm

    preferences = notifications.preferences_of(bob)
    preferences.message = Channel.SITE
    preferences.save()
    age(16)
    assert digest.send_digests() == 0  # "on this site only"
    preferences.message, preferences.email_rhythm = Channel.EMAIL, Rhythm.NEVER
    preferences.save()
    assert digest.send_digests() == 0  # no e-mail at all
    preferences.email_rhythm = Rhythm.DAILY
    preferences.save()
    assert digest.send_digests() == 1
    assert mail.outbox[0].to == ["bob@example.org"]
