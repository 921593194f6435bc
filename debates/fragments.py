"""Cached HTML of the comments a page shows (S8: rendering, not queries, was the cost of a big debate's page).

What is cached is a comment's main part (comment_html.main_html: what `debates/comment_main.html` shows) as one page
render produces it, and each thread (comment_html.thread_html), under a key made of every value the builder reads: the comment's own fields (body, stance, edit/delete/hide stamps, hide reason, score and vote
counts), its author's nickname and blocked state, the reader's own vote, the audience (moderators see hidden
comments with their controls), the language, the time zone, the page's path (the vote form's `next`), the
moderation URLs, and a fingerprint of the builder's code, the templates and the translation catalogs. An edit, a hide, a vote, a
deletion, a renamed or blocked author changes the key, so a stale fragment is never looked up again: there is
nothing to invalidate, and processes sharing the cache (Redis in production) cannot disagree. Old entries expire.

The only per-person bytes in the fragment are the forms' CSRF token: fragments are stored with a placeholder that
each page replaces with its own token. Pushed events (`debates/renderers.py`) call the same builder directly,
without the cache (once per event, audience and language)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from functools import lru_cache

import django
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from debates import comment_html, selectors

log = logging.getLogger(__name__)

# The builder's source and the comment's templates (each a tag calling it): part of every key (a deploy that changes
# them must not serve fragments built by the old ones). tests/debates/test_fragments.py checks the list is complete.
BUILDER = comment_html.__file__
TEMPLATES = ("debates/comment.html", "debates/comment_main.html", "debates/comment_vote.html",
             "debates/comment_score.html", "debates/more_replies.html")
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
    paths = [BUILDER]
    for name in TEMPLATES:
        template = engine.get_template(name)
        paths.append(template.origin.name)
    for base in settings.LOCALE_PATHS:
        for lang, _name in settings.LANGUAGES:
            paths.append(os.path.join(base, lang, "LC_MESSAGES", "django.mo"))
    return paths


def fingerprint(engine) -> str:
    """What the builder, the templates and the catalogs are, by content (stat() on every call, so a template edited under the
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
             author.is_erased, comment.body_html)
    raw = "\x1f".join(map(str, parts)).encode()
    return PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()


def _csrf_token(context) -> str:
    token = context.get("csrf_token")
    return "" if token is None else str(token)


def _thread_key(base: str, keys: dict, root) -> str:
    """A thread as the page shows it: each comment's own key, its folded replies count, its shown replies in
    order. A new reply, a folded one, or any change to one of its comments is another thread."""

    def shape(comment) -> str:
        children = ",".join(shape(child) for child in getattr(comment, "children", []))
        return f"{keys[comment.pk]}:{getattr(comment, 'more_replies', 0)}[{children}]"

    raw = f"thread\x1e{base}\x1e{shape(root)}".encode()
    return PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()


def _read(keys) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:  # the cache is an optimisation: a Redis outage renders the page the slow way
        log.warning("comment fragment cache unreadable", exc_info=True)
        return {}


def _write(entries: dict, seconds: int) -> None:
    if entries:
        try:
            cache.set_many(entries, seconds)
        except Exception:
            log.warning("comment fragment cache unwritable", exc_info=True)


def prepare(context, roots) -> None:
    """Give each thread of `roots` its `thread_html` (comment.html as this page renders it, with this page's CSRF
    token): one cache read for the whole list. For the threads not found, each comment's main part is read or
    built (`main_html`), then the thread is built, both for this very context, and stored. Does nothing for
    renders without a request (pushes) or when COMMENT_CACHE_SECONDS is 0."""
    seconds = settings.DEBATES_COMMENT_CACHE_SECONDS
    request = context.get("request")
    roots = [root for root in roots if not hasattr(root, "thread_html")]
    if not seconds or request is None or context.get("oob") or not roots:
        return
    token = _csrf_token(context)
    if not token or token == "NOTPROVIDED":
        return
    engine = context.template.engine
    focus = context.get("focus")
    base = "\x1e".join(map(str, (
        fingerprint(engine), translation.get_language(), timezone.get_current_timezone_name(),
        bool(context.get("moderator_view")), context.get("report_url") or "", context.get("act_url") or "",
        request.path, getattr(focus, "pk", ""))))
    members = {root.pk: list(selectors.flatten([root])) for root in roots}
    keys = {comment.pk: key(base, comment) for group in members.values() for comment in group}
    thread_keys = {root.pk: _thread_key(base, keys, root) for root in roots}
    threads = _read(list(thread_keys.values()))
    missing = [root for root in roots if thread_keys[root.pk] not in threads]
    stored = {}
    if missing:
        comments = [comment for root in missing for comment in members[root.pk]]
        mains = _read([keys[comment.pk] for comment in comments])
        around = dataclasses.replace(comment_html.Around.of(context), csrf_token=CSRF_PLACEHOLDER)
        for comment in comments:
            html = mains.get(keys[comment.pk])
            if html is None:
                html = stored[keys[comment.pk]] = comment_html.main_html(comment, around)
            comment.main_html = mark_safe(html)
        for root in missing:
            threads[thread_keys[root.pk]] = stored[thread_keys[root.pk]] = comment_html.thread_html(root, around)
    for root in roots:
        root.thread_html = mark_safe(threads[thread_keys[root.pk]].replace(CSRF_PLACEHOLDER, token))
    _write(stored, seconds)
