"""Markdown-lite for user content: the one place that turns what a person typed into HTML.

Supported: *emphasis* / _emphasis_, **strong**, [links](https://...), bare http(s) links, "- " / "* " and "1. "
lists, "> " quotes, paragraphs (blank line) and line breaks (single newline), and @mentions of nicknames the caller
knows to exist. Everything else is shown as typed (escaped). The result goes through nh3 with a closed list of tags
and a single attribute (href on <a>), so whatever our little parser gets wrong cannot become markup: no hx-*,
data-*, on* or style attribute, no javascript:/data: link, ever.

    render_markdown_lite(body, mentions={"alice"}) -> SafeString
    mentioned_nicknames(body) -> set of candidate nicknames (look them up, pass the existing ones back)
    plain_text(body, limit=None) -> str (for notifications, titles, previews; not escaped: let templates escape)
    replace_mentions(body, nickname, replacement) -> str (an erased account's @mentions in others' texts)
    replace_name(text, nickname, replacement) -> str (the same, for a name written with or without "@")

It is also the one policy for what a person may type, anywhere (services, forms, model fields):

    clean_user_text(value, multiline=True, max_length=1000, field=_("Your comment")) -> the text as stored
    TextValidator(multiline=False, name=False) -> a model or form field validator (characters only)

- Single-line text (titles, names, places, questions, choices) has no line break; multi-line text (comments,
  messages, contributions, minutes, descriptions, bios, report details, reasons, conclusions) keeps its line
  breaks and tabs, "\r\n" and "\r" stored as "\n".
- Normalisation is only that and trimming the ends: what remains is stored exactly as typed (no Unicode
  normalisation), so emoji (with their joiners and skin tones), RTL and CJK text round-trip byte for byte.
- Refused everywhere, with one clear error: control characters (NUL, C0/C1, DEL), lone surrogates, private-use
  characters and noncharacters, the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: they make
  text read differently from how it is stored) and the invisible zero-width space, word joiner and BOM.
- Names (nicknames) also refuse the zero-width joiners and unassigned code points, and letters of more than one of
  the Latin, Greek and Cyrillic alphabets ("аlice" with a Cyrillic "а"): they make look-alike names.
- Length is counted in characters (code points) after normalisation.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

import nh3
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.deconstruct import deconstructible
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

ALLOWED_TAGS = {"p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Rendering drops what the policy below refuses on input, in case older rows or other paths hold some: NUL and the
# other C0 controls (tab and newline aside) and the bidi controls.
_CONTROL_RE = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f{BIDI_CONTROLS}]")

_BULLET_RE = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_ORDERED_RE = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?(.*)$")

# Inline patterns run on ALREADY ESCAPED text ("&", "<", ">", '"' and "'" are entities by then).
_LINK_RE = re.compile(r"\[([^\[\]\n]{1,300})\]\(\s*([^()\s]{1,2000})\s*\)")
_AUTOLINK_RE = re.compile(r"(?<![\w/])(?:https?://)(?:(?!&lt;|&gt;|&quot;|&#x27;)[^\s\x01])+", re.IGNORECASE)
_STRONG_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EM_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
# A mention: "@" not preceded by a word character (so e-mail addresses are left alone), then a nickname made of
# letters, digits, ".", "-" and "_" (nicknames with spaces cannot be mentioned; they can still be read).
MENTION_RE = re.compile(r"(?<![\w@/&;])@([\w][\w.\-]{0,28}[\w]|[\w])", re.UNICODE)
_PLACEHOLDER_RE = re.compile("\x01(\\d+)\x01")
_TRAILING_PUNCT = ".,;:!?)]'\""


def _clean_input(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates cannot be encoded; drop them rather than fail later.
    text = text.encode("utf-8", "ignore").decode("utf-8") if _has_surrogates(text) else text
    return _CONTROL_RE.sub("", text)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe_url(escaped_url: str) -> str | None:
    """The href for a user-written URL (given escaped), or None when its scheme is not http, https or mailto."""
    raw = html.unescape(escaped_url).strip()
    if not raw or any(ord(c) < 33 for c in raw):
        return None
    lowered = raw.lower()
    if lowered.startswith(("http://", "https://")) and len(raw) > len("https://"):
        pass
    elif lowered.startswith("mailto:") and "@" in raw:
        pass
    else:
        return None
    return html.escape(raw, quote=True)


def profile_url(nickname: str) -> str:
    """The path of `nickname`'s profile page, as mentions link to it."""
    try:
        return reverse("accounts:profile", args=[nickname])
    except NoReverseMatch:  # pragma: no cover - accounts urls are always installed
        return f"/accounts/people/{nickname}/"


