# SPDX-License-Identifier: GPL-3.0-or-later
"""Priorities in Chromium (issue 20): an approver builds a priority list from /priorities,
reads its ranking and sensitivity, plans a season over it and sees the plan with its
Gantt chart and map; an editor reads the list but gets no forms. The pages run under
their own Content-Security-Policy."""

from __future__ import annotations

import json
from typing import Any

from shapely.geometry import box

from mineaction.domain.models import Hazard

LON, LAT = -74.0, 5.0


def _seed(store: Any) -> None:
    for i, (name, blocks) in enumerate((("Web school", {"housing", "water"}),
                                        ("Web road", {"roads"}), ("Web hill", set()))):
        store.add(Hazard(name=name, hazard_kind="CHA" if i == 0 else "SHA",
                         geometry=box(LON + 0.05 * i, LAT, LON + 0.05 * i + 0.001,
                                      LAT + 0.001),
                         blockages=blocks, dataset="web-prio", external_id=f"w{i}",
                         status="approved"))


def test_an_approver_builds_a_list_and_plans_a_season(new_page: Any, live: Any) -> None:
    _seed(live.services.store)
    page = new_page(csp=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    live.login(page, "approver")
    page.goto(f"{live.url}/priorities")
    page.select_option("#preset", "development")
    page.fill("#weight_cost", "0.5")
    # a village of 900 people beside the hill, uploaded as GeoJSON from the form
    page.set_input_files("#layer_settlements", files=[{
        "name": "villages.geojson", "mimeType": "application/geo+json",
        "buffer": json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"name": "Hill village", "population": 900},
            "geometry": {"type": "Point", "coordinates": [LON + 0.1005, LAT + 0.002]}}]}
        ).encode()}])
    page.click("#build-form button[type=submit]")
    page.wait_for_url(f"{live.url}/priorities/*")
    rows = page.locator("#ranking tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("td").nth(1).inner_text() == "Web school"
    assert "settlements (villages.geojson, 1 feature)" in page.inner_text("#list-layers")
    saved = live.services.store.engine
    with saved.connect() as conn:
        content = json.loads(conn.exec_driver_sql(
            "SELECT content FROM priority_lists ORDER BY fid DESC LIMIT 1").scalar_one())
    population = {h["name"]: h["indicators"].get("population_5km") for h in content["hazards"]}
    assert population["Web hill"] == 900 and population["Web school"] == 0
    assert page.locator("#sensitivity tbody tr").count() >= 2

    page.fill("#teams", "team,productivity_m2_day,cost_per_day,base_lon,base_lat\n"
                        f"Alpha,2000,300,{LON},{LAT}\n")
    page.fill("#start", "2027-01-10")
    page.fill("#end", "2027-03-31")
    page.fill("#budget", "20000")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url(f"{live.url}/season-plans/*")
    assert page.locator("#plan-tasks tbody tr").count() == 3
    assert "Optimal" in page.locator("#plan-totals").inner_text()
    for img in ("#gantt", "#plan-map"):
        page.wait_for_function(f"document.querySelector('{img}').complete")
        assert page.eval_on_selector(img, "i => i.naturalWidth") > 0, img
    assert not [e for e in errors if "Content Security Policy" in e]

    editor = new_page()
    live.login(editor, "editor")
    editor.goto(f"{live.url}/priorities")
    assert editor.locator("#build-form").count() == 0
    editor.locator("#saved-lists a").first.click()
    editor.wait_for_url(f"{live.url}/priorities/*")
    assert editor.locator("#ranking tbody tr").count() == 3
    assert editor.locator("#plan-form").count() == 0
