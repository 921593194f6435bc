"""debates/comment_html.py builds, byte for byte, what the comment templates rendered before it replaced them.

tests/debates/templates_before/ holds those templates as they were (debates/comment.html, comment_main.html,
comment_vote.html, comment_score.html, more_replies.html and the two pushes that included them), rendered here by
an engine of their own for every kind of comment, reader and page, and compared with the builder's output; tallies.html
is the body of debate_detail.html's `tallies` partial as it was, which the two pushes' copies include instead. A
deliberate change to the HTML changes the builder and these copies together."""

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template import Context, Engine, engines
from django.utils import timezone, translation

from debates import comment_html, renderers
from debates.models import Comment, Stance
from live.accounts.models import User

BEFORE = Path(__file__).parent / "templates_before"


@pytest.fixture(scope="module")
def before() -> Engine:
    """The site's engine (its loaders, partials and libraries), the old templates first."""
    engine = engines["django"].engine
    return Engine(dirs=[str(BEFORE), *engine.dirs], app_dirs=False, loaders=engine.loaders,
                  context_processors=[], libraries=engine.libraries, builtins=[b for b in engine.builtins if b not in Engine.default_builtins],
                  autoescape=True, debug=engine.debug)


class FakeRequest:
    path = '/debates/7/?q="<&>"'

    def __bool__(self):
        return True


def author(pk=3, nickname="alice", **extra):
    return User(pk=pk, username=f"u{pk}", nickname=nickname, **extra)


def comment(pk=41, *, depth=0, alignment=Stance.FOR, who=None, **extra):
    values = {"debate_id": 7, "depth": depth, "alignment": alignment, "body": "x",
              "body_html": "<p>Un <strong>avis</strong> &amp; plus</p>",
              "created_at": datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=UTC),
              "score": 0, "upvotes": 0, "downvotes": 0}
    values.update(extra)
    made = Comment(pk=pk, **values)
    made.author = who or author()
    return made


NOW = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)

COMMENTS = {
    "root": lambda: comment(score=3, upvotes=4, downvotes=1),
    "against": lambda: comment(alignment=Stance.AGAINST, score=-2, upvotes=1, downvotes=3),
    "neutral_reply": lambda: comment(depth=1, alignment=Stance.NEUTRAL),
    "deepest": lambda: comment(depth=2, edited_at=NOW),
    "deleted": lambda: comment(deleted_at=NOW),
    "hidden": lambda: comment(hidden_at=NOW, hidden_reason='Insulte <b>"grave"</b> & cie'),
    "hidden_no_reason": lambda: comment(depth=1, hidden_at=NOW),
    "erased": lambda: comment(who=author(pk=9, nickname="", erased_at=NOW)),
    "blocked": lambda: comment(who=author(pk=12, nickname="bob", blocked_at=NOW)),
    "odd_name": lambda: comment(who=author(pk=1234567, nickname='a<b>&"c\'')),
    "big": lambda: comment(pk=1234567, score=12345, upvotes=12345, downvotes=0, created_at=NOW),
}


def threaded(name):
    root = comment(score=1, upvotes=1)
    reply = comment(pk=42, depth=1, alignment=Stance.NEUTRAL)
    deeper = comment(pk=43, depth=2, who=author(pk=4, nickname="bob"))
    if name == "thread":
        reply.children, deeper.children = [deeper], []
        root.children, root.more_replies = [reply], 4
    elif name == "one_more":
        root.children, root.more_replies = [], 1
    elif name == "folded_reply":
        reply.children, reply.more_replies = [deeper], 2
        root.children = [reply]
    return root


READERS = {
    "push": {"csrf_token": "NOTPROVIDED"},
    "push_moderators": {"csrf_token": "NOTPROVIDED", "moderator_view": True},
    "page": {"csrf_token": 'tok<&>"', "request": FakeRequest()},
    "page_moderator": {"csrf_token": "tok", "request": FakeRequest(), "moderator_view": True},
    "no_token": {},
}
URLS = {"none": {}, "report_only": {"report_url": "/moderation/report/"},
        "both": {"report_url": "/moderation/report/", "act_url": '/moderation/act/?a=1&b="2"'}}


def context_of(reader, urls, **extra):
    return {**READERS[reader], **URLS[urls], **extra}


def render_before(engine, name, context):
    return engine.get_template(name).render(Context(context))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_main_vote_and_score_are_the_templates_html(before, lang):
    cases = itertools.product(COMMENTS, READERS, URLS, [None, 1, -1, 0], [False, True])
    with translation.override(lang):
        for name, reader, urls, vote, oob in cases:
            made = COMMENTS[name]()
            if vote is not None:
                made.my_vote = vote
            context = context_of(reader, urls, comment=made, oob=oob)
            around = comment_html.Around.of(context)
            case = (name, reader, urls, vote, oob)
            assert comment_html.main_html(made, around, oob=oob) + "\n" == render_before(
                before, "debates/comment_main.html", context), case
            assert comment_html.vote_html(made, around, oob=oob) + "\n" == render_before(
                before, "debates/comment_vote.html", context), case
            assert comment_html.score_html(made, oob=oob) + "\n" == render_before(
                before, "debates/comment_score.html", context), case


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("tz", ["Europe/Paris", "America/New_York"])
def test_threads_are_the_templates_html(before, lang, tz):
    shapes = [*COMMENTS, "thread", "one_more", "folded_reply"]
    cases = itertools.product(shapes, ["push", "page", "page_moderator"], ["none", "both"], [None, 41, 43],
                              [False, True])
    with translation.override(lang), timezone.override(tz):
        for shape, reader, urls, focus, oob in cases:
            root = COMMENTS[shape]() if shape in COMMENTS else threaded(shape)
            extra = {"focus": comment(pk=focus)} if focus else {}
            context = context_of(reader, urls, comment=root, oob=oob, **extra)
            case = (shape, reader, urls, focus, oob)
            html = comment_html.thread_html(root, comment_html.Around.of(context), oob=oob) + "\n"
            assert html == render_before(before, "debates/comment.html", context), case
            if getattr(root, "more_replies", 0):
                assert comment_html.more_replies_html(root, oob=oob) + "\n" == render_before(
                    before, "debates/more_replies.html", context), case