class _Inline:
    """Inline formatting of one block of escaped text. Links are cut out into placeholders first so emphasis and
    mentions never reach inside an href."""

    def __init__(self, mentions: set[str]):
        self.mentions = mentions
        self.saved: list[str] = []

    def _keep(self, fragment: str) -> str:
        self.saved.append(fragment)
        return f"\x01{len(self.saved) - 1}\x01"

    def _link(self, match: re.Match) -> str:
        label, url = match.group(1), match.group(2)
        href = _safe_url(url)
        if href is None:
            return match.group(0)  # shown as typed, harmless once escaped
        return self._keep(f'<a href="{href}">{self._emphasis(label)}</a>')

    def _autolink(self, match: re.Match) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in _TRAILING_PUNCT:
            tail = url[-1] + tail
            url = url[:-1]
        # An escaped entity at the end ("&amp;") is part of the URL; a dangling "&" cannot be produced by escape().
        href = _safe_url(url)
        if href is None:
            return match.group(0)
        return self._keep(f'<a href="{href}">{url}</a>') + tail

    def _mention(self, match: re.Match) -> str:
        nickname = match.group(1)
        if nickname not in self.mentions:
            # "@bob." : the dot is punctuation, not part of the name.
            stripped = nickname.rstrip(".-")
            if stripped in self.mentions:
                return self._keep(f'<a href="{html.escape(profile_url(stripped))}">@{stripped}</a>') + \
                    nickname[len(stripped):]
            return match.group(0)
        return self._keep(f'<a href="{html.escape(profile_url(nickname))}">@{nickname}</a>')

    @staticmethod
    def _emphasis(text: str) -> str:
        text = _STRONG_RE.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
        return _EM_RE.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)

    def render(self, escaped: str) -> str:
        text = _LINK_RE.sub(self._link, escaped)
        text = _AUTOLINK_RE.sub(self._autolink, text)
        if self.mentions:
            text = MENTION_RE.sub(self._mention, text)
        text = self._emphasis(text)
        text = text.replace("\n", "<br>\n")
        # Placeholders may nest (a link kept inside nothing else), one pass per level is plenty.
        for _pass in range(3):
            if "\x01" not in text:
                break
            text = _PLACEHOLDER_RE.sub(lambda m: self.saved[int(m.group(1))], text)
        return text


def _blocks(lines: list[str]) -> Iterable[tuple[str, list[str]]]:
    """Group lines into ("p" | "ul" | "ol" | "blockquote", lines) blocks."""
    kind, current = None, []
    for line in lines:
        if not line.strip():
            if current:
                yield kind, current
            kind, current = None, []
            continue
        if m := _QUOTE_RE.match(line):
            line_kind, content = "blockquote", m.group(1)
        elif m := _BULLET_RE.match(line):
            line_kind, content = "ul", m.group(1)
        elif m := _ORDERED_RE.match(line):
            line_kind, content = "ol", m.group(1)
        else:
            line_kind, content = "p", line
            # A plain line right under a list item or a quote continues it (lazy continuation).
            if kind in ("ul", "ol", "blockquote") and current:
                if kind == "blockquote":
                    current.append(line.strip())
                else:
                    current[-1] += "\n" + line.strip()
                continue
        if line_kind != kind and current:
            yield kind, current
            current = []
        kind = line_kind
        current.append(content)
    if current:
        yield kind, current


def _render_blocks(text: str, mentions: set[str], depth: int = 0) -> str:
    out = []
    for kind, lines in _blocks(text.split("\n")):
        if kind == "blockquote":
            inner = "\n".join(lines)
            if depth < 2:
                out.append(f"<blockquote>{_render_blocks(inner, mentions, depth + 1)}</blockquote>")
            else:
                out.append(f"<blockquote><p>{_Inline(mentions).render(html.escape(inner))}</p></blockquote>")
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{_Inline(mentions).render(html.escape(item))}</li>" for item in lines)
            out.append(f"<{kind}>{items}</{kind}>")
        else:
            out.append(f"<p>{_Inline(mentions).render(html.escape(chr(10).join(lines)))}</p>")
    return "\n".join(out)


