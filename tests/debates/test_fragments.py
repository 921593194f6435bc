"""The cached HTML of comments (debates/fragments.py): a page served from the cache is the page rendered without
it, for every reader, and no change to a comment is ever served stale."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from debates import fragments, services
from debates.models import Comment, Stance
from tests.debates.conftest import make_debate

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"


def page(client, debate, query="", lang="en"):
    client.cookies["django_language"] = lang
    response = client.get(f"{debate.get_absolute_url()}{query}")
    assert response.status_code == 200
    return response.content.decode()


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def comments_of(html, pk):
    """The `#comment-<pk>-main` block of a page."""
    start = html.index(f'id="comment-{pk}-main"')
    return html[start:html.index(f'id="comment-{pk}-panel"', start)]


# Per-request values that differ between any two renders of the same page.
VOLATILE = [
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+'), r"\1TOKEN"),
    (re.compile(r'("X-CSRFToken": ")[^"]+'), r"\1TOKEN"),
    (re.compile(r'(data-tab=")[^"]+'), r"\1TAB"),
    (re.compile(r'(name="client_id" value=")[^"]+'), r"\1ID"),
    (re.compile(r'(nonce=")[^"]+'), r"\1NONCE"),
    (re.compile(r'data-count="\d+"><span class="presence-dot" aria-hidden="true"></span>[^<]*'), "PRESENCE"),
]


def normalized(html):
    for pattern, replacement in VOLATILE:
        html = pattern.sub(replacement, html)
    return html


@pytest.fixture
def thread(fiona, alice, bob, carol, mona):
    """A debate with every kind of comment: roots of each stance, replies on three levels, folded replies, an
    edited one, a deleted one, a hidden one, votes of bob's."""
    debate = make_debate(fiona)
    pro = services.post_comment(author=alice, debate=debate, body="Pour, **vraiment**", alignment=Stance.FOR)
    con = services.post_comment(author=bob, debate=debate, body="Contre", alignment=Stance.AGAINST)
    neutral = services.post_comment(author=carol, debate=debate, body="Sans avis")
    reply = services.post_comment(author=bob, debate=debate, body="Pourquoi ?", parent=pro)
    services.post_comment(author=alice, debate=debate, body="Parce que", parent=reply)
    for i in range(4):
        services.post_comment(author=carol, debate=debate, body=f"Réponse {i}", parent=con)
    services.edit_comment(comment=neutral, actor=carol, body="Sans avis, finalement")
    gone = services.post_comment(author=alice, debate=debate, body="Effacé")
    services.delete_comment(comment=gone, actor=alice)
    hidden = services.post_comment(author=carol, debate=debate, body="Texte masqué")
    services.hide_comment(comment=hidden, actor=mona, reason="Insulte")
    services.vote(comment=pro, user=bob, value=1)
    services.vote(comment=neutral, user=bob, value=-1)
    services.vote(comment=pro, user=carol, value=1)
    return {"debate": debate, "pro": pro, "con": con, "neutral": neutral, "reply": reply, "gone": gone,
            "hidden": hidden}


@pytest.mark.parametrize("who", ["anonymous", "alice", "bob", "mona"])
@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("query", ["", "?view=columns", "?sort=recent"])
def test_a_page_from_the_cache_is_the_page_without_it(settings, thread, who, lang, query, request):
    client = Client() if who == "anonymous" else signed_in(request.getfixturevalue(who))
    settings.DEBATES_COMMENT_CACHE_SECONDS = 0
    plain = page(client, thread["debate"], query, lang)
    settings.DEBATES_COMMENT_CACHE_SECONDS = 3600
    filling = page(client, thread["debate"], query, lang)
    served = page(client, thread["debate"], query, lang)
    assert normalized(filling) == normalized(plain)
    assert normalized(served) == normalized(plain)


def test_the_second_page_view_renders_no_comment(thread, monkeypatch):
    client = Client()
    page(client, thread["debate"])
    from debates import comment_html

    built = []
    for name in ("main_html", "thread_html"):
        original = getattr(comment_html, name)
        monkeypatch.setattr(comment_html, name, lambda *a, _original=original, **k: built.append(1) or _original(*a, **k))
    html = page(client, thread["debate"])
    assert not built, "every comment came from the cache"
    assert "<strong>vraiment</strong>" in html


def test_an_edit_is_never_served_stale(thread, alice):
    client = Client()
    assert "vraiment" in page(client, thread["debate"])
    services.edit_comment(comment=thread["pro"], actor=alice, body="Pour, avec *nuances*")
    html = comments_of(page(client, thread["debate"]), thread["pro"].pk)
    assert "<em>nuances</em>" in html and "vraiment" not in html and "(edited)" in html


