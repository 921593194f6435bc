"""A contribution sent over HTTP with htmx (the page's socket closed) is answered with what changed only: the text
box emptied, a fresh client id, the confirmation in the form's polite status line, the form's other errors cleared.
The kind chosen, the agenda item and the focus stay as the person left them (nothing else is swapped). Without
JavaScript the page comes back whole. alice: signed in, joined (conftest)."""

import re

import pytest

from meetings.models import Contribution
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "contribution-form"}


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


def test_it_answers_htmx_with_what_changed_only(open_meeting, alice):
    from meetings import services

    services.join(meeting=open_meeting, user=alice)
    item = open_meeting.agenda_items.last()
    response = signed_in(alice).post(f"/meetings/{open_meeting.pk}/live/contribute/", {
        "body": "Des bancs à l'ombre", "kind": "idea", "agenda_item": str(item.pk), "client_id": "sent-1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<form" not in html and "<select" not in html and 'name="kind"' not in html  # what was chosen stays
    box = re.search(r'<textarea id="contribution-body"[^>]*>(.*?)</textarea>', html, re.S)
    assert box and 'hx-swap-oob="true"' in box.group(0) and box.group(1) == ""
    client_id = re.search(r'<input type="hidden" id="contribution-client-id" name="client_id" value="([^"]+)" '
                          r'hx-swap-oob="true">', html)
    assert client_id and client_id.group(1) != "sent-1"
    assert re.search(r'hx-swap-oob="innerHTML:#contribution-form-message">Posted\.</', html)
    assert 'id="contribution-form-errors"' in html and 'id="contribution-item-errors"' in html
    contribution = Contribution.objects.get()
    assert (contribution.kind, contribution.agenda_item) == ("idea", item)


def test_the_page_has_the_targets_of_that_answer(open_meeting, alice):
    from meetings import services

    services.join(meeting=open_meeting, user=alice)
    page = signed_in(alice).get(f"/meetings/{open_meeting.pk}/live/").content.decode()
    form = page[page.index('id="contribution-form"'):page.index("</form>", page.index('id="contribution-form"'))]
    assert 'hx-swap="none"' in form and "outerHTML" not in form
    assert re.search(r'<p id="contribution-form-message" class="form-message" role="status"', form)
    assert 'id="contribution-client-id"' in form


def test_without_javascript_the_page_comes_back_whole(open_meeting, alice):
    from meetings import services

    services.join(meeting=open_meeting, user=alice)
    phone = signed_in(alice)
    response = phone.post(f"/meetings/{open_meeting.pk}/live/contribute/", {"body": "Sans JS", "client_id": "n-1"})
    assert response.status_code == 302 and response["Location"] == f"/meetings/{open_meeting.pk}/live/"
    page = phone.get(response["Location"]).content.decode()
    assert "Posted." in page and "Sans JS" in page
