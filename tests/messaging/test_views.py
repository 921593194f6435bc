import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from live.messaging import presenters, services
from live.messaging.models import Block, Conversation, Message, Preference
from tests import helpers
from tests.messaging.conftest import send

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_unread_badge_in_the_header_on_every_page(alice, bob, chat):
    page = client_for(bob).get(reverse("notifications:list"))
    assert b'id="messages-badge"' in page.content
    assert b'<span aria-hidden="true">1</span>' in page.content.split(b'id="messages-badge"')[1][:200]


def test_the_inbox_lists_conversations_with_preview_and_unread_count(alice, bob, carol, chat):
    group = services.start_conversation(author=carol, recipients=["bob", "alice"], body="Réunion demain ?",
                                        client_id=uuid.uuid4()).conversation
    page = client_for(bob).get(reverse("messaging:inbox")).content.decode()
    assert page.index(f"inbox-conversation-{group.pk}") < page.index(f"inbox-conversation-{chat.pk}")
    assert "Réunion demain ?" in page and "Salut Bob" in page
    assert f'data-live-stream="user.{bob.pk}"' in page
    assert 'data-unread="1"' in page


def test_the_conversation_page_marks_read_and_shows_day_separators(alice, bob, chat):
    Message.objects.filter(conversation=chat).update(created_at=timezone.now() - timedelta(days=3))
    send(alice, chat, "Aujourd'hui")
    page = client_for(bob).get(chat.get_absolute_url()).content.decode()
    assert page.count('class="day-separator"') == 2
    assert "Aujourd&#x27;hui" in page or "Aujourd'hui" in page
    assert f'data-live-stream="conversation.{chat.pk}"' in page
    assert services.unread_count(bob) == 0


