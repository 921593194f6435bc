import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from live.models import Event
from live.moderation import services
from live.moderation.models import ActionLog, Case, Report
from live.notifications.models import Notification
from tests import helpers
from tests.moderation.conftest import HIDDEN, make_thing

pytestmark = pytest.mark.django_db


def test_bob_reports_alices_thing_and_moderators_are_told(alice, bob):
    thing = make_thing(alice, "Achetez des montres")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam", details="pub")
    case = Case.objects.get(kind="thing", object_id=thing.pk)
    assert case.status == Case.Status.OPEN and case.report_count == 1 and case.space == "debate.7"
    assert case.author == alice and case.excerpt == "Achetez des montres"
    streams_told = set(Event.objects.filter(kind="case.updated").values_list("stream", flat=True))
    assert streams_told == {"moderation.global", "moderation.debate.7"}
    assert thing.pk not in HIDDEN


def test_reporting_again_updates_the_one_report(alice, bob):
    thing = make_thing(alice)
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="offensive", details="en fait, insultant")
    [report] = Report.objects.all()
    assert (report.reason, report.details) == ("offensive", "en fait, insultant")
    assert Case.objects.get().report_count == 1


def test_repeated_reports_by_one_person_count_once_and_never_auto_hide(alice, bob):
    thing = make_thing(alice)
    for _ in range(5):
        services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    assert Case.objects.get().report_count == 1
    assert thing.pk not in HIDDEN


def test_three_distinct_reporters_hide_it_automatically(alice, bob, carol, dave):
    thing = make_thing(alice, "Pénible")
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    services.report(reporter=carol, kind="thing", object_id=thing.pk, reason="offensive")
    assert thing.pk not in HIDDEN
    services.report(reporter=dave, kind="thing", object_id=thing.pk, reason="other")
    assert thing.pk in HIDDEN
    case = Case.objects.get()
    assert case.auto_hidden and case.hidden_at and case.status == Case.Status.OPEN  # still awaits review
    assert ActionLog.objects.get().action == "auto_hide"
    assert ActionLog.objects.get().actor is None
    assert Notification.objects.filter(user=alice, kind="moderation.hidden").exists()


def test_the_threshold_is_a_setting(settings, alice, bob, carol):
    settings.MODERATION_AUTO_HIDE_THRESHOLD = 2
    thing = make_thing(alice)
    services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    services.report(reporter=carol, kind="thing", object_id=thing.pk, reason="spam")
    assert thing.pk in HIDDEN


@pytest.mark.parametrize("bad", [
    {"reason": "because"},
    {"kind": "nonsense"},
    {"object_id": 999999},
    {"object_id": "abc"},
    {"object_id": 10**30},
    {"object_id": -1},
    {"details": "x" * 1001},
    {"details": "bidi \u202e override"},
])
def test_bad_input_is_refused_and_nothing_written(alice, bob, bad):
    thing = make_thing(alice)
    args = {"reporter": bob, "kind": "thing", "object_id": thing.pk, "reason": "spam", "details": "", **bad}
    with pytest.raises(ValidationError):
        services.report(**args)
    assert not Report.objects.exists() and not Case.objects.exists()


def test_alice_cannot_report_her_own_thing(alice):
    thing = make_thing(alice)
    with pytest.raises(ValidationError):
        services.report(reporter=alice, kind="thing", object_id=thing.pk, reason="spam")


def test_can_report_of_the_registry_is_obeyed(alice, carol):
    private = Notification.objects.create(user=alice, kind="thing-private", text="secret", url="conversation.3")
    with pytest.raises(PermissionDenied):
        services.report(reporter=carol, kind="thing", object_id=private.pk, reason="spam")
    assert not Report.objects.exists()


def test_anonymous_and_blocked_people_cannot_report(alice, bob):
    from django.contrib.auth.models import AnonymousUser
    from django.utils import timezone

    thing = make_thing(alice)
    with pytest.raises(PermissionDenied):
        services.report(reporter=AnonymousUser(), kind="thing", object_id=thing.pk, reason="spam")
    type(bob).objects.filter(pk=bob.pk).update(blocked_at=timezone.now())
    with pytest.raises(PermissionDenied):
        services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="spam")
    assert not Report.objects.exists()


def test_a_profile_can_be_reported_but_not_hidden(alice, bob, carol, dave, mona):
    for reporter in (bob, carol, dave):
        services.report(reporter=reporter, kind="user", object_id=alice.pk, reason="offensive")
    case = Case.objects.get(kind="user")
    assert case.report_count == 3 and case.hidden_at is None  # no auto-hide for people: warn or block instead
    with pytest.raises(ValidationError):
        services.hide(actor=mona, kind="user", object_id=alice.pk, reason="no")


def test_report_view_files_the_report_and_goes_back(client, alice, bob):
    thing = make_thing(alice)
    client.force_login(bob)
    response = client.post("/moderation/report/", {"kind": "thing", "id": thing.pk, "reason": "spam",
                                                   "details": "", "next": "/debates/"})
    assert response.status_code == 302 and response["Location"] == "/debates/"
    assert Report.objects.filter(reporter=bob).count() == 1


def test_report_view_with_htmx_answers_a_thank_you(client, alice, bob):
    thing = make_thing(alice)
    client.force_login(bob)
    response = client.post("/moderation/report/", {"kind": "thing", "id": thing.pk, "reason": "spam"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"report-done" in response.content


def test_report_view_sends_anonymous_visitors_to_sign_in(client, alice):
    thing = make_thing(alice)
    response = client.post("/moderation/report/", {"kind": "thing", "id": thing.pk, "reason": "spam"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Report.objects.exists()


def test_report_page_without_javascript(client, alice, bob):
    client.force_login(bob)
    response = client.get(f"/moderation/report/?kind=user&id={alice.pk}")
    assert response.status_code == 200 and b'name="reason"' in response.content


def test_report_view_shows_errors(client, alice, bob):
    thing = make_thing(alice)
    client.force_login(bob)
    response = client.post("/moderation/report/", {"kind": "thing", "id": thing.pk, "reason": "nope"})
    assert response.status_code == 400
    assert not Report.objects.exists()
    _ = helpers  # the cast comes from tests/conftest.py
