"""live.text: Markdown-lite -> sanitized HTML. Whatever a person types, no script, handler, hx-* or data-* attribute
and no javascript:/data: link comes out."""
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from live.text import (
    TextValidator,
    clean_user_text,
    mentioned_nicknames,
    plain_text,
    render_markdown_lite,
    replace_mentions,
)

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert`1`)",
    "[click](jav&#x61;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox)",
    "[click]( javascript:alert(1) )",
    '<div hx-get="/accounts/logout/" hx-trigger="load">x</div>',
    '<button hx-post="/x" data-hx-post="/y">x</button>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</script>",
    '"><script>alert(1)</script>',
    "[x](https://ok.org\" onmouseover=\"alert(1))",
    "**<b onclick=alert(1)>bold</b>**",
    "> <iframe src=https://evil.example></iframe>",
    "- <style>body{display:none}</style>",
    "<!-- comment --><math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "https://ok.org/\"onmouseover=alert(1)",
    "[a](https://ok.org)<a href=https://x.org hx-get=/y>z</a>",
    "[x](javascript&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](https://ok.org/\"onmouseover=\"alert(1))",
    "<a href=\"https://ok.org\" data-hx-get=\"/x\" hx-on:click=\"alert(1)\">x</a>",
    "@alice<script>alert(1)</script>",
    "*<img src=x onerror=alert(1)>*",
]


