"""Importing a Decidim meeting through Decidim's GraphQL API (<decidim>/api), against a local HTTP server that
answers as Decidim does: the recorded answer for a public meeting (recorded/meeting_34.json, in the shape of
Decidim's Meetings/Meeting API types), `meeting: null` for a private one, an error page when it is down."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings.models import Meeting
from tests.helpers import free_port

pytestmark = [pytest.mark.django_db]
RECORDED = Path(__file__).parent / "recorded"


class DecidimApi(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/broken/api":
            return self._answer(500, b"<html><h1>We're sorry, but something went wrong.</h1></html>", "text/html")
        if self.path == "/slow/api":
            time.sleep(2)
        if self.path == "/huge/api":  # a list of a million translations: 40 MB
            return self._answer(200, b'{"data": {"component": {"meeting": {"title": {"translations": ['
                                + b",".join([b'{"locale": "fr", "text": "ab"}'] * 1_000_000) + b"]}}}}}",
                                "application/json")
        if self.path == "/trickle/api":  # a byte every 0.2 s: each read is quick, the whole never ends in time
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            return None
        if self.path == "/redirect/api":  # sends the POST on elsewhere (an address inside the city's network...)
            self.send_response(307)
            self.send_header("Location", "/elsewhere/api")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/elsewhere/api":
            self.server.hits.append(self.path)
            text = (RECORDED / "meeting_34.json").read_text().replace("DECIDIM_URL", self.server.url)
            return self._answer(200, text.encode(), "application/json")
        assert self.path in ("/api", "/slow/api") and "AgoraMeeting" in body["query"]
        variables = body["variables"]
        if variables["meeting"] in self.server.answers:  # what a test put there (a hostile Decidim)
            answer = {"data": {"component": {"__typename": "Meetings",
                                             "meeting": self.server.answers[variables["meeting"]]}}}
        elif variables["component"] != "12":
            answer = {"data": {"component": None}}
        elif variables["meeting"] == "34":
            text = (RECORDED / "meeting_34.json").read_text().replace("DECIDIM_URL", self.server.url)
            answer = json.loads(text)
        else:  # private, withdrawn or unpublished: Decidim's API answers null
            answer = {"data": {"component": {"__typename": "Meetings", "meeting": None}}}
        self._answer(200, json.dumps(answer).encode(), "application/json")

    def _answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def decidim_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), DecidimApi)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.answers, server.hits = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def organizations(decidim_api, settings):
    apps = {"main": decidim_api.url, "down": f"http://127.0.0.1:{free_port()}",
            **{key: f"{decidim_api.url}/{key}" for key in ("broken", "slow", "huge", "trickle", "redirect")}}
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": [
        {"provider_id": f"decidim-{key}", "name": f"Decidim {key}", "client_id": "x", "secret": "y",
         "settings": {"url": url}} for key, url in apps.items()]}}
    settings.DECIDIM_TIMEOUT = 1
    return apps


def import_(client, url):
    return client.post(reverse("decidim:import_meeting"), {"url": url})


def test_fiona_imports_a_public_meeting(client, fiona, organizations):
    client.force_login(fiona)
    url = organizations["main"] + "/processes/budget-2027/f/12/meetings/34"
    response = import_(client, url)
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == meeting.get_absolute_url()
    assert meeting.title == "Budget participatif : atelier du quartier Nord"
    assert meeting.description == "Venez proposer vos projets pour le quartier. Garderie sur place & accès PMR."
    assert meeting.kind == "hybrid"
    assert meeting.place == "Salle des fêtes, 12 rue de la République, 92000 Nanterre"
    assert timezone.localtime(meeting.starts_at).strftime("%d/%m %H:%M") == "10/12 18:30"
    assert timezone.localtime(meeting.ends_at).strftime("%H:%M") == "20:30"
    assert meeting.decidim_url == url and meeting.online_url == url  # the link appears there before the meeting
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert f'href="{url}" class="decidim-back"' in page and "Retour à Decidim main" in page


def test_a_long_video_conference_link_is_imported(client, fiona, organizations, decidim_api):
    """Teams and Zoom links run to several hundred characters: one of 600 imports as it is."""
    link = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + "N" * 520 + "%40thread.v2/0?context=%7b%7d"
    decidim_api.answers["91"] = {**recorded_meeting(decidim_api.url), "onlineMeetingUrl": link}
    client.force_login(fiona)
    response = import_(client, organizations["main"] + "/processes/budget-2027/f/12/meetings/91")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Meeting.objects.get().online_url == link


@pytest.mark.parametrize("path, message", [
    ("/processes/budget-2027/f/12/meetings/35", "ne montre pas cette réunion publiquement"),   # private
    ("/processes/budget-2027/f/99/meetings/34", "ne montre pas cette réunion publiquement"),   # no such component
    ("/processes/budget-2027/f/12/proposals/34", "n’est pas l’adresse d’une réunion"),        # not a meeting
])
def test_what_cannot_be_imported_says_why_and_creates_nothing(client, fiona, organizations, path, message):
    client.force_login(fiona)
    response = import_(client, organizations["main"] + path)
    assert response.status_code == 400 and message in response.content.decode().replace("&#x27;", "’")
    assert not Meeting.objects.exists()


def test_an_address_outside_the_configured_decidims_is_refused(client, fiona, organizations):
    client.force_login(fiona)
    response = import_(client, "https://evil.example/processes/x/f/12/meetings/34")
    assert response.status_code == 400 and "pas sur une plateforme Decidim" in response.content.decode()
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("org, message", [("down", "ne peut pas être joint"), ("broken", "ne peut pas être joint"),
                                          ("slow", "a mis trop de temps")])
def test_decidim_down_broken_or_slow(client, fiona, organizations, org, message):
    client.force_login(fiona)
    response = import_(client, organizations[org] + "/processes/budget-2027/f/12/meetings/34")
    assert response.status_code == 400 and message in response.content.decode()
    assert not Meeting.objects.exists()


def test_participants_cannot_import(client, alice, organizations):
    client.force_login(alice)
    response = import_(client, organizations["main"] + "/processes/budget-2027/f/12/meetings/34")
    assert response.status_code == 403 and not Meeting.objects.exists()


def test_without_decidim_there_is_no_import(client, fiona, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": []}}
    client.force_login(fiona)
    assert "Importer depuis Decidim" not in client.get(reverse("meetings:list")).content.decode()
    assert client.get(reverse("decidim:import_meeting")).status_code == 404


def recorded_meeting(url) -> dict:
    text = (RECORDED / "meeting_34.json").read_text().replace("DECIDIM_URL", url)
    return json.loads(text)["data"]["component"]["meeting"]


@pytest.mark.parametrize("change", [
    {"title": {"translations": [{"locale": "fr", "text": 123}]}},
    {"title": {"translations": "Atelier"}},
    {"title": "Atelier"},
    {"description": {"translations": [{"locale": "fr", "text": ["<p>a</p>"]}]}},
    {"startTime": 1765387800},
    {"endTime": {"date": "2026-12-10"}},
    {"address": ["12 rue de la République"]},
    {"location": [{"locale": "fr", "text": "Salle"}]},
    {"onlineMeetingUrl": {"href": "https://visio.example"}},
    {"url": 34},
    {"typeOfMeeting": ["hybrid"]},
])
def test_a_decidim_answer_of_the_wrong_shape_is_refused_with_a_message(client, fiona, organizations, decidim_api,
                                                                        change):
    decidim_api.answers["90"] = {**recorded_meeting(decidim_api.url), **change}
    client.force_login(fiona)
    client.cookies["django_language"] = "en"
    response = import_(client, organizations["main"] + "/processes/budget-2027/f/12/meetings/90")
    assert response.status_code == 400 and "answered something we cannot read" in response.content.decode()
    assert not Meeting.objects.exists()


def test_an_answer_too_big_is_not_read_to_the_end(client, fiona, organizations):
    client.force_login(fiona)
    client.cookies["django_language"] = "en"
    response = import_(client, organizations["huge"] + "/processes/budget-2027/f/12/meetings/34")
    assert response.status_code == 400 and "answered something we cannot read" in response.content.decode()
    assert not Meeting.objects.exists()


def test_an_answer_trickling_in_is_cut_at_the_timeout(client, fiona, organizations):
    client.force_login(fiona)
    started = time.monotonic()
    response = import_(client, organizations["trickle"] + "/processes/budget-2027/f/12/meetings/34")
    assert time.monotonic() - started < 4  # DECIDIM_TIMEOUT is 1 s; the answer would take 10 s
    assert response.status_code == 400 and "a mis trop de temps" in response.content.decode()
    assert not Meeting.objects.exists()


def test_a_redirect_from_decidims_api_is_not_followed(client, fiona, organizations, decidim_api):
    client.force_login(fiona)
    response = import_(client, organizations["redirect"] + "/processes/budget-2027/f/12/meetings/34")
    assert response.status_code == 400 and "ne peut pas être joint" in response.content.decode()
    assert decidim_api.hits == [] and not Meeting.objects.exists()


def test_html_in_an_imported_meeting_is_text(client, fiona, organizations, decidim_api):
    decidim_api.answers["91"] = {**recorded_meeting(decidim_api.url),
                                 "title": {"translations": [{"locale": "fr", "text": '<img src=x onerror="alert(1)">Atelier'}]},
                                 "description": {"translations": [{"locale": "fr", "text":
                                                 "<p>&lt;script&gt;alert(2)&lt;/script&gt;Texte</p>"}]}}
    client.force_login(fiona)
    import_(client, organizations["main"] + "/processes/budget-2027/f/12/meetings/91")
    meeting = Meeting.objects.get()
    assert meeting.title == '<img src=x onerror="alert(1)">Atelier'  # as Decidim wrote it, shown as text
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x" in page and "&lt;script&gt;alert(2)" in page
