"""Cached HTML of the comments a page shows (S8: rendering, not queries, was the cost of a big debate's page).

What is cached is `debates/comment_main.html` as one page render produces it, under a key made of every value that
template reads: the comment's own fields (body, stance, edit/delete/hide stamps, hide reason, score and vote
counts), its author's nickname and blocked state, the reader's own vote, the audience (moderators see hidden
comments with their controls), the language, the time zone, the page's path (the vote form's `next`), the
moderation URLs, and a fingerprint of the templates and translation catalogs. An edit, a hide, a vote, a
deletion, a renamed or blocked author changes the key, so a stale fragment is never looked up again: there is
nothing to invalidate, and processes sharing the cache (Redis in production) cannot disagree. Old entries expire.

The only per-person bytes in the fragment are the forms' CSRF token: fragments are stored with a placeholder that
each page replaces with its own token. Pushed events (`debates/streams.py`) render the same template directly,
without the cache (once per event, audience and language)."""

from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache

import django
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from debates import conf

log = logging.getLogger(__name__)

TEMPLATE = "debates/comment_main.html"
# comment_main.html and what it includes: their sources are part of every key (a deploy that changes them must
# not serve fragments rendered by the old ones). tests/debates/test_fragments.py checks the list is complete.
TEMPLATES = ("debates/comment_main.html", "debates/comment_vote.html", "debates/comment_score.html")
# Alphanumeric, so escaping leaves it alone; never a valid token.
CSRF_PLACEHOLDER = "CSRFxPLACEHOLDERxDEBATESxFRAGMENT"
PREFIX = "debates:comment-main:"


def _file_state(path: str) -> tuple:
    try:
        stat = os.stat(path)
    except OSError:
        return (path, 0, 0)
    return (path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _digest_of(states: tuple) -> str:
    digest = hashlib.blake2b(django.get_version().encode(), digest_size=8)
    for path, _mtime, _size in states:
        try:
            with open(path, "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(path.encode())
    return digest.hexdigest()


def _sources(engine) -> list[str]:
    paths = []
    for name in TEMPLATES:
        template = engine.get_template(name)
        paths.append(template.origin.name)
    for base in settings.LOCALE_PATHS:
        for lang, _name in settings.LANGUAGES:
            paths.append(os.path.join(base, lang, "LC_MESSAGES", "django.mo"))
    return paths


def fingerprint(engine) -> str:
    """What the templates and catalogs are, by content (stat() on every call, so a template edited under the
    development server changes the keys at once; read again only when a file changed)."""
    return _digest_of(tuple(_file_state(path) for path in _sources(engine)))


def _stamp(value) -> str:
    return value.isoformat() if value is not None else ""


def key(base: str, comment) -> str:
    author = comment.author
    parts = (base, comment.pk, comment.debate_id, comment.depth, comment.alignment, _stamp(comment.created_at),
             _stamp(comment.edited_at), _stamp(comment.deleted_at), _stamp(comment.hidden_at),
             comment.hidden_reason, comment.score, comment.upvotes, comment.downvotes,
             getattr(comment, "my_vote", 0) or 0, comment.author_id, author.nickname, author.is_blocked,
             comment.body_html)
    raw = "\x1f".join(map(str, parts)).encode()
    return PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()


def _csrf_token(context) -> str:
    token = context.get("csrf_token")
    return "" if token is None else str(token)


def prepare(context, comments) -> None:
    """Give each comment of `comments` its `main_html` (the rendered comment_main.html with this page's CSRF
    token): one cache read for all of them, the misses rendered in this very context and stored. Does nothing
    for renders without a request (pushes) or when COMMENT_CACHE_SECONDS is 0."""
    seconds = conf.get("COMMENT_CACHE_SECONDS")
    request = context.get("request")
    comments = [c for c in comments if not hasattr(c, "main_html")]
    if not seconds or request is None or context.get("oob") or not comments:
        return
    token = _csrf_token(context)
    if not token or token == "NOTPROVIDED":
        return
    engine = context.template.engine
    base = "\x1e".join(map(str, (
        fingerprint(engine), translation.get_language(), timezone.get_current_timezone_name(),
        bool(context.get("moderator_view")), context.get("report_url") or "", context.get("act_url") or "",
        request.path)))
    keys = {comment.pk: key(base, comment) for comment in comments}
    try:
        found = cache.get_many(list(keys.values()))
    except Exception:  # the cache is an optimisation: a Redis outage renders the page the slow way
        log.warning("comment fragment cache unreadable", exc_info=True)
        found = {}
    missed = {}
    template = None
    for comment in comments:
        html = found.get(keys[comment.pk])
        if html is None:
            if template is None:
                template = engine.get_template(TEMPLATE)
            with context.push(comment=comment, csrf_token=CSRF_PLACEHOLDER):
                html = str(template.render(context))
            missed[keys[comment.pk]] = html
        comment.main_html = mark_safe(html.replace(CSRF_PLACEHOLDER, token))
    if missed:
        try:
            cache.set_many(missed, seconds)
        except Exception:
            log.warning("comment fragment cache unwritable", exc_info=True)
