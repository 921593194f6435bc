"""Read one meeting from a Decidim's public GraphQL API (<decidim>/api), anonymously, with one fixed query: what
an Agora session is opened from. Only reads: the caller creates the meeting once everything here has worked."""

import html
import re
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from decidim.http import BoundedSession
from decidim.organizations import organization_for_url

# /processes/<slug>/f/<component>/meetings/<id> (also assemblies, conferences, initiatives ...)
MEETING_PATH = re.compile(r"^/[a-z_]+/[^/]+/f/(?P<component>\d+)/meetings/(?P<meeting>\d+)/?$")

QUERY = """
query AgoraMeeting($component: ID!, $meeting: ID!) {
  component(id: $component) {
    __typename
    ... on Meetings {
      meeting(id: $meeting) {
        id
        title { translations { locale text } }
        description { translations { locale text } }
        startTime
        endTime
        address
        location { translations { locale text } }
        typeOfMeeting
        onlineMeetingUrl
        url
      }
    }
  }
}
"""


class ImportFailed(ValidationError):
    pass


def fetch_meeting(url: str) -> dict:
    """The fields of a meeting (meetings.services.create_meeting's keywords) from its Decidim address, or
    ImportFailed with a message for the person who pasted it."""
    url = (url or "").strip()
    organization = organization_for_url(url)
    if organization is None:
        raise ImportFailed(_("This address is not on a Decidim platform configured here."))
    path = urlsplit(url).path.removeprefix(urlsplit(organization.url).path.rstrip("/"))
    match = MEETING_PATH.match(path)
    if match is None:
        raise ImportFailed(_("This is not the address of a Decidim meeting. Open the meeting on Decidim and copy the "
                             "address of its page (…/f/12/meetings/34)."))
    try:
        with BoundedSession(timeout=settings.DECIDIM_TIMEOUT) as session:
            response = session.post(organization.url + "/api", headers={"Accept": "application/json"},
                                    json={"query": QUERY, "variables": dict(match.groupdict())})
        if response.status_code != 200:
            raise ValueError(f"the API answered {response.status_code}")
        data = response.json()
    except requests.Timeout:
        raise ImportFailed(_("%(org)s took too long to answer. Nothing was created: try again in a few minutes.")
                           % {"org": organization.name}) from None
    except (requests.RequestException, ValueError):
        raise _unreadable(organization) from None
    component = data.get("data", {}).get("component") if isinstance(data, dict) and isinstance(data.get("data"),
                                                                                            dict) else None
    meeting = component.get("meeting") if isinstance(component, dict) else None
    if not isinstance(meeting, dict):
        raise ImportFailed(_("%(org)s does not show this meeting publicly (it may be private, withdrawn or not "
                             "published yet). Nothing was created.") % {"org": organization.name})
    try:
        return _fields(meeting, url)
    except _WrongShape:
        raise _unreadable(organization) from None


class _WrongShape(Exception):
    """A field of Decidim's answer is not of the type its API declares (a number for a text, a list for a date)."""


def _unreadable(organization) -> ImportFailed:
    return ImportFailed(_("%(org)s cannot be reached right now, or answered something we cannot read. Nothing "
                          "was created: try again in a few minutes.") % {"org": organization.name})


def _string(value) -> str:
    """A String field of the answer: "" when null, refused when anything else than text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _WrongShape(value)
    return value


def _text(field, *, html_text=False) -> str:
    """A TranslatedField ({"translations": [{"locale", "text"}]}) in the reader's language, else the site's, else
    any: "" when null."""
    if field is None:
        return ""
    if not isinstance(field, dict) or not isinstance(field.get("translations") or [], list):
        raise _WrongShape(field)
    translations = {}
    for item in field.get("translations") or []:
        if not isinstance(item, dict):
            raise _WrongShape(item)
        translations[_string(item.get("locale"))] = _string(item.get("text"))
    text = (translations.get(translation.get_language()) or translations.get(settings.LANGUAGE_CODE)
            or next((t for t in translations.values() if t), ""))
    if html_text:  # Decidim's rich text, as one plain line (a meeting's description here has no line breaks)
        text = html.unescape(strip_tags(re.sub(r"</p>|<br\s*/?>", " ", text)))
    return " ".join(text.split())


def _fields(meeting: dict, url: str) -> dict:
    starts_at = parse_datetime(_string(meeting.get("startTime")))
    ends_at = parse_datetime(_string(meeting.get("endTime")))
    if starts_at is None or ends_at is None:
        raise ImportFailed(_("This Decidim meeting has no readable start or end time. Nothing was created."))
    kind = _string(meeting.get("typeOfMeeting"))
    kind = kind if kind in ("in_person", "online", "hybrid") else "in_person"
    place = ", ".join(p for p in (_text(meeting.get("location")), _string(meeting.get("address")).strip()) if p)
    online_url = _string(meeting.get("onlineMeetingUrl"))
    if urlsplit(online_url).scheme not in ("http", "https"):
        # Decidim shows the link only shortly before the meeting: until then, its page is where people find it.
        online_url = url if kind != "in_person" else ""
    decidim_url = _string(meeting.get("url"))
    return {
        "title": _text(meeting.get("title"))[:200],
        "description": _text(meeting.get("description"), html_text=True)[:5000],
        "kind": kind, "place": place[:300],
        "online_url": online_url,
        "starts_at": starts_at, "ends_at": ends_at,
        "decidim_url": decidim_url if organization_for_url(decidim_url) else url,
    }