def test_a_stance_change_is_never_served_stale(thread, carol):
    client = Client()
    assert "stance-badge-neutral" in comments_of(page(client, thread["debate"]), thread["neutral"].pk)
    services.edit_comment(comment=thread["neutral"], actor=carol, body="Sans avis, finalement",
                          alignment=Stance.FOR)
    assert "stance-badge-for" in comments_of(page(client, thread["debate"]), thread["neutral"].pk)


def test_a_hide_and_an_unhide_are_never_served_stale(thread, mona):
    reader, moderator = Client(), signed_in(mona)
    for client in (reader, moderator):
        assert "Contre" in comments_of(page(client, thread["debate"]), thread["con"].pk)
    services.hide_comment(comment=thread["con"], actor=mona, reason="Hors sujet")
    html = comments_of(page(reader, thread["debate"]), thread["con"].pk)
    assert "Contre" not in html and "hidden by moderation" in html
    html = comments_of(page(moderator, thread["debate"]), thread["con"].pk)
    assert "Contre" in html and "only moderators see this" in html and "Hors sujet" in html
    services.unhide_comment(comment=thread["con"], actor=mona)
    html = comments_of(page(reader, thread["debate"]), thread["con"].pk)
    assert "Contre" in html and "hidden by moderation" not in html


def test_a_vote_count_change_is_never_served_stale(thread, mona):
    client = Client()
    assert "2 up, 0 down" in comments_of(page(client, thread["debate"]), thread["pro"].pk)
    services.vote(comment=thread["pro"], user=mona, value=-1)
    html = comments_of(page(client, thread["debate"]), thread["pro"].pk)
    assert "2 up, 1 down" in html and '<span class="visually-hidden">Score: </span>1</span>' in html


def test_a_deletion_is_never_served_stale(thread, bob):
    client = Client()
    assert "Contre" in comments_of(page(client, thread["debate"]), thread["con"].pk)
    services.delete_comment(comment=thread["con"], actor=bob)
    html = comments_of(page(client, thread["debate"]), thread["con"].pk)
    assert "Contre" not in html and "deleted by its author" in html


@pytest.mark.parametrize("field, value", [
    ("body_html", "<p>Re-sanitized</p>"), ("alignment", Stance.AGAINST), ("edited_at", "now"),
    ("deleted_at", "now"), ("hidden_at", "now"), ("hidden_reason", "Autre motif"), ("score", 9), ("upvotes", 9),
    ("downvotes", 9)])
@pytest.mark.parametrize("who", ["anonymous", "mona"])
def test_any_single_field_change_is_never_served_stale(settings, thread, field, value, who, request):
    """However a row changes (a service, the admin, a data migration), the next page shows it."""
    client = Client() if who == "anonymous" else signed_in(request.getfixturevalue(who))
    pk = thread["pro"].pk
    if field == "hidden_reason":  # a reason shows only on a hidden comment
        Comment.objects.filter(pk=pk).update(hidden_at=timezone.now(), hidden_reason="Motif")
    before = comments_of(page(client, thread["debate"]), pk)
    Comment.objects.filter(pk=pk).update(**{field: timezone.now() if value == "now" else value})
    served = comments_of(page(client, thread["debate"]), pk)
    settings.DEBATES_COMMENT_CACHE_SECONDS = 0
    plain = comments_of(page(client, thread["debate"]), pk)
    assert normalized(served) == normalized(plain)
    if not (field == "hidden_reason" and who == "anonymous"):
        assert normalized(served) != normalized(before)


def test_a_renamed_or_blocked_author_is_never_served_stale(thread, alice):
    client = Client()
    assert ">alice</a>" in comments_of(page(client, thread["debate"]), thread["pro"].pk)
    alice.nickname = "alicia"
    alice.save(update_fields=["nickname"])
    html = comments_of(page(client, thread["debate"]), thread["pro"].pk)
    assert ">alicia</a>" in html and "/alicia/" in html
    alice.blocked_at = timezone.now()
    alice.save(update_fields=["blocked_at"])
    assert ">blocked user</a>" in comments_of(page(client, thread["debate"]), thread["pro"].pk)


