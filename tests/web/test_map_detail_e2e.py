# SPDX-License-Identifier: GPL-3.0-or-later
"""The detail basemap, place search and GPS in Chromium (issue 21), on a desktop and on
an 800x1280 touch tablet: places, rivers and admin areas with their labels at country and
at village zoom (MapLibre reports them rendered; the tiles read back with GDAL's MVT
driver), the search box flies to Granada, a filter flies to what it found, and the GPS
button (a mocked position) shows its accuracy, on the map and in a record's form.
Every request to another host is aborted: glyphs and tiles are all served here."""

from __future__ import annotations

import math
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from conftest import block_outside
from map_steps import center, jump
from shapely.geometry import Point

from mineaction.domain.models import Accident

REPO = Path(__file__).resolve().parents[2]
ADMIN = REPO / "data" / "colombia" / "admin"
SCREENSHOTS = REPO / "docs" / "screenshots"
GRANADA = (-75.1834, 6.1412)  # Granada, Antioquia (DANE 05313)
PUERTO_BERRIO = (-74.42, 6.48)  # on the Magdalena: a Natural Earth place and river
VIEWPORTS = {"desktop": {"viewport": {"width": 1280, "height": 720}},
             "tablet": {"viewport": {"width": 800, "height": 1280}, "has_touch": True,
                        "is_mobile": True, "device_scale_factor": 1}}


@pytest.fixture(scope="module")
def colombia(live: Any) -> Any:
    """Colombia's departments and municipalities as the store's admin areas, and one
    approved accident in Granada (for the filter)."""
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file

    store = live.services.store
    for name, mapping in (("departments_dane_mgn2021.geojson", "dane-departments"),
                          ("municipalities_dane_mgn2021.geojson", "dane-municipalities")):
        report = import_file(store, ADMIN / name, mapping=load_mapping(mapping))
        assert report.committed and not report.errors
    store.add(Accident(accident_date=date(2020, 3, 1), status="approved", accident_kind="mine",
                       admin_area_pcode="05313", geometry=Point(GRANADA[0] + 0.01,
                                                                GRANADA[1] + 0.01)),
              by="editor")
    return live


@pytest.fixture(params=sorted(VIEWPORTS))
def device(request: pytest.FixtureRequest, browser: Any, outside_requests: list[str]
           ) -> Iterator[tuple[str, Any]]:
    ctx = browser.new_context(bypass_csp=True, **VIEWPORTS[request.param])
    ctx.set_default_timeout(20_000)
    block_outside(ctx, outside_requests)
    try:
        yield request.param, ctx
    finally:
        ctx.close()


def open_map(ctx: Any, url: str) -> Any:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/basemap/user/info" not in r.url else None)
    page.failed = failed
    page.goto(url + "/")
    page.wait_for_function("window.__mapState && window.__mapState.ready", polling=100)
    return page



def search_and_fly(ctx: Any, url: str, text: str) -> tuple[Any, str, dict[str, Any]]:
    """On a fresh map page, type `text` in the map's search, take the first result with
    Enter, wait for the map to get there: the page, the first result's text, and what the
    map flew to."""
    page = open_map(ctx, url)
    box = page.get_by_role("combobox", name="Find a place")
    box.fill(text)
    option = page.get_by_role("option").first
    option.wait_for()
    first = str(option.inner_text())
    box.press("Enter")
    page.wait_for_function("window.__placeSearch && !window.__map.isMoving()", polling=100)
    return page, first, page.evaluate("window.__placeSearch.flown")


def names(page: Any, layer: str) -> set[str]:
    return set(page.evaluate(
        f"window.__map.queryRenderedFeatures({{layers: ['{layer}']}}).map(f => f.properties.name)"))


def count(page: Any, layer: str) -> int:
    return int(page.evaluate(
        f"window.__map.queryRenderedFeatures({{layers: ['{layer}']}}).length"))


