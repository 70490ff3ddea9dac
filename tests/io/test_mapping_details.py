"""Details of mapping files users meet: YAML's yes/no, joins with gaps, geopoints,
impossible dates, untidy headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from mineaction.io.mapping import load_mapping
from mineaction.io.pipeline import ImportRejected, import_file
from mineaction.store import Query, open_store


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_yes_and_no_stay_text_in_value_maps(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: victims
fields:
  outcome:
    from: murio
    values: {yes: killed, no: injured, Yes: killed, No: injured}
""")
    csv = _write(tmp_path / "v.csv", "murio\nyes\nNo\n")
    with open_store(tmp_path / "s.gpkg") as store:
        import_file(store, csv, mapping=load_mapping(mapping))
        outcomes = sorted(v.outcome for v in store.query(Query(kind="victim")).items)
    assert outcomes == ["injured", "killed"]


def test_join_leaves_out_missing_parts_and_geopoints_read(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: accidents
fields:
  place_name: {from: [vereda, municipio], join: ", "}
  geometry: {point: {text: gps}}
""")
    csv = _write(tmp_path / "a.csv", " vereda , municipio ,gps\n"
                 "La Esperanza,GRANADA,6.1437 -75.1852 2100 5\n,GRANADA,(6.15 -75.19)\n")
    with open_store(tmp_path / "s.gpkg") as store:
        import_file(store, csv, mapping=load_mapping(mapping))
        items = store.query(Query(kind="accident")).items
    assert sorted(a.place_name for a in items) == ["GRANADA", "La Esperanza, GRANADA"]
    assert sorted((round(a.geometry.y, 4), round(a.geometry.x, 4)) for a in items) == [
        (6.1437, -75.1852), (6.15, -75.19)]


def test_impossible_month_names_the_date_columns(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.yaml", """kind: accidents
fields:
  accident_date: {date_parts: {year: ano, month: mes}}
""")
    csv = _write(tmp_path / "a.csv", "ano,mes\n2008,13\n")
    with open_store(tmp_path / "s.gpkg") as store, pytest.raises(ImportRejected) as exc:
        import_file(store, csv, mapping=load_mapping(mapping))
    (line,) = exc.value.report.error_lines()
    assert line == ("a.csv, row 2, field accident_date (column 'ano, mes'): "
                    "no such date: year 2008, month 13")
