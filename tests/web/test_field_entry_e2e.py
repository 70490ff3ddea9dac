# SPDX-License-Identifier: GPL-3.0-or-later
"""Field entry on tablets (issue 21, 3) in Chromium, each test on a desktop and on an
800x1280 touch tablet, under the pages' Content-Security-Policy: polygon corners seen,
dragged (mouse on the desktop, touch events on the tablet) and deleted; a polygon from
typed corners in several notations, a bad line named; victims entered with their
accident; photos and documents attached to a record."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from conftest import VIEWPORTS, block_outside

from mineaction.web.core import coordinate_json

# A field of five corners near Medellín, written in the notations a team mixes.
CORNERS = [(6.1412, -75.1834), (6.1412, -75.1800), (6.1440, -75.1790), (6.1460, -75.1815),
           (6.1440, -75.1840)]


def _typed_corners() -> str:
    """The corners one a line: DD, DMS, UTM, MGRS and DD again (the server's own
    writing of each, so the test does not hard-code a conversion)."""
    notes = ("dd", "dms", "utm", "mgrs", "dd")
    return "\n".join(str(coordinate_json(f"{lat}, {lon}")[n])
                     for (lat, lon), n in zip(CORNERS, notes, strict=True))


def _open_hazard_form(page: Any, live: Any) -> None:
    live.login(page, "editor")
    page.goto(live.url + "/records/hazards/new")
    page.locator('#draw-map[data-ready="true"]').wait_for()
    page.get_by_label("Hazard kind").select_option("SHA")
    page.get_by_label("Name", exact=True).fill(f"Field entry {uuid.uuid4().hex[:6]}")


def _draw_typed(page: Any, text: str) -> None:
    if page.locator("#corners-entry[open]").count() == 0:
        page.get_by_text("Type the corners").click()
    page.get_by_label(re.compile("^Corners, one a line")).fill(text)
    page.get_by_role("button", name="Draw from corners").click()


def _vertex_xy(page: Any, i: int) -> tuple[float, float]:
    page.locator("#draw-map").scroll_into_view_if_needed()
    xy = page.evaluate("""(i) => {
        const m = window.__drawMap; const p = m.project(window.__drawer.vertices[i]);
        const r = m.getCanvas().getBoundingClientRect(); return [r.left + p.x, r.top + p.y];
    }""", i)
    return float(xy[0]), float(xy[1])


def _lnglat_at(page: Any, x: float, y: float) -> list[float]:
    return list(page.evaluate("""([x, y]) => {
        const m = window.__drawMap; const r = m.getCanvas().getBoundingClientRect();
        const ll = m.unproject([x - r.left, y - r.top]); return [ll.lng, ll.lat];
    }""", [x, y]))


def _touch(cdp: Any, kind: str, *points: tuple[float, float]) -> None:
    """A touch event as a tablet's screen sends it (Chrome DevTools Protocol)."""
    cdp.send("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})


def _drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag with the mouse on a desktop, with touch events (CDP) on a tablet."""
    steps = 8
    path = [(start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps)
            for k in range(1, steps + 1)]
    if not page.touch:
        page.mouse.move(*start)
        page.mouse.down()
        for x, y in path:
            page.mouse.move(x, y)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    _touch(cdp, "touchStart", start)
    for point in path:
        _touch(cdp, "touchMove", point)
    _touch(cdp, "touchEnd")


def _vertices(page: Any) -> list[list[float]]:
    return list(page.evaluate("() => window.__drawer.vertices"))


def _screenshot(page: Any, name: str, tmp: Path) -> None:
    """Kept with the test's files; copied into docs/screenshots/ when
    MINEACTION_SCREENSHOTS=1, as tests/web/test_web_e2e.py does."""
    path = tmp / name
    page.locator("#draw-map").scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the basemap's tiles
    page.screenshot(path=str(path))
    if os.environ.get("MINEACTION_SCREENSHOTS") == "1":
        shutil.copy(path, Path(__file__).parents[2] / "docs" / "screenshots" / name)


def test_a_polygon_from_typed_corners_a_bad_line_named(device: Any, live: Any,
                                                       tmp_path: Path) -> None:
    page = device()
    _open_hazard_form(page, live)
    lines = _typed_corners().split("\n")
    _draw_typed(page, "\n".join([*lines[:2], "6.14 north somewhere", *lines[2:]]))
    error = page.locator("#corners-result .field-error")
    error.wait_for()
    assert error.inner_text().startswith("line 3: ")
    assert page.evaluate("() => window.__drawer.geometry()") is None  # nothing drawn
    _draw_typed(page, "\n".join(lines[:2]))
    page.locator("#corners-result").get_by_text("at least 3 corners, 2 given").wait_for()
    _draw_typed(page, _typed_corners())
    page.get_by_text("5 corners drawn.").wait_for()
    got = _vertices(page)
    assert len(got) == 5
    for (lat, lon), (x, y) in zip(CORNERS, got, strict=True):
        assert abs(x - lon) < 2e-5 and abs(y - lat) < 2e-5  # UTM/MGRS to the metre
    page.locator("#area").filter(has_text="Area:").wait_for()
    if page.touch:
        _screenshot(page, "tablet-form.png", tmp_path)
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/hazards/[0-9a-f-]{36}$"))
    saved = live.services.store.get("hazard", page.url.rsplit("/", 1)[1])
    assert saved.geometry.geom_type == "Polygon" and len(saved.geometry.exterior.coords) == 6
    assert page.errors == []


def test_corners_seen_dragged_and_deleted(device: Any, live: Any) -> None:
    page = device()
    _open_hazard_form(page, live)
    _draw_typed(page, _typed_corners())
    page.get_by_text("5 corners drawn.").wait_for()
    # Corners are drawn as handles a finger can hit: 24 px across at least on a tablet.
    radius = page.evaluate(
        "() => window.__drawMap.getPaintProperty('draw-vertices', 'circle-radius')")
    smallest = min(v for v in radius if isinstance(v, (int, float)))
    assert smallest * 2 >= (24 if page.touch else 12)
    x, y = _vertex_xy(page, 2)
    hits = page.evaluate("""([x, y]) => {
        const m = window.__drawMap; const r = m.getCanvas().getBoundingClientRect();
        const at = [x - r.left, y - r.top];
        return m.queryRenderedFeatures(at, { layers: ['draw-vertices'] }).length;
    }""", [x, y])
    assert hits == 1  # drawn where the corner is

    # Drag corner 3 by 60 px right and 40 px down: it lands under the pointer.
    before = _vertices(page)
    corner1_on_screen = _vertex_xy(page, 0)
    target = (x + 60, y + 40)
    expected = _lnglat_at(page, *target)
    _drag(page, (x, y), target)
    page.wait_for_function("() => window.__drawer.drag === null")
    after = _vertices(page)
    assert after[:2] == before[:2] and after[3:] == before[3:]
    assert abs(after[2][0] - expected[0]) < 1e-4 and abs(after[2][1] - expected[1]) < 1e-4
    assert after[2] != before[2]
    # The map did not pan under the dragged corner: the others stay where they were.
    still = _vertex_xy(page, 0)
    assert abs(still[0] - corner1_on_screen[0]) < 1 and abs(still[1] - corner1_on_screen[1]) < 1

    # Delete corner 1: a long press on a tablet; a tap then the button on a desktop.
    x1, y1 = _vertex_xy(page, 0)
    if page.touch:
        cdp = page.context.new_cdp_session(page)
        _touch(cdp, "touchStart", (x1, y1))
        page.wait_for_timeout(900)
        _touch(cdp, "touchEnd")
    else:
        page.mouse.click(x1, y1)
        delete = page.get_by_role("button", name="Delete corner")
        assert delete.is_enabled()
        delete.click()
    page.wait_for_function("() => window.__drawer.vertices.length === 4")
    assert _vertices(page) == after[1:]
    # The saved hazard has the moved corner and not the deleted one.
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/hazards/[0-9a-f-]{36}$"))
    saved = live.services.store.get("hazard", page.url.rsplit("/", 1)[1])
    ring = list(saved.geometry.exterior.coords)[:-1]
    assert len(ring) == 4
    assert abs(ring[1][0] - after[2][0]) < 1e-6 and abs(ring[1][1] - after[2][1]) < 1e-6
    assert page.errors == []


def test_victims_added_within_the_accident_form(device: Any, live: Any) -> None:
    from mineaction.domain.enums import Outcome

    page = device()
    live.login(page, "field", f"fiona-{uuid.uuid4().hex[:6]}")
    page.goto(live.url + "/records/accidents/new")
    place = f"Vereda {uuid.uuid4().hex[:6]}"
    page.get_by_label("Accident date").fill("2023-04-02")
    page.get_by_label("Place name").fill(place)
    add = page.get_by_role("button", name="Add victim")
    add.click()
    # The victim's choices are the model's: a new enumeration value appears by itself.
    outcome = page.get_by_label("Outcome").first
    codes = outcome.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert codes[1:] == [o.value for o in Outcome]
    outcome.select_option("killed")
    page.locator("#v1-sex").select_option("male")
    page.locator("#v1-age").fill("34")
    add.click()
    victim2 = page.get_by_role("group", name="Victim 2")
    victim2.get_by_label("Outcome").select_option("injured")
    victim2.get_by_label("Age", exact=True).fill("150")  # a slip: refused, nothing saved
    victim2.get_by_label("Role").select_option("civilian")
    page.get_by_role("button", name="Save as draft").click()
    slot = page.locator("#v2-age-err")
    slot.filter(has_text="victim 2, age").wait_for()
    assert "nothing was saved" in page.locator("#form-error").inner_text()
    assert page.locator("#v2-age").get_attribute("aria-invalid") == "true"
    store = live.services.store
    from mineaction.store.query import Query

    def accidents_here() -> list[Any]:
        return [a for a in store.query(Query(kind="accident", limit=10_000)).items
                if a.place_name == place]

    assert accidents_here() == []
    # A third victim added and removed again; the slip corrected; saved together.
    add.click()
    page.get_by_role("button", name="Remove victim 3").click()
    victim2.get_by_label("Age", exact=True).fill("15")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/accidents/[0-9a-f-]{36}$"))
    [accident] = accidents_here()
    assert str(accident.id) == page.url.rsplit("/", 1)[1]
    victims = [v for v in store.query(Query(kind="victim", limit=10_000)).items
               if v.accident_id == accident.id]
    assert sorted((v.outcome.value, v.age) for v in victims) == [("injured", 15), ("killed", 34)]
    assert all(v.status.value == "draft" for v in victims)
    assert page.errors == []


def _png() -> bytes:
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x00\x80\xff" * 40 for _ in range(30))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_photo_and_a_document_attached_to_a_record(device: Any, live: Any) -> None:
    from mineaction.access.roles import Principal, Role

    name = f"ed-{uuid.uuid4().hex[:6]}"
    page = device()
    live.login(page, "editor", name)
    created, _ = live.services.records.create(Principal(name, Role.editor), "accident", {
        "accident_date": "2023-04-02", "place_name": "Vereda Fotos"})
    page.goto(f"{live.url}/records/accidents/{created['id']}")
    form = page.locator("#attachment-upload")
    form.get_by_label(re.compile("^Photo or document")).set_input_files(
        files=[{"name": "marking.png", "mimeType": "image/png", "buffer": _png()}])
    form.get_by_label("Caption").fill("Marking at the school path")
    form.get_by_role("button", name="Attach").click()
    thumb = page.locator("#attachments img.attachment-thumb")
    thumb.wait_for()
    assert thumb.get_attribute("alt") == "Marking at the school path"
    page.wait_for_function("() => document.querySelector('#attachments img').naturalWidth === 40")
    # A PDF is listed with a download link, no thumbnail.
    form.get_by_label(re.compile("^Photo or document")).set_input_files(
        files=[{"name": "acta.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    form.get_by_role("button", name="Attach").click()
    link = page.get_by_role("link", name="acta.pdf")
    link.wait_for()
    assert page.locator("#attachments img").count() == 1
    with page.expect_download() as got:
        link.click()
    assert got.value.suggested_filename == "acta.pdf"
    # A web page posing as a photo is refused, named.
    page.goto(f"{live.url}/records/accidents/{created['id']}")
    form.get_by_label(re.compile("^Photo or document")).set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"<html>hi</html>"}])
    form.get_by_role("button", name="Attach").click()
    assert "photo.png is not a JPEG, PNG, WebP or PDF file" in page.locator("main").inner_text()
    assert page.errors == []


def _accidents_at(live: Any, place: str) -> list[Any]:
    from mineaction.store.query import Query

    return [a for a in live.services.store.query(Query(kind="accident", limit=10_000)).items
            if a.place_name == place]


def test_a_form_saved_offline_is_sent_when_back_online(device: Any, live: Any) -> None:
    page = device()
    live.login(page, "field", f"flo-{uuid.uuid4().hex[:6]}")
    page.goto(live.url + "/records/accidents/new")
    page.locator('#draw-map[data-ready="true"]').wait_for()
    place = f"Vereda offline {uuid.uuid4().hex[:6]}"
    page.context.set_offline(True)
    page.get_by_label("Accident date").fill("2023-05-06")
    page.get_by_label("Place name").fill(place)
    page.get_by_role("button", name="Add victim").click()
    page.locator("#v1-outcome").select_option("injured")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_text("your form is kept on this device").wait_for()
    outbox = page.locator("#offline-outbox li")
    outbox.filter(has_text="waiting for the network").wait_for()
    assert _accidents_at(live, place) == []
    # Back online: sent by itself, with its victim; a link to the saved record.
    page.context.set_offline(False)
    page.locator('#offline-outbox li[data-state="sent"]').wait_for()
    [accident] = _accidents_at(live, place)
    href = page.locator('#offline-outbox li[data-state="sent"] a').get_attribute("href")
    assert href == f"/records/accidents/{accident.id}"
    from mineaction.store.query import Query

    victims = [v for v in live.services.store.query(Query(kind="victim", limit=10_000)).items
               if v.accident_id == accident.id]
    assert [v.outcome.value for v in victims] == ["injured"]
    # Nothing left to send: a new form page shows no outbox.
    page.goto(live.url + "/records/accidents/new")
    page.locator('#draw-map[data-ready="true"]').wait_for()
    assert page.locator("#offline-outbox").is_hidden()
    assert page.errors == []


def test_an_offline_change_to_a_record_changed_meanwhile_is_a_conflict(device: Any,
                                                                       live: Any) -> None:
    from mineaction.access.roles import Principal, Role

    name = f"eli-{uuid.uuid4().hex[:6]}"
    editor = Principal(name, Role.editor)
    records = live.services.records
    created, _ = records.create(editor, "accident", {"place_name": "Loma vieja",
                                                     "accident_date": "2022-01-01"})
    rid = uuid.UUID(created["id"])
    page = device()
    live.login(page, "editor", name)
    page.goto(f"{live.url}/records/accidents/{rid}/edit")
    page.locator('#draw-map[data-ready="true"]').wait_for()
    page.context.set_offline(True)
    page.get_by_label("Place name").fill("Loma nueva (offline)")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("your form is kept on this device").wait_for()
    # Meanwhile someone else saves version 2.
    records.update(Principal("approver", Role.approver), "accident", rid,
                   {"device_category": "uxo"}, 1, partial=True)
    page.context.set_offline(False)
    conflict = page.locator('#offline-outbox li[data-state="conflict"]')
    conflict.wait_for()
    assert "newer version (2)" in conflict.inner_text()
    assert live.services.store.get("accident", rid).place_name == "Loma vieja"
    conflict.get_by_role("button", name="Send mine over version 2").click()
    page.locator('#offline-outbox li[data-state="sent"]').wait_for()
    saved = live.services.store.get("accident", rid)
    assert saved.place_name == "Loma nueva (offline)" and saved.version == 3
    assert page.errors == []


def test_the_new_record_form_opens_offline(device: Any, live: Any) -> None:
    page = device()
    live.login(page, "editor", f"sw-{uuid.uuid4().hex[:6]}")
    page.goto(live.url + "/records/hazards/new")
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
        timeout=20_000)
    page.reload()  # now through the worker, which keeps the page
    page.locator('#draw-map[data-ready="true"]').wait_for()
    kept = page.evaluate("""async () => {
        const c = await caches.open('mineaction-field-1');
        const has = async (url) => !!(await c.match(url));
        return [await has('/records/hazards/new'), await has('/web/static/js/form.js')];
    }""")
    assert kept == [True, True]
    page.context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    assert page.get_by_role("heading", name="New hazard").count() == 1
    page.get_by_label("Name", exact=True).wait_for()
    page.context.set_offline(False)
    # An edit form, holding a record's data, is never kept.
    from mineaction.access.roles import Principal, Role

    created, _ = live.services.records.create(Principal("someone", Role.editor), "accident",
                                              {"place_name": "Not kept"})
    edit = f"/records/accidents/{created['id']}/edit"
    live.login(page, "admin")
    page.goto(live.url + edit)
    page.locator('#draw-map[data-ready="true"]').wait_for()
    assert page.evaluate("""async (url) => {
        const c = await caches.open('mineaction-field-1'); return !!(await c.match(url));
    }""", edit) is False


def test_axe_finds_no_violation_in_the_field_entry_parts(browser: Any, live: Any) -> None:
    from test_accessibility_e2e import _violations

    for viewport in VIEWPORTS.values():
        # bypass_csp: axe is injected as a script the pages' policy would refuse
        ctx = browser.new_context(bypass_csp=True, **viewport)
        ctx.set_default_timeout(15_000)
        block_outside(ctx, [])
        page = ctx.new_page()
        live.login(page, "editor", f"axe-{uuid.uuid4().hex[:6]}")
        page.goto(live.url + "/records/accidents/new")
        page.locator('#draw-map[data-ready="true"]').wait_for()
        for _ in range(2):
            page.get_by_role("button", name="Add victim").click()
        ctx.set_offline(True)
        page.get_by_role("button", name="Save as draft").click()
        page.locator("#offline-outbox li").first.wait_for()
        found = _violations(page)
        ctx.set_offline(False)
        # Sent when the network is back, and said so, on this page: waited for before
        # leaving it, or the page would be left with the draft on its way.
        page.locator('#offline-outbox li[data-state="sent"]').first.wait_for()
        found += _violations(page)
        page.goto(live.url + "/records/hazards/new")
        page.locator('#draw-map[data-ready="true"]').wait_for()
        page.get_by_text("Type the corners").click()
        found += _violations(page)
        ctx.close()
        assert found == [], "\n".join(found)