def screenshot(page: Any, name: str, tmp: Path) -> None:
    path = tmp / name
    page.screenshot(path=str(path))
    if os.environ.get("MINEACTION_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / name)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def test_basemap_detail_at_country_and_village_zoom(colombia: Any, device: tuple[str, Any],
                                                    outside_requests: list[str],
                                                    tmp_path: Path) -> None:
    kind, ctx = device
    page = open_map(ctx, colombia.url)
    # Country zoom: the large cities and rivers of Natural Earth, the departments' names.
    jump(page, -74.3, 5.0, 5.5)
    assert {"Bogota", "Medellín"} <= names(page, "places-label")
    assert count(page, "rivers") > 0
    assert "ANTIOQUIA" in names(page, "admin-labels")
    assert "GRANADA" not in names(page, "admin-labels")  # municipalities wait for zoom 8
    if kind == "desktop":
        screenshot(page, "map-detail-country.png", tmp_path)
    # Village zoom: a town on the Magdalena, the river, the municipalities around it.
    jump(page, *PUERTO_BERRIO, 11)
    assert "Puerto Berrío" in names(page, "places-label")
    assert count(page, "rivers") > 0
    assert "PUERTO BERRÍO" in names(page, "admin-labels")
    if kind == "desktop":
        screenshot(page, "map-detail-village.png", tmp_path)
    jump(page, *GRANADA, 12)
    assert "GRANADA" in names(page, "admin-labels")
    assert count(page, "admin-lines") > 0
    # The tiles decode (GDAL's MVT driver) with the layers the map drew.
    x, y = tile_xy(*PUERTO_BERRIO, 10)
    r = page.request.get(f"{colombia.url}/web/api/basemap/10/{x}/{y}.mvt")
    assert r.ok
    path = tmp_path / "t.mvt"
    path.write_bytes(r.body())
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"land", "rivers", "places"} <= layers
    places = pyogrio.read_info(path, layer="places", X=x, Y=y, Z=10)
    assert places["features"] >= 1
    meta, _, _, fields = pyogrio.raw.read(path, layer="places", X=x, Y=y, Z=10)
    assert "Puerto Berrío" in set(fields[list(meta["fields"]).index("name")])
    assert page.js_errors == []
    assert page.failed == []  # glyphs and tiles all found
    assert outside_requests == []


def test_search_finds_granada_and_the_map_flies_there(colombia: Any,
                                                      device: tuple[str, Any]) -> None:
    page, first, flown = search_and_fly(device[1], colombia.url, "Granada")
    assert "GRANADA" in first
    assert flown["name"] == "GRANADA" and flown["source"] == "admin_area"
    lon, lat = center(page)
    x0, y0, x1, y1 = flown["bbox"]
    assert x0 <= lon <= x1 and y0 <= lat <= y1
    assert page.evaluate("window.__map.getZoom()") > 9
    assert page.js_errors == []


def test_a_filter_flies_to_what_it_found(colombia: Any, device: tuple[str, Any]) -> None:
    _, ctx = device
    page = open_map(ctx, colombia.url)
    jump(page, -74.3, 4.6, 4)
    page.get_by_label("Admin area (pcode)").fill("05313")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("window.__map.getZoom() > 10 && !window.__map.isMoving()",
                           polling=100)
    # The public sees the accident at its generalised place (one decimal): there it flies.
    lon, lat = center(page)
    assert abs(lon - -75.2) < 0.01 and abs(lat - 6.2) < 0.01


def test_gps_button_shows_the_accuracy(colombia: Any, device: tuple[str, Any]) -> None:
    kind, ctx = device
    ctx.set_geolocation({"latitude": GRANADA[1], "longitude": GRANADA[0], "accuracy": 25})
    ctx.grant_permissions(["geolocation"], origin=colombia.url)
    page = open_map(ctx, colombia.url)
    button = page.get_by_role("button", name="GPS: show my position")
    if kind == "tablet":
        button.tap()
    else:
        button.click()
    page.locator(".gps-status").filter(has_text="±25 m").wait_for()
    page.wait_for_function("window.__gps && !window.__map.isMoving()", polling=100)
    # Drawn at the next frame after the move ends, not with it: wait for the frame (on a
    # busy machine the tablet's ran late).
    page.wait_for_function("['gps-dot', 'gps-accuracy'].every(layer => "
                           "window.__map.queryRenderedFeatures({layers: [layer]}).length > 0)",
                           polling=100, timeout=10_000)
    # Then a whole frame with every tile in: until the next frame, a tile just loaded and
    # the parent it replaces are both queried (the frame hold of static/js/frame_hold.js
    # can put that frame off while other tiles come), and the dot counts twice.
    page.evaluate("() => new Promise(resolve => { window.__map.once('idle', resolve);"
                  " window.__map.triggerRepaint(); })")
    assert count(page, "gps-dot") == 1 and count(page, "gps-accuracy") == 1
    lon, lat = center(page)
    assert abs(lon - GRANADA[0]) < 1e-3 and abs(lat - GRANADA[1]) < 1e-3
    assert page.js_errors == []


