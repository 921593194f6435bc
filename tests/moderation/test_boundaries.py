"""What moderators may decide on, and what they see: private messages only once reported, never their own items,
blocks that count as moderation's hides."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from live.messaging import services as messaging
from live.messaging.models import Message
from live.moderation import services
from live.moderation.models import ActionLog, Case


@pytest.fixture
def private_message(alice, bob):
    """alice's message to bob, in their one-to-one conversation: nobody else's business."""
    conversation = messaging.start_conversation(author=alice, recipients=["bob"], body="Mon code est 4521",
                                                client_id=uuid.uuid4()).conversation
    return Message.objects.filter(conversation=conversation, kind=Message.Kind.MESSAGE).get()


@pytest.mark.parametrize("action", ["hide", "unhide", "dismiss"])
def test_a_moderator_cannot_act_on_a_private_message_nobody_reported(private_message, mona, action):
    with pytest.raises(ValidationError) as unreported:
        services.ACTIONS[action](actor=mona, kind="message", object_id=private_message.pk, reason="Vu")
    with pytest.raises(ValidationError) as missing:
        services.ACTIONS[action](actor=mona, kind="message", object_id=private_message.pk + 1000, reason="Vu")
    assert unreported.value.messages == missing.value.messages  # nothing tells that the message exists
    assert not Case.objects.filter(kind="message").exists()
    assert not ActionLog.objects.filter(kind="message").exists()
    private_message.refresh_from_db()
    assert private_message.hidden_at is None


def test_the_act_page_answers_alike_for_an_unreported_and_a_missing_message(private_message, mona, client):
    client.force_login(mona)
    answers = [client.post("/moderation/act/", {"kind": "message", "id": pk, "action": "hide", "reason": "Vu"},
                           HTTP_HX_REQUEST="true")
               for pk in (private_message.pk, private_message.pk + 1000)]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].content == answers[1].content
    assert not Case.objects.filter(kind="message").exists()
    page = client.get(f"/moderation/people/{private_message.author_id}/")
    assert "4521" not in page.content.decode()


def test_a_reported_private_message_can_be_hidden(private_message, bob, mona):
    services.report(reporter=bob, kind="message", object_id=private_message.pk, reason="offensive")
    services.hide(actor=mona, kind="message", object_id=private_message.pk, reason="Insulte")
    private_message.refresh_from_db()
    assert private_message.hidden_at is not None


# --- a moderator's own content: another moderator decides ----------------------------------------------------------

@pytest.fixture
def max_(db):
    """max: a second global moderator, who writes too."""
    from tests import helpers

    return helpers.make_user("max", role="moderator")


@pytest.mark.parametrize("action", ["hide", "unhide", "dismiss"])
def test_a_moderator_cannot_decide_on_reports_about_their_own_item(max_, bob, action):
    from django.core.exceptions import PermissionDenied

    from live.moderation.models import Report
    from tests.moderation.conftest import make_thing

    thing = make_thing(max_, "Mon avis")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="offensive")
    with translation.override("en"), pytest.raises(PermissionDenied, match="another moderator decides"):
        services.ACTIONS[action](actor=max_, kind="thing", object_id=thing.pk, reason="Rien à redire")
    assert Report.objects.get(reporter=bob).resolved_at is None
    assert not ActionLog.objects.exists()


def test_a_moderators_queue_leaves_out_the_reports_about_their_own_item(max_, mona, bob, client):
    from tests.moderation.conftest import make_thing

    thing = make_thing(max_, "Mon avis tranché")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="offensive")
    client.force_login(max_)
    page = client.get("/moderation/").content.decode()
    assert "Mon avis tranché" not in page and "bob" not in page
    client.force_login(mona)
    assert "Mon avis tranché" in client.get("/moderation/").content.decode()


def test_the_live_queue_push_leaves_the_authors_row_and_reporters_out(max_, mona, bob):
    from live import streams
    from live.models import Event
    from live.moderation.streams import audience
    from tests.moderation.conftest import make_thing

    thing = make_thing(max_, "Mon avis tranché")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="offensive")
    event = Event.objects.filter(stream="moderation.global", kind="case.updated").latest("seq")
    frames = streams.frames(event)
    for lang in streams.languages():
        own = streams.pick(frames, audience(max_.pk), lang)
        other = streams.pick(frames, audience(mona.pk), lang)
        assert "Mon avis tranché" in other and "bob" in other
        assert "Mon avis tranché" not in own and "bob" not in own


def test_a_moderator_does_not_see_who_reported_their_profile(max_, mona, bob, client):
    services.report(reporter=bob, kind="user", object_id=max_.pk, reason="offensive")
    client.force_login(max_)
    assert "bob" not in client.get(f"/moderation/people/{max_.pk}/").content.decode()
    client.force_login(mona)
    assert "bob" in client.get(f"/moderation/people/{max_.pk}/").content.decode()


# --- reporting a private message: only one the reporter can see --------------------------------------------------

@pytest.fixture
def group(alice, bob, carol):
    """alice, bob and carol's group."""
    return messaging.start_conversation(author=alice, recipients=["bob", "carol"], body="Bienvenue",
                                        client_id=uuid.uuid4()).conversation


def test_bob_cannot_report_a_message_hidden_from_him_because_he_blocked_its_author(group, bob, carol):
    from django.core.exceptions import PermissionDenied

    messaging.block_user(blocker=bob, blocked=carol)
    unseen = messaging.send_message(author=carol, conversation=group, body="Bob ne lit pas ceci",
                                    client_id=uuid.uuid4())
    assert not messaging.visible_messages(bob, group).filter(pk=unseen.pk).exists()
    with pytest.raises(PermissionDenied):
        services.report(reporter=bob, kind="message", object_id=unseen.pk, reason="offensive")
    assert not Case.objects.exists()


