"""A fake Decidim organization for the whole run: tests/decidim/fake_decidim (django-oauth-toolkit behaving as
Decidim's Doorkeeper) in its own process on a spare port, and the helpers that walk its sign-in and consent pages
as a person would, with plain HTTP (the browser test does it in Chromium)."""

import html
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from tests.helpers import ARTIFACTS, free_port

CLIENT_ID, CLIENT_SECRET = "agora-live-client", "agora-live-secret"
PASSWORD = "decidim-password-42"
# The people of the fake Decidim. Each test that cares whether consent was already given uses a person of its own
# (Doorkeeper skips the consent screen once a valid token exists, for the whole run).
PEOPLE = {
    "camille": "camille@decidim.example",           # first sign-in, nickname free
    "camille2": "camille2@decidim.example",         # signs in twice: the second time skips consent
    "alice": "alice.martin@decidim.example",        # her Decidim nickname is taken here by our alice
    "bobby": "bob@example.org",                     # same address as our bob: linked only with bob's password
    "dom": "dom@decidim.example",                   # relative avatar path
    "eve": "eve@decidim.example",                   # Decidim's default avatar
    "refuser": "refuser@decidim.example",           # refuses consent
    "errors": "errors@decidim.example",             # walks the broken endpoints
    "claire": "claire@decidim.example",             # the browser test
    "blocked": "blocked@decidim.example",           # linked to an account blocked here
    "dora": "dora@decidim.example",                 # erases her Decidim-made account (test_erase.py)
    "odile": "odile@decidim",                       # an address Decidim accepts and we cannot (no domain's dot)
}
IMAGES = {"dom": "/uploads/decidim/user/avatar/7/dom.png",
          "eve": "/decidim-packs/media/images/default-avatar-0123abcd.svg",
          "camille": None}
AGORA_PORT = free_port()  # the browser test's daphne: its callback is registered with the fake Decidim


class FakeDecidim:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ARTIFACTS / f"fake-decidim-{self.port}.log"
        callbacks = [f"{origin}/decidim/{key}/login/callback/"
                     for origin in ("http://testserver", f"http://127.0.0.1:{AGORA_PORT}")
                     for key in ("main", "garbage", "slow", "badme", "down", "trickle", "redirect", "hugeme", "twin")]
        self.env = {"FAKE_DECIDIM_DB": str(tmp / "fake-decidim.sqlite3"), "FAKE_DECIDIM_CLIENT_ID": CLIENT_ID,
                    "FAKE_DECIDIM_CLIENT_SECRET": CLIENT_SECRET, "FAKE_DECIDIM_REDIRECT_URIS": " ".join(callbacks),
                    "FAKE_DECIDIM_IMAGES": json.dumps(IMAGES),
                    "FAKE_DECIDIM_PEOPLE": json.dumps([{"nickname": n, "email": e, "password": PASSWORD,
                                                        "name": n.title()} for n, e in PEOPLE.items()])}

    def start(self):
        import os

        ARTIFACTS.mkdir(exist_ok=True)
        env = {**os.environ, **self.env}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.decidim.fake_decidim.serve", str(self.port)],
                                        env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                        cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/users/sign_in", timeout=2)
                return self
            except Exception:
                if self.process.poll() is not None:
                    raise RuntimeError(f"fake Decidim exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        raise RuntimeError(f"fake Decidim did not start: {self.log.read_text()[-2000:]}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def organizations(self, **extra_urls) -> list[dict]:
        """SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"] as live/settings.py builds it from the environment."""
        urls = {"main": self.url, **extra_urls}
        return [{"provider_id": f"decidim-{key}", "name": "Decidim" if key == "main" else f"Decidim {key}",
                 "client_id": CLIENT_ID, "secret": CLIENT_SECRET, "settings": {"url": url}}
                for key, url in urls.items()]


@pytest.fixture(scope="session")
def fake_decidim(tmp_path_factory):
    server = FakeDecidim(tmp_path_factory.mktemp("fake-decidim")).start()
    yield server
    server.stop()


@pytest.fixture
def decidim(fake_decidim, settings):
    """The fake Decidim configured as this site's organization "main", plus broken twins of it."""
    closed = free_port()
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": fake_decidim.organizations(
        garbage=fake_decidim.url + "/garbage", slow=fake_decidim.url + "/slow", badme=fake_decidim.url + "/badme",
        trickle=fake_decidim.url + "/trickle", redirect=fake_decidim.url + "/redirect",
        hugeme=fake_decidim.url + "/hugeme", down=f"http://127.0.0.1:{closed}")}}
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 1  # the "/slow" twin answers after 3 s
    settings.CSP_FORM_ACTION = settings.CSP_IMG_SRC = [fake_decidim.url]
    return fake_decidim


def start_sign_in(client, org="main", next_url=None) -> str:
    """Click "Se connecter avec Decidim": the address of Decidim's authorize page we are sent to."""
    response = client.post(reverse("decidim:login", args=[org]), {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def hidden_fields(page: str) -> dict:
    return {html.unescape(name): html.unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def decidim_answer(authorize_url: str, person: str, allow: bool = True) -> str:
    """On Decidim: sign in as `person` when asked, allow (or refuse) when asked. Returns the address Decidim sends
    the browser back to (our callback, with a code or an error)."""
    session = requests.Session()
    response = session.get(authorize_url, allow_redirects=False)
    if response.status_code == 302 and "/users/sign_in" in response.headers["Location"]:
        login_url = urlsplit(authorize_url)._replace(path="/users/sign_in", query="").geturl()
        page = session.get(login_url)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        session.post(login_url, data={"csrfmiddlewaretoken": token, "username": person, "password": PASSWORD},
                     allow_redirects=False).raise_for_status()
        response = session.get(authorize_url, allow_redirects=False)
    if response.status_code == 200:  # the consent screen
        fields = hidden_fields(response.text)
        fields["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                                                  response.text).group(1)
        fields["allow" if allow else "cancel"] = "Authorize" if allow else "Cancel"
        response = session.post(authorize_url.split("?")[0], data=fields, allow_redirects=False,
                                headers={"Referer": authorize_url})
    assert response.status_code == 302, response.text[:1000]
    return response.headers["Location"]


def come_back(client, callback_url: str):
    """Decidim sends the browser back to our callback."""
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_with_decidim(client, person: str, org="main", next_url=None, allow=True):
    return come_back(client, decidim_answer(start_sign_in(client, org, next_url), person, allow=allow))