class _Tags(HTMLParser):
    """The real elements and attributes a browser would build from the output."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_it_never_outputs_active_markup(payload):
    out = str(render_markdown_lite(payload, mentions={"alice"}))
    parser = _Tags()
    parser.feed(out)
    for tag, attrs in parser.tags:
        assert tag in {"p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote"}, out
        assert set(attrs) <= ({"href", "rel"} if tag == "a" else set()), out
        if tag == "a":
            assert attrs["rel"] == "nofollow ugc noopener"
            assert attrs["href"].startswith(("https://", "http://", "mailto:", "/accounts/people/")), out
    assert "<script" not in out.lower()


def test_it_escapes_rather_than_drops_what_people_typed():
    out = render_markdown_lite("a < b & c > d, <script>x</script>")
    assert out == "<p>a &lt; b &amp; c &gt; d, &lt;script&gt;x&lt;/script&gt;</p>"


def test_it_keeps_entities_as_typed():
    assert render_markdown_lite("&lt;b&gt;") == "<p>&amp;lt;b&amp;gt;</p>"


def test_it_renders_emphasis_and_strong():
    assert render_markdown_lite("*a* _b_ **c** __d__") == \
        "<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong></p>"


def test_it_leaves_snake_case_and_arithmetic_alone():
    assert render_markdown_lite("snake_case_name 2*3*4") == "<p>snake_case_name 2*3*4</p>"


def test_it_renders_safe_links_with_rel():
    out = render_markdown_lite("[la ville](https://ville.example/a?b=1&c=2)")
    assert out == ('<p><a href="https://ville.example/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
                   "la ville</a></p>")


def test_it_autolinks_bare_urls_without_trailing_punctuation():
    out = render_markdown_lite("voir https://ville.example/page.")
    assert out == ('<p>voir <a href="https://ville.example/page" rel="nofollow ugc noopener">'
                   "https://ville.example/page</a>.</p>")


def test_it_accepts_mailto_links():
    out = render_markdown_lite("[écrire](mailto:mairie@ville.example)")
    assert 'href="mailto:mairie@ville.example"' in out


@pytest.mark.parametrize("link", ["[x](javascript:alert(1))", "[x](data:text/html,hi)", "[x](/relative)",
                                  "[x](ftp://files.example)"])
def test_it_shows_unsafe_links_as_text(link):
    out = render_markdown_lite(link)
    assert "<a" not in out
    assert "[x]" in out


def test_it_renders_lists_quotes_and_line_breaks():
    out = render_markdown_lite("- un\n- deux\n\n1. a\n2. b\n\n> cité\n> encore\n\nligne 1\nligne 2")
    assert out == ("<ul><li>un</li><li>deux</li></ul>\n<ol><li>a</li><li>b</li></ol>\n"
                   "<blockquote><p>cité<br>\nencore</p></blockquote>\n<p>ligne 1<br>\nligne 2</p>")


def test_it_links_only_known_mentions():
    out = render_markdown_lite("merci @alice et @bob. cc @inconnu, a@alice.org", mentions={"alice", "bob"})
    assert '<a href="/accounts/people/alice/" rel="nofollow ugc noopener">@alice</a>' in out
    assert '<a href="/accounts/people/bob/" rel="nofollow ugc noopener">@bob</a>.' in out
    assert "@inconnu" in out and "people/inconnu" not in out
    assert "a@alice.org" in out and out.count("<a ") == 2


def test_it_does_not_link_mentions_inside_links():
    out = render_markdown_lite("[@alice](https://x.example/@alice)", mentions={"alice"})
    assert out.count("<a ") == 1 and "people" not in out


def test_it_finds_candidate_mentions():
    assert mentioned_nicknames("hello @alice, @bob. and x@carol.org") >= {"alice", "bob"}
    assert "carol.org" not in mentioned_nicknames("x@carol.org")


def test_it_drops_control_and_bidi_characters():
    assert render_markdown_lite("a\x00b\u202ec") == "<p>abc</p>"


def test_it_returns_empty_for_blank_input():
    assert render_markdown_lite("  \n\n ") == ""


def test_plain_text_strips_markup():
    assert plain_text("**Bonjour** [la ville](https://x.example) *toi*\n- un\n> deux") == \
        "Bonjour la ville toi un deux"


def test_plain_text_truncates():
    assert plain_text("abcdefghij", limit=5) == "abcd…"


# --- the user-text policy (the HTTP views are in tests/live/test_user_text.py) -------------------------------------

@pytest.fixture
def english():
    with translation.override("en"):
        yield


def clean(value, **rules):
    return clean_user_text(value, **{"multiline": True, "max_length": 50, **rules})


@pytest.mark.parametrize("text", [
    "a\nb", "tab\tin a line", "👩‍👩‍👧 🏳️‍🌈 👍🏽 🇫🇷", "مرحبا بالعالم", "نمی‌خواهم", "你好，世界", "e\u0301 é", "🫨",
])
def test_multi_line_text_is_stored_exactly_as_typed(text):
    assert clean(text) == text


def test_line_breaks_are_stored_as_newlines_and_the_ends_trimmed():
    assert clean("  a\r\nb\rc \n") == "a\nb\nc"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\ud800", "\ue000", "\U000f0001",
                                  "\ufffe", "\U0001ffff", "\ufdd0", "\u200b", "\u2060", "\ufeff",
                                  "\u202a", "\u202e", "\u2066", "\u2069"])
def test_control_bidi_and_invisible_characters_are_refused(english, char):
    with pytest.raises(ValidationError, match="This text contains invisible or control characters") as error:
        clean(f"a{char}b")
    assert error.value.code == "control_chars"


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "a\u2028b", "a\tb"])
def test_single_line_text_refuses_line_breaks_and_tabs(english, text):
    with pytest.raises(ValidationError, match="one line|control characters"):
        clean(text, multiline=False)


def test_names_also_refuse_joiners_and_unassigned_code_points():
    for name in ["do\u200bra", "do\u200dra", "do\u200cra", "dora\U000e0fff"]:
        with pytest.raises(ValidationError):
            clean(name, multiline=False, name=True)
    assert clean("Zoé 🌳", multiline=False, name=True) == "Zoé 🌳"


def test_lengths_count_characters_after_normalisation(english):
    assert clean("é🌳" * 25) == "é🌳" * 25
    assert clean("a\r\n" * 24 + "a") == "a\n" * 24 + "a"  # 73 characters typed, 49 stored
    with pytest.raises(ValidationError, match=r"Your text must be at most 50 characters long \(it has 51\)"):
        clean("x" * 51, field="Your text")
    with pytest.raises(ValidationError, match="at least 5"):
        clean("abc", min_length=5)
    with pytest.raises(ValidationError, match="cannot be empty"):
        clean("  \n ")
    assert clean(" ", required=False) == ""


def test_the_wording_can_be_the_fields_own_and_the_error_put_on_a_form_field(english):
    with pytest.raises(ValidationError) as error:
        clean("", key="body", messages={"required": "Write something first."})
    assert error.value.message_dict == {"body": ["Write something first."]}


def test_the_field_validator_applies_the_same_characters_and_survives_migrations():
    TextValidator(multiline=True)("a\r\nb 👩‍💻")
    with pytest.raises(ValidationError):
        TextValidator()("a\nb")
    with pytest.raises(ValidationError):
        TextValidator(multiline=True)("a\u202eb")
    assert TextValidator(multiline=True).deconstruct() == ("live.text.TextValidator", (), {"multiline": True})
    assert TextValidator(name=True) == TextValidator(name=True) != TextValidator()


@pytest.mark.parametrize(("text", "expected"), [
    ("merci @zoe", "merci X"),
    ("merci @Zoe.", "merci X."),  # any case; the full stop ends the sentence
    ("@zoe, @zoe!", "X, X!"),
    ("@zoe.b et @zoe-b et @zoe_b", "@zoe.b et @zoe-b et @zoe_b"),  # other people's names
    ("zoe@zoe.org", "zoe@zoe.org"),  # an e-mail address is not a mention
    ("[lien](https://x.org/@zoe)", "[lien](https://x.org/@zoe)"),
    ("zoe sans arobase", "zoe sans arobase"),
])
def test_replace_mentions_turns_only_mentions_of_that_nickname(text, expected):
    assert replace_mentions(text, "zoe", "X") == expected
