"""Download my data (RGPD articles 15 and 20): every kind of personal data is in its owner's archive and in nobody
else's; the link is the owner's only, expires, and is rate limited; a guest gets a clear answer.

- alice: has one of everything, each marked "ALICE-<kind>";
- bob: has his own things, and must find none of alice's in his archive;
- carol: alice's correspondent (their conversation is in both their archives, in nobody else's)."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from debates import services as debates
from live.messaging import services as messaging
from live.messaging.models import Preference as MessagingPreference
from live.moderation import services as moderation
from live.notifications.models import Notification, Preferences, PushSubscription
from live.notifications.services import notify
from meetings import services as meetings
from opendata.services import set_hide_name
from privacy.models import DataExport
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

KINDS = ["profile", "debates", "comments", "votes", "messages", "meetings", "registrations", "reports",
         "moderation", "notifications", "preferences", "devices", "blocks"]


def signed_in(user, language="fr"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def world(alice, bob, carol, fiona):
    alice.bio = "ALICE-bio"
    alice.save()
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    own = debates.create_debate(author=alice, title="ALICE-debate", description="Une idée pour le quartier")
    comment = debates.post_comment(author=alice, debate=debate, body="ALICE-comment", alignment=-1)
    bobs = debates.post_comment(author=bob, debate=debate, body="BOB-comment", alignment=1)
    debates.vote(comment=bobs, user=alice, value=-1)
    debates.vote(comment=comment, user=bob, value=1)
    messaging.start_conversation(author=alice, recipients=[carol], body="ALICE-message to carol")
    messaging.start_conversation(author=bob, recipients=[carol], body="BOB-message to carol")
    messaging.block_user(blocker=alice, blocked=bob)
    meeting = make_meeting(fiona, premoderation=False, registration_enabled=True, title="ALICE-meeting")
    meetings.register(user=alice, meeting=meeting)
    participant = meetings.join(meeting=meeting, user=alice, ip="198.51.100.4")
    meetings.post_contribution(participant=participant, body="ALICE-contribution")
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Une fontaine ?", choices=["ALICE-choice", "Non"])
    poll = meetings.open_poll(actor=fiona, poll=poll)
    meetings.answer_poll(participant=participant, poll=poll, choices=[poll.choices.get(label="ALICE-choice").pk])
    words = meetings.open_poll(actor=fiona, poll=meetings.create_poll(actor=fiona, meeting=meeting, question="Un mot ?",
                                                                     kind="words"))
    meetings.answer_words(participant=participant, poll=words, texts=["ALICE-word"])
    moderation.report(reporter=alice, kind="comment", object_id=bobs.pk, reason="other", details="ALICE-report")
    notify(user=alice, kind="test", text="ALICE-notification")
    Preferences.objects.filter(user=alice).update(language="en", mention="push", email_rhythm="now")
    PushSubscription.objects.create(user=alice, endpoint="https://push.example.net/ALICE-device", p256dh="k" * 40,
                                    auth="ALICE-secret")
    MessagingPreference.objects.create(user=alice, accept_from="nobody")
    set_hide_name(user=alice, hide=True)
    return {"debate": debate, "own": own}


def archive_of(user) -> dict[str, str]:
    client = signed_in(user)
    assert client.post("/privacy/my-data/export/").status_code == 302
    export = DataExport.objects.filter(user=user).latest("pk")
    response = client.get(export.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_every_kind_of_alices_data_is_in_her_archive_and_in_nobody_elses(alice, bob, carol, world):
    mine, bobs = archive_of(alice), archive_of(bob)

    assert sorted(mine) == sorted([f"{kind}.json" for kind in KINDS] + ["index.html"])
    for kind in KINDS:
        json.loads(mine[f"{kind}.json"])  # each file is JSON
    expected = {"profile.json": ["alice@example.org", "ALICE-bio"], "debates.json": ["ALICE-debate"],
                "comments.json": ["ALICE-comment", "Piétonniser la place ?", "Against"],  # her language: en
                "votes.json": ['"value": -1'], "messages.json": ["ALICE-message to carol", "carol"],
                "meetings.json": ["ALICE-contribution", "ALICE-choice", "ALICE-word", "198.51.100.4"],
                "registrations.json": ["ALICE-meeting"], "reports.json": ["ALICE-report"],
                "notifications.json": ["ALICE-notification"], "blocks.json": ['"blocked": "bob"'],
                "preferences.json": ['"language": "en"', '"mention": "push"', '"email_rhythm": "now"',
                                     '"messages_accepted_from": "nobody"', '"open_data_name_hidden": true'],
                "devices.json": ["https://push.example.net/ALICE-device"]}
    for name, needles in expected.items():
        for needle in needles:
            assert needle in mine[name], (name, needle)
    assert "ALICE-comment" in mine["index.html"]
    # In the language she chose for her notifications (English), whatever the site's or her browser's.
    assert '<html lang="en">' in mine["index.html"]
    assert "The data of alice on Agora Live" in mine["index.html"] and "stance" in mine["index.html"]
    assert '<html lang="fr">' in bobs["index.html"] and "Les données de bob" in bobs["index.html"]
    everything_bob_got = "".join(bobs.values())
    for needle in ["ALICE-bio", "alice@example.org", "ALICE-debate", "ALICE-comment", "ALICE-message",
                   "ALICE-contribution", "ALICE-choice", "ALICE-word", "198.51.100.4", "ALICE-report", "ALICE-notification",
                   "ALICE-device", '"open_data_name_hidden": true', '"messages_accepted_from": "nobody"']:
        assert needle not in everything_bob_got, needle
    assert "ALICE-secret" not in "".join(mine.values())  # the browser's push keys stay out
    assert "BOB-comment" in bobs["comments.json"] and "BOB-comment" not in mine["comments.json"]
    assert "BOB-message" not in mine["messages.json"]  # bob and carol's conversation is not alice's


def test_the_owner_is_told_when_it_is_ready(alice, world):
    signed_in(alice).post("/privacy/my-data/export/")

    export = DataExport.objects.get(user=alice)
    assert export.status == "ready" and export.progress == 100
    note = Notification.objects.filter(user=alice, kind="export_ready").get()
    assert note.url == export.get_absolute_url()
    page = signed_in(alice).get("/privacy/my-data/").content.decode()
    assert export.get_absolute_url() in page


def test_a_build_given_up_as_stuck_stores_nothing_when_it_ends_after_all(alice, monkeypatch):
    """A build running past STUCK counts as failed, and asking again starts a new one; the old build, still running
    after all, ends without storing its archive over the failure or telling its owner twice."""
    from privacy import services

    old = DataExport.objects.create(user=alice, status=DataExport.Status.PENDING)
    DataExport.objects.filter(pk=old.pk).update(created_at=timezone.now() - services.STUCK - timedelta(minutes=1))
    archive = services._archive

    def slow_archive(export):
        content = archive(export)
        services.request_export(user=alice)  # meanwhile, alice asks again: the old one is given up
        return content

    monkeypatch.setattr(services, "_archive", slow_archive)
    services.build_export(export_id=old.pk)
    old.refresh_from_db()
    assert old.status == DataExport.Status.FAILED and old.archive is None
    new = DataExport.objects.exclude(pk=old.pk).get(user=alice)
    assert new.status == DataExport.Status.READY  # built at once here (the tests' immediate task backend)
    assert Notification.objects.filter(user=alice, kind="export_ready").count() == 1
    assert services.build_export(export_id=old.pk).status == DataExport.Status.FAILED  # a retry leaves it so


def test_someone_elses_link_is_refused_and_says_why(alice, bob, world):
    signed_in(alice).post("/privacy/my-data/export/")
    export = DataExport.objects.get(user=alice)

    response = signed_in(bob, "en").get(export.get_absolute_url())

    assert response.status_code == 403
    assert "This download link is not yours, or does not exist." in response.content.decode()
    assert signed_in(bob, "en").get("/privacy/exports/made-up-token/").status_code == 403


def test_an_expired_link_is_refused_and_says_why(alice, world):
    signed_in(alice).post("/privacy/my-data/export/")
    DataExport.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = signed_in(alice, "en").get(DataExport.objects.get(user=alice).get_absolute_url())

    assert response.status_code == 403
    assert "This archive has expired" in response.content.decode()


def test_a_guest_asking_for_an_export_is_told_to_sign_in(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/privacy/my-data/export/")

    assert response.status_code == 403
    assert "Sign in to download your data." in response.content.decode()
    assert not DataExport.objects.exists()


def test_downloads_are_rate_limited(alice, world, settings):
    settings.RATE_LIMITS = {"export_download": "2/3600"}
    client = signed_in(alice, "en")
    client.post("/privacy/my-data/export/")
    url = DataExport.objects.get(user=alice).get_absolute_url()
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_erasing_the_account_deletes_its_archives(alice, world):
    from live.accounts.services import erase_account
    from tests.helpers import PASSWORD

    signed_in(alice).post("/privacy/my-data/export/")
    erase_account(user=alice, password=PASSWORD)

    assert not DataExport.objects.exists()


# What points to a person but is not theirs to download, and why; everything else pointing to a person must be in
# their archive (privacy.selectors.KINDS names the model it reads). A new model pointing to a person fails here
# until it is exported or listed with its reason.
NOT_EXPORTED = {
    "admin.LogEntry.user": "the Django admin's own log of staff edits",
    "messaging.Conversation.created_by": "the conversation is exported with its messages",
    "moderation.Case.hidden_by": "a moderator's decision, part of the moderation log",
    "moderation.ActionLog.actor": "the moderation log keeps the facts of moderators' actions",
    "debates.Debate.closed_by": "the debate is public; who closed it is shown on its page",
    "debates.Debate.locked_by": "a moderator's decision, part of the moderation log",
    "debates.DebateUpdate.author": "information updates are public announcements on the debate's page",
    "debates.Comment.hidden_by": "a moderator's decision, part of the moderation log",
    "meetings.Meeting.created_by": "the meeting is public",
    "messaging.Block.blocked": "who blocked them is the blocker's data, not theirs",
    "privacy.DataExport.user": "the archives themselves",
    "socialaccount.SocialToken.account": "the access token Decidim gave: a secret that acts as them on Decidim",
}
# Exported, read through a relation or another app's selector rather than by their model's name.
EXPORTED_THROUGH = {
    "accounts.RoleAssignment.user": "profile.json: roles_in_spaces",
    "account.EmailAddress.user": "profile.json: email_addresses",
    "messaging.Message.author": "messages.json: live.messaging.services.visible_messages",
    "moderation.Case.author": "moderation.json: the decisions on their items (ActionLog.case)",
}


def test_every_model_that_points_to_a_person_is_exported_or_says_why():
    import inspect

    from django.apps import apps
    from django.contrib.auth import get_user_model

    from privacy import selectors

    source = inspect.getsource(selectors)
    missing = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is get_user_model():
                name = f"{model._meta.label}.{field.name}"
                if name not in NOT_EXPORTED | EXPORTED_THROUGH and model.__name__ not in source:
                    missing.append(name)
    assert missing == []


def test_a_date_shaped_message_from_bob_cannot_block_alices_archive(alice, bob):
    """Only what privacy.selectors reads as a date is shown as one: text typed by someone is text, whatever its
    shape (this one is no date at all: month 13)."""
    from privacy import services

    messaging.start_conversation(author=bob, recipients=[alice], body="2024-13-01T10:00")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == "ready"
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        index = archive.read("index.html").decode()
        assert '"text": "2024-13-01T10:00"' in archive.read("messages.json").decode()
    assert re.search(r"<dd>2024-13-01T10:00\s*</dd>", index)  # as typed, not as a date
    assert f'<time datetime="{alice.date_joined.isoformat()}">' in index  # a real date still shows as one


def test_what_alice_wrote_in_a_group_she_left_is_in_her_archive_and_nothing_written_after(alice, bob, carol):
    """Leaving a group takes it off her pages, not her words out of it: those stay for the others and are still
    hers (article 15). What the others wrote is not (she no longer sees the conversation)."""
    from privacy import services

    group = messaging.start_conversation(author=alice, recipients=[bob, carol], body="ALICE-before-leaving")
    messaging.send_message(author=bob, conversation=group.conversation, body="BOB-in-the-group")
    messaging.leave_conversation(user=alice, conversation=group.conversation)
    messaging.send_message(author=carol, conversation=group.conversation, body="CAROL-after-alice-left")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        data = json.loads(archive.read("messages.json"))
        index = archive.read("index.html").decode()
    [left] = [c for c in data if c["conversation_id"] == group.conversation_id]
    assert [m["text"] for m in left["messages"]] == ["ALICE-before-leaving"] and left["left_at"]
    assert "BOB-in-the-group" not in json.dumps(data) and "CAROL-after-alice-left" not in index
    assert "ALICE-before-leaving" in index


def test_the_moderation_decisions_about_alice_are_in_her_archive_without_the_moderators_name(alice, bob, mona):
    """Article 15 covers the decisions taken about a person: the hide of her comment and the warning she got, with
    their reasons and dates. Who decided (mona) and who reported her (bob) stay out."""
    from privacy import services

    debate = debates.create_debate(author=bob, title="Le marché", description="Le dimanche ?")
    comment = debates.post_comment(author=alice, debate=debate, body="ALICE-hidden-comment")
    moderation.report(reporter=bob, kind="comment", object_id=comment.pk, reason="offensive", details="BOB-details")
    moderation.hide(actor=mona, kind="comment", object_id=comment.pk, reason="HIDE-reason")
    moderation.warn(actor=mona, user=alice, reason="WARN-reason")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        everything = "".join(archive.read(name).decode() for name in archive.namelist())
        decisions = json.loads(archive.read("moderation.json"))
    assert {(d["decision"], d["reason"]) for d in decisions} >= {("hide", "HIDE-reason"), ("warn", "WARN-reason")}
    assert all(d["decided_at"] for d in decisions)
    assert "mona" not in everything and "BOB-details" not in everything


def test_alices_raised_hands_sessions_and_what_decidim_sent_are_in_her_archive(alice, fiona):
    """What stands for her without pointing to her account directly: her raised hands (through her meeting seat),
    the sessions signing her in, and the profile Decidim sent with her consent to show its picture."""
    from allauth.socialaccount.models import SocialAccount

    from decidim.models import PictureConsent
    from privacy import services

    meeting = make_meeting(fiona, premoderation=False, title="ALICE-meeting")
    meetings.raise_hand(participant=meetings.join(meeting=meeting, user=alice, ip="198.51.100.4"))
    account = SocialAccount.objects.create(user=alice, provider="decidim", uid="ALICE-uid",
                                           extra_data={"name": "ALICE-decidim-name", "image": "https://x.example/a.png"})
    PictureConsent.objects.create(account=account)
    signed_in(alice).get("/privacy/my-data/")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        data = {name: json.loads(archive.read(name)) for name in archive.namelist() if name.endswith(".json")}
    [hand] = data["meetings.json"]["raised_hands"]
    assert hand["meeting"] == "ALICE-meeting" and hand["raised_at"]
    [decidim] = data["profile.json"]["decidim_accounts"]
    assert decidim["as_decidim_sent_it"]["name"] == "ALICE-decidim-name" and decidim["picture_shown_since"]
    [session] = data["profile.json"]["sessions"]
    assert session["expires_at"] and list(session) == ["expires_at"]  # never the key: it signs her in


def test_every_model_that_stands_for_a_person_is_exported_or_says_why():
    """The same walk one step further: what points to a meeting seat or a Decidim account points to a person."""
    import inspect

    from allauth.socialaccount.models import SocialAccount
    from django.apps import apps

    from meetings.models import Participant as Seat
    from privacy import selectors

    source = inspect.getsource(selectors)
    missing = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in (Seat, SocialAccount):
                name = f"{model._meta.label}.{field.name}"
                if name not in NOT_EXPORTED | EXPORTED_THROUGH and model.__name__ not in source:
                    missing.append(name)
    assert missing == []


def test_an_address_decidim_gave_that_differs_from_her_profiles_is_in_her_archive(alice):
    """Signing up with Decidim records the address Decidim sent (allauth's EmailAddress); she may have changed her
    profile's since: both are hers."""
    from allauth.account.models import EmailAddress

    from privacy import services

    EmailAddress.objects.create(user=alice, email="ALICE-old@decidim.example", verified=True, primary=True)
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "alice@example.org"
    assert [a["email"] for a in profile["email_addresses"]] == ["ALICE-old@decidim.example"]


def test_a_contribution_a_facilitator_hid_says_so_and_why_in_her_archive(alice, fiona):
    """A facilitator's hide in the room is no moderation case (moderation.json): the contribution itself says when it
    was hidden and the reason she was given."""
    from privacy import services

    meeting = make_meeting(fiona, premoderation=False)
    contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=alice),
                                              body="ALICE-contribution")
    meetings.hide_contribution(actor=fiona, contribution=contribution, reason="FIONA-reason")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        [mine] = json.loads(archive.read("meetings.json"))["contributions"]
    assert mine["hidden_by_moderation_at"] and mine["hidden_reason"] == "FIONA-reason"


