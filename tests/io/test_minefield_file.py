# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield record files (issue 18, item 6): the shipped example gives the worked
example's coordinates, closure and area; legs and rows may come from CSV files; every
error names the file, its line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mineaction.io.minefield import (
    MinefieldFileError,
    load_minefield_file,
    parse_minefield_text,
    plan_json,
    precision_text,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "minefield" \
    / "minefield-record.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
WORKED = {"TP1": (39.9945921, 46.9340700), "TP2": (39.9926815, 46.9365539),
          "TP3": (39.9910894, 46.9344840)}


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _errors(text: str, tmp_path: Path, name: str = "record.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (tmp_path / "minefield-record-scan.png").write_bytes(b"scan")
    with pytest.raises(MinefieldFileError) as info:
        load_minefield_file(path)
    return [str(p) for p in info.value.problems]


def test_the_example_gives_the_worked_example() -> None:
    plan = load_minefield_file(EXAMPLE)
    points = {p.name: p for p in plan.points if p.role.value != "end"}
    for name, (lat, lon) in WORKED.items():
        assert (points[name].geometry.y, points[name].geometry.x) == pytest.approx(
            (lat, lon), abs=5e-8)
        assert points[name].bearing_unit is not None and points[name].distance_unit is not None
    closing = next(p for p in plan.points if p.role.value == "end")
    assert (closing.name, closing.from_point, closing.bearing, closing.distance) == (
        "BM", "TP3", 315, 300)
    assert plan.record.closure_error_m == pytest.approx(0.0128, abs=1e-4)
    assert plan.record.area_m2 == pytest.approx(75_002, abs=1)
    assert plan.record.adjusted is False
    assert plan.record.geometry.geom_type == "Polygon"
    assert len(plan.record.geometry.exterior.coords) == 5
    assert plan.traverse.closure is not None
    assert precision_text(plan.traverse.closure.precision_ratio) == "1:85,600"
    # Fixed points keep the notation they were written in.
    assert {p.name: p.original_coordinates for p in plan.points[:3]} == {
        "BM": "39.9930 N 46.9320 E", "LM1": "39°59'34.8\"N 46°55'50.1\"E",
        "RP1": "38S 664889 4428626"}
    rows = {r.label: r for r in plan.rows}
    assert rows["A"].geometry.length > 0 and rows["A"].mines == 31
    assert rows["B"].pattern.value == "staggered" and rows["B"].row_offset_m == 2
    assert [s.role for s in plan.sources] == ["laid_by", "handed_over_by"]
    assert plan.sources[0].source.title.startswith("Laid by 3rd engineer company")
    assert plan.record.source_ids == [s.source.id for s in plan.sources]
    [scan] = plan.attachments
    assert scan.media_type == "image/png" and scan.content.startswith(b"\x89PNG")
    # Every leg over 50 m is flagged, with the file's own leg number and line.
    over = [w for w in plan.warnings if "no intermediate point" in w]
    assert len(over) == 6
    assert f"line {_line(TEXT, 'to: BM, from: TP3')}: legs[3]: leg 4 (TP3 to BM)" in "\n".join(
        over)
    assert plan_json(plan)["traverse"]["perimeter"]["geometry"]["type"] == "Polygon"


def test_adjusted_and_magnetic_and_paces() -> None:
    adjusted = parse_minefield_text(TEXT.replace("adjust: false", "adjust: true"),
                                    origin="x.yaml", base_dir=EXAMPLE.parent)
    assert adjusted.record.adjusted is True
    assert adjusted.record.area_m2 == pytest.approx(75_000.0, abs=0.1)
    # The worked example's magnetic bearings (15 March 2021: 6.34 degrees east at BM).
    magnetic = TEXT.replace("bearing_reference: true ", "bearing_reference: magnetic ")
    magnetic = magnetic.replace("date_laid: 2020-10-12", "date_laid: 2021-03-15")
    for true, entered in ((45, 38.66), (135, 128.66), (225, 218.66), (315, 308.66)):
        magnetic = magnetic.replace(f"bearing: {true}, distance", f"bearing: {entered}, "
                                    "distance", 1)
    plan = parse_minefield_text(magnetic, origin="m.yaml", base_dir=EXAMPLE.parent)
    tp1 = next(p for p in plan.points if p.name == "TP1")
    assert (tp1.geometry.y, tp1.geometry.x) == pytest.approx(WORKED["TP1"], abs=2e-6)
    paces = TEXT.replace("distance_unit: metres ", "distance_unit: paces\npace_factor: 0.8 ")
    for metres in (250, 300, 50, 150, 40):
        paces = paces.replace(f"distance: {metres}}}", f"distance: {metres / 0.8:g}}}")
    plan = parse_minefield_text(paces, origin="p.yaml", base_dir=EXAMPLE.parent)
    tp2 = next(p for p in plan.points if p.name == "TP2")
    assert (tp2.geometry.y, tp2.geometry.x) == pytest.approx(WORKED["TP2"], abs=5e-8)
    assert tp2.distance_unit is not None and tp2.distance_unit.value == "paces"
    assert tp2.pace_factor == 0.8


def test_legs_and_rows_from_csv(tmp_path: Path) -> None:
    (tmp_path / "legs.csv").write_text(
        "to,from,bearing,distance,role\nTP1,BM,45,250,turning\nTP2,TP1,135,300,\n"
        "TP3,TP2,225,250,\nBM,TP3,315,300,\nRS-A,BM,90,50,row_start\n"
        "RE-A,RS-A,45,150,row_end\n", encoding="utf-8")
    (tmp_path / "rows.csv").write_text(
        "label,start,end,mines,spacing,device_category\nA,RS-A,RE-A,31,5,ap_mine\n",
        encoding="utf-8")
    text = ("name: MF-CSV\npoints:\n  - {name: BM, role: benchmark, lat: 39.9930, "
            "lon: 46.9320}\nlegs: legs.csv\nrows: rows.csv\n")
    path = tmp_path / "csv.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_minefield_file(path)
    tp3 = next(p for p in plan.points if p.name == "TP3")
    assert (tp3.geometry.y, tp3.geometry.x) == pytest.approx(WORKED["TP3"], abs=5e-8)
    assert plan.rows[0].mines == 31 and plan.record.area_m2 == pytest.approx(75_002, abs=1)
    # A fault in the CSV is located in the CSV.
    (tmp_path / "legs.csv").write_text("to,from,bearing,distance\nTP1,BM,north,250\n",
                                       encoding="utf-8")
    with pytest.raises(MinefieldFileError) as info:
        load_minefield_file(path)
    assert str(info.value.problems[0]).startswith(f"{tmp_path / 'legs.csv'}, line 2: "
                                                  "legs[0].bearing:")


@pytest.mark.parametrize(("change", "fragment", "field", "says"), [
    (("bearing: 135, distance", "bearing: east, distance"), "to: TP2", "legs[1].bearing",
     "valid number"),
    (("bearing: 225, distance", "bearing: 225, colour: red, distance"), "to: TP3",
     "legs[2].colour", "unknown key 'colour'"),
    (("{to: RE-A, from: RS-A", "{to: RE-A, from: RS-Z"), "to: RE-A", "legs[5].from",
     "no earlier leg reaches it"),
    (("start: RS-B", "start: RS-C"), "start: RS-C", "rows[1].start", "no point 'RS-C'"),
    (("coordinates: 39.9930 N 46.9320 E", "coordinates: 99.9930 N 46.9320 E"),
     "coordinates: 99.9930", "points[0].coordinates", ""),
    (("file: minefield-record-scan.png", "file: missing.png"), "file: missing.png",
     "attachments[0].file", "cannot read missing.png"),
    (("pattern: staggered", "pattern: zigzag"), "pattern: zigzag", "rows[1].pattern", ""),
    (("reliability: C ", "reliability: G "), "reliability: G", "sources[0].reliability", ""),
    (("{to: TP2, from: TP1,", "{to: TP1, from: TP1,"), "{to: TP1, from: TP1",
     "legs[1].to", "already a point"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, change: tuple[str, str],
                                         fragment: str, field: str, says: str) -> None:
    text = TEXT.replace(*change, 1)
    assert text != TEXT
    errors = _errors(text, tmp_path)
    expected = f"{tmp_path / 'record.yaml'}, line {_line(text, fragment)}: {field}:"
    assert any(e.startswith(expected) and says in e for e in errors), errors


def test_whole_file_errors(tmp_path: Path) -> None:
    [error] = _errors("- just\n- a list\n", tmp_path)
    assert "line 1" in error and "YAML mapping" in error
    [error] = _errors("name: [unclosed\n", tmp_path)
    assert "not valid YAML" in error and "line 2" in error
    no_benchmark = TEXT.replace("role: benchmark", "role: reference", 1)
    errors = _errors(no_benchmark, tmp_path)
    assert any(f"line {_line(TEXT, 'points:')}: points: exactly one point" in e
               for e in errors)
    # A record keyed by a dataset needs its external id too (a domain rule).
    errors = _errors(TEXT.replace("name: MF-AGH-017", "name: MF-AGH-017\ndataset: x", 1),
                     tmp_path)
    assert any("external_id" in e for e in errors), errors
    # Attachments may not reach outside the record file's folder.
    errors = _errors(TEXT.replace("file: minefield-record-scan.png", "file: ../etc/passwd"),
                     tmp_path)
    assert any("without '..'" in e for e in errors)


def test_uploaded_files_are_used_when_there_is_no_folder() -> None:
    plan = parse_minefield_text(TEXT, origin="upload.yaml",
                                files={"minefield-record-scan.png": b"png"})
    assert plan.attachments[0].content == b"png"
    with pytest.raises(MinefieldFileError) as info:
        parse_minefield_text(TEXT, origin="upload.yaml")
    assert "not among the uploaded files" in str(info.value)