def test_load_earlier(settings, alice, bob, chat):
    settings.RATE_LIMITS_ENABLED = False
    for i in range(presenters.PAGE_SIZE + 5):
        send(alice, chat, f"n°{i}")
    client = client_for(bob)
    page = client.get(chat.get_absolute_url()).content.decode()
    assert "n°34" in page and "n°3<" not in page and 'id="load-earlier"' in page
    first_shown = chat.messages.order_by("-pk")[presenters.PAGE_SIZE - 1]
    older = client.get(chat.get_absolute_url(), {"before": first_shown.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "Salut Bob" in older and "n°3<" in older and "n°34" not in older
    assert 'id="load-earlier"' not in older
    assert f'id="day-{timezone.localdate().isoformat()}" hx-swap-oob="delete"' in older  # one separator per day
    no_js = client.get(chat.get_absolute_url(), {"before": first_shown.pk}).content.decode()
    assert "Salut Bob" in no_js and "Back to the latest messages" in no_js


def test_sending_with_htmx_and_without_javascript(alice, bob, chat):
    client = client_for(alice)
    url = reverse("messaging:send", args=[chat.pk])
    client_id = str(uuid.uuid4())
    htmx = client.post(url, {"body": "Par htmx", "client_id": client_id}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204
    again = client.post(url, {"body": "Par htmx", "client_id": client_id}, HTTP_HX_REQUEST="true")
    assert again.status_code == 204 and again["X-Message-Id"] == htmx["X-Message-Id"]
    plain = client.post(url, {"body": "Sans JS", "client_id": str(uuid.uuid4())})
    assert plain.status_code == 302 and f"{chat.get_absolute_url()}#message-" in plain["Location"]
    assert list(chat.messages.values_list("body", flat=True)) == ["Salut Bob", "Par htmx", "Sans JS"]


def test_a_refused_message_says_why_and_writes_nothing(alice, bob, chat):
    client = client_for(alice)
    url = reverse("messaging:send", args=[chat.pk])
    response = client.post(url, {"body": "x" * 1001, "client_id": str(uuid.uuid4())}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and b"limited to 1000" in response.content
    plain = client.post(url, {"body": "", "client_id": str(uuid.uuid4())}, follow=True)
    assert b"Write a message first" in plain.content
    assert chat.messages.count() == 1


def test_rate_limited_sends_get_a_clear_retry_message(settings, alice, bob, carol, chat):
    settings.RATE_LIMITS = {"message": "1/60"}
    client = client_for(alice)
    url = reverse("messaging:send", args=[chat.pk])
    assert client.post(url, {"body": "1", "client_id": str(uuid.uuid4())}, HTTP_HX_REQUEST="true").status_code == 204
    limited = client.post(url, {"body": "2", "client_id": str(uuid.uuid4())}, HTTP_HX_REQUEST="true")
    assert limited.status_code == 429 and b"try again in" in limited.content and limited["Retry-After"]
    plain = client.post(url, {"body": "3", "client_id": str(uuid.uuid4())}, follow=True)
    assert b"try again in" in plain.content and b'id="composer"' in plain.content
    assert plain.status_code == 429 and int(plain["Retry-After"]) > 0
    settings.RATE_LIMITS = {"conversation": "0/3600"}
    form = client.post(reverse("messaging:new"), {"to": "carol", "body": "Gardé", "client_id": str(uuid.uuid4())})
    assert form.status_code == 429 and b"try again in" in form.content and b"Gard\xc3\xa9" in form.content


def test_starting_a_conversation_from_a_profile_link(alice, bob):
    client = client_for(alice)
    form = client.get(reverse("messaging:new"), {"to": "bob"})
    assert b'value="bob"' in form.content
    response = client.post(reverse("messaging:new"), {"to": "bob", "body": "Bonjour", "client_id": str(uuid.uuid4())})
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"].startswith(conversation.get_absolute_url())


def test_starting_a_conversation_with_someone_who_refuses(alice, bob):
    Preference.objects.create(user=bob, accept_from="nobody")
    response = client_for(alice).post(reverse("messaging:new"), {"to": "bob", "body": "Bonjour",
                                                                 "client_id": str(uuid.uuid4())})
    assert response.status_code == 400 and b"You cannot write to bob." in response.content
    assert b"Bonjour" in response.content  # what was typed is kept
    assert not Conversation.objects.exists()


def test_settings_block_and_unblock(alice, bob):
    client = client_for(bob)
    client.post(reverse("messaging:settings"), {"accept_from": "nobody"})
    assert services.preference_of(bob) == "nobody"
    client.post(reverse("messaging:block"), {"nickname": "alice"})
    assert Block.objects.filter(blocker=bob, blocked=alice).exists()
    page = client.get(reverse("messaging:settings")).content.decode()
    assert "Unblock alice" in page
    client.post(reverse("messaging:unblock"), {"nickname": "alice"})
    assert not Block.objects.exists()


def test_leaving_a_group_from_the_page(alice, bob, carol):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Hi",
                                        client_id=uuid.uuid4()).conversation
    response = client_for(bob).post(reverse("messaging:leave", args=[group.pk]))
    assert response.status_code == 302
    assert client_for(bob).get(group.get_absolute_url()).status_code == 404
    assert "bob left the conversation" in client_for(alice).get(group.get_absolute_url()).content.decode()


def test_the_report_page_hands_the_message_to_moderation(alice, bob, chat):
    message = chat.messages.get()
    page = client_for(bob).get(reverse("messaging:report", args=[chat.pk, message.pk])).content.decode()
    assert 'action="/moderation/report/"' in page and 'name="kind" value="message"' in page
    assert f'name="id" value="{message.pk}"' in page
    # one's own message cannot be reported
    assert client_for(alice).get(reverse("messaging:report", args=[chat.pk, message.pk])).status_code == 404
    # and a participant's report is accepted by the moderation app
    response = client_for(bob).post(reverse("moderation:report"), {"kind": "message", "id": message.pk,
                                                                   "reason": "spam", "details": ""})
    assert response.status_code in (200, 302)
    from live.moderation.models import Report

    assert Report.objects.filter(reporter=bob).count() == 1


def test_a_hidden_message_or_an_erased_authors_cannot_be_reported_nor_read_on_the_report_page(alice, bob, carol):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Le texte masqué",
                                        client_id=uuid.uuid4()).conversation
    message = group.messages.get()
    services.hide_message(message=message)
    response = client_for(bob).get(reverse("messaging:report", args=[group.pk, message.pk]))
    assert response.status_code == 404 and "Le texte masqué" not in response.content.decode()
    later = services.send_message(author=carol, conversation=group, body="Avant l'effacement",
                                  client_id=uuid.uuid4())
    from live.accounts.services import erase_account

    erase_account(user=carol, password=helpers.PASSWORD)
    assert client_for(bob).get(reverse("messaging:report", args=[group.pk, later.pk])).status_code == 404


def test_export_is_a_json_download(alice, bob, chat):
    response = client_for(alice).get(reverse("messaging:export"))
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["conversations"][0]["messages"][0]["body"] == "Salut Bob"


def test_adding_someone_from_the_group_page(alice, bob, carol, dave):
    group = services.start_conversation(author=alice, recipients=["bob", "carol"], body="Hi",
                                        client_id=uuid.uuid4()).conversation
    page = client_for(alice).get(group.get_absolute_url()).content.decode()
    assert reverse("messaging:add", args=[group.pk]) in page
    response = client_for(alice).post(reverse("messaging:add", args=[group.pk]), {"to": "dave"}, follow=True)
    assert "dave was added by alice" in response.content.decode()
    assert client_for(dave).get(group.get_absolute_url()).status_code == 200
    refused = client_for(alice).post(reverse("messaging:add", args=[group.pk]), {"to": "alice"}, follow=True)
    assert "You cannot write to yourself." in refused.content.decode()


@pytest.mark.parametrize("upto", ["abc", "0", "1.5", "9" * 30])
def test_a_read_receipt_that_names_no_message_is_refused_and_marks_nothing_read(alice, bob, chat, upto):
    """A receipt's position that is no message id is bad input: refused, and bob's unread messages stay unread (it
    used to mark the whole conversation read, as a form without a position does)."""
    send(alice, chat, "Pas encore lu")
    unread = services.unread_count(bob)
    assert unread
    response = client_for(bob).post(reverse("messaging:read", args=[chat.pk]), {"upto": upto}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert services.unread_count(bob) == unread
