"""Implausible coordinates are imported but flagged, with the likely cause."""

from __future__ import annotations

from pathlib import Path

from mineaction.io.mapping import load_mapping, parse_mapping
from mineaction.io.pipeline import import_file
from mineaction.store import open_store
from mineaction.store.info import import_flags

ADMIN = Path(__file__).parents[2] / "data" / "colombia" / "admin"


def test_points_outside_country_and_own_admin_area_are_flagged(tmp_path: Path) -> None:
    csv = tmp_path / "acc.csv"
    csv.write_text(
        "ref,dept,lon,lat\n"
        "ok,05,-75.5636,6.2518\n"        # Medellín, in Antioquia (05): fine
        "wrongdept,05,-74.0817,4.6097\n"  # Bogotá, but said to be in Antioquia
        "sign,11,74.0817,4.6097\n"       # Bogotá with the longitude's sign lost
        "swapped,11,4.6097,-74.0817\n",   # latitude and longitude swapped
        encoding="utf-8")
    mapping = parse_mapping({
        "country": "COL", "kind": "accidents", "external_id": "ref",
        "fields": {"admin_area_pcode": "dept", "geometry": {"point": {"lat": "lat", "lon": "lon"}}},
    }, origin="test")
    with open_store(tmp_path / "s.gpkg") as store:
        import_file(store, ADMIN / "departments_dane_mgn2021.geojson",
                    mapping=load_mapping("dane-departments"))
        report = import_file(store, csv, mapping=mapping)
        assert report.kinds["accident"].added == 4  # flagged, not refused
        by_row = {f.row: f.message for f in report.flags}
        assert set(by_row) == {3, 4, 5}
        assert "outside its admin area 05 (ANTIOQUIA)" in by_row[3]
        assert "longitude sign looks wrong: (-74.0817, 4.6097) falls inside" in by_row[4]
        assert "latitude and longitude look swapped" in by_row[5]
        assert len(import_flags(store, report.import_id)) == 3
