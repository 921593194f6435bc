"""Every URL pattern of the product and every field of every form it shows, with the four values the probe uses:
a NUL, a lone surrogate (its UTF-8 bytes, the only way it travels in a URL or a form), 1 MB of text and a bidi
override. Nothing may answer 500, and nothing may be written: NUL and surrogates never change a row; the 1 MB and
bidi values are refused by validation (they may reach a field the view ignores, but are never stored).

The pages are read as anonymous, alice (participant), mona (moderator), sam (moderator of one space) and fiona
(facilitator); the query parameters are tried as alice and mona. CSRF is enforced: each form goes back with the
token its page gave, and a CSRF refusal fails the walk (it would not have reached the view). Each form is then
sent back with one field changed at a time, as whoever saw it. Each request runs in a savepoint that is rolled back,
so every request meets the same objects. The Django test client, no browser: about a minute on 2 cores (1 MB
bodies dominate)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.db import connection, models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from debates import services as debates
from live import streams
from live.accounts.models import RoleAssignment
from live.messaging import services as messaging
from live.moderation import services as moderation
from live.notifications.services import notify
from meetings import services as meetings
from tests.helpers import make_user
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

BIDI_MARK = "\u202e"
BIG_MARK = "Zq1MB"
BAD = {
    "nul": "al\x00ice",
    "surrogate": "\ud800",
    "1mb": BIG_MARK + "x" * (1024 * 1024),
    "bidi": f"gpj{BIDI_MARK}exe",  # no "." nor "/": a bare word, which redirect() would take for a view name
}
STORABLE = {"1mb": BIG_MARK, "bidi": BIDI_MARK}  # must never be found in the database afterwards
SKIPPED_PREFIXES = ("/admin/",)  # Django's own admin: staff only, its lookups behind the same middleware
SKIPPED_ACTIONS = ("/accounts/logout/",)  # would end the session the rest of the walk uses
# Query parameters the views read, beyond the fields of the GET forms the pages show.
QUERY_NAMES = ("q", "page", "sort", "state", "next", "code", "view", "stance", "fragment", "before", "after", "kind",
               "id", "space", "status", "month", "cursor")


def encode(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def form_body(fields: list[tuple[str, str]]) -> str:
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in fields)


# --- the pages' forms ------------------------------------------------------------------------------------------

@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, default value), in document order


class Forms(HTMLParser):
    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url, self.forms, self.current, self.textarea, self.select = url, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = Form(action=a.get("action") or self.url, method=(a.get("method") or "get").lower())
            self.forms.append(self.current)
        elif self.current is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                value = None if any(n == a["name"] for n, _v in self.current.fields) else a.get("value", "on")
                if value is not None:
                    self.current.fields.append((a["name"], ""))  # known, but unchecked: sent empty
                return
            if kind not in ("file", "image", "reset"):
                self.current.fields.append((a["name"], a.get("value") or ""))
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            if not any(n == a["name"] for n, _v in self.current.fields):
                self.current.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self.textarea = [a["name"], ""]
            self.current.fields.append(("", ""))  # placeholder, set at the end tag
        elif tag == "select":
            self.select = [a["name"], None]
            self.current.fields.append(("", ""))
        elif tag == "option" and self.select is not None and (self.select[1] is None or "selected" in a):
            self.select[1] = a.get("value", "")

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "textarea" and self.textarea is not None:
            self.current.fields[-1] = tuple(self.textarea)
            self.textarea = None
        elif tag == "select" and self.select is not None:
            index = max(i for i, (n, _v) in enumerate(self.current.fields) if n == "")
            self.current.fields[index] = (self.select[0], self.select[1] or "")
            self.select = None


# --- the URL patterns, filled with real objects --------------------------------------------------------------------

def patterns(resolver=None, prefix=""):
    """(route with <converters>, namespace) for every URL pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


