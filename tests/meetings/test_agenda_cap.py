"""An agenda has at most MEETINGS_MAX_AGENDA_ITEMS items: every phone renders the whole agenda in its "About" list,
so a facilitator's 100,000 lines would be a denial of service for the room. fiona: the global facilitator."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from meetings import services
from tests.meetings.conftest import signed_in

pytestmark = pytest.mark.django_db


def _edit(meeting, agenda):
    return {"title": meeting.title, "description": "", "kind": "in_person", "place": meeting.place,
            "online_url": "", "starts_at": "2026-12-10T18:00", "ends_at": "2026-12-10T20:00", "agenda": agenda,
            "facilitator_names": "", "premoderation": "on", "capacity": "", "registration_code": ""}


def test_it_refuses_an_agenda_past_the_cap_on_the_edit_form_and_keeps_the_agenda(settings, meeting, fiona):
    settings.MEETINGS_MAX_AGENDA_ITEMS = 5
    before = [(i.title, i.duration_minutes) for i in meeting.agenda_items.all()]
    agenda = "\n".join(f"Point {n} | 5" for n in range(100_000))
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/edit/", _edit(meeting, agenda))
    assert response.status_code == 400
    assert "An agenda has at most 5 items (this one has 100000)." in response.content.decode()
    assert [(i.title, i.duration_minutes) for i in meeting.agenda_items.all()] == before
    agenda = "\n".join(f"Point {n} | 5" for n in range(5))
    assert signed_in(fiona).post(f"/meetings/{meeting.pk}/edit/", _edit(meeting, agenda)).status_code == 302
    assert meeting.agenda_items.count() == 5


def test_it_refuses_a_meeting_created_with_too_many_items_and_writes_nothing(settings, fiona):
    settings.MEETINGS_MAX_AGENDA_ITEMS = 3
    with pytest.raises(ValidationError) as refused:
        services.create_meeting(actor=fiona, title="Trop long", kind="online", online_url="https://meet.jit.si/x",
                                starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1),
                                agenda=[(f"Point {n}", 0) for n in range(4)])
    assert refused.value.message_dict == {"agenda": ["An agenda has at most 3 items (this one has 4)."]}
    assert not services.Meeting.objects.filter(title="Trop long").exists()


def test_the_cap_has_a_sane_default(settings):
    from live import settings as live_settings

    assert 20 <= live_settings.MEETINGS_MAX_AGENDA_ITEMS <= 200
