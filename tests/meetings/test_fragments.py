"""A contribution's fragments built in Python (meetings/renderers.py) are byte for byte what the template partials
of meetings/parts.html (and moderation/report_form.html) rendered before them (kept as they were in
templates_before/, used by nothing else), for every case: phones, screen and console;
French and English; pending, approved, rejected, hidden; pinned, answered; votes or none; signed-in, guest, erased
or blocked author; with or without an agenda item; a deleted text; oob or not; a push (no request, token
"NOTPROVIDED") or a page (a request: its CSRF token and `next`)."""

import copy
import itertools
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone, translation

from live.moderation.renderers import report_form_html
from meetings import renderers, rendering, services
from meetings.models import Contribution
from tests import helpers

pytestmark = pytest.mark.django_db
PARTS = "before/meetings_parts.html"
REPORT_FORM = "before/report_form.html"


@pytest.fixture(autouse=True)
def templates_before(settings):
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [Path(__file__).parent / "templates_before", *templates[0]["DIRS"]]
    settings.TEMPLATES = templates


def _before(name, context, request=None):
    """The partial as the templates render it (a push: no request, csrf_token NOTPROVIDED; a page: the request's
    context processors, the real token and `request`)."""
    if request is None:
        context = {**context, "csrf_token": "NOTPROVIDED"}
    return render_to_string(f"{PARTS}#{name}", context, request=request)


def _page_request(path):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


@pytest.fixture
def contributions(meeting, alice_in, guest):
    """One contribution per combination that changes the fragments' bytes (rendered, never saved)."""
    erased = services.join(meeting=meeting, user=helpers.make_user("erasable"))
    erased.user.erased_at = timezone.now()
    blocked = services.join(meeting=meeting, user=helpers.make_user("blockee"))
    blocked.user.blocked_at = timezone.now()
    item, now = meeting.agenda_items.first(), timezone.now()
    made = []
    states = [("pending", None), ("approved", None), ("rejected", None), ("approved", now), ("pending", now),
              ("rejected", now)]
    for (status, hidden), pinned, answered, votes, participant, agenda, kind in itertools.product(
            states, (False, True), (False, True), (0, 12), (alice_in, guest, erased, blocked), (None, item),
            ("question", "idea")):
        body = "" if participant is erased else ('Des bancs <b>à l\'ombre</b> & "des arbres"' if votes else "Vélos")
        made.append(Contribution(
            pk=10_000 + len(made), meeting=meeting, participant=participant, status=status, hidden_at=hidden,
            pinned=pinned, answered_at=now if answered else None, vote_count=votes, agenda_item=agenda, kind=kind,
            body=body, approved_at=now if status == "approved" else None))
    return made


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_phones_item_is_the_templates(meeting, contributions, lang):
    request = _page_request(f"/meetings/{meeting.pk}/live/?from=a&b=<c>")
    with translation.override(lang):
        base = rendering.common(meeting)
        assert base["report_url"]
        for c in contributions:
            for oob, report_url in itertools.product((False, True), (base["report_url"], None)):
                context = {**base, "c": c, "oob": oob, "report_url": report_url}
                built = renderers.contribution_html(c, meeting, report_url=report_url, oob=oob)
                assert _before("contribution", context) == f"\n{built}\n"
                page = _before("contribution", context, request)
                token = rendering_token(page)
                built = renderers.contribution_html(c, meeting, report_url=report_url, oob=oob, csrf_token=token,
                                                    next_path=request.get_full_path())
                assert page == f"\n{built}\n"
            if c.is_visible:
                assert _before("contribution-insert", {**base, "c": c}) == renderers.contribution_insert_html(
                    c, meeting, report_url=base["report_url"])
            assert _before("contribution-delete", {"c": c}) == renderers.contribution_delete_html(c)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_screens_card_is_the_templates(meeting, contributions, lang):
    with translation.override(lang):
        base = rendering.common(meeting)
        for c in contributions:
            assert _before("screen-item", {**base, "c": c}) == f"\n{renderers.screen_item_html(c)}\n"
            assert _before("screen-feed-insert", {**base, "c": c}) == renderers.screen_feed_insert_html(c)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_consoles_item_is_the_templates(meeting, contributions, lang):
    request = _page_request(f"/meetings/{meeting.pk}/console/")
    with translation.override(lang):
        base = rendering.common(meeting)
        for c in contributions:
            context = {**base, "c": c}
            assert _before("console-item", context) == f"\n{renderers.console_item_html(c, meeting)}\n"
            page = _before("console-item", context, request)
            built = renderers.console_item_html(c, meeting, csrf_token=rendering_token(page))
            assert page == f"\n{built}\n"
            assert _before("console-contribution", context) == renderers.console_contribution_html(c, meeting)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_report_form_is_the_templates(lang):
    request = _page_request("/debates/3/?page=2&q=<x>")
    with translation.override(lang):
        for kind, pk in (("comment", 7), ("contribution", 12), ('<"k">', "<i>")):
            context = {"kind": kind, "id": pk}
            assert render_to_string(REPORT_FORM, context) == f"\n{report_form_html(kind, pk)}\n"
            pushed = render_to_string(REPORT_FORM, {**context, "csrf_token": "NOTPROVIDED"})
            assert pushed == f"\n{report_form_html(kind, pk, csrf_token='NOTPROVIDED')}\n"
            page = render_to_string(REPORT_FORM, context, request=request)
            built = report_form_html(kind, pk, csrf_token=rendering_token(page), next_path=request.get_full_path())
            assert page == f"\n{built}\n"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_pages_partials_render_what_they_rendered(meeting, contributions, lang):
    """The pages' partials (and the report form's include) now call the builders through template tags: what
    the pages show is unchanged, token and `next` included."""
    phone = _page_request(f"/meetings/{meeting.pk}/live/?x=<y>")
    console = _page_request(f"/meetings/{meeting.pk}/console/")
    with translation.override(lang):
        base = rendering.common(meeting)
        for c in contributions:
            for name, request in (("contribution", phone), ("screen-item", None), ("console-item", console)):
                for oob in (False, True):
                    context = {**base, "c": c, "oob": oob}
                    now = render_to_string(f"meetings/parts.html#{name}", context, request=request)
                    before = _before(name, context, request)
                    if request is not None:
                        before = before.replace(rendering_token(before), rendering_token(now))
                    assert now == before
        for kind, pk in (("comment", 7), ("contribution", 12)):
            now = render_to_string("moderation/report_form.html", {"kind": kind, "id": pk}, request=phone)
            before = render_to_string(REPORT_FORM, {"kind": kind, "id": pk}, request=phone)
            assert now == before.replace(rendering_token(before), rendering_token(now))


def rendering_token(html: str) -> str:
    marker = 'name="csrfmiddlewaretoken" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
