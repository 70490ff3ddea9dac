# SPDX-License-Identifier: GPL-3.0-or-later
"""The map-accuracy report (issue 18, item 4) on a seeded area whose every figure is known
by construction: admin area AZ01 with two minefield records, one accurate (every mine found
where it is drawn) and one drawn 12 m off and turned 3 degrees with a row left off (the
synthetic field of bench/minefield_synthetic.py, seed 0), finds and accidents inside and
outside them. The report's numbers must equal the known ones; HTML renders in English and
Spanish; the PDF renders once."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pyproj import Proj
from shapely.geometry import LineString, Point, Polygon, box

from mineaction.domain.models import (
    Accident,
    AdminArea,
    Find,
    Hazard,
    MinefieldRecord,
    MineRow,
)
from mineaction.reports.kinds import ParameterError
from mineaction.reports.render import build_context, render, render_html
from mineaction.store import Store, open_store

BENCH = Path(__file__).resolve().parents[2] / "bench" / "minefield_synthetic.py"

AREA = "AZ01"
OK = "approved"

def synthetic() -> ModuleType:
    if "minefield_synthetic" in sys.modules:
        return sys.modules["minefield_synthetic"]
    spec = importlib.util.spec_from_file_location("minefield_synthetic", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["minefield_synthetic"] = module
    spec.loader.exec_module(module)
    return module

@dataclass
class Known:
    """What the report must say about the seeded area."""

    records: int
    finds: int
    finds_inside: int
    finds_outside: int
    accidents: int
    accidents_outside: int
    accurate_id: str
    shifted_id: str
    shifted_truth: Any
    accurate_expected: int

def _local(lon0: float, lat0: float) -> Proj:
    return Proj(f"+proj=aeqd +lat_0={lat0!r} +lon_0={lon0!r} +datum=WGS84 +units=m")

def seed(store: Any) -> Known:
    add = lambda r: store.add(r, by="seed")  # noqa: E731
    add(AdminArea(pcode=AREA, name="Seeded district", level=1, status=OK,
                  geometry=box(46.90, 39.97, 47.00, 40.03)))
    # Record 1, accurate: a 100 m x 40 m field 1.5 km west of record 2, three rows of
    # 10 mines 8 m apart, every mine found where the record puts it (0.3 m off).
    proj = _local(46.915, 39.993)
    to_ll = lambda x, y: proj(x, y, inverse=True)  # noqa: E731
    h1 = add(Hazard(hazard_kind="CHA", name="Accurate field", status=OK,
                    admin_area_pcode=AREA))
    perim = Polygon([to_ll(x, y) for x, y in ((-50, -20), (50, -20), (50, 20), (-50, 20))])
    r1 = add(MinefieldRecord(name="MF-A", hazard_id=h1.id, geometry=perim, status=OK,
                             admin_area_pcode=AREA, handed_over_by="Party A",
                             date_handed_over=date(2021, 1, 10)))
    finds = 0
    for k, y in enumerate((-10.0, 0.0, 10.0)):
        add(MineRow(record_id=r1.id, label=f"A{k + 1}", mines=10, spacing_m=8.0,
                    pattern="single", device_model="PMN-2", status=OK,
                    geometry=LineString([to_ll(-36, y), to_ll(36, y)])))
        for i in range(10):
            lon, lat = to_ll(-36 + 8 * i + 0.3, y)
            add(Find(geometry=Point(lon, lat), device_category="ap_mine", device_model="PMN-2",
                     hazard_id=h1.id, admin_area_pcode=AREA, find_date=date(2021, 5, 1),
                     status=OK))
            finds += 1
    inside = finds
    # Record 2, shifted 12 m and turned 3 degrees, a row left off: the synthetic field.
    field = synthetic().synthetic_minefield(0)
    t = field.truth
    h2 = add(Hazard(hazard_kind="CHA", name="Shifted field", status=OK, admin_area_pcode=AREA))
    r2 = add(MinefieldRecord(name="MF-B", hazard_id=h2.id, geometry=Polygon(
        field.record.perimeter), status=OK, admin_area_pcode=AREA, handed_over_by="Party B",
        date_handed_over=date(2021, 2, 1)))
    for row in field.record.rows:
        add(MineRow(record_id=r2.id, label=row.row_id, mines=row.mines,
                    spacing_m=row.spacing_m, device_model=row.device_type, status=OK,
                    pattern="single" if row.pattern == "single" else "staggered",
                    row_offset_m=row.offset_m, geometry=LineString([row.start, row.end])))
    for f in field.finds:
        add(Find(geometry=Point(f.lon, f.lat), device_model=f.device_type, hazard_id=h2.id,
                 admin_area_pcode=AREA, find_date=f.found_on, dataset="seed", external_id=f.find_id,
                 status=OK))
    finds += t.finds
    inside += t.finds_inside_perimeter
    # Finds of the area far from any record (a spot task 3 km away): outside.
    p3 = _local(46.96, 40.01)
    for i in range(5):
        lon, lat = p3(i * 30.0, 0.0, inverse=True)
        add(Find(geometry=Point(lon, lat), device_category="uxo", admin_area_pcode=AREA,
                 find_date=date(2021, 6, 1), status=OK))
    finds += 5
    # Accidents: 2 inside record 1, 1 inside record 2 (at its centroid), 4 outside.
    acc = [to_ll(0, 0), to_ll(20, 5), tuple(Polygon(field.record.perimeter).centroid.coords[0])]
    acc += [p3(x, 200.0, inverse=True) for x in (0.0, 100.0, 200.0, 300.0)]
    for lon, lat in acc:
        add(Accident(geometry=Point(lon, lat), accident_date=date(2021, 4, 1),
                     admin_area_pcode=AREA, accident_kind="other", status=OK,
                     device_category="ap_mine"))
    return Known(records=2, finds=finds, finds_inside=inside, finds_outside=finds - inside,
                 accidents=7, accidents_outside=4, accurate_id=str(r1.id),
                 shifted_id=str(r2.id), shifted_truth=t, accurate_expected=30)


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Known]]:
    store = open_store(tmp_path_factory.mktemp("map-accuracy") / "area.gpkg")
    known = seed(store)
    yield store, known
    store.close()


@pytest.fixture(scope="module")
def context(area: tuple[Store, Known]) -> dict[str, Any]:
    return build_context(area[0], "map-accuracy", admin_area=AREA)


def test_area_figures_equal_the_known_ones(context: dict[str, Any],
                                           area: tuple[Store, Known]) -> None:
    known = area[1]
    f = context["figures"]
    assert f["records"] == known.records == 2
    assert f["finds"] == known.finds == 108
    # 30 of record 1, 44 of record 2's 73 (its truth: inside the buffered perimeter as drawn)
    assert f["finds_inside"] == known.finds_inside == 74
    assert f["finds_outside"] == known.finds_outside == 34
    assert f["accidents"] == known.accidents == 7
    assert f["accidents_outside"] == known.accidents_outside == 4
    assert f["accidents_inside"] == 3
    # The claim "more than half of the explosions outside the mapped areas": 4 of 7.
    assert f["share_accidents_outside"] == 57.1 and context["more_than_half"]
    assert f["mine_accidents"] == 7 and f["mine_accidents_outside"] == 4
    t = known.shifted_truth
    assert f["expected_mines"] == known.accurate_expected + t.expected_mines == 90
    assert f["expected_found"] == known.accurate_expected + t.found_mines == 83
    assert f["records_with_residual_risk"] == 1


def test_per_record_indicators_equal_the_truth(context: dict[str, Any],
                                               area: tuple[Store, Known]) -> None:
    known = area[1]
    t = known.shifted_truth
    rows = {r["id"]: r for r in context["records"]}
    accurate = rows[known.accurate_id]["accuracy"]
    assert accurate.share_inside_perimeter == 1.0
    assert accurate.share_expected_found == 1.0
    assert accurate.median_offset_before_m == pytest.approx(0.3, abs=1e-6)
    assert not accurate.residual_risk and rows[known.accurate_id]["missing"] == "–"
    shifted = rows[known.shifted_id]["accuracy"]
    assert shifted.finds == t.finds
    assert shifted.finds_inside_perimeter == t.finds_inside_perimeter
    assert shifted.expected_mines == t.expected_mines
    assert shifted.found_mines == t.found_mines
    assert {r.row_id: r.unexplained for r in shifted.rows} == t.missing_per_row
    assert shifted.median_offset_before_m == pytest.approx(t.median_offset_before_m, abs=1e-6)
    assert shifted.median_offset_after_m == pytest.approx(t.median_noise_m, abs=0.05)
    assert shifted.fit.rotation_deg == pytest.approx(t.rotation_deg, abs=0.5)
    assert shifted.fit.shift_east_m == pytest.approx(t.shift_east_m, abs=1.0)
    assert shifted.fit.shift_north_m == pytest.approx(t.shift_north_m, abs=1.0)
    assert shifted.residual_risk == t.residual_risk
    assert rows[known.shifted_id]["missing"] == "R1 1, R2 1, R3 2, R4 1, R5 2"


def test_dates_limit_finds_and_accidents(area: tuple[Store, Known]) -> None:
    # The accidents are dated 2021-04-01, the area's stray finds 2021-06-01.
    c = build_context(area[0], "map-accuracy", admin_area=AREA, date_from="2021-05-15")
    assert c["figures"]["accidents"] == 0
    assert c["figures"]["records"] == 2
    assert c["figures"]["finds_outside"] >= 5


def test_html_in_english_and_spanish(area: tuple[Store, Known]) -> None:
    html = render_html(area[0], "map-accuracy", admin_area=AREA)
    assert "Map-accuracy report" in html and "Seeded district (AZ01)" in html
    assert "Of 7 accidents with coordinates, 4 (57.1 %) happened outside" in html
    assert "That is more than half." in html
    assert html.count('<img class="map"') == 1 and "MF-A" in html and "MF-B" in html
    es = render_html(area[0], "map-accuracy", admin_area=AREA, lang="es")
    assert "Informe de exactitud de los mapas" in es
    assert "De 7 accidentes con coordenadas, 4 (57,1 %) ocurrieron fuera" in es


def test_parameters_are_checked(area: tuple[Store, Known]) -> None:
    with pytest.raises(ParameterError, match="admin area"):
        build_context(area[0], "map-accuracy")
    with pytest.raises(ParameterError, match="YYYY-MM-DD"):
        build_context(area[0], "map-accuracy", admin_area=AREA, date_to="2021-13-01")


def test_pdf_renders(area: tuple[Store, Known], tmp_path: Path) -> None:
    out = render(area[0], "map-accuracy", tmp_path / "map-accuracy.pdf", admin_area=AREA)
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 20_000


@pytest.mark.parametrize(("lang", "title", "sentence"), [
    ("az", "Xəritələrin dəqiqliyi üzrə hesabat",
     "Koordinatları olan 7 qəzadan 4 qəza (57,1 %) qeydə alınmış bütün mina sahələrindən "
     "kənarda baş verib."),
    ("ar", "تقرير دقة الخرائط",
     "من أصل 7 حادثًا لها إحداثيات، وقع 4 (57.1 %) خارج كل حقول الألغام المسجَّلة."),
])
def test_html_in_azerbaijani_and_arabic(area: tuple[Store, Known], lang: str, title: str,
                                        sentence: str) -> None:
    """The same figures in the two languages added with issue 22, Arabic right to left."""
    html = render_html(area[0], "map-accuracy", admin_area=AREA, lang=lang)
    assert title in html and sentence in html
    assert f'dir="{"rtl" if lang == "ar" else "ltr"}"' in html
