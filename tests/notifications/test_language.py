"""Every notification is written in its recipient's language, never the actor's."""

from django.core import mail
from django.utils import translation

from debates import services as debates
from live.moderation import services as moderation
from live.notifications import services
from live.notifications.models import Notification, Rhythm
from tests.notifications.conftest import prefs


def test_a_french_resident_gets_french_text_when_the_replier_browses_in_english(debate, alice, bob,
                                                                               django_capture_on_commit_callbacks):
    prefs(alice, last_language="fr", email_rhythm=Rhythm.NOW)
    prefs(bob, last_language="en")
    root = debates.post_comment(author=alice, debate=debate, body="La place doit rester ouverte.")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        debates.post_comment(author=bob, debate=debate, body="I agree with you.", parent=root)
    notification = Notification.objects.get(user=alice, kind="debate.reply")
    assert notification.text.startswith("bob a répondu à votre commentaire"), notification.text
    assert len(mail.outbox) == 1
    assert "bob a répondu à votre commentaire" in mail.outbox[0].subject
    assert "Bonjour" in mail.outbox[0].body


def test_the_chosen_language_wins_over_the_last_used_one(debate, alice, bob):
    prefs(alice, last_language="fr", language="en")
    root = debates.post_comment(author=alice, debate=debate, body="Hello")
    with translation.override("fr"):
        debates.post_comment(author=bob, debate=debate, body="Bonjour", parent=root)
    assert Notification.objects.get(user=alice, kind="debate.reply").text.startswith("bob replied to your comment")


def test_without_any_choice_or_visit_the_text_is_french(debate, alice, bob):
    root = debates.post_comment(author=alice, debate=debate, body="Hello")
    debates.post_comment(author=bob, debate=debate, body="Hi", parent=root)
    assert "a répondu" in Notification.objects.get(user=alice, kind="debate.reply").text


def test_browsing_in_english_is_remembered_for_the_notifications(client, alice, debate, mona):
    client.force_login(alice)
    client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert services.language_of(alice) == "en"
    comment = debates.post_comment(author=alice, debate=debate, body="Something rude")
    with translation.override("fr"):  # the moderator browses in French
        moderation.hide(actor=mona, kind="comment", object_id=comment.pk, reason="Propos insultants")
    text = Notification.objects.get(user=alice, kind="moderation.hidden").text
    assert text.startswith("A moderator hid your comment"), text
    client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert services.language_of(alice) == "fr"


def item_of(html: str, notification) -> str:
    start = html.index(f'id="notification-{notification.pk}"')
    return html[start:html.index("</li>", start)]


def test_a_notification_in_another_language_than_the_page_is_marked_with_its_language(client, debate, alice, bob):
    """WCAG 3.1.2: alice reads her notifications in French (her choice) but browses in English: a screen reader
    must read the French text with a French voice."""
    prefs(alice, language="fr")
    root = debates.post_comment(author=alice, debate=debate, body="La place doit rester ouverte.")
    debates.post_comment(author=bob, debate=debate, body="I agree with you.", parent=root)
    french = Notification.objects.get(user=alice, kind="debate.reply")
    assert french.language == "fr"
    prefs(alice, language="en")
    debates.post_comment(author=bob, debate=debate, body="Still agreeing.", parent=root)
    english = Notification.objects.filter(user=alice, kind="debate.reply").exclude(pk=french.pk).get()
    assert english.language == "en"
    client.force_login(alice)
    html = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="fr"' in item_of(html, french) and "lang=" not in item_of(html, english)
    html = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "lang=" not in item_of(html, french) and 'lang="en"' in item_of(html, english)


def test_a_pushed_notification_and_its_announcement_carry_the_language_of_their_text(debate, alice, bob):
    from live.notifications import renderers

    prefs(alice, language="fr")
    root = debates.post_comment(author=alice, debate=debate, body="La place doit rester ouverte.")
    debates.post_comment(author=bob, debate=debate, body="I agree with you.", parent=root)
    notification = Notification.objects.get(user=alice, kind="debate.reply")
    with translation.override("en"):  # the push for alice's tabs in English
        pushed = renderers.created_html(notification, 1)
    assert 'lang="fr"' in item_of(pushed, notification)
    announcer = pushed[pushed.index('id="live-announcer"'):]
    assert announcer.startswith('id="live-announcer" hx-swap-oob="innerHTML">New notification: <span lang="fr">bob a')
    with translation.override("fr"):
        assert "lang=" not in renderers.created_html(notification, 1)
