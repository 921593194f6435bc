"""A notification's item and the header's badge, built in Python (live/notifications/renderers.py) for the pages
(notifications/item.html and badge_count.html, one tag each) and the pushes: byte for byte what the templates gave.

tests/notifications/templates_before/ holds those templates as they were (item.html, badge_count.html and the push
template that included them), rendered here by an engine of their own for every kind of notification, reader and
language, and compared with the builders' output. A deliberate change to the HTML changes the builders and these
copies together."""

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Engine, engines
from django.urls import set_script_prefix
from django.utils import timezone, translation

from live.notifications import renderers
from live.notifications.models import Notification

BEFORE = Path(__file__).parent / "templates_before"


@pytest.fixture(scope="module")
def before() -> Engine:
    """The site's engine (its loaders and libraries), the old templates first."""
    engine = engines["django"].engine
    return Engine(dirs=[str(BEFORE), *engine.dirs], app_dirs=False, loaders=engine.loaders,
                  context_processors=[], libraries=engine.libraries,
                  builtins=[b for b in engine.builtins if b not in Engine.default_builtins],
                  autoescape=True, debug=engine.debug)


def notifications():
    now = timezone.now()
    for pk, text, url, read_at, created_at in itertools.product(
            [7], ["alice sent you a private message", 'Tom & "Jerry" <b>\'quoted\'</b>'],
            ["", "/messages/3/", '/x/?a=1&b="2"'], [None, now], [now - timedelta(minutes=3, seconds=30),
                                                               now - timedelta(days=2, hours=5), None]):
        yield Notification(pk=pk, user_id=1, kind="message", text=text, url=url, read_at=read_at,
                           created_at=created_at)


CASES = list(itertools.product(["fr", "en"], ["Europe/Paris", "UTC"], ["/", "/agora/"]))


@pytest.mark.parametrize(("lang", "zone", "prefix"), CASES)
def test_an_item_is_what_the_template_gave(before, lang, zone, prefix):
    page = engines["django"].engine
    set_script_prefix(prefix)
    try:
        with translation.override(lang), timezone.override(zone):
            for notification, oob, csrf in itertools.product(notifications(), [None, False, True],
                                                             [None, "NOTPROVIDED", 'tok"en<1>']):
                context = {"notification": notification, "oob": oob, "csrf_token": csrf}
                old = before.get_template("notifications/item.html").render(Context(context))
                assert renderers.item_html(notification, oob=oob, csrf_token=csrf) == old
                assert page.get_template("notifications/item.html").render(Context(context)) == old
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_badge_is_what_the_template_gave(before, lang):
    page = engines["django"].engine
    with translation.override(lang):
        for unread, oob in itertools.product([None, 0, 1, 2, 21], [None, False, True]):
            context = {"unread_notifications": unread, "oob": oob}
            old = before.get_template("notifications/badge_count.html").render(Context(context))
            assert renderers.badge_count_html(unread, oob=oob) == old
            assert page.get_template("notifications/badge_count.html").render(Context(context)) == old
            # The pages' context reads the count only when shown (live.context_processors).
            assert page.get_template("notifications/badge_count.html").render(
                Context({**context, "unread_notifications": lambda n=unread: n})) == old


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_push_is_what_the_template_gave(before, lang):
    items = list(notifications())
    with translation.override(lang):
        for unread, created, read, announce in itertools.product(
                [0, 3], [None, items[0], items[3]], [[], items[:1], items[4:7]],
                ["", 'New notification: Tom & "Jerry"']):
            old = before.get_template("notifications/push.html").render(Context({
                "csrf_token": "NOTPROVIDED", "notification": created, "read": read,
                "unread_notifications": unread, "announce": announce}))
            assert renderers.push_html(unread, created=created, read=read, announce=announce) == old


def test_the_page_templates_are_one_tag_each():
    for name in ("item.html", "badge_count.html"):
        text = (Path(__file__).parents[2] / "templates" / "notifications" / name).read_text()
        assert text.startswith("{% load notifications %}") and text.count("{%") == 2


def test_the_old_templates_are_the_copies(before):
    for name in ("item.html", "badge_count.html", "push.html"):
        assert Path(before.get_template(f"notifications/{name}").origin.name).is_relative_to(BEFORE)
