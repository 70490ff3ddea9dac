# SPDX-License-Identifier: GPL-3.0-or-later
"""axe-core finds no violation on any page (issue 21, 7), for the public and signed in,
on a desktop and on an 800x1280 touch tablet; and the map's features are reachable and
openable by keyboard.

axe-core (tests/web/vendor/axe-core, MPL-2.0) is injected into each page after it has
loaded and run with its WCAG 2.x A and AA rules; a violation fails the test naming the
page, the rule, and the elements."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from shapely.geometry import Point, box

from mineaction.access.roles import Principal, Role

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
def _seed(live: Any) -> dict[str, str]:
    records = live.services.records
    admin = Principal("admin", Role.admin)
    live.user("admin")
    hazard, _ = records.create(admin, "hazard", {
        "name": "Axe hazard", "hazard_kind": "SHA",
        "geometry": box(-75.0, 6.0, -74.999, 6.001).__geo_interface__})
    accident, _ = records.create(admin, "accident", {
        "accident_date": date(2020, 3, 1).isoformat(), "accident_kind": "mine",
        "geometry": Point(-75.0005, 6.0005).__geo_interface__})
    for kind, rec in (("hazard", hazard), ("accident", accident)):
        rid = uuid.UUID(rec["id"])
        records.transition(admin, kind, rid, "submit", None, 1)
        records.transition(admin, kind, rid, "approve", None, 2)
    return {"hazard": hazard["id"], "accident": accident["id"]}


def _violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} -- "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in result["violations"]]


PUBLIC_PAGES = ["/", "/login", "/records", "/records/hazards", "/records/accidents",
                "/records/hazards/{hazard}", "/dashboard", "/site-check"]
SIGNED_IN_PAGES = ["/", "/records", "/records/hazards/{hazard}", "/records/hazards/new",
                   "/records/accidents/{accident}", "/records/hazards/{hazard}/edit",
                   "/dashboard", "/imports", "/approvals", "/review", "/priorities",
                   "/checks/geometry", "/minefields/new", "/site-check"]


def test_axe_finds_no_violation_on_any_page(device: Any, live: Any) -> None:
    ids = _seed(live)
    found: dict[str, list[str]] = {}
    public = device(csp=False)  # axe is injected
    for path in PUBLIC_PAGES:
        public.goto(live.url + path.format(**ids))
        public.wait_for_load_state("load")
        public.wait_for_timeout(300)  # the map and the charts draw after load
        found.update({f"public {path}": v for v in [_violations(public)] if v})
    admin = device(csp=False)
    live.login(admin, "admin")
    for path in SIGNED_IN_PAGES:
        admin.goto(live.url + path.format(**ids))
        admin.wait_for_load_state("load")
        admin.wait_for_timeout(300)
        found.update({f"admin {path}": v for v in [_violations(admin)] if v})
    assert not found, "\n".join(f"{page}: {v}" for page, vs in found.items() for v in vs)


def test_map_features_are_reached_and_opened_by_keyboard(device: Any, live: Any) -> None:
    """The records in view are listed as buttons after the filters: Tab reaches them, Enter
    opens the popup a click opens, its link to the record focused."""
    _seed(live)
    page = device()
    page.goto(f"{live.url}/")
    first = page.locator("#features-in-view .feature-item").first
    first.wait_for()
    assert "in view" in page.inner_text("#features-in-view [role=status]")
    page.focus("#place-q")
    for _ in range(80):  # Tab through the sidebar's controls to the first record
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('feature-item')"):
            break
    else:
        raise AssertionError("Tab never reached a record in view")
    label = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    popup = page.locator(".maplibregl-popup")
    popup.wait_for()
    assert label in popup.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Open record"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/records/**")