def test_the_caches_precomputed_parts_are_used_as_given(before):
    """fragments.py hands a comment's main part (`main_html`) or its whole thread (`thread_html`) ready-made."""
    from django.utils.safestring import mark_safe

    root = threaded("thread")
    around = comment_html.Around.of({"csrf_token": "NOTPROVIDED"})
    # The templates' `main_html` was comment_main.html's output, its final newline included; the builder's is
    # main_html()'s, without it.
    root.children[0].main_html = mark_safe("<p>cached main</p>\n")
    expected = render_before(before, "debates/comment.html", {"comment": root, "csrf_token": "NOTPROVIDED"})
    root.children[0].main_html = mark_safe("<p>cached main</p>")
    html = comment_html.thread_html(root, around)
    assert html + "\n" == expected
    assert "<p>cached main</p>\n\n  <div id=\"comment-42-panel\"" in html
    root.thread_html = mark_safe("<p>cached thread</p>")
    assert comment_html.thread_html(root, around) == "<p>cached thread</p>"
    assert render_before(before, "debates/comment.html", {"comment": root}) == "<p>cached thread</p>\n"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_tallies_are_the_partials_html(before, lang):
    """debate_detail.html's `tallies` partial (tallies.html here: the partial's body as it was)."""
    from django.template.loader import render_to_string

    from debates.selectors import tallies_of

    with translation.override(lang):
        for counts in [(0, 0, 0, 0), (1, 1, 0, 0), (2, 0, 1, 0), (7, 1, 1, 3), (12345, 1234, 0, 1)]:
            tallies = tallies_of(*counts)
            for oob in (False, True):
                expected = render_before(before, "debates/tallies.html", {"tallies": tallies, "oob": oob})
                assert f"\n  {comment_html.tallies_html(tallies, oob=oob)}\n  " == expected, (counts, oob)
                assert render_to_string("debates/debate_detail.html#tallies", {"tallies": tallies, "oob": oob}) == (
                    expected)


# --- the pushes, as the event renderers produced them through the templates ------------------------------------------


def _before_push(engine, template, context, r):
    from django.conf import settings

    from debates import selectors

    return render_before(engine, template, {
        **context, **selectors.moderation_urls(), "audience": r.audience, "csrf_token": "NOTPROVIDED",
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH, "moderator_view": r.audience == "moderators"})


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("audience", renderers.AUDIENCES)
def test_the_pushes_are_the_templates_html(before, fiona, alice, bob, mona, lang, audience):
    from debates import selectors, services
    from live.models import Event
    from live.streams import Rendering
    from tests.debates.conftest import make_debate

    debate = make_debate(fiona)
    root = services.post_comment(author=alice, debate=debate, body="Un *avis* <b>&</b>", alignment=Stance.FOR)
    reply = services.post_comment(author=bob, debate=debate, body="Une réponse", parent=root)
    services.vote(comment=root, user=bob, value=1)
    services.hide_comment(comment=reply, actor=mona, reason="Hors <sujet>")
    events = Event.objects.filter(stream=debate.stream_key).order_by("seq")
    with translation.override(lang):
        for event in events:
            r = Rendering(audience, {})
            new = {"comment.posted": renderers.render_posted, "comment.hidden": renderers.render_hidden,
                   "comment.voted": renderers.render_voted}.get(event.kind)
            if new is None:
                continue
            pushed = new(event, r)
            made = Comment.objects.select_related("author", "debate").get(pk=event.data["comment"])
            tallies = selectors.tallies(debate)
            if event.kind == "comment.posted":
                made.children, made.more_replies, made.my_vote = [], 0, 0
                name = made.author.public_name
                announce = (_t("New reply by %(name)s") if made.parent_id else _t("New comment by %(name)s")) % {
                    "name": name}
                expected = _before_push(before, "debates/push/comment_posted.html", {
                    "comment": made, "debate": debate, "tallies": tallies, "announce": announce}, r)
            elif event.kind == "comment.hidden":
                made.my_vote = 0
                expected = _before_push(before, "debates/push/comment_changed.html", {
                    "comment": made, "debate": debate, "tallies": tallies,
                    "announce": _t("A comment was hidden by moderation.")}, r)
            else:
                expected = render_before(before, "debates/comment_score.html", {"comment": made, "oob": True})
            assert pushed == expected, (event.kind, lang, audience)


def _t(text):
    from django.utils.translation import gettext

    return gettext(text)
