"""Small HTML pieces that every app's Python builders write (debates/comment_html.py, meetings/renderers.py,
live/messaging/renderers.py, live/notifications/renderers.py, live/moderation/renderers.py): one way each. As the
template engine writes them: variables escaped, translated texts left to the builders."""

from __future__ import annotations

from django.utils import formats, timezone, translation
from django.utils.html import escape


def csrf_input(token) -> str:
    """What `{% csrf_token %}` writes: nothing without a token or with a push's "NOTPROVIDED" (htmx sends the token
    as a header), else the hidden field. `token` may be the page context's lazy token."""
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'


def oob(flag) -> str:
    """The attribute of a fragment swapped out of band, with its leading space; nothing when `flag` is false."""
    return ' hx-swap-oob="true"' if flag else ""


# The texts of moments already written, by language, format and wall time: a push writes the same few minutes over
# and over (a message's two inbox rows, a thread's comments), and Django's date_format parses its format on every call
# (18 us a call alone, 3.7% of the server's time on S3's messages, #17). Bounded: emptied when full.
_MOMENTS: dict[tuple, str] = {}
_MOMENTS_MAX = 4096
# Formats whose text shows more than the minute (seconds, microseconds, epoch seconds, the ISO and RFC forms): their
# moments are memoized to the microsecond, the others to the minute. By (language, format name), filled on first use.
_SHOWS_SECONDS: dict[tuple[str | None, str], bool] = {}


def moment_text(moment, fmt: str = "SHORT_DATETIME_FORMAT") -> str:
    """`date_format(localtime(moment), fmt)` in the active language and time zone, as the template filter writes it."""
    local = timezone.localtime(moment)
    lang = translation.get_language()
    seconds = _SHOWS_SECONDS.get((lang, fmt))
    if seconds is None:
        seconds = _SHOWS_SECONDS[lang, fmt] = any(char in formats.get_format(fmt) for char in "sucrU")
    wall = local.replace(tzinfo=None) if seconds else local.replace(second=0, microsecond=0, tzinfo=None)
    key = (lang, fmt, wall, local.utcoffset(), local.tzname())
    text = _MOMENTS.get(key)
    if text is None:
        if len(_MOMENTS) >= _MOMENTS_MAX:
            _MOMENTS.clear()
        text = _MOMENTS[key] = formats.date_format(local, fmt)
    return text