def test_the_reports_alice_made_say_what_the_moderators_decided(alice, bob, carol, mona):
    """A report's `decided_at` alone does not tell her whether the item was hidden, shown again or her report
    dismissed: the outcome is in her archive too (the decision, never who took it)."""
    from privacy import selectors

    debate = debates.create_debate(author=bob, title="Le marché", description="Le dimanche ?")
    hidden = debates.post_comment(author=bob, debate=debate, body="Un")
    dismissed = debates.post_comment(author=carol, debate=debate, body="Deux")
    pending = debates.post_comment(author=carol, debate=debate, body="Trois")
    for comment in (hidden, dismissed, pending):
        moderation.report(reporter=alice, kind="comment", object_id=comment.pk, reason="offensive")
    moderation.hide(actor=mona, kind="comment", object_id=hidden.pk, reason="Insultant")
    moderation.dismiss(actor=mona, kind="comment", object_id=dismissed.pk)

    reports = {r["object_id"]: r for r in selectors.reports(alice)}

    assert reports[hidden.pk]["outcome"] == "hide"
    assert reports[dismissed.pk]["outcome"] == "dismiss"
    assert reports[pending.pk]["outcome"] is None
    assert reports[hidden.pk]["decided_at"] is not None
    assert "mona" not in json.dumps(reports, default=str)


def test_a_notification_written_in_another_language_than_her_archives_is_marked(alice):
    """Her notifications keep the language they were written in; her archive is in the one she chose since: the
    index marks those texts (lang, WCAG 3.1.2) and the JSON says which language each text is in."""
    from privacy import services

    Preferences.objects.update_or_create(user=alice, defaults={"language": "fr"})
    notify(user=alice, kind="test", text="ALICE-en-français")
    Preferences.objects.filter(user=alice).update(language="en")
    notify(user=alice, kind="test", text="ALICE-in-english")
    export = DataExport.objects.create(user=alice)

    services.build_export(export_id=export.pk)

    export.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        index = archive.read("index.html").decode()
        items = {n["text"]: n for n in json.loads(archive.read("notifications.json"))}
    assert '<html lang="en">' in index
    assert items["ALICE-en-français"]["text_language"] == "fr"
    assert re.search(r'<dd lang="fr">ALICE-en-français\s*</dd>', index)
    assert re.search(r"<dd>ALICE-in-english\s*</dd>", index)
