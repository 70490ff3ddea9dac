# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield records in Chromium (issue 18, "Must show: a browser test of entering a record
by legs, and of the map-accuracy report"): the worked example of docs/minefield-records.md
typed leg by leg into /minefields/new draws its perimeter and shows its closure and area,
and saving creates the record; the map-accuracy report of an area opens in the browser."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pyproj import Proj
from shapely.geometry import LineString, Point, Polygon, box

from mineaction.domain.models import Accident, AdminArea, Find, Hazard, MinefieldRecord, MineRow

# The worked example: true bearings, metres.
LEGS = (("TP1", "BM", "45", "250"), ("TP2", "TP1", "135", "300"),
        ("TP3", "TP2", "225", "250"), ("BM", "TP3", "315", "300"))


def test_enter_a_record_by_legs(new_page: Any, live: Any) -> None:
    # Under the pages' Content-Security-Policy: the form runs from script files only.
    page = new_page(csp=True)
    live.login(page, "editor")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Minefield record").click()
    page.wait_for_url(live.url + "/minefields/new")
    page.get_by_label("Record name or number").fill("MF-E2E-1")
    page.get_by_label("Benchmark coordinates").press_sequentially("39.9930 N 46.9320 E")
    rows = page.locator("#legs-body tr.leg")
    assert rows.count() == 4
    mapped = page.locator("#traverse-map")
    for i, (to, frm, bearing, distance) in enumerate(LEGS):
        row = rows.nth(i)
        row.get_by_label("To", exact=True).press_sequentially(to)
        row.get_by_label("From", exact=True).press_sequentially(frm)
        row.get_by_label("Bearing", exact=True).press_sequentially(bearing)
        row.get_by_label("Distance", exact=True).press_sequentially(distance)
        # Each leg is drawn as it is typed: benchmark plus the legs so far (the closing
        # point is the benchmark again, not drawn twice).
        page.locator(f'#traverse-map[data-points="{min(i + 2, 4)}"]').wait_for(state="attached")
    page.locator('#traverse-map[data-perimeter="polygon"]').wait_for(state="attached")
    assert mapped.get_attribute("data-points") == "4"
    assert page.locator("#out-area").inner_text().startswith("75,002 m²")
    assert page.locator("#out-closure").inner_text().startswith("0.013 m")
    assert page.locator("#out-precision").inner_text() == "1:85,600"
    assert "closed" in page.locator("#traverse-status").inner_text()
    # Each leg is longer than 50 m with no intermediate point: four warnings.
    assert page.locator("#traverse-warnings li").count() == 4
    # The map drew it: MapLibre holds the polygon in the perimeter source.
    assert page.locator("#traverse-map canvas").count() == 1

    # A fifth leg added and removed again leaves the traverse as it was.
    page.get_by_role("button", name="Add leg").click()
    assert rows.count() == 5
    rows.nth(4).get_by_role("button", name="Remove").click()
    assert rows.count() == 4

    page.get_by_role("button", name="Save record").click()
    page.wait_for_url(re.compile(r"/records/minefield-records/[0-9a-f-]{36}$"))
    rid = page.url.rsplit("/", 1)[1]
    record = live.services.store.get("minefield_record", rid)
    assert record.name == "MF-E2E-1" and record.created_by == "editor"
    assert abs(record.area_m2 - 75_001.6) < 1
    assert abs(record.closure_error_m - 0.0128) < 0.001
    assert page.js_errors == []


def test_viewers_are_not_offered_the_form(new_page: Any, live: Any) -> None:
    page = new_page()
    live.login(page, "viewer")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Minefield record", exact=True).count() == 0
    response = page.goto(live.url + "/minefields/new")
    assert response is not None and response.status == 403


def _seed_area(store: Any) -> None:
    """Area AZ9 with one record (a 100 m x 40 m field, one row of 10 mines, all found) and
    2 finds and 3 accidents 1 km away: 2 of 3 accidents outside the mapped area."""
    add = lambda r: store.add(r, by="seed")  # noqa: E731
    ok = "approved"
    add(AdminArea(pcode="AZ9", name="Browser district", level=1, status=ok,
                  geometry=box(46.80, 39.90, 46.90, 39.96)))
    proj = Proj("+proj=aeqd +lat_0=39.93 +lon_0=46.85 +datum=WGS84 +units=m")
    ll = lambda x, y: proj(x, y, inverse=True)  # noqa: E731
    hazard = add(Hazard(hazard_kind="CHA", name="Browser field", status=ok,
                        admin_area_pcode="AZ9"))
    record = add(MinefieldRecord(
        name="MF-WEB", hazard_id=hazard.id, status=ok, admin_area_pcode="AZ9",
        geometry=Polygon([ll(-50, -20), ll(50, -20), ll(50, 20), ll(-50, 20)])))
    add(MineRow(record_id=record.id, label="A", mines=10, spacing_m=8.0, pattern="single",
                geometry=LineString([ll(-36, 0), ll(36, 0)]), status=ok))
    for i in range(10):
        add(Find(geometry=Point(*ll(-36 + 8 * i, 0.2)), hazard_id=hazard.id, status=ok,
                 admin_area_pcode="AZ9", device_category="ap_mine", find_date=date(2022, 5, 1)))
    for x in (1000.0, 1050.0):
        add(Find(geometry=Point(*ll(x, 0)), status=ok, admin_area_pcode="AZ9",
                 device_category="uxo", find_date=date(2022, 5, 2)))
    for x, y in ((0.0, 0.0), (1000.0, 100.0), (1100.0, 100.0)):
        add(Accident(geometry=Point(*ll(x, y)), accident_date=date(2022, 6, 1), status=ok,
                     admin_area_pcode="AZ9", device_category="ap_mine"))


def test_open_the_map_accuracy_report(new_page: Any, live: Any) -> None:
    _seed_area(live.services.store)
    page = new_page()
    live.login(page, "viewer")
    page.goto(live.url + "/api/v1/reports/map-accuracy?admin_area=AZ9&format=html")
    assert page.locator("h1").inner_text().startswith("Browser district (AZ9)")
    assert page.locator('[data-figure="records"]').inner_text() == "1"
    assert page.locator('[data-figure="finds_inside"]').inner_text() == "10"
    assert page.locator('[data-figure="finds_outside"]').inner_text() == "2"
    claim = page.locator("#claim").inner_text()
    assert "Of 3 accidents with coordinates, 2 (66.7 %) happened outside" in claim
    assert "That is more than half." in claim
    row = page.locator("#accuracy tr", has_text="MF-WEB")
    assert "100.0 % (10 / 10)" in row.inner_text()
    assert page.locator("img.map").count() == 1
    assert page.js_errors == []
