"""axe-core (the npm package, vendored by `mutuals setup` into bot/web/static/vendor/axe.min.js) run
on the page a Selenium driver shows: the WCAG 2.0, 2.1 and 2.2 A and AA rules plus axe's best
practices. ``violations(driver)`` is what it found, one readable line per rule."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

AXE = Path(__file__).resolve().parents[2] / "bot" / "web" / "static" / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]

_RUN = """
var done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(function (r) { done(r.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) {
      return n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300); })};
  })); })
  .catch(function (e) { done([{id: "axe-error", impact: "", help: String(e), nodes: []}]); });
"""


def violations(driver) -> List[str]:
    """axe-core's violations on the current page: ``"rule (impact, N nodes): help; first node"``."""
    if not AXE.exists():
        pytest.fail(f"no {AXE}: 'mutuals setup' vendors axe-core from the npm registry (package.json)")
    from selenium.common.exceptions import JavascriptException

    for attempt in (1, 2):
        if not driver.execute_script("return typeof window.axe === 'object'"):
            driver.execute_script(AXE.read_text(encoding="utf-8"))
        try:
            found = driver.execute_async_script(_RUN, TAGS)
            break
        except JavascriptException as exc:
            # the page was replaced between the check and the run (a form's answer arriving after the
            # element waited for: CI, 2026-12-01): inject again into the page now shown, once
            if attempt == 2 or "axe is not defined" not in str(exc):
                raise
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}; " + " | ".join(v["nodes"][:3]) for v in found
    ]
