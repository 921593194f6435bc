"""French first, English second: the catalog is complete and compiled, and pages speak the visitor's language."""

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (list), fuzzy. Enough of the format for a check."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"msgid": "", "msgid_plural": None, "msgstr": {}, "fuzzy": False, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["fuzzy"] = entry["fuzzy"] or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, int):
                entry["msgstr"][field] += value
            else:
                entry[field] += value
        else:
            keyword, _, value = line.partition(" ")
            value = ast.literal_eval(value)
            if keyword.startswith("msgstr["):
                field = int(keyword[7:-1])
                entry["msgstr"][field] = value
            elif keyword == "msgstr":
                field = 0
                entry["msgstr"][0] = value
            else:
                field = keyword
                entry[keyword] = value
    return [e for e in entries if e["msgid"] and not e["obsolete"]]


def test_the_french_catalog_is_complete_and_compiled():
    po, mo = LOCALE / "fr/LC_MESSAGES/django.po", LOCALE / "fr/LC_MESSAGES/django.mo"
    assert po.exists() and mo.exists(), "run `make messages` and commit locale/"
    entries = read_po(po)
    assert len(entries) > 100
    assert [e["msgid"] for e in entries if e["fuzzy"]] == [], "fuzzy translations left in fr/django.po"
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    assert untranslated == [], "untranslated strings in fr/django.po"
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    stale = []
    for e in entries:
        key = (e["msgid"], 0) if e["msgid_plural"] is not None else e["msgid"]
        if catalog.get(key) != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert stale == [], "django.mo is older than django.po: run compilemessages"


@pytest.mark.django_db
def test_the_home_page_speaks_french_by_default(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert "Aller au contenu" in html and "Se connecter" in html
    assert "Skip to content" not in html


@pytest.mark.django_db
def test_the_home_page_speaks_english_with_the_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html and "Sign in" in html


@pytest.mark.django_db
def test_the_browser_language_is_followed_when_no_choice_was_made(client):
    assert '<html lang="en">' in client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").content.decode()
    assert '<html lang="fr">' in client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.8").content.decode()


@pytest.mark.django_db
def test_the_language_switch_remembers_the_choice(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
