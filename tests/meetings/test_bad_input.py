"""A phone's writes with input that names nothing real: refused with a clear error tied to its field, nothing
written, no rate-limit attempt spent (HTTP with and without htmx; the socket's writes are in test_socket_writes.py).

- alice: signed in, joined the meeting (tests/meetings/conftest.py);
- fiona: the global facilitator who runs it.
"""

import re

import pytest

from meetings import services
from meetings.models import Contribution
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


@pytest.fixture
def alice_phone(open_meeting, alice):
    services.join(meeting=open_meeting, user=alice)
    return signed_in(alice)


def _other_meetings_item(fiona):
    other = make_meeting(fiona, title="Atelier mobilités")
    return other.agenda_items.first().pk


@pytest.mark.parametrize("value", ["999999", "trois", "-1", "1.5", "other"])
def test_it_refuses_a_contribution_about_an_agenda_item_that_does_not_exist_with_htmx(
        settings, open_meeting, alice_phone, fiona, value):
    settings.RATE_LIMITS = {"contribution": "1/60"}
    value = str(_other_meetings_item(fiona)) if value == "other" else value
    url = f"/meetings/{open_meeting.pk}/live/contribute/"
    response = alice_phone.post(url, {"body": "Des bancs", "agenda_item": value, "client_id": "c-1"}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#contribution-item-errors"
    assert "agenda item" in response.content.decode()
    assert not Contribution.objects.exists()
    # The refusal spent nothing: the one contribution the limit allows still goes through.
    item = open_meeting.agenda_items.first()
    ok = alice_phone.post(url, {"body": "Des bancs", "agenda_item": str(item.pk), "client_id": "c-2"}, **HTMX)
    assert ok.status_code == 200
    assert Contribution.objects.get().agenda_item == item


def test_it_refuses_a_contribution_about_an_unknown_item_without_javascript(open_meeting, alice_phone):
    response = alice_phone.post(f"/meetings/{open_meeting.pk}/live/contribute/",
                                {"body": "Des bancs à l'ombre", "agenda_item": "12345678", "client_id": "c-1"})
    assert response.status_code == 400
    page = response.content.decode()
    form = page[page.index('id="contribution-form"'):page.index("</form>", page.index('id="contribution-form"'))]
    assert "Des bancs à l&#x27;ombre</textarea>" in form
    assert re.search(r'<select id="contribution-item"[^>]*aria-invalid="true"', form)
    assert not re.search(r'<textarea[^>]*aria-invalid', form)
    errors = form[form.index('id="contribution-item-errors"'):]
    assert "agenda item" in errors[:300]
    assert not Contribution.objects.exists()


def test_the_general_choice_is_still_a_contribution_about_the_meeting(open_meeting, alice_phone):
    response = alice_phone.post(f"/meetings/{open_meeting.pk}/live/contribute/",
                                {"body": "En général", "agenda_item": "", "client_id": "c-1"}, **HTMX)
    assert response.status_code == 200
    assert Contribution.objects.get().agenda_item is None
