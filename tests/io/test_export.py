"""Exports read back, with GDAL (as QGIS would) and with our own reader, with the same
features; victims' personal data stays out unless asked for."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyogrio
import pytest
from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim
from mineaction.io.export import export_records
from mineaction.io.readers import read_table
from mineaction.store import Query, Store, open_store

FORMATS = ["gpkg", "geojson", "shp.zip", "kml", "fgb", "csv", "xlsx"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path / "store.gpkg")
    places = [(-75.185183, 6.143703, "Vereda Santa Ana, Granada"), (-74.0817, 4.6097, "Bogotá"),
              (-76.49818, 0.502569, "Puerto Asís")]
    for i, (lon, lat, name) in enumerate(places):
        a = s.add(Accident(geometry=Point(lon, lat), accident_date=date(2006, 1 + i, 1),
                           date_precision="month", place_name=name, admin_area_pcode="05313",
                           accident_kind="mine", device_category="ap_mine", status="approved",
                           dataset="t", external_id=f"A{i}"))
        s.add(Victim(accident_id=a.id, outcome="killed", name=f"Persona {i}",
                     date_of_birth=date(1980, 1, 1), address="Calle 1", status="approved"))
    return s


@pytest.mark.parametrize("suffix", FORMATS)
def test_export_reads_back_with_the_same_features(store: Store, tmp_path: Path,
                                                  suffix: str) -> None:
    out = tmp_path / f"accidents.{suffix}"
    n = export_records(store, out, Query(kind="accident", limit=None))
    assert n == 3
    ours = read_table(out).sort_values("external_id")
    assert list(ours["external_id"]) == ["A0", "A1", "A2"]
    assert list(ours["place_name"]) == ["Vereda Santa Ana, Granada", "Bogotá", "Puerto Asís"]
    assert list(ours["accident_date"]) == ["2006-01-01", "2006-02-01", "2006-03-01"]
    if suffix in ("csv", "xlsx"):
        coords = list(zip(ours["longitude"].astype(float), ours["latitude"].astype(float),
                          strict=True))
    else:
        coords = [(g.x, g.y) for g in ours["geometry"]]
        # GDAL reads it too, as QGIS would.
        info = pyogrio.read_info(out if suffix != "shp.zip" else f"/vsizip/{out}")
        assert info["features"] == 3
    assert coords[1] == pytest.approx((-74.0817, 4.6097), abs=1e-7)


def test_personal_data_left_out_unless_asked(store: Store, tmp_path: Path) -> None:
    plain = tmp_path / "victims.csv"
    export_records(store, plain, Query(kind="victim", limit=None))
    text = plain.read_text(encoding="utf-8-sig")
    assert "Persona" not in text and "date_of_birth" not in text and "Calle 1" not in text
    assert text.count("killed") == 3
    full = tmp_path / "victims-full.csv"
    export_records(store, full, Query(kind="victim", limit=None), include_personal_data=True)
    assert "Persona 2" in full.read_text(encoding="utf-8-sig")


def test_hxl_export_carries_hashtags(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "accidents-hxl.csv"
    export_records(store, out, Query(kind="accident", limit=None), format="hxl")
    header, tags, *rows = out.read_text(encoding="utf-8-sig").splitlines()
    columns = header.split(",")
    hashtags = dict(zip(columns, tags.split(","), strict=True))
    assert hashtags["accident_date"] == "#date+occurred"
    assert hashtags["admin_area_pcode"] == "#adm2+code"
    assert hashtags["latitude"] == "#geo+lat"
    assert len(rows) == 3


def test_export_filters(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "near.geojson"
    n = export_records(store, out, Query(kind="accident", bbox=(-75, 4, -74, 5), limit=None))
    assert n == 1


@pytest.mark.parametrize("suffix", FORMATS)
def test_exported_file_imports_back(store: Store, tmp_path: Path, suffix: str) -> None:
    """Our own exports are importable as they are: columns named like the fields map to
    them, so another office can load what this one sent."""
    from mineaction.io.pipeline import import_file

    out = tmp_path / f"accidents.{suffix}"
    export_records(store, out, Query(kind="accident", limit=None))
    with open_store(tmp_path / "other.gpkg") as other:
        report = import_file(other, out, kind="accident", dataset="from-office-a")
        assert report.kinds["accident"].added == 3 and not report.errors
        got = {a.place_name: a for a in other.query(Query(kind="accident", limit=None)).items}
        assert set(got) == {"Vereda Santa Ana, Granada", "Bogotá", "Puerto Asís"}
        bogota = got["Bogotá"]
        assert (bogota.geometry.x, bogota.geometry.y) == pytest.approx((-74.0817, 4.6097))
        assert bogota.accident_date == date(2006, 2, 1) and bogota.device_category == "ap_mine"
        assert bogota.external_id == "A1"  # the sender's key travels with the record


def test_an_export_with_personal_data_is_a_logged_read(store: Store, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from mineaction.audit.schema import AUDIT_LOG

    def reads() -> list[dict[str, object]]:
        store.ensure_tables([AUDIT_LOG])
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(AUDIT_LOG).where(
                AUDIT_LOG.c.action == "read_personal")).mappings()]

    export_records(store, tmp_path / "plain.csv", Query(kind="victim", limit=None),
                   actor="cli:ana")
    assert reads() == []  # nothing personal left the store
    export_records(store, tmp_path / "full.csv", Query(kind="victim", limit=None),
                   include_personal_data=True, actor="cli:ana")
    [entry] = reads()
    assert entry["actor"] == "cli:ana" and entry["record_kind"] == "victim"
    assert "Persona" not in str(entry["detail"])  # which fields, never their values
    assert "name" in str(entry["detail"]) and "address" in str(entry["detail"])


def _gpkg_header(path: Path) -> tuple[int, int]:
    with path.open("rb") as f:
        header = f.read(100)
    return int.from_bytes(header[68:72], "big"), int.from_bytes(header[60:64], "big")


@pytest.mark.parametrize("kind", ["accident", "victim"])
def test_geopackage_export_passes_gdal_3_6s_validator(store: Store, tmp_path: Path,
                                                      gdal_validator, kind: str) -> None:
    """GeoPackage 1.2/1.3, not GDAL 3.12's default 1.4, which GDAL 3.6 (Debian 12, many
    QGIS installations) refuses; victims export as an attribute-only table (#16)."""
    out = tmp_path / f"{kind}.gpkg"
    export_records(store, out, Query(kind=kind, limit=None))
    application_id, user_version = _gpkg_header(out)
    assert application_id == 0x47504B47  # "GPKG"
    assert user_version in (10200, 10300)
    gdal_validator(out)


def test_open_data_geopackage_passes_gdal_3_6s_validator(store: Store, tmp_path: Path,
                                                         gdal_validator) -> None:
    """`mineaction publish` writes hazards.gpkg through the same writer (#16)."""
    from shapely.geometry import Polygon

    from mineaction.domain.models import Hazard
    from mineaction.reports.publish import publish

    store.add(Hazard(hazard_kind="SHA", status="approved", dataset="t", external_id="H1",
                     geometry=Polygon([(-75.19, 6.14), (-75.18, 6.14), (-75.18, 6.15)])))
    publish(store, tmp_path / "pkg")
    out = tmp_path / "pkg" / "hazards.gpkg"
    assert _gpkg_header(out)[1] in (10200, 10300)
    gdal_validator(out)