CONVERTER_RE = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def fill(route: str, world: dict, override: tuple[str, str] | None = None) -> str:
    """The route with every converter replaced by a real object's value (or, for `override` = (name, value), by
    that value, percent-encoded)."""
    def value(match):
        name = match.group("name")
        if override and name == override[0]:
            return encode(override[1])
        key = f"{route.split('/')[0]}:{name}"
        return str(world.get(key, world.get(name)))

    return "/" + CONVERTER_RE.sub(value, route)


@pytest.fixture
def world(alice, bob, mona, fiona, settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    debate = debates.create_debate(author=fiona, title="Faut-il piétonniser la place ?",
                                   description="La mairie propose de fermer la place le samedi.")
    comment = debates.post_comment(author=alice, debate=debate, body="Oui, pour les enfants.")
    debates.post_comment(author=bob, debate=debate, body="Et les livraisons ?", parent=comment)
    meeting = make_meeting(fiona)
    participant = meetings.join(meeting=meeting, user=alice)
    contribution = meetings.post_contribution(participant=participant, body="Et le budget des écoles ?")
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Quel jour ?", choices=["Lundi", "Mardi"])
    meetings.open_poll(actor=fiona, poll=poll)
    speaker = meetings.raise_hand(participant=participant)
    message = messaging.start_conversation(author=alice, recipients=["bob"], body="Tu viens ce soir ?")
    moderation.report(reporter=bob, kind="comment", object_id=comment.pk, reason="spam")
    notify(user=alice, kind="test", text="Bienvenue")
    meeting.refresh_from_db()
    for key in (alice.stream_key, bob.stream_key, mona.stream_key, fiona.stream_key):
        streams.cursor(key)  # a page creates its reader's stream counter on first sight: not a write of the walk's
    return {
        "debates:pk": debate.pk, "debates:comment_pk": comment.pk,
        "meetings:pk": meeting.pk, "meetings:cid": contribution.pk, "meetings:poll": poll.pk,
        "meetings:req": speaker.pk, "meetings:token": meeting.screen_token,
        "messages:pk": message.conversation_id, "messages:message_id": message.pk,
        "moderation:pk": alice.pk, "moderation:space": debate.stream_key,
        "accounts:nickname": "alice", "accounts:uidb64": urlsafe_base64_encode(force_bytes(alice.pk)),
        "accounts:token": default_token_generator.make_token(alice),
    }


# --- what changed ----------------------------------------------------------------------------------------------

def product_tables() -> list[str]:
    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)
              if m._meta.managed and not m._meta.proxy}
    return sorted(tables - {"django_session"})  # a sign-in page may start a session: not product data


def row_counts(tables) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables))
        return cursor.fetchone()


def text_columns() -> list[tuple[type, list[str]]]:
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))]
        if names and model._meta.managed and not model._meta.proxy:
            found.append((model, names))
    return found


def stored(mark: str, columns) -> list[str]:
    where = []
    for model, names in columns:
        query = models.Q()
        for name in names:
            query |= models.Q(**{f"{name}__contains": mark})
        if model._default_manager.filter(query).exists():
            where.append(model.__name__)
    return where


class Walk:
    def __init__(self):
        self.tables, self.columns = product_tables(), text_columns()
        self.problems: list[str] = []
        self.requests = 0

    def send(self, client: Client, method: str, url: str, kind: str, body: str | None = None, what: str = ""):
        """Send one request in a savepoint rolled back afterwards; returns the response (None after a 500)."""
        self.requests += 1
        savepoint = transaction.savepoint()
        try:
            before = row_counts(self.tables)
            try:
                if method == "get":
                    response = client.get(url)
                else:
                    response = client.post(url, body or "", content_type="application/x-www-form-urlencoded")
            except Exception as exc:  # the test client re-raises what became a 500
                self.problems.append(f"500 {method.upper()} {url[:120]} {what}: {type(exc).__name__}: {exc}"[:400])
                return None
            if response.status_code >= 500:
                self.problems.append(f"{response.status_code} {method.upper()} {url[:120]} {what}")
                return None
            if any(t.name == "403_csrf.html" for t in response.templates):  # the walk must reach the views
                self.problems.append(f"CSRF refused {method.upper()} {url[:120]} {what}")
            after = row_counts(self.tables)
            if kind in STORABLE:
                if response.status_code < 400 and (where := stored(STORABLE[kind], self.columns)):
                    self.problems.append(f"stored {kind} {method.upper()} {url[:120]} {what} in {where}")
            elif after != before:
                changed = [t for t, b, a in zip(self.tables, before, after, strict=True) if a != b]
                self.problems.append(f"wrote {kind} {method.upper()} {url[:120]} {what}: {changed}")
            return response
        finally:
            transaction.savepoint_rollback(savepoint)


