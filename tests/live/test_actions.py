"""The write seam (live.actions): every refusal of a write gets the same answer, with htmx and without JavaScript."""

import ast
from pathlib import Path

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation
from django_htmx.middleware import HtmxDetails

from live import actions
from live.ratelimit import RateLimited
from tests.helpers import elements

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):  # the French wording has its own test
        yield

REFUSALS = {
    "invalid": (ValidationError("Write a message first."), 400),
    "forbidden": (PermissionDenied("Only the meeting's facilitators can do this."), 403),
    "rate_limited": (RateLimited(42, "comment"), 429),
}


def request(method="post", htmx=False, **headers):
    req = getattr(RequestFactory(), method)("/somewhere/", **({"HTTP_HX_REQUEST": "true"} if htmx else {}), **headers)
    req.htmx = HtmxDetails(req)
    req.session = SessionStore()
    req._messages = FallbackStorage(req)
    return req


def refusing(exc):
    def view(req, pk):
        raise exc
    return view


@pytest.mark.parametrize("kind", REFUSALS)
def test_with_htmx_a_refusal_goes_into_the_forms_slot_with_its_status(kind):
    exc, status = REFUSALS[kind]
    response = actions.action(slot="thing-{pk}-errors")(refusing(exc))(request(htmx=True), pk=7)
    assert response.status_code == status
    assert response["HX-Retarget"] == "#thing-7-errors" and response["HX-Reswap"] == "innerHTML"
    html = response.content.decode()
    [message] = elements(html, "p", data_refusal=kind)
    assert message["text"] == actions.message_of(exc) and "flash-error" in message["attrs"]["class"]
    # one polite announcement, through the page's existing live region; no assertive alert of its own
    [announced] = elements(html, "div", id="live-announcer")
    assert announced["attrs"]["hx-swap-oob"] == "innerHTML" and announced["text"] == message["text"]
    assert "role=" not in html
    assert ("Retry-After" in response) == (kind == "rate_limited")


def test_a_rate_limit_says_when_to_retry_with_and_without_htmx():
    exc, _status = REFUSALS["rate_limited"]
    for htmx in (True, False):
        response = actions.action()(refusing(exc))(request(htmx=htmx), pk=1)
        assert response.status_code == 429 and response["Retry-After"] == "42"
        assert "Please try again in 42 seconds." in response.content.decode()


def test_a_rate_limit_is_worded_the_same_in_french():
    with translation.override("fr"):
        response = actions.action()(refusing(RateLimited(42)))(request(), pk=1)
    assert response.status_code == 429 and response["Retry-After"] == "42"
    assert "42 secondes" in response.content.decode()


def test_without_javascript_a_bad_input_is_flashed_after_going_back():
    req = request(HTTP_REFERER="http://testserver/debates/3/")
    response = actions.action()(refusing(ValidationError("Write a message first.")))(req, pk=1)
    assert response.status_code == 302 and response["Location"] == "http://testserver/debates/3/"
    assert [str(m) for m in get_messages(req)] == ["Write a message first."]


def test_without_javascript_going_back_never_leaves_the_site():
    req = request(HTTP_REFERER="https://elsewhere.example/")
    response = actions.action(back=lambda req, pk: f"/things/{pk}/")(refusing(ValidationError("Non.")))(req, pk=4)
    assert response["Location"] == "/things/4/"
    response = actions.action()(refusing(ValidationError("Non.")))(request(HTTP_REFERER="https://elsewhere.example/"),
                                                                    pk=4)
    assert response["Location"] == "/"


def test_without_javascript_a_permission_refusal_is_the_403_page_with_the_services_words():
    exc, _status = REFUSALS["forbidden"]
    with pytest.raises(PermissionDenied) as raised:  # Django's handler renders templates/403.html with it
        actions.action()(refusing(exc))(request(), pk=1)
    assert str(raised.value) == "Only the meeting's facilitators can do this."


@pytest.mark.parametrize("kind", REFUSALS)
def test_without_javascript_a_form_page_comes_back_with_the_refusals_status(kind):
    exc, status = REFUSALS[kind]

    def page(req, refused, pk):
        return HttpResponse(f"form again: {actions.message_of(refused)}")

    response = actions.action(page=page)(refusing(exc))(request(), pk=1)
    assert response.status_code == status and actions.message_of(exc) in response.content.decode()
    assert ("Retry-After" in response) == (kind == "rate_limited")


class NameForm(forms.Form):
    nickname = forms.CharField()
    about = forms.CharField(required=False)


def test_a_services_field_error_lands_on_its_field_tied_to_the_input():
    form = NameForm({"nickname": "al", "about": ""})
    assert form.is_valid()
    result = actions.submit(form, lambda: (_ for _ in ()).throw(
        ValidationError({"nickname": "This nickname is taken.", "elsewhere": "Something else."})))
    assert result is None
    html = str(form["nickname"].as_field_group())
    [field] = elements(html, "input", name="nickname")
    assert field["attrs"]["aria-invalid"] == "true"
    [error_list] = elements(html, "ul", id=field["attrs"]["aria-describedby"].split()[0])
    assert "This nickname is taken." in error_list["text"]
    assert form.non_field_errors() == ["Something else."]


def test_a_form_page_answers_the_refusals_status():
    form = NameForm({"nickname": "al"})
    assert form.is_valid()
    assert actions.submit(form, lambda: (_ for _ in ()).throw(RateLimited(9))) is None
    response = actions.form_page(request(), "live/form_errors.html", {"form": form})
    assert response.status_code == 429 and response["Retry-After"] == "9"
    assert "Please try again in 9 seconds." in response.content.decode()
    fresh = NameForm()
    assert actions.form_page(request("get"), "live/form_errors.html", {"form": fresh}).status_code == 200
    assert actions.submit(NameForm({"nickname": "x"}), lambda: "saved") == "saved"


# --- one seam: nothing else answers a refusal ---------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted(p for p in ROOT.glob("**/views.py") if ".venv" not in p.parts and "tests" not in p.parts)


# Not a refused write: opening a conversation sends its read receipt on the way, and a receipt over its limit
# waits for the next read instead of refusing the page.
BEST_EFFORT = {("live/messaging/views.py", "_conversation_page")}


def test_no_view_catches_a_permission_or_rate_limit_refusal_itself():
    found = []
    for path in VIEWS:
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef) or (str(path.relative_to(ROOT)), function.name) in BEST_EFFORT:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    names = {n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")
                             for n in ast.walk(node.type)}
                    if names & {"PermissionDenied", "RateLimited"}:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert VIEWS and not found, f"let live.actions answer these: {found}"


def test_only_the_seam_sets_the_htmx_retarget_headers():
    found = [f"{path.relative_to(ROOT)}" for path in ROOT.glob("**/*.py")
             if ".venv" not in path.parts and "tests" not in path.parts and path.parts[-2:] != ("live", "actions.py")
             and any(f'["{header}"] =' in path.read_text() for header in ("HX-Retarget", "HX-Reswap"))]
    assert not found, f"answer through live.actions (django_htmx.http retarget/reswap): {found}"
