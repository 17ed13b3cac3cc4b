"""An accessibility check for the browser tests: axe-core (npm, pinned in package.json) run in the
page against the WCAG 2.0/2.1/2.2 A and AA rules.

`axe_violations(page)` returns the serious and critical violations as readable lines (rule, what it
asks, how many elements and the first few of them), [] when there are none. Minor and moderate
findings are not reported: the browser tests fail only on what blocks people.
"""

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import REPO_ROOT

AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
TARGETS_SHOWN = 3

RUN = """async ([tags, blocking]) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.filter(v => blocking.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.split('\\n').slice(1, 2).join('').trim() + ')' : '')),
  }));
}"""


def axe_violations(page: Page) -> list[str]:
    """The page's serious and critical WCAG A/AA violations, one line each; [] when there are none."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make install-node` (npm install) first.", pytrace=False)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate(RUN, [WCAG_TAGS, list(BLOCKING)])
    lines = []
    for v in found:
        shown = "; ".join(v["targets"][:TARGETS_SHOWN])
        more = f" and {len(v['targets']) - TARGETS_SHOWN} more" if len(v["targets"]) > TARGETS_SHOWN else ""
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {len(v['targets'])} element(s): {shown}{more}")
    return lines
