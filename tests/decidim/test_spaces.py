"""Debates and meetings link back to their Decidim page: a breadcrumb, the closing report, the debate published
from a meeting; only into a configured Decidim."""

import pytest
from django.urls import reverse

from debates.models import Debate
from meetings import services as meetings
from tests.debates.conftest import make_debate
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.django_db]
PROCESS = "https://participer.ville.example/processes/budget-2027"


@pytest.fixture
def ville(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": [
        {"provider_id": "decidim-main", "name": "Participer à Ville", "client_id": "x", "secret": "y",
         "settings": {"url": "https://participer.ville.example"}}]}}


def debate_form(**extra):
    return {"title": "La place du marché piétonne ?", "description": "Donnez votre avis sur le projet.", **extra}


def test_fiona_links_her_debate_to_the_decidim_process(client, fiona, ville):
    client.force_login(fiona)
    response = client.post(reverse("debates:create"), debate_form(decidim_url=PROCESS))
    debate = Debate.objects.get()
    assert response.status_code == 302 and debate.decidim_url == PROCESS
    page = client.get(debate.get_absolute_url()).content.decode()
    assert f'<a href="{PROCESS}" class="decidim-back">Retour à Participer à Ville</a>' in page
    assert 'aria-current="page">La place du marché piétonne ?' in page


def test_a_link_outside_the_configured_decidim_is_refused(client, fiona, ville):
    client.force_login(fiona)
    response = client.post(reverse("debates:create"), debate_form(decidim_url="https://evil.example/processes/x"))
    assert response.status_code == 400 and "pas sur une plateforme Decidim" in response.content.decode()
    assert not Debate.objects.exists()


def test_without_decidim_the_field_is_not_offered_and_editing_keeps_the_link(client, fiona, ville, settings):
    debate = make_debate(fiona)
    Debate.objects.filter(pk=debate.pk).update(decidim_url=PROCESS)
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": []}}
    client.force_login(fiona)
    assert 'name="decidim_url"' not in client.get(reverse("debates:create")).content.decode()
    client.post(reverse("debates:edit", args=[debate.pk]), debate_form())
    debate.refresh_from_db()
    assert debate.title == "La place du marché piétonne ?" and debate.decidim_url == PROCESS
    assert "decidim-back" not in client.get(debate.get_absolute_url()).content.decode()  # no organization: no link


def test_the_closing_report_and_the_published_debate_link_back(client, fiona, alice, ville):
    meeting = make_meeting(fiona, decidim_url=PROCESS + "/f/12/meetings/34")
    contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=alice),
                                              body="Plus de bancs sur la place")
    meetings.approve_contribution(actor=fiona, contribution=contribution)
    meetings.save_report(actor=fiona, meeting=meeting, minutes="Trois projets retenus.", attendees=30, publish=True)
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert f'href="{PROCESS}/f/12/meetings/34">Cette réunion sur Participer à Ville' in page
    debate = meetings.publish_as_debate(actor=fiona, meeting=meeting)
    assert debate.decidim_url == PROCESS + "/f/12/meetings/34"
    assert f'<a href="{PROCESS}/f/12/meetings/34" class="decidim-back">' in client.get(
        debate.get_absolute_url()).content.decode()