def test_a_new_reply_is_never_missing_from_a_cached_thread(thread, alice, bob, carol):
    client = Client()
    html = page(client, thread["debate"])
    assert "Show 1 more reply" in html  # con: 4 replies, 3 shown
    reply = services.post_comment(author=alice, debate=thread["debate"], body="Une réponse de plus",
                                  parent=thread["pro"])
    deeper = services.post_comment(author=bob, debate=thread["debate"], body="Plus bas", parent=reply)
    services.post_comment(author=bob, debate=thread["debate"], body="Encore une", parent=thread["con"])
    html = page(client, thread["debate"])
    assert f'id="comment-{reply.pk}"' in html and f'id="comment-{deeper.pk}"' in html
    assert html.index(f'id="replies-{thread["pro"].pk}"') < html.index(f'id="comment-{reply.pk}"')
    assert "Show 2 more replies" in html and "Show 1 more reply" not in html


def test_each_language_gets_its_own_fragments(thread):
    client = Client()
    french = comments_of(page(client, thread["debate"], lang="fr"), thread["pro"].pk)
    english = comments_of(page(client, thread["debate"], lang="en"), thread["pro"].pk)
    assert ">Reply</a>" in english and ">Reply</a>" not in french
    assert ">Reply</a>" not in comments_of(page(client, thread["debate"], lang="fr"), thread["pro"].pk)


def test_the_moderators_fragments_never_reach_the_public(thread, mona, bob):
    hidden = thread["hidden"].pk
    # The moderator's view fills the cache first, then the public's is read: and the other way round.
    assert "Texte masqué" in comments_of(page(signed_in(mona), thread["debate"]), hidden)
    for client in (Client(), signed_in(bob)):
        html = page(client, thread["debate"])
        assert "Texte masqué" not in html and "Insulte" not in html and 'value="hide"' not in html
    cache.clear()
    assert "Texte masqué" not in page(Client(), thread["debate"])
    html = comments_of(page(signed_in(mona), thread["debate"]), hidden)
    assert "Texte masqué" in html and 'value="unhide"' in html


def test_each_reader_sees_their_own_votes_pressed(thread, bob, carol):
    pro, neutral = thread["pro"].pk, thread["neutral"].pk
    up, down = 'aria-pressed="true" data-vote="up"', 'aria-pressed="true" data-vote="down"'
    bobs = page(signed_in(bob), thread["debate"])
    assert up in comments_of(bobs, pro) and down in comments_of(bobs, neutral)
    carols = page(signed_in(carol), thread["debate"])  # after bob's page filled the cache
    assert up in comments_of(carols, pro) and down not in comments_of(carols, neutral)
    anonymous = page(Client(), thread["debate"])
    assert 'aria-pressed="true"' not in anonymous
    bobs = page(signed_in(bob), thread["debate"])
    assert up in comments_of(bobs, pro) and down in comments_of(bobs, neutral)