def test_a_system_line_cannot_be_reported(group, bob, carol):
    from django.core.exceptions import PermissionDenied

    messaging.leave_conversation(user=carol, conversation=group)
    line = Message.objects.get(conversation=group, kind=Message.Kind.LEFT)
    with pytest.raises(PermissionDenied):
        services.report(reporter=bob, kind="message", object_id=line.pk, reason="spam")
    assert not Case.objects.exists()


def test_bob_reports_a_message_he_sees(group, bob, carol):
    seen = messaging.send_message(author=carol, conversation=group, body="Insulte", client_id=uuid.uuid4())
    services.report(reporter=bob, kind="message", object_id=seen.pk, reason="offensive")
    assert Case.objects.get(kind="message").report_count == 1


# --- reports of an account blocked since -----------------------------------------------------------------------

def test_reports_of_an_account_blocked_since_do_not_count_toward_auto_hide(alice, bob, carol, mona, settings):
    from tests.moderation.conftest import HIDDEN, make_thing

    settings.MODERATION_AUTO_HIDE_THRESHOLD = 2
    thing = make_thing(alice, "Un avis")
    services.report(reporter=carol, kind="thing", object_id=thing.pk, reason="spam")
    services.block(actor=mona, user=carol, reason="Signalements abusifs")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    assert thing.pk not in HIDDEN
    assert Case.objects.get(kind="thing").report_count == 1


@pytest.mark.parametrize("how", ["blocked", "deactivated"])
def test_blocking_or_deactivating_a_reporter_shows_again_what_their_report_had_hidden(alice, bob, carol, mona,
                                                                                      admin_user, settings, how):
    """A blocked or deactivated account's pending reports stop counting: what they alone pushed past the threshold
    is shown again (logged), and the case waits for a moderator with the reports that still count."""
    from live.accounts import services as accounts
    from tests.moderation.conftest import HIDDEN, make_thing

    settings.MODERATION_AUTO_HIDE_THRESHOLD = 2
    thing = make_thing(alice, "Un avis")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    services.report(reporter=carol, kind="thing", object_id=thing.pk, reason="spam")
    assert thing.pk in HIDDEN
    if how == "blocked":
        services.block(actor=mona, user=carol, reason="Signalements abusifs")
    else:
        accounts.deactivate(actor=admin_user, user=carol, reason="Compte de signalements abusifs")
    assert thing.pk not in HIDDEN
    case = Case.objects.get(kind="thing")
    assert case.hidden_at is None and case.report_count == 1 and case.is_open  # bob's report awaits a moderator
    assert ActionLog.objects.filter(action=ActionLog.Action.UNHIDE, case=case).exists()


def test_a_profile_cannot_be_unhidden_and_no_restore_is_logged(alice, mona):
    with pytest.raises(ValidationError):
        services.unhide(actor=mona, kind="user", object_id=alice.pk, reason="Rien")
    assert not ActionLog.objects.filter(action=ActionLog.Action.UNHIDE).exists()
    assert not Case.objects.filter(kind="user").exists()


def test_the_log_csv_neutralizes_formulas_in_nicknames_too(alice, mona, admin_user, client):
    import csv
    import io

    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=mona.pk).update(nickname="=cmd|' /C calc'!A0")
    get_user_model().objects.filter(pk=alice.pk).update(nickname="+alice")
    mona.refresh_from_db()
    services.warn(actor=mona, user=alice, reason="Attention")
    client.force_login(admin_user)
    rows = list(csv.reader(io.StringIO(client.get("/moderation/log/?format=csv").content.decode())))
    assert rows[1][1] == "'=cmd|' /C calc'!A0" and rows[1][6] == "'+alice"


def test_an_old_session_is_not_told_it_is_blocked_after_the_unblock(alice, mona, client):
    client.force_login(alice)
    services.block(actor=mona, user=alice, reason="Spam")
    services.unblock(actor=mona, user=alice, reason="Appel accepté")
    response = client.get("/debates/")
    assert response.status_code == 200  # signed out by the block, but not sent away with "blocked"
    assert "blocked" not in response.content.decode() and "bloqué" not in response.content.decode()
    assert "moderation_blocked" not in client.session


def test_a_session_of_a_still_blocked_account_is_told(alice, mona, client):
    client.force_login(alice)
    services.block(actor=mona, user=alice, reason="Spam")
    response = client.get("/debates/")
    assert response.status_code == 302 and "blocked=1" in response["Location"]


def test_reporting_again_after_a_dismiss_reopens_the_case_without_hiding_it(alice, bob, carol, dave, mona, settings):
    from tests.moderation.conftest import HIDDEN, make_thing

    settings.MODERATION_AUTO_HIDE_THRESHOLD = 2
    thing = make_thing(alice, "Un avis")
    for reporter in (bob, carol):
        services.report(reporter=reporter, kind="thing", object_id=thing.pk, reason="spam")
    assert thing.pk in HIDDEN
    services.dismiss(actor=mona, kind="thing", object_id=thing.pk, reason="Rien d'interdit")
    assert thing.pk not in HIDDEN
    for reporter in (bob, carol):
        services.report(reporter=reporter, kind="thing", object_id=thing.pk, reason="spam")
    case = Case.objects.get(kind="thing")
    assert thing.pk not in HIDDEN and case.is_open and case.report_count == 2  # for a moderator to look again
    services.report(reporter=dave, kind="thing", object_id=thing.pk, reason="spam")
    assert thing.pk not in HIDDEN  # one new reporter: below the threshold of new reports

