"""Imports as a new user met them (issue 16, items 3 to 7): strict mapping files, numbers
with thousands separators in codes and dates, files that match nothing, rejected rows in a
dry run, and flags."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mineaction.domain.enums import AccidentKind
from mineaction.io.mapping import MappingError, load_mapping
from mineaction.io.pipeline import ImportRejected, import_file
from mineaction.store import Query, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_fixtures import api, settings_overrides, store  # noqa: E402,F401


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- 3: strict mapping files --------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "message"), [
    ("kind: accidents\nfields:\n  accident_date:\n    date_parts: {year: ano}\n"
     "    number: {thousands: \",\"}\n", 5,
     "fields.accident_date.number: option 'number' does not apply here: it does not apply "
     "beside date_parts"),
    ("kind: accidents\nfields:\n  place_name:\n    from: sitio\n"
     "    number: {thousands: \",\"}\n", 5,
     "fields.place_name.number: option 'number' does not apply here: it applies to number "
     "fields only, and this is a text field"),
    ("kind: accidents\nfields:\n  place_name: {from: sitio, date_format: '%Y'}\n", 3,
     "option 'date_format' does not apply here"),
    ("kind: accidents\nfields:\n  place_name: {from: sitio, unmapped: keep}\n", 3,
     "option 'unmapped' does not apply here: it applies only with values"),
    ("targets:\n  - kind: hazards\n    fields:\n      area_m2:\n        from: a\n"
     "        number: {thousand: \".\"}\n", 6,
     "targets[0].fields.area_m2.number.thousand: unknown option 'thousand' "
     "(did you mean 'thousands'?)"),
    ("kind: accidents\nfeilds:\n  place_name: sitio\n", 2,
     "unknown option 'feilds' (did you mean 'fields'?)"),
])
def test_options_unknown_or_out_of_place_are_errors_with_their_line(
        tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path / "m.yaml", text)
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    assert str(exc.value).startswith(f"{path}, line {line}: ")
    assert message in str(exc.value)


def test_the_shipped_mappings_pass_the_strict_checks() -> None:
    from mineaction.io.mapping import shipped_mappings

    for path in shipped_mappings().values():
        load_mapping(path)


# -- 4: thousands separators in codes and date parts -----------------------------------------


def test_pcodes_and_years_with_thousands_separators_are_read(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: accidents
fields:
  accident_date: {date_parts: {year: ano, month: mes}}
  admin_area_pcode: {from: municipio, pad: 5}
""")
    csv = _write(tmp_path / "a.csv", 'ano,mes,municipio\n"2,006",3,"5,313"\n2007,1,23580\n')
    with open_store(tmp_path / "s.gpkg") as s:
        import_file(s, csv, mapping=load_mapping(mapping))
        items = s.query(Query(kind="accident")).items
    assert sorted((str(a.accident_date), a.admin_area_pcode) for a in items) == [
        ("2006-03-01", "05313"), ("2007-01-01", "23580")]


# -- 6: rejected rows, date errors, misspelt columns, accident_kind unknown ------------------


def test_a_date_error_names_the_value_it_could_not_read(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: accidents
fields:
  accident_date: {date_parts: {year: ano, month: mes}}
""")
    csv = _write(tmp_path / "a.csv", "ano,mes\n2006x,3\n")
    with open_store(tmp_path / "s.gpkg") as s, pytest.raises(ImportRejected) as exc:
        import_file(s, csv, mapping=load_mapping(mapping))
    (line,) = exc.value.report.error_lines()
    assert line == ("a.csv, row 2, field accident_date (column 'ano'): "
                    "year '2006x' is not a number")


def test_skip_invalid_dry_run_writes_the_rejected_rows_and_counts_rows(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: victims
fields:
  outcome: {from: estado, values: {Herido: injured, Muerto: killed}}
  age: edad
""")
    csv = _write(tmp_path / "v.csv", "estado,edad\nHerido,30\nDesaparecido,x\nMuerto,40\n")
    rejected = tmp_path / "rejected.csv"
    with open_store(tmp_path / "s.gpkg") as s:
        report = import_file(s, csv, mapping=load_mapping(mapping), skip_invalid=True,
                             dry_run=True, rejected_path=rejected)
    assert len(report.errors) == 2  # two errors, in one row
    assert report.rejected_rows == {3}
    assert report.rejected_file == str(rejected)
    assert report.rejected_summary() == f"1 row rejected; reasons in {rejected}"
    text = rejected.read_text(encoding="utf-8")
    assert "Desaparecido" in text and "rejection_reasons" in text


