"""The accessibility check of the browser suite: axe-core (the npm package, pinned by package-lock.json and installed
by `make install`: never fetched at run time) run in the page, with the WCAG 2.0/2.1 A and AA rules.

The site's CSP (script-src 'self') rightly refuses an injected <script>; axe's source is evaluated through the
DevTools protocol instead (page.evaluate), which the page's CSP does not govern, so the pages are checked under the
CSP they are served with."""

from pathlib import Path

AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Rules turned off, each with the reason (reviewed as a defect: keep this empty unless a rule cannot apply).
DISABLED_RULES: dict[str, str] = {}

_source = None


def axe_source() -> str:
    global _source
    if _source is None:
        if not AXE_PATH.exists():
            raise RuntimeError(f"{AXE_PATH} is missing: run `make install` (npm ci installs axe-core)")
        _source = AXE_PATH.read_text()
    return _source


def run_axe(page, context: str = "document") -> list[dict]:
    """The violations of the WCAG 2.0/2.1 A and AA rules on the page as it is now: [{id, impact, help, nodes}]."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(
        """async ([context, tags, disabled]) => {
            const rules = Object.fromEntries(disabled.map((id) => [id, {enabled: false}]));
            const result = await axe.run(context === "document" ? document : context,
                                         {runOnly: {type: "tag", values: tags}, rules, resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }""",
        [context, WCAG_AA, list(DISABLED_RULES)],
    )


def describe(violations: list[dict], limit: int = 3) -> str:
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)")
        for node in v["nodes"][:limit]:
            summary = " ".join((node["summary"] or "").split())[:300]
            lines.append(f"      {node['target']}: {summary}")
    return "\n".join(lines)


def page_overflow(page) -> dict | None:
    """None when the document is no wider than the viewport (WCAG 1.4.10), else the widths and the widest element
    that sticks out (what a person would have to scroll sideways for)."""
    return page.evaluate(
        """() => {
            const viewport = document.documentElement.clientWidth;
            const width = document.documentElement.scrollWidth;
            if (width <= viewport) return null;
            let culprit = null, right = viewport;
            for (const el of document.body.querySelectorAll("*")) {
                const box = el.getBoundingClientRect();
                if (box.right > right + 0.5 && getComputedStyle(el).position !== "fixed") {
                    right = box.right;
                    culprit = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                              (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
                }
            }
            return {width, viewport, culprit};
        }"""
    )