def sanitize_html(fragment: str) -> str:
    """The last line of defence: only our tags, only href on links, only safe schemes, rel forced."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        clean_content_tags={"script", "style"},
    )


def render_markdown_lite(text: str, mentions: Iterable[str] | None = None) -> SafeString:
    """Markdown-lite -> sanitized HTML. `mentions`: nicknames that exist (only those become profile links)."""
    cleaned = _clean_input(text).strip("\n")
    if not cleaned.strip():
        return mark_safe("")
    return mark_safe(sanitize_html(_render_blocks(cleaned, set(mentions or ()))))


def mentioned_nicknames(text: str) -> set[str]:
    """Candidate nicknames mentioned in `text` (unverified: look them up before trusting them)."""
    found = set()
    for m in MENTION_RE.finditer(_clean_input(text)):
        nickname = m.group(1)
        found.add(nickname)
        found.add(nickname.rstrip(".-"))
    found.discard("")
    return found


def _name_re(nickname: str, *, bare: bool) -> re.Pattern:
    """`nickname` as a whole name, in any case: an @mention of it (as MENTION_RE reads one: "@zoe." and "@zoe," are
    mentions of zoe; "@zoe.b" or "@zoe-b" name someone else), and with `bare` also the name written without "@",
    never inside a longer word or nickname ("ann" is not in "anna", "marie-ann", "ann.b" or "/people/ann/")."""
    name = re.escape(nickname)
    head = rf"(?:@{name}|(?<![\w.\-]){name})" if bare else rf"@{name}"
    return re.compile(rf"(?<![\w@/&;]){head}(?![\w]|[.\-][\w])", re.IGNORECASE)


def replace_mentions(text: str, nickname: str, replacement: str) -> str:
    """`text` with every @mention of `nickname` (in any case) turned into `replacement`, as plain text: what an
    erased account leaves in what others wrote."""
    if not text or not nickname or "@" not in text:
        return text
    return _name_re(nickname, bare=False).sub(lambda _match: replacement, text)


def replace_name(text: str, nickname: str, replacement: str) -> str:
    """`text` with every whole-name occurrence of `nickname` (in any case, with or without "@") turned into
    `replacement`: an erased account's name in texts that name people without "@" (a notification, a moderator's
    reason). "anna" and "Propos racistes" keep their letters when "ann" or "rac" goes."""
    if not text or not nickname:
        return text
    return _name_re(nickname, bare=True).sub(lambda _match: replacement, text)


# plain_text's markup, compiled once (an inbox row's preview ran them through re's cache on every push), and each
# skipped when the text has none of its characters.
_PLAIN_LINK_RE = re.compile(r"\[([^\[\]\n]{1,300})\]\(\s*[^()\s]{1,2000}\s*\)")
_PLAIN_LINE_MARK_RE = re.compile(r"^\s{0,3}(?:>\s?|[-*+]\s+|\d{1,9}[.)]\s+)", flags=re.MULTILINE)
_PLAIN_STRONG_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_PLAIN_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_PLAIN_UNDERSCORE_RE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")


def plain_text(text: str, limit: int | None = None) -> str:
    """The words of a Markdown-lite text without its markup, on one line: for notifications, titles and
    previews. Not escaped (templates escape it)."""
    text = _clean_input(text)
    if "](" in text:
        text = _PLAIN_LINK_RE.sub(r"\1", text)
    text = _PLAIN_LINE_MARK_RE.sub("", text)
    if "*" in text or "_" in text:
        text = _PLAIN_STRONG_RE.sub(lambda m: m.group(1) or m.group(2), text)
        text = _PLAIN_STAR_RE.sub(r"\1", text)
        text = _PLAIN_UNDERSCORE_RE.sub(r"\1", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        cut = text[: max(limit - 1, 0)].rstrip()
        text = cut + "…"
    return text


# What no text column (PostgreSQL refuses NUL) and no UTF-8 encoder (a lone surrogate) accepts: refused at the
# doors, request input (live.middleware.RequestInputMiddleware) and socket frames (live.consumers), not per field.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def storable(value) -> bool:
    """False when a string, or any string of a JSON-like value (keys included), holds NUL or a lone surrogate."""
    if isinstance(value, str):
        return not _UNSTORABLE_RE.search(value)
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(storable(item) for item in value)
    return True


# --- The user-text policy (module docstring) -------------------------------------------------------------------------

# Control (Cc), surrogate (Cs) and private-use (Co) characters, the bidi controls, the invisible zero-width space,
# word joiner and BOM, and the noncharacters (U+FDD0-U+FDEF, U+xFFFE and U+xFFFF of every plane).
_REFUSED_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff\u200b\u2060\ufeff"
    f"{BIDI_CONTROLS}\ufdd0-\ufdef"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17)) + "]")
# Also refused in names: the zero-width joiners (emoji sequences and Persian or Indic words need them in text) and
# unassigned code points (a newer emoji than this Python knows is fine in a comment, not in a name).
_NAME_ONLY = "\u200c\u200d"

MESSAGES = {
    "required": _("%(field)s cannot be empty."),
    "too_short": _("%(field)s must be at least %(min)s characters long (it has %(count)s)."),
    "too_long": _("%(field)s must be at most %(max)s characters long (it has %(count)s)."),
    "control_chars": _("%(field)s contains invisible or control characters."),
    "one_line": _("%(field)s must fit on one line."),
    "mixed_scripts": _("%(field)s mixes letters of different alphabets (Latin, Greek, Cyrillic)."),
}

# Alphabets whose letters look alike ("a" and Cyrillic "а", "o" and Greek "ο"): a name takes its letters from one.
_LOOKALIKE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _mixes_scripts(value: str) -> bool:
    scripts = set()
    for char in value:
        if char.isalpha():
            script = unicodedata.name(char, "").partition(" ")[0]
            if script in _LOOKALIKE_SCRIPTS:
                scripts.add(script)
    return len(scripts) > 1


def _refused(value: str, *, multiline: bool, name: bool) -> str | None:
    """The code of the first rule `value` breaks ("one_line", "control_chars" or, in a name, "mixed_scripts"), or
    None."""
    if not multiline and any(char in "\n\r\u2028\u2029" for char in value):
        return "one_line"
    for match in _REFUSED_RE.finditer(value):
        if not (multiline and match.group() in "\n\r\t"):
            return "control_chars"
    if name and any(char in _NAME_ONLY or unicodedata.category(char) == "Cn" for char in value):
        return "control_chars"
    if name and _mixes_scripts(value):
        return "mixed_scripts"
    return None


def _error(code: str, field, messages: dict | None, key: str | None, **params) -> ValidationError:
    message = (messages or {}).get(code) or MESSAGES[code]
    error = ValidationError(message % {"field": field or _("This text"), **params}, code=code)
    return ValidationError({key: [error]}) if key else error


@deconstructible
class TextValidator:
    """The policy's characters, as a model or form field validator (the field's max_length and blank do the rest;
    the service cleaning the value normalises its line breaks)."""

    def __init__(self, *, multiline: bool = False, name: bool = False):
        self.multiline, self.name = multiline, name

    def __call__(self, value) -> None:
        code = _refused(str(value), multiline=self.multiline, name=self.name)
        if code:
            raise _error(code, None, None, None)

    def __eq__(self, other):
        return isinstance(other, TextValidator) and (self.multiline, self.name) == (other.multiline, other.name)


def clean_user_text(value: str | None, *, multiline: bool, max_length: int, min_length: int = 0,
                    required: bool = True, name: bool = False, field=None, key: str | None = None,
                    messages: dict | None = None) -> str:
    """`value` as stored (line breaks normalised, ends trimmed), or ValidationError with a message shown as is.

    `field` names the text in messages ("Your comment"; default "This text"); `key` puts the error on that form
    field (a dict ValidationError); `messages` replaces the wording of some codes ("required", "too_short",
    "too_long", "control_chars", "one_line"); messages may use %(field)s, %(min)s, %(max)s and %(count)s."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        if required:
            raise _error("required", field, messages, key)
        return ""
    code = _refused(value, multiline=multiline, name=name)
    if code:
        raise _error(code, field, messages, key)
    if len(value) < min_length:
        raise _error("too_short", field, messages, key, min=min_length, count=len(value))
    if len(value) > max_length:
        raise _error("too_long", field, messages, key, max=max_length, count=len(value))
    return value
