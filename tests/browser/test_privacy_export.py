"""Download my data as alice sees it, in Chromium against a real daphne and a real django-tasks-db worker: she asks,
the page shows the archive being prepared and polls until it is ready (no reload), her notification badge rises,
she downloads the ZIP, and its index.html reads well in a browser (every kind, her own words, accessible)."""

import io
import subprocess
import sys
import zipfile

import pytest
from playwright.sync_api import expect

from debates import services as debates
from live.messaging import services as messaging
from tests.browser.a11y import describe, page_overflow, run_axe
from tests.browser.conftest import wait_live
from tests.helpers import daphne_env

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def run_worker():
    worker = subprocess.run([sys.executable, "manage.py", "db_worker", "--max-tasks", "1", "--no-startup-delay",
                             "--no-reload", "--interval", "0.1"], env=daphne_env(), timeout=120, capture_output=True,
                            text=True)
    assert worker.returncode == 0, worker.stderr


def test_alice_watches_her_archive_being_prepared_then_reads_it(open_page, alice, bob, fiona):
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    debates.post_comment(author=alice, debate=debate, body="Oui, avec des bancs <à l'ombre>.", alignment=1)
    messaging.start_conversation(author=alice, recipients=[bob], body="Bonjour bob, c'est alice")
    page = open_page(alice, "/privacy/my-data/")
    wait_live(page)
    page.evaluate("() => { window.__notReloaded = true; }")
    badge = page.locator("#notification-badge")
    badge_before = badge.inner_text()

    page.get_by_role("button", name="Télécharger mes données").click()

    card = page.locator("#exports .card").first
    expect(card).to_contain_text("En préparation")
    expect(card.get_by_role("progressbar")).to_be_visible()  # the <progress>, labelled
    expect(card.get_by_label("En préparation…")).to_have_count(1)
    run_worker()  # what `make run` and production start: the request only queued it
    link = card.get_by_role("link", name="Télécharger l’archive")
    expect(link).to_be_visible(timeout=15000)  # the page polls every 2 s
    assert page.evaluate("() => window.__notReloaded === true")
    expect(badge).not_to_have_text(badge_before)  # "your data is ready", pushed by the worker's notification

    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    assert "index.html" in archive.namelist() and "comments.json" in archive.namelist()
    reader = open_page(None, "/privacy/")
    reader.set_content(archive.read("index.html").decode())
    expect(reader.get_by_role("heading", level=1)).to_contain_text("alice")
    for title in ["Profil", "Commentaires, avec leur débat et leur position", "Messages privés de mes conversations",
                  "Mes préférences : notifications, messages privés, données ouvertes"]:
        expect(reader.get_by_role("heading", level=2, name=title)).to_be_visible()
        expect(reader.get_by_role("navigation").get_by_role("link", name=title)).to_be_visible()
    body = reader.locator("body")
    expect(body).to_contain_text("Oui, avec des bancs <à l'ombre>.")  # her words as text, not markup
    expect(body).to_contain_text("Bonjour bob, c'est alice")
    assert reader.locator("script").count() == 0
    comments = reader.locator("section#comments\\.json")
    expect(comments.locator("dt", has_text="écrit le").first).to_be_visible()  # labels in her words, not JSON keys
    expect(comments.locator("time").first).to_be_visible()
    expect(body).not_to_contain_text("created_at")
    violations = run_axe(reader)
    assert violations == [], describe(violations)
    reader.set_viewport_size({"width": 320, "height": 640})
    assert page_overflow(reader) is None
