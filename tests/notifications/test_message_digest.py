"""The private messages' e-mail is a notification e-mail like the others: in the recipient's language, HTML and
text, with a one-click unsubscribe that needs no sign-in."""

import uuid
from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

from live.messaging import digest
from live.messaging import services as messaging
from live.messaging.models import Message
from live.notifications.models import Channel
from tests.notifications.conftest import prefs


def _unread_for(alice, bob):
    messaging.start_conversation(author=alice, recipients=["bob"], body="Salut Bob", client_id=uuid.uuid4())
    Message.objects.update(created_at=timezone.now() - timedelta(minutes=60))


def test_in_the_recipients_language_with_a_one_click_unsubscribe(settings, alice, bob):
    settings.MESSAGING_DIGEST_DELAY_MINUTES = 15
    prefs(bob, last_language="fr")  # alice writes in English (the fixture's language); bob reads French
    _unread_for(alice, bob)
    assert digest.send_digests() == 1
    message = mail.outbox[0]
    assert message.subject == "Vous avez 1 message non lu sur Agora Live"
    assert "Vous avez 1 message non lu de alice." in message.body
    html = message.alternatives[0][0]
    assert '<html lang="fr">' in html and "Ne plus recevoir ces e-mails" in html
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in message.body and unsubscribe in html

    # The mail client's one-click POST, without a session or a CSRF token: private messages stay on the site.
    path = unsubscribe.removeprefix(settings.PUBLIC_URL)
    assert Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert prefs(bob).message == Channel.SITE
    messaging.mark_read(user=bob, conversation=Message.objects.first().conversation)
    _unread_for(alice, bob)
    assert digest.send_digests() == 0