def test_each_reader_gets_forms_with_their_own_csrf_token(thread, bob, carol):
    """Fragments filled by one reader's page work in another's: every token on a page is the reader's."""
    page(signed_in(carol), thread["debate"])  # carol fills the cache
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    html = page(client, thread["debate"])
    vote_form = html[html.index(f'id="comment-{thread["con"].pk}-vote"'):]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', vote_form).group(1)
    assert fragments.CSRF_PLACEHOLDER not in html
    response = client.post(f"/debates/{thread['debate'].pk}/comments/{thread['pro'].pk}/vote/",
                           {"value": "down", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert thread["pro"].votes.get(user=bob).value == -1
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    assert len(tokens) == 1, "one token per page, the reader's"


def test_load_more_uses_the_cache_too(fiona, alice):
    debate = make_debate(fiona)
    for i in range(25):
        services.post_comment(author=alice, debate=debate, body=f"n°{i}")
    client = Client()
    client.cookies["django_language"] = "en"
    url = f"{debate.get_absolute_url()}?sort=oldest&view=list&page=2&fragment=page"
    first = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    again = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert normalized(first) == normalized(again) and first.count('class="comment depth-0') == 5


def test_a_cache_outage_still_serves_the_page(thread, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set_many", down)
    html = page(Client(), thread["debate"])
    assert "<strong>vraiment</strong>" in html


def test_the_key_covers_everything_the_comment_builder_reads():
    """A builder that starts showing another field of the comment must add it to fragments.key (a comment) or
    fragments._thread_key (the thread's shape)."""
    import inspect

    from debates import comment_html
    from debates.templatetags import debate_comments

    covered = {"pk", "depth", "alignment", "stance_slug", "get_alignment_display", "body_html", "created_at",
               "edited_at", "is_deleted", "is_hidden", "hidden_reason", "score", "upvotes", "downvotes", "my_vote",
               "author_id", "url", "author",
               "children", "more_replies", "main_html", "thread_html",  # the thread's shape, and the cache itself
               "html"}  # "debates/comment.html" in the docstring
    author_covered = {"public_name", "initials", "avatar_hue", "get_absolute_url", "is_erased"}
    source = inspect.getsource(comment_html)
    read = set(re.findall(r"\bcomment\.(\w+)", source)) | set(re.findall(r'getattr\(comment, "(\w+)"', source))
    assert read <= covered, read - covered
    assert set(re.findall(r"\bauthor\.(\w+)", source)) <= author_covered
    # Context beyond the comment: each is part of the key's base in fragments.prepare.
    names = set(re.findall(r'context(?:\.get\(|\[)"(\w+)"', source + inspect.getsource(debate_comments)))
    assert names <= {"comment", "moderator_view", "report_url", "act_url", "request", "oob", "focus",
                     "csrf_token", "tallies"}, names  # (the tallies are the debate's, never cached)
    for name in fragments.TEMPLATES:  # each a tag calling the builder
        source = (TEMPLATES_DIR / name).read_text()
        assert re.fullmatch(r"{% load debate_comments %}{#[^#]*#}{% debate_\w+ %}\n", source), name


def test_a_change_to_the_builder_changes_every_key(monkeypatch, tmp_path):
    from django.template import engines

    engine = engines["django"].engine
    before = fragments.fingerprint(engine)
    builder = tmp_path / "comment_html.py"
    builder.write_text(Path(fragments.BUILDER).read_text() + "\n# changed\n")
    monkeypatch.setattr(fragments, "BUILDER", str(builder))
    assert fragments.fingerprint(engine) != before


def test_a_template_or_catalog_change_changes_every_key(tmp_path, monkeypatch):
    from django.template import engines

    engine = engines["django"].engine
    before = fragments.fingerprint(engine)
    catalog = tmp_path / "fr" / "LC_MESSAGES" / "django.mo"
    catalog.parent.mkdir(parents=True)
    catalog.write_bytes(b"one")
    monkeypatch.setattr(settings, "LOCALE_PATHS", [tmp_path])
    first = fragments.fingerprint(engine)
    catalog.write_bytes(b"two, longer")
    assert len({before, first, fragments.fingerprint(engine)}) == 3


def test_the_push_and_the_cached_page_show_the_same_comment(thread, carol):
    """The live renderers build a comment's main part directly: after an edit, what the push brings and what a
    page served from the cache shows are the same comment (the page's forms carry its CSRF token and `next`)."""
    from django.utils import translation

    from live import streams
    from live.models import Event

    client = Client()
    page(client, thread["debate"])
    services.edit_comment(comment=thread["neutral"], actor=carol, body="Un *troisième* avis")
    event = Event.objects.filter(stream=thread["debate"].stream_key, kind="comment.edited").last()
    pushed = json.loads(streams.frames(event)[f"public:{translation.get_language()}"])["html"]
    pk = thread["neutral"].pk
    pushed = pushed[pushed.index(f'<div id="comment-{pk}-main"'):pushed.index('<section id="debate-tallies"')]
    html = page(client, thread["debate"])
    shown = html[html.index(f'<div id="comment-{pk}-main"'):html.index(f'<div id="comment-{pk}-panel"')]
    assert fragments.CSRF_PLACEHOLDER not in html and "<em>troisième</em>" in shown
    shown = re.sub(r'<input type="hidden" name="(csrfmiddlewaretoken|next)" value="[^"]*">', "", shown)
    assert shown.strip() == pushed.replace(' hx-swap-oob="true"', "").strip()


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("which", ["root", "reply"])
def test_the_posted_push_and_the_page_show_the_same_comment(thread, alice, lang, which):
    """comment.posted pushes comment.html whole (the article, its main part, vote form and score): the same HTML as
    the page shows for it, in each language (the page's forms carry its CSRF token and `next`)."""
    from django.utils import translation

    from live import streams
    from live.models import Event

    parent = thread["pro"] if which == "reply" else None
    comment = services.post_comment(author=alice, debate=thread["debate"], body="Un *nouvel* avis <b>&</b>",
                                    parent=parent, alignment=Stance.AGAINST if parent is None else None)
    event = Event.objects.filter(stream=thread["debate"].stream_key, kind="comment.posted").last()
    with translation.override(lang):
        pushed = json.loads(streams.frames(event)[f"public:{lang}"])["html"]
    start = f'<article id="comment-{comment.pk}"'
    pushed = pushed[pushed.index(start):pushed.index("</article>", pushed.index(start))]
    html = page(Client(), thread["debate"], lang=lang)
    shown = html[html.index(start):html.index("</article>", html.index(start))]
    shown = re.sub(r'<input type="hidden" name="(csrfmiddlewaretoken|next)" value="[^"]*">', "", shown)
    assert "<em>nouvel</em>" in shown and shown == pushed