def test_a_misspelt_column_gets_did_you_mean(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: victims
fields:
  outcome: {from: Estado, values: {Herido: injured}}
  age: edad
""")
    csv = _write(tmp_path / "v.csv", "estado,edad\nHerido,30\n")
    with open_store(tmp_path / "s.gpkg") as s, \
            pytest.raises(MappingError, match=r"did you mean 'estado'\?"):
        import_file(s, csv, mapping=load_mapping(mapping))


def test_accident_kind_has_unknown() -> None:
    assert AccidentKind("unknown") == "unknown"


# -- 5: a file that matches nothing ----------------------------------------------------------

KOBO = ("start;end;incident/date;incident/municipality_code;_id;_uuid\n"
        "24/03/2023 08:12;24/03/2023 08:31;24/03/2023;5313;101;3f1c\n")


def test_a_file_with_no_column_of_the_fields_is_refused(tmp_path: Path) -> None:
    csv = _write(tmp_path / "kobo.csv", KOBO)
    with open_store(tmp_path / "s.gpkg") as s:
        with pytest.raises(MappingError, match=r"the file has: start, end, incident/date, "
                           r"incident/municipality_code, _id, _uuid"):
            import_file(s, csv, kind="accident")
        assert s.query(Query(kind="accident")).items == []


def test_a_file_with_no_column_of_the_mapping_is_refused(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: accidents
fields:
  accident_kind: {from: tipo, values: {MAP: mine}, unmapped: default, default: other}
  narrative: relato
""")
    csv = _write(tmp_path / "kobo.csv", KOBO)
    with open_store(tmp_path / "s.gpkg") as s:
        with pytest.raises(MappingError, match=r"no column that the mapping reads for "
                           r"accident is in the file: "
                           r"column 'relato' is not in the file, column 'tipo' is not in the "
                           r"file; "
                           r"the file has: start, end"):
            import_file(s, csv, mapping=load_mapping(mapping))


def test_a_file_with_only_misspelt_columns_gets_did_you_mean(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: victims
fields:
  outcome: {from: Estado, values: {Herido: injured}}
""")
    csv = _write(tmp_path / "v.csv", "estado,edad\nHerido,30\n")
    with open_store(tmp_path / "s.gpkg") as s, \
            pytest.raises(MappingError, match=r"column 'Estado' is not in the file \(did you mean "
                           r"'estado'\?\)"):
        import_file(s, csv, mapping=load_mapping(mapping))


# -- 4 and 7: flags ---------------------------------------------------------------------------

ADMIN = Path(__file__).parents[2] / "data" / "colombia" / "admin"


def test_flags_unknown_pcodes_island_points_and_order(tmp_path: Path) -> None:
    csv = _write(tmp_path / "acc.csv",
                 "ref,dept,lon,lat\n"
                 "sanandres,88,-81.7006,12.5847\n"  # San Andrés: outside the country outline
                 "nowhere,02,-75.5636,6.2518\n"     # no admin area 02
                 "wrongdept,05,-74.0817,4.6097\n"   # Bogotá, said to be in Antioquia
                 "sign,11,74.0817,4.6097\n"         # Bogotá with the longitude's sign lost
                 "nogeometry,03,,\n")
    mapping = _write(tmp_path / "m.yaml", """country: COL
kind: accidents
external_id: ref
fields:
  admin_area_pcode: {from: dept, pad: 2}
  geometry: {point: {lat: lat, lon: lon}}
""")
    with open_store(tmp_path / "s.gpkg") as s:
        import_file(s, ADMIN / "departments_dane_mgn2021.geojson",
                    mapping=load_mapping("dane-departments"))
        report = import_file(s, csv, mapping=load_mapping(mapping), chunksize=2)
    got = [(f.row, f.field, f.message.split(":")[0].split(";")[0]) for f in report.flags]
    assert got == [
        (3, "admin_area_pcode", "admin area 02 is not in the store"),
        (4, "geometry", "(-74.081700, 4.609700) is outside its admin area 05 (ANTIOQUIA)"),
        (5, "geometry", "(74.0817, 4.6097) is outside the expected area"),
        (6, "admin_area_pcode", "admin area 03 is not in the store"),
    ]
    assert "longitude sign looks wrong" in report.flags[2].message


def test_the_api_job_report_and_the_web_page_carry_the_flags(tmp_path: Path) -> None:
    from mineaction.io.pipeline import Flag, ImportReport
    from mineaction.services.imports import _report_json

    report = ImportReport(file="a.csv", mapping="m", dataset="d", dry_run=True)
    report.flags.append(Flag("accident", "id-1", 3, "geometry", "outside the country"))
    body = _report_json(report)
    assert body["flag_count"] == 1
    assert body["flags"] == [{"row": 3, "kind": "accident", "record_id": "id-1",
                              "field": "geometry", "message": "outside the country"}]
    web = Path(__file__).parents[2] / "src" / "mineaction" / "web"
    script = (web / "static" / "js" / "imports.js").read_text(encoding="utf-8")
    assert "r.flags" in script and "report-flags" in script
    assert 'id="report-flags"' in (web / "templates" / "imports.html").read_text(
        encoding="utf-8")


def test_the_api_refuses_a_file_that_matches_nothing(api: Any) -> None:  # noqa: F811
    editor = api.as_("editor")
    r = editor.post("/api/v1/imports", files={"file": ("kobo.csv", KOBO.encode())},
                    data={"kind": "accidents", "dry_run": "true"})
    assert r.status_code == 202, r.text
    for _ in range(300):
        job = editor.get(f"/api/v1/imports/{r.json()['id']}").json()
        if job["state"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert job["state"] == "failed", job
    assert "none of the file's columns is named like a field of accident" in \
        job["report"]["message"]
    assert "the file has: start, end, incident/date" in job["report"]["message"]
