"""The map's accidents in Chromium: server-clustered vector tiles, cluster labels, zooming
into a cluster, points with popups, filters, and who sees what (issue 4)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from map_steps import jump, map_ready
from shapely.geometry import Point

from mineaction.domain.models import ENTITIES, Accident
from mineaction.store.schema import entity_table

# A remote corner of Vaupés that no other test puts accidents in; generalised for the
# public, every point below lands on (-70.0, 1.0).
PLACE = (-70.03, 1.03)




def rendered(page: Any, layer: str) -> list[dict[str, Any]]:
    return page.evaluate(  # type: ignore[no-any-return]
        f"""window.__map.queryRenderedFeatures({{layers: ['{layer}']}})
            .map(f => ({{...f.properties, xy: window.__map.project(f.geometry.coordinates)}}))""")


def test_clusters_points_popups_and_filters(new_page: Any, live: Any) -> None:
    store = live.services.store
    rows = []
    for i in range(12):
        rows.append(store.add(Accident(accident_date=date(2019, 7, 1 + i), status="approved",
                                       geometry=Point(PLACE[0] + i * 0.0008,
                                                      PLACE[1] - i * 0.0008),
                                       accident_kind="mine"), by="editor"))
    hidden = store.add(Accident(accident_date=date(2019, 8, 1), status="submitted",
                                geometry=Point(*PLACE)), by="editor")
    table = entity_table(ENTITIES["accident"])
    with store.engine.connect() as conn:
        fid = dict(conn.execute(sa.select(table.c.id, table.c.fid)).all())
    approved = {fid[str(r.id)] for r in rows}

    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)
    # Zoom 7: the twelve approved accidents are one cluster, labelled with its count.
    jump(page, -70.0, 1.0, 7)
    clusters = [c for c in rendered(page, "accidents-clusters") if c["point_count"] == 12]
    assert len(clusters) == 1, rendered(page, "accidents-clusters")
    page.wait_for_function("[...document.querySelectorAll('.cluster-label')]"
                           ".some(e => e.textContent === '12')", polling=100)
    # Clicking a cluster zooms in on it.
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + clusters[0]["xy"]["x"], box["y"] + clusters[0]["xy"]["y"])
    page.wait_for_function("window.__map.getZoom() > 8.9 && !window.__map.isMoving()",
                           polling=100)
    # Past the clustering zooms, the points themselves: approved only, for the public.
    jump(page, -70.0, 1.0, 13)
    points = rendered(page, "accidents-points")
    assert {p["fid"] for p in points} == approved
    assert fid[str(hidden.id)] not in {p["fid"] for p in points}
    # The public's points carry no casualties per accident (issue 15, 3).
    assert all("killed" not in p and "casualties" not in p for p in points)
    # A point's popup opens its record.
    page.mouse.click(box["x"] + points[0]["xy"]["x"], box["y"] + points[0]["xy"]["y"])
    link = page.locator(".maplibregl-popup").get_by_role("link", name="Open record")
    assert re.fullmatch(r"/web/go/accidents/\d+", link.get_attribute("href") or "")
    link.click()
    page.wait_for_url(re.compile(r"/records/accidents/[0-9a-f-]{36}$"))
    assert page.url.rsplit("/", 1)[1] in {str(r.id) for r in rows}
    # Filters reach the tiles: nothing from 2030 on.
    page.goto(live.url + "/")
    map_ready(page)
    page.get_by_label("From date").fill("2030-01-01")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("window.__mapState.counts.accidents === 0", polling=100)
    page.locator("#map-status", has_text=" 0 accidents.").wait_for()
    jump(page, -70.0, 1.0, 13)
    assert rendered(page, "accidents-points") == []
    # The layer switcher hides and shows the tiled accidents.
    page.get_by_label("From date").fill("")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("window.__mapState.counts.accidents > 0", polling=100)
    visibility = "window.__map.getLayoutProperty('accidents-points', 'visibility')"
    page.get_by_label("Accidents", exact=True).uncheck()
    page.wait_for_function(f"{visibility} === 'none'", polling=100)
    page.locator("#map-status", has_text="Showing").wait_for()
    assert "accidents" not in page.locator("#map-status").inner_text()
    page.get_by_label("Accidents", exact=True).check()
    page.locator("#map-status", has_text="accidents").wait_for()
    assert page.evaluate(visibility) == "visible"
    assert page.js_errors == []

    # An approver sees the submitted accident too, at its own place.
    approver = new_page()
    live.login(approver, "approver")
    approver.goto(live.url + "/")
    map_ready(approver)
    jump(approver, *PLACE, 13)
    fids = {p["fid"] for p in rendered(approver, "accidents-points")}
    assert approved | {fid[str(hidden.id)]} <= fids
    assert approver.js_errors == []
