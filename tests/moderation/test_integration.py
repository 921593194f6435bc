"""The registry as the apps fill it: debates' comments and locks, messaging's messages, meetings' slow mode."""

import pytest
from django.core.exceptions import PermissionDenied

from debates import services as debates
from live.messaging import services as messaging
from live.models import Event
from live.moderation import services
from live.moderation.models import ActionLog
from tests import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture
def comment(fiona, alice):
    debate = debates.create_debate(author=fiona, title="Faut-il piétonniser la place du marché ?",
                                   description="La mairie propose de fermer la place aux voitures le samedi.")
    return debates.post_comment(author=alice, debate=debate, body="Bande d'idiots")


def test_three_reports_hide_a_debate_comment_for_every_open_page(comment, bob, carol):
    dave = helpers.make_user("dave")
    for reporter in (bob, carol, dave):
        services.report(reporter=reporter, kind="comment", object_id=comment.pk, reason="offensive")
    comment.refresh_from_db()
    assert comment.hidden_at is not None
    assert Event.objects.filter(stream=f"debate.{comment.debate_id}", kind="comment.hidden").exists()


def test_a_space_moderator_locks_and_slows_their_debate(comment):
    sam = helpers.make_user("sam")
    from live.accounts.models import RoleAssignment

    space = f"debate.{comment.debate_id}"
    RoleAssignment.objects.create(user=sam, role="moderator", space=space)
    services.set_lock(actor=sam, space=space, locked=True, reason="Le ton monte")
    services.set_slow_mode(actor=sam, space=space, seconds=60)
    debate = comment.debate
    debate.refresh_from_db()
    assert debate.comments_locked and debate.slow_mode_seconds == 60
    assert Event.objects.filter(stream=space, kind="debate.locked").exists()
    assert [a.action for a in ActionLog.objects.order_by("pk")] == ["lock", "slow_mode"]
    other = debates.create_debate(author=comment.debate.author, title="Un autre débat sur la ville",
                                  description="Rien à voir avec le premier débat.")
    with pytest.raises(PermissionDenied):
        services.set_lock(actor=sam, space=f"debate.{other.pk}", locked=True, reason="Non")


def test_unlocking_a_debate_that_is_open_logs_nothing_and_tells_no_page(comment, mona):
    """An unlock sent twice (two moderators, a double click): the second finds the debate open and does nothing."""
    space = f"debate.{comment.debate_id}"
    services.set_lock(actor=mona, space=space, locked=True, reason="Le ton monte")
    services.set_lock(actor=mona, space=space, locked=False)
    events = Event.objects.filter(stream=space).count()
    services.set_lock(actor=mona, space=space, locked=False)
    assert [a.action for a in ActionLog.objects.order_by("pk")] == ["lock", "unlock"]
    assert Event.objects.filter(stream=space).count() == events


def test_slow_mode_on_a_meeting(mona, fiona):
    from tests.meetings.conftest import make_meeting

    meeting = make_meeting(fiona)
    services.set_slow_mode(actor=mona, space=f"meeting.{meeting.pk}", seconds=45, reason="Trop de messages")
    meeting.refresh_from_db()
    assert meeting.slow_mode_seconds == 45


def test_only_participants_report_a_private_message(alice, bob, carol, mona):
    message = messaging.start_conversation(author=alice, recipients=[bob], body="Un message privé")
    with pytest.raises(PermissionDenied):
        services.report(reporter=carol, kind="message", object_id=message.pk, reason="spam")
    services.report(reporter=bob, kind="message", object_id=message.pk, reason="offensive")
    services.hide(actor=mona, kind="message", object_id=message.pk, reason="Insulte")
    message.refresh_from_db()
    assert message.hidden_at is not None


def test_blocking_can_hide_everything_the_person_wrote(comment, alice, bob, mona):
    message = messaging.start_conversation(author=alice, recipients=[bob], body="Encore moi")
    services.block(actor=mona, user=alice, reason="Harcèlement", hide_content=True)
    comment.refresh_from_db()
    message.refresh_from_db()
    assert comment.hidden_at is not None and message.hidden_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_block_hiding_everything_and_a_report_hiding_one_comment_at_once_both_go_through(comment, alice, bob,
                                                                                           carol, mona):
    """A third report is hiding alice's comment (its case locked, the comment next) while a moderator blocks alice
    with all her content hidden: the block waits for the case before touching her comments, as every hide does,
    instead of holding the comment the report needs while waiting for the case (a deadlock: one of the two failed)."""
    from live.moderation.models import Case

    dave = helpers.make_user("dave")
    for reporter in (bob, carol):
        services.report(reporter=reporter, kind="comment", object_id=comment.pk, reason="offensive")

    def lock_the_case():
        return Case.objects.select_for_update().get(kind="comment", object_id=comment.pk)

    def third_report():
        services.report(reporter=dave, kind="comment", object_id=comment.pk, reason="offensive")

    _case, blocked = helpers.while_held(
        lock_the_case, lambda: services.block(actor=mona, user=alice, reason="Harcèlement", hide_content=True),
        then=third_report)
    assert not isinstance(blocked, Exception), blocked
    comment.refresh_from_db()
    alice.refresh_from_db()
    assert comment.hidden_at is not None and alice.is_blocked


def test_a_long_reason_reaches_the_author_whole(comment, mona, fiona):
    """A moderator explains at length (450 characters, within the form's 500): the author's page shows the reason
    the log keeps, not a cut one."""
    from meetings import services as meetings
    from meetings.models import Contribution
    from tests.meetings.conftest import make_meeting

    reason = "Ce commentaire vise une personne nommément. " * 10
    services.hide(actor=mona, kind="comment", object_id=comment.pk, reason=reason)
    comment.refresh_from_db()
    assert comment.hidden_reason == reason.strip()
    services.set_lock(actor=mona, space=f"debate.{comment.debate_id}", locked=True, reason=reason)
    comment.debate.refresh_from_db()
    assert comment.debate.lock_reason == reason.strip()
    meeting = make_meeting(fiona)
    guest = meetings.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    contribution = meetings.post_contribution(participant=guest, body="Une question")
    services.hide(actor=mona, kind="contribution", object_id=contribution.pk, reason=reason)
    assert Contribution.objects.get(pk=contribution.pk).hidden_reason == reason.strip()
