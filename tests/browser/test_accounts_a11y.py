"""An axe-like smoke test by hand (WCAG 2.1 A/AA basics) on the home and sign-in pages, in both languages."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUDIT = """() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const name = (el) => (el.getAttribute("aria-label") || "").trim() || (el.getAttribute("aria-labelledby") &&
      document.getElementById(el.getAttribute("aria-labelledby"))?.textContent.trim()) || "";
  document.querySelectorAll("input, select, textarea").forEach((el) => {
    if (["hidden", "submit", "button", "reset"].includes(el.type)) return;
    const labelled = (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) || name(el);
    if (!labelled) problems.push("unlabelled field: " + el.outerHTML.slice(0, 120));
  });
  document.querySelectorAll("img").forEach((el) => {
    if (!el.hasAttribute("alt")) problems.push("img without alt: " + el.outerHTML.slice(0, 120));
  });
  document.querySelectorAll("button, a[href]").forEach((el) => {
    if (visible(el) && !el.textContent.trim() && !name(el)) problems.push("control without a name: " + el.outerHTML.slice(0, 120));
  });
  const ids = {};
  document.querySelectorAll("[id]").forEach((el) => { ids[el.id] = (ids[el.id] || 0) + 1; });
  Object.entries(ids).forEach(([id, n]) => { if (n > 1) problems.push("duplicate id: " + id); });
  return {
    lang: document.documentElement.lang,
    h1: document.querySelectorAll("h1").length,
    skip: document.querySelector("a.skip-link")?.getAttribute("href") || null,
    main: !!document.querySelector("main#main"),
    title: document.title,
    problems,
  };
}"""


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
@pytest.mark.parametrize("locale, lang", [("fr-FR", "fr"), ("en-GB", "en")])
def test_the_page_passes_the_basic_checks(open_page, path, locale, lang):
    page = open_page(None, path, locale=locale)
    report = page.evaluate(AUDIT)
    assert report["lang"] == lang
    assert report["h1"] == 1
    assert report["skip"] == "#main" and report["main"]
    assert report["title"].strip()
    assert report["problems"] == []


def test_the_skip_link_appears_on_focus_and_leads_to_the_content(open_page):
    page = open_page(None, "/", locale="en-GB")
    skip = page.locator("a.skip-link")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 1  # on screen, not clipped away
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_the_focus_ring_is_visible(open_page):
    page = open_page(None, "/accounts/login/", locale="en-GB")
    field = page.get_by_label("Email or nickname")
    field.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style = field.evaluate("(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }")
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 2


def test_the_header_fits_a_phone_without_sideways_scrolling(open_page, alice):
    page = open_page(alice, "/", viewport={"width": 320, "height": 640}, locale="fr-FR")
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    expect(page.locator(".site-header").get_by_role("button", name="Se déconnecter")).to_be_visible()


@pytest.mark.parametrize("path", ["/debates/", "/meetings/", "/notifications/", "/messages/",
                                  "/accounts/people/alice/", "/accounts/profile/"])
def test_the_signed_in_pages_pass_the_basic_checks(open_page, alice, path):
    page = open_page(alice, path, locale="fr-FR")
    report = page.evaluate(AUDIT)
    assert (report["lang"], report["h1"], report["skip"]) == ("fr", 1, "#main")
    assert report["problems"] == []