def test_gps_fills_a_forms_point(colombia: Any, new_page: Any) -> None:
    page = new_page()
    page.context.set_geolocation({"latitude": GRANADA[1], "longitude": GRANADA[0],
                                  "accuracy": 8})
    page.context.grant_permissions(["geolocation"], origin=colombia.url)
    colombia.login(page, "editor")
    page.goto(colombia.url + "/records/accidents/new")
    page.wait_for_selector("#draw-map[data-ready=true]")
    page.get_by_role("button", name="GPS: show my position").click()
    page.locator(".gps-accuracy").filter(has_text="±8 m").wait_for()
    assert page.locator("#coord-input").input_value() == "6.141200, -75.183400"
    point = page.evaluate("window.__drawer.point")
    assert point == pytest.approx([GRANADA[0], GRANADA[1]], abs=1e-6)
    # The fix's accuracy is kept with the point (issue 21), and only while the point is
    # the fix's: a typed coordinate elsewhere clears it.
    accuracy = page.locator('[name="location_accuracy_m"]')
    assert accuracy.input_value() == "8"
    page.locator("#coord-input").fill("6.2, -75.1")
    page.locator("#coord-read").click()
    page.wait_for_function("window.__drawer.point && window.__drawer.point[1] === 6.2")
    assert accuracy.input_value() == ""
    page.get_by_role("button", name="GPS: show my position").click()
    page.wait_for_function(
        "document.querySelector('[name=location_accuracy_m]').value === '8'")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/accidents/[0-9a-f-]{36}$"))
    saved = colombia.services.store.get("accident", uuid.UUID(page.url.rsplit("/", 1)[1]))
    assert saved.location_accuracy_m == 8
    assert saved.geometry.x == pytest.approx(GRANADA[0], abs=1e-6)


def test_a_users_mbtiles_replaces_the_shipped_basemap(colombia: Any, new_page: Any,
                                                      tmp_path: Path) -> None:
    import io
    import sqlite3

    from PIL import Image

    from mineaction.web.basemap_routes import UserBasemap

    # A raster MBTiles of one green zoom-0 tile (TMS row 0 is also XYZ row 0 at zoom 0).
    png = io.BytesIO()
    Image.new("RGB", (256, 256), (40, 160, 60)).save(png, format="PNG")
    path = tmp_path / "user.mbtiles"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                     "tile_row INTEGER, tile_data BLOB)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("format", "png"), ("minzoom", "0"), ("maxzoom", "0"),
            ("attribution", "Test tiles © Somebody")])
        conn.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (png.getvalue(),))
    conn.close()
    shipped = colombia.app.state.web_user_basemap
    colombia.app.state.web_user_basemap = UserBasemap(str(path))
    try:
        page = new_page()
        served: list[int] = []
        page.on("response", lambda r: served.append(r.status)
                if "/web/api/basemap/user/0/" in r.url else None)
        page.goto(colombia.url + "/")
        page.wait_for_selector("#map[data-user-basemap=png]")
        page.wait_for_function("window.__map.loaded()", polling=100)
        assert page.evaluate("!!window.__map.getLayer('user-basemap')")
        assert page.evaluate(
            "window.__map.getLayoutProperty('places-label', 'visibility')") == "none"
        assert 200 in served
        # Attribution: the file's own beside Natural Earth's (the compact control's text).
        text = page.locator(".maplibregl-ctrl-attrib-inner").inner_text()
        assert "Test tiles © Somebody" in text and "Natural Earth" in text
    finally:
        colombia.app.state.web_user_basemap = shipped


def test_search_by_record_code_flies_to_the_record(colombia: Any,
                                                   device: tuple[str, Any]) -> None:
    """A record code (issue 21, 5), as printed on a report or typed from a field form,
    finds its record; the record's page is titled by it. The DANE import named the
    store's country (Colombia) and the accident lies in Antioquia (05)."""
    page, first, flown = search_and_fly(device[1], colombia.url, "acc-co-05-000001")
    assert "ACC-CO-05-000001" in first
    assert flown["source"] == "record" and flown["collection"] == "accidents"
    lon, lat = center(page)
    assert abs(lon - flown["lon"]) < 1e-4 and abs(lat - flown["lat"]) < 1e-4
    page.goto(f"{colombia.url}/records/accidents/{flown['id']}")
    assert "ACC-CO-05-000001" in page.get_by_role("heading", level=1).inner_text()
    assert "ACC-CO-05-000001" in page.title()
    page.goto(f"{colombia.url}/records/accidents?q=ACC-CO-05-000001")
    assert page.get_by_role("link", name="ACC-CO-05-000001").count() == 1
    assert page.js_errors == []
