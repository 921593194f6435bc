"""The accessibility statement (RGAA's model): linked from every page's footer, the city's facts from settings."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_states_the_conformance_the_contact_and_the_recourse_in_french(settings):
    settings.ACCESSIBILITY_ENTITY = "Ville de Nanterre"
    settings.ACCESSIBILITY_CONTACT_EMAIL = "accessibilite@mairie-nanterre.example"
    settings.ACCESSIBILITY_CONTACT_ADDRESS = "88-118 rue du 8 Mai 1945, 92000 Nanterre"
    html = Client().get("/accessibility/").content.decode()
    assert "Déclaration d&#x27;accessibilité" in html or "Déclaration d'accessibilité" in html
    assert "Ville de Nanterre" in html and "partiellement conforme" in html
    assert 'href="mailto:accessibilite@mairie-nanterre.example"' in html
    assert "88-118 rue du 8 Mai 1945" in html
    assert "Défenseur des droits" in html and "Libre réponse 71120" in html


def test_without_the_citys_contact_it_points_to_the_usual_channels(settings):
    settings.ACCESSIBILITY_CONTACT_EMAIL = settings.ACCESSIBILITY_CONTACT_URL = ""
    settings.ACCESSIBILITY_CONTACT_ADDRESS = ""
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accessibility/").content.decode()
    assert "Through the city's usual contact channels." in html
    assert "mailto:" not in html


@pytest.mark.parametrize("path", ["/", "/debates/", "/meetings/join/", "/accounts/login/"])
def test_every_page_links_to_it_from_the_footer(path):
    html = Client().get(path).content.decode()
    footer = html[html.index('<footer class="site-footer">'):]
    assert 'href="/accessibility/"' in footer and "Accessibilité : partiellement conforme" in footer.replace("\xa0", " ")
