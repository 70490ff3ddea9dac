"""The public site check page (issue 20), in Chromium: an anonymous user draws a plot,
reads the verdict (the public view: no draft, no minefield record) and downloads the
certificate, a PDF; a line and a typed coordinate are checked too; the page is linked
from the main navigation for everyone and runs under its Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from mineaction.domain.models import Hazard, MinefieldRecord

LON, LAT = -75.1834, 6.1412


@pytest.fixture(scope="module")
def seeded(live: Any) -> dict[str, str]:
    store = live.services.store

    def key(n: int, status: str = "approved") -> dict[str, str]:
        return {"dataset": "web", "external_id": f"sc{n}", "status": status}

    hz = store.add(Hazard(name="Loma verde", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON - 0.002, LAT - 0.002, LON + 0.002, LAT + 0.002),
                          **key(1)))
    draft = store.add(Hazard(name="Borrador", hazard_kind="SHA", hazard_status="open",
                             geometry=box(LON - 0.001, LAT - 0.001, LON, LAT), **key(2, "draft")))
    mf = store.add(MinefieldRecord(name="MF-secret", geometry=box(LON - 0.001, LAT - 0.001,
                                                                  LON, LAT), **key(3)))
    return {"hazard": str(hz.id), "draft": str(draft.id), "mf": str(mf.id)}


def _open(page: Any, live: Any) -> None:
    page.goto(live.url + "/site-check")
    page.locator("#site-map[data-ready=true]").wait_for()
    page.evaluate(f"window.__siteMap.jumpTo({{center: [{LON}, {LAT}], zoom: 16}})")
    page.wait_for_function("window.__siteMap.loaded()")


def _use_the_coordinate(page: Any) -> None:
    """Type the hazard's coordinate and use it; the server reads it, so wait for its
    answer (a check sent before has no site yet)."""
    page.get_by_label("Or a coordinate (decimal degrees, DMS, UTM or MGRS)").fill(
        f"{LAT}, {LON}")
    page.get_by_role("button", name="Use coordinate").click()
    page.locator("#coord-result", has_text="Point:").wait_for()


def test_an_anonymous_user_draws_a_plot_reads_the_verdict_and_downloads_the_certificate(
        page: Any, live: Any, seeded: dict[str, str], tmp_path: Path) -> None:
    page.goto(live.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Site check").click()
    page.wait_for_url(live.url + "/site-check")
    _open(page, live)
    area = page.locator("#site-map").bounding_box()
    cx, cy = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    page.get_by_role("button", name="Area").click()
    for dx, dy in ((-40, -30), (40, -30), (40, 30), (-40, 30)):
        page.mouse.click(cx + dx, cy + dy)
    page.get_by_role("button", name="Finish").click()
    page.get_by_label("Hazards within (metres)").fill("300")
    page.get_by_role("button", name="Check the site").click()
    page.locator("#verdict[data-state=shown]").wait_for()
    findings = page.locator("#findings").inner_text()
    assert "The site lies in recorded hazard Loma verde (CHA, open): 100% of the site." in findings
    assert "Borrador" not in findings and "MF-secret" not in findings
    assert "not evidence of absence" in page.locator("#caveat").inner_text()
    # the hazard is highlighted on the map
    drawn = page.evaluate("window.__siteMap.querySourceFeatures('found').map(f => f.properties.id)")
    assert seeded["hazard"] in drawn and seeded["draft"] not in drawn

    with page.expect_download() as info:
        page.get_by_role("button", name="Download certificate").click()
    download = info.value
    path = tmp_path / "certificate.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert download.suggested_filename.startswith("site-certificate-")
    page.locator("#certificate-status a", has_text="verify").wait_for()
    href = page.locator("#certificate-status a").get_attribute("href")
    answer = page.request.get(live.url + href)
    assert answer.json()["unchanged"] is True
    assert page.js_errors == []


def test_a_line_and_a_typed_coordinate(page: Any, live: Any, seeded: dict[str, str]) -> None:
    _open(page, live)
    area = page.locator("#site-map").bounding_box()
    cx, cy = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    page.get_by_role("button", name="Line").click()
    page.mouse.click(cx - 200, cy)
    page.mouse.click(cx + 200, cy)
    page.get_by_role("button", name="Finish").click()
    page.get_by_label("Language of the findings and certificate").select_option("es")
    page.get_by_role("button", name="Check the site").click()
    page.locator("#verdict[data-state=shown]").wait_for()
    assert "del sitio" in page.locator("#findings").inner_text()

    _use_the_coordinate(page)
    assert page.locator("#verdict").is_hidden()  # a new site: the old verdict is gone
    page.get_by_label("Language of the findings and certificate").select_option("en")
    page.get_by_role("button", name="Check the site").click()
    page.locator("#verdict[data-state=shown]").wait_for()
    assert "The point lies in recorded hazard Loma verde" in page.locator("#findings").inner_text()
    assert page.js_errors == []


def test_the_page_runs_under_its_content_security_policy(new_page: Any, live: Any,
                                                         seeded: dict[str, str]) -> None:
    page = new_page(csp=True)
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text
            else None)
    answer = page.goto(live.url + "/site-check")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.locator("#site-map[data-ready=true]").wait_for()
    _use_the_coordinate(page)
    page.get_by_role("button", name="Check the site").click()
    page.locator("#verdict[data-state=shown]").wait_for()
    assert page.js_errors == []
    assert seen == []


def test_a_coordinate_checked_before_the_map_loads(page: Any, live: Any,
                                                   seeded: dict[str, str]) -> None:
    """On a slow tablet the visitor types a coordinate and checks it before the map has
    loaded: the verdict comes all the same, and the map draws the point and what was
    found once it loads (until this was fixed, the typed point was lost and the check
    said there was no site)."""
    stopped: list[Any] = []
    page.context.route("**/web/api/basemap/**", lambda r: stopped.append(r))
    page.goto(live.url + "/site-check")
    _use_the_coordinate(page)
    page.get_by_role("button", name="Check the site").click()
    page.locator("#verdict[data-state=shown]").wait_for()
    assert stopped, "the basemap's tiles were not stopped: the test would prove nothing"
    assert page.locator("#site-map").get_attribute("data-ready") is None
    assert "The point lies in recorded hazard Loma verde" in page.locator("#findings").inner_text()
    page.context.unroute("**/web/api/basemap/**")
    while stopped:
        stopped.pop().continue_()
    page.locator("#site-map[data-ready=true]").wait_for()
    page.wait_for_function("window.__siteMap.loaded()")
    found = page.evaluate("""() => window.__siteMap.querySourceFeatures('found')
                             .map(f => f.properties.kind)""")
    assert "hazard" in found
    assert page.locator("#verdict[data-state=shown]").is_visible()
    assert page.js_errors == []
