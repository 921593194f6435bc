"""The home page: the latest debates and meetings, each list from its own app (registered in live/features.py)."""

import pytest
from django.test import Client

from tests.debates.conftest import make_debate
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


def test_it_lists_the_latest_debates_and_meetings_with_links_to_all(fiona):
    debate = make_debate(fiona, title="Faut-il piétonniser la place ?")
    meeting = make_meeting(fiona, title="Conseil de quartier")
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    debates, meetings = html.index('id="home-debates"'), html.index('id="home-meetings"')
    assert debates < html.index(f'href="{debate.get_absolute_url()}"') < meetings  # debates first, as before
    assert meetings < html.index(f'href="{meeting.get_absolute_url()}"')
    assert "Live now" in html and 'href="/debates/"' in html and 'href="/meetings/"' in html


def test_it_says_when_there_is_nothing_yet():
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert "No debate yet." in html and "No meeting scheduled yet." in html