def query(names, kind: str) -> str:
    """Every name with the value of `kind` (1 MB shared among them: each GET form's field gets a whole one)."""
    value = BAD[kind] if kind != "1mb" else BIG_MARK + "x" * (len(BAD["1mb"]) // len(names))
    return "&".join(f"{name}={encode(value)}" for name in names)


def discover(response, url: str, who: str, forms: dict) -> None:
    if response is None or not response.get("Content-Type", "").startswith("text/html"):
        return
    parser = Forms(url)
    parser.feed(response.content.decode())
    for form in parser.forms:
        action = urlsplit(form.action).path or url
        if not action.startswith(SKIPPED_ACTIONS):
            forms.setdefault((action, form.method, tuple(n for n, _v in form.fields)), (who, form))


@pytest.mark.timeout(300)  # ~1300 requests, a third with 1 MB: about 50 s alone on 2 cores, more on a busy machine
def test_no_url_and_no_field_answers_500_or_writes_bad_bytes(world, alice, mona, fiona):
    sam = make_user("sam")  # moderates the debate's space only: his pages show the forms of a space moderator
    RoleAssignment.objects.create(user=sam, role="moderator", space=world["moderation:space"])
    streams.cursor(sam.stream_key)
    clients = {}
    for name, user in (("alice", alice), ("mona", mona), ("fiona", fiona), ("sam", sam)):
        clients[name] = Client(enforce_csrf_checks=True)  # forms go back with the token their page gave
        clients[name].force_login(user)
    clients["anonymous"] = Client(enforce_csrf_checks=True)  # last: a form everyone sees is sent back by someone signed in
    routes = [r for r in patterns() if not ("/" + r).startswith(SKIPPED_PREFIXES)]
    assert len(routes) > 80, routes  # the walk sees the whole product
    walk = Walk()
    forms: dict[tuple, tuple[str, Form]] = {}
    for route in routes:
        url = fill(route, world)
        # Path converters that take text get each value.
        for conv in CONVERTER_RE.finditer(route):
            if conv.group("conv") in (None, "str", "slug", "path"):
                for kind, value in BAD.items():
                    walk.send(clients["alice"], "get", fill(route, world, (conv.group("name"), value)), kind)
        # The query parameters the views read, as a participant and as a moderator; the pages' forms, as everyone.
        for who in ("alice", "mona"):
            for kind in BAD if who == "alice" else ("nul", "surrogate", "bidi"):  # 1 MB reaches mona's forms
                response = walk.send(clients[who], "get", f"{url}?{query(QUERY_NAMES, kind)}", kind, what=who)
                if kind == "bidi":
                    discover(response, url, who, forms)
        for who in ("fiona", "sam", "anonymous"):
            discover(clients[who].get(url), url, who, forms)
    # Every field of every form, one at a time, as whoever was shown the form.
    for (action, method, _names), (who, form) in forms.items():
        for index, (name, _default) in enumerate(form.fields):
            if name == "csrfmiddlewaretoken":
                continue
            for kind, value in BAD.items():
                fields = list(form.fields)
                fields[index] = (name, value)
                if method == "post":
                    walk.send(clients[who], "post", action, kind, form_body(fields), what=f"{name}= as {who}")
                else:
                    walk.send(clients[who], "get", f"{action}?{form_body(fields)}", kind, what=f"{name}= as {who}")
    assert len(forms) > 30 and walk.requests > 1000, (len(forms), walk.requests)
    assert not walk.problems, "\n".join(walk.problems)
