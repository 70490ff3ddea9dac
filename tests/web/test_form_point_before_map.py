# SPDX-License-Identifier: GPL-3.0-or-later
"""Coordinates typed into a new record's form before its map has loaded (a slow tablet,
a slow network), a point or a polygon's corners, are its location all the same (issue
21): the form saves with them and the map shows them once it loads. Until this was
fixed, they were read and shown as text but never kept, and saving said the hazard had
no location."""

from __future__ import annotations

import re
from typing import Any

BASEMAP_TILES = "**/web/api/basemap/**"


def _new_hazard_while_the_map_waits(page: Any, live: Any, name: str) -> list[Any]:
    """A new hazard's form, its basemap tiles held back (so its map cannot load yet): the
    held requests."""
    stopped: list[Any] = []
    page.context.route(BASEMAP_TILES, lambda r: stopped.append(r))
    live.login(page, "editor")
    page.goto(live.url + "/records/hazards/new")
    page.get_by_label("Hazard kind").select_option("SHA")
    page.get_by_label("Name", exact=True).fill(name)
    return stopped


def _let_the_map_load(page: Any, stopped: list[Any]) -> None:
    assert stopped, "the basemap's tiles were not stopped: the test would prove nothing"
    assert not page.evaluate("Boolean(window.__drawer)"), "the map had loaded already"
    page.context.unroute(BASEMAP_TILES)
    while stopped:
        stopped.pop().continue_()
    page.wait_for_function("window.__drawer && window.__drawer.geometry()", polling=50,
                           timeout=20_000)


def test_a_point_typed_before_the_map_loads_is_kept(new_page: Any, live: Any) -> None:
    page = new_page()
    stopped = _new_hazard_while_the_map_waits(page, live, "Hazard typed before the map")
    page.locator("#coord-input").fill("6.1412, -75.1834")
    page.get_by_role("button", name="Read coordinates").click()
    page.locator("#coord-result span").first.wait_for()
    assert "6.141200, -75.183400" in page.locator("#area").inner_text()
    # The map loads afterwards and shows the point where it was typed.
    _let_the_map_load(page, stopped)
    lon, lat = page.evaluate("window.__drawer.geometry().coordinates")
    assert (round(lon, 4), round(lat, 4)) == (-75.1834, 6.1412)
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/hazards/[0-9a-f-]{36}$"))
    record_id = page.url.rsplit("/", 1)[1]
    saved = live.services.store.get("hazard", record_id)
    assert (round(saved.geometry.x, 4), round(saved.geometry.y, 4)) == (-75.1834, 6.1412)


def test_corners_typed_before_the_map_loads_are_kept(new_page: Any, live: Any) -> None:
    page = new_page()
    stopped = _new_hazard_while_the_map_waits(page, live, "Polygon typed before the map")
    page.get_by_text("Type the corners").click()
    page.get_by_label(re.compile("^Corners, one a line")).fill(
        "6.1412, -75.1834\n6.1412, -75.1800\n6.1440, -75.1790\n6.1440, -75.1840")
    page.get_by_role("button", name="Draw from corners").click()
    page.get_by_text("4 corners drawn.").wait_for()
    _let_the_map_load(page, stopped)
    assert page.evaluate("window.__drawer.geometry().type") == "Polygon"
    page.locator("#area").filter(has_text="Area:").wait_for()
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/hazards/[0-9a-f-]{36}$"))
    saved = live.services.store.get("hazard", page.url.rsplit("/", 1)[1])
    assert saved.geometry.geom_type == "Polygon"
    assert len(saved.geometry.exterior.coords) == 5
