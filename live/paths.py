"""Reversed URLs, the URL resolver's work done once per process (#17: a reverse() costs about 100 Python calls, and
a push reversed the same few URLs for every language and audience it rendered).

`reverse_once(name, *args)` is `reverse(name, args=args)`, the same string, kept per view name, arguments, URLconf
and script prefix (both read from the current thread, as reverse reads them). The URLs are the same in every
language (live/urls.py), so the language is not part of the key. The MAX most recently used are kept (profiles by
nickname, conversations by id). `reverse_or_none` answers None where the view is not installed (moderation off).
The one way to reverse on a hot path: pages and pushes alike."""

from __future__ import annotations

import functools

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

MAX = 8192


def reverse_once(viewname: str, *args) -> str:
    url = reverse_or_none(viewname, *args)
    if url is None:
        raise NoReverseMatch(f"Reverse for {viewname!r} with arguments {args!r} not found.")
    return url


def reverse_or_none(viewname: str, *args) -> str | None:
    return _reversed(viewname, args, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=MAX)
def _reversed(viewname: str, args: tuple, urlconf, prefix: str) -> str | None:
    try:
        return reverse(viewname, args=args or None, urlconf=urlconf)
    except NoReverseMatch:
        return None
