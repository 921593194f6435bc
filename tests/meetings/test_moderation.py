"""Contributions through the platform's moderation: reports, auto-hide, moderator hide, blocking, space slow mode."""

import pytest

from live.models import Event
from live.moderation import services as moderation
from meetings import services
from meetings.models import Contribution, Meeting
from tests.meetings.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def visible(meeting, fiona, alice_in):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    return services.post_contribution(participant=alice_in, body="Un texte signalé")


def test_a_moderator_hides_a_contribution_and_it_leaves_every_stream(meeting, visible, mona):
    before = Event.objects.filter(stream=meeting.screen_stream_key).count()
    moderation.hide(actor=mona, kind="contribution", object_id=visible.pk, reason="Hors sujet")
    assert not Contribution.objects.get(pk=visible.pk).is_visible
    assert Event.objects.filter(stream=meeting.screen_stream_key).count() == before + 1
    moderation.unhide(actor=mona, kind="contribution", object_id=visible.pk)
    assert Contribution.objects.get(pk=visible.pk).is_visible


def test_reports_from_distinct_people_auto_hide(meeting, visible, bob, carol, settings):
    settings.MODERATION_AUTO_HIDE_THRESHOLD = 2
    moderation.report(reporter=bob, kind="contribution", object_id=visible.pk, reason="spam")
    assert Contribution.objects.get(pk=visible.pk).is_visible
    moderation.report(reporter=carol, kind="contribution", object_id=visible.pk, reason="spam")
    assert not Contribution.objects.get(pk=visible.pk).is_visible


def test_a_guest_contribution_can_be_reported_and_hidden(meeting, fiona, guest, bob, mona):
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    c = services.post_contribution(participant=guest, body="Écrit par un invité")
    moderation.report(reporter=bob, kind="contribution", object_id=c.pk, reason="offensive")
    moderation.hide(actor=mona, kind="contribution", object_id=c.pk, reason="Injurieux")
    assert not Contribution.objects.get(pk=c.pk).is_visible


def test_blocking_with_hide_content_hides_their_contributions(meeting, visible, alice, mona):
    moderation.block(actor=mona, user=alice, reason="Harcèlement", hide_content=True)
    assert not Contribution.objects.get(pk=visible.pk).is_visible


def test_a_moderator_sets_the_meeting_slow_mode(meeting, mona):
    moderation.set_slow_mode(actor=mona, space=meeting.space, seconds=30, reason="Trop de messages")
    assert Meeting.objects.get(pk=meeting.pk).slow_mode_seconds == 30


def test_report_form_on_the_phone_posts_to_moderation(meeting, visible, bob):
    client = signed_in(bob)
    page = client.get(f"/meetings/{meeting.pk}/live/").content.decode()
    assert 'action="/moderation/report/"' in page and 'name="kind" value="contribution"' in page
    response = client.post("/moderation/report/", {"kind": "contribution", "id": visible.pk, "reason": "spam"})
    assert response.status_code in (200, 302)
    from live.moderation.models import Report

    assert Report.objects.filter(reporter=bob).count() == 1


def test_a_facilitator_cannot_undo_a_moderators_hide(meeting, visible, mona, fiona):
    """mona (moderator) hid alice's contribution: fiona's console does not offer "Unhide" for it and refuses it, so
    the contribution stays off every phone and screen, and the case, the log and alice's page stay true."""
    from live.moderation.models import ActionLog, Case

    moderation.hide(actor=mona, kind="contribution", object_id=visible.pk, reason="Hors sujet")
    client = signed_in(fiona)
    console = client.get(f"/meetings/{meeting.pk}/console/").content.decode()
    row = console.split(f'id="row-{visible.pk}"')[1].split("</article>")[0]
    assert 'value="unhide"' not in row and "Hidden by moderation" in row
    events = Event.objects.filter(stream=meeting.screen_stream_key).count()
    response = client.post(f"/meetings/{meeting.pk}/console/contributions/{visible.pk}/", {"action": "unhide"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert "only a moderator can show it again" in response.content.decode()
    assert not Contribution.objects.get(pk=visible.pk).is_visible
    assert Case.objects.get(kind="contribution", object_id=visible.pk).hidden_at is not None
    assert Event.objects.filter(stream=meeting.screen_stream_key).count() == events
    assert not ActionLog.objects.filter(action="unhide").exists()
    moderation.unhide(actor=mona, kind="contribution", object_id=visible.pk)  # moderation's own way still works
    assert Contribution.objects.get(pk=visible.pk).is_visible


def test_a_facilitator_still_unhides_what_a_facilitator_hid(meeting, visible, fiona):
    services.hide_contribution(actor=fiona, contribution=visible)
    client = signed_in(fiona)
    console = client.get(f"/meetings/{meeting.pk}/console/").content.decode()
    assert 'value="unhide"' in console.split(f'id="row-{visible.pk}"')[1].split("</article>")[0]
    client.post(f"/meetings/{meeting.pk}/console/contributions/{visible.pk}/", {"action": "unhide"})
    assert Contribution.objects.get(pk=visible.pk).is_visible


def test_a_facilitator_cannot_undo_what_a_block_hid(meeting, visible, alice, mona, fiona):
    """mona blocked alice and hid all she wrote: the block counts as moderation's hide, so fiona's console refuses
    to show alice's contribution again, and alice's "my moderated content" page lists it with the reason."""
    from live.moderation.models import Case

    moderation.block(actor=mona, user=alice, reason="Harcèlement répété", hide_content=True)
    case = Case.objects.get(kind="contribution", object_id=visible.pk)
    assert case.hidden_at is not None and case.hidden_by == mona and not case.auto_hidden
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/console/contributions/{visible.pk}/",
                                     {"action": "unhide"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert not Contribution.objects.get(pk=visible.pk).is_visible
    alice.blocked_at = None  # only to read her page: her account is the one the block recorded against
    alice.save(update_fields=["blocked_at"])
    mine = signed_in(alice).get("/moderation/mine/").content.decode()
    assert "Un texte signalé" in mine and "Harcèlement répété" in mine
