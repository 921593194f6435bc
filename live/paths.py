"""Reversed URLs, the URL resolver's work done once per process (#17: a reverse() costs about 100 Python calls, and
a push reversed the same few URLs for every language and audience it rendered).

`reverse_once(name, *args)` is `reverse(name, args=args)`, the same string, kept per view name, URLconf and script
prefix (both read from the current thread, as reverse reads them):
- when every argument is a non-negative integer (ids), the path is reversed once with stand-in numbers and kept as
  its parts around them, so a path of any id costs a few string joins and the cache does not grow with the ids
  (a stand-in that the path shows anywhere else, or not exactly once, falls back to the next way);
- otherwise the path is kept per arguments too (profiles by nickname), the MAX most recently used.
The URLs are the same in every language (live/urls.py), so the language is not part of the key. `reverse_or_none`
answers None where the view is not installed (moderation off). The one way to reverse on a hot path."""

from __future__ import annotations

import functools

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

MAX = 8192
STAND_INS = (987654321, 987654322, 987654323)  # neither contains another


def reverse_once(viewname: str, *args) -> str:
    url = reverse_or_none(viewname, *args)
    if url is None:
        raise NoReverseMatch(f"Reverse for {viewname!r} with arguments {args!r} not found.")
    return url


def reverse_or_none(viewname: str, *args) -> str | None:
    urlconf, prefix = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    if args and len(args) <= len(STAND_INS) and all(type(arg) is int and arg >= 0 for arg in args):
        parts = _parts(viewname, len(args), urlconf, prefix)
        if parts is not None:
            out = parts[0]
            for arg, part in zip(args, parts[1:], strict=True):
                out += f"{arg}{part}"
            return out
    return _reversed(viewname, args, urlconf, prefix)


@functools.lru_cache(maxsize=256)
def _parts(viewname: str, arity: int, urlconf, prefix: str) -> tuple[str, ...] | None:
    """The path around its ids, or None when the stand-ins cannot tell them apart (or the view is not there)."""
    stand_ins = STAND_INS[:arity]
    url = _reversed(viewname, stand_ins, urlconf, prefix)
    if url is None or any(url.count(str(stand_in)) != 1 for stand_in in stand_ins):
        return None
    parts = [url]
    for stand_in in stand_ins:
        head, tail = parts[-1].split(str(stand_in))
        parts[-1:] = [head, tail]
    return tuple(parts)


@functools.lru_cache(maxsize=MAX)
def _reversed(viewname: str, args: tuple, urlconf, prefix: str) -> str | None:
    try:
        return reverse(viewname, args=args or None, urlconf=urlconf)
    except NoReverseMatch:
        return None
