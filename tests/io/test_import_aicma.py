"""The AICMA victims register and events, imported as a user would, on both stores.

Counts are checked against the CSV counted independently with pandas, not hard-coded
from our own output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from mineaction.analysis.casualties import casualties
from mineaction.io.mapping import load_mapping
from mineaction.io.pipeline import import_file
from mineaction.store import Query, Store, open_store

DATA = Path(__file__).parents[2] / "data" / "colombia"
REGISTER = DATA / "aicma_victims_register_2021-06.csv"
EVENTS = DATA / "aicma_events_1990-2014.geojson"


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return pd.read_csv(REGISTER, dtype=str)


@pytest.fixture
def imported(store_location: str) -> Store:
    store = open_store(store_location)
    report = import_file(store, REGISTER, mapping=load_mapping("aicma-victims"))
    assert report.committed and not report.errors
    yield store
    store.close()


def test_register_totals(imported: Store, register: pd.DataFrame) -> None:
    total = casualties(imported).total()
    assert total["casualties"] == len(register) == 12_062
    assert total["injured"] == (register["estado"] == "Herido").sum() == 9_733
    assert total["killed"] == (register["estado"] == "Muerto").sum() == 2_329
    by_role = {r["role"]: r["casualties"] for r in casualties(imported, ["role"]).rows}
    assert by_role["civilian"] == (register["condicion"] == "Civil").sum() == 4_809
    by_age = {r["age-band"]: r["casualties"] for r in casualties(imported, ["age-band"]).rows}
    assert by_age["child"] == (register["rangoedad"] == "Menor de 18 años").sum() == 1_255


def test_per_year_counts_equal_the_register(imported: Store, register: pd.DataFrame) -> None:
    expected = register.groupby("ano").size().to_dict()
    got = {r["year"]: r["casualties"] for r in casualties(imported, ["year"]).rows}
    assert got == expected
    row_2006 = next(r for r in casualties(imported, ["year"]).rows if r["year"] == "2006")
    assert (row_2006["casualties"], row_2006["injured"], row_2006["killed"]) == (1224, 984, 240)


def test_per_department_counts_equal_the_register(imported: Store,
                                                  register: pd.DataFrame) -> None:
    # Departments are the first two digits of the 5-digit DANE municipality code, which
    # the register writes without its leading zero.
    dep = register["codigodanemunicipio"].str.zfill(5).str[:2]
    expected = dep.value_counts().to_dict()
    rows = casualties(imported, ["admin-area"]).rows
    got: dict[str, int] = {}
    for r in rows:
        got[r["admin-area"][:2]] = got.get(r["admin-area"][:2], 0) + r["casualties"]
    assert got == expected


def test_victims_are_grouped_into_accidents(imported: Store, register: pd.DataFrame) -> None:
    keys = ["codigodanemunicipio", "sitio", "ano", "mes", "tipoevento", "latitudcabecera",
            "longitudcabecera"]
    n_groups = register.groupby(keys).ngroups
    assert imported.count(Query(kind="accident")) == n_groups
    # Every victim points at an accident that exists.
    assert imported.count(Query(kind="victim", where={"accident_id": None})) == 0
    granada = imported.count(Query(kind="victim", admin_area="05313"))
    assert granada == (register["codigodanemunicipio"] == "5313").sum()
    accident = imported.query(Query(kind="accident", admin_area="05313", limit=1)).items[0]
    assert accident.date_precision == "month" and accident.accident_date.day == 1


def test_reimport_reports_nothing_new(imported: Store) -> None:
    report = import_file(imported, REGISTER, mapping=load_mapping("aicma-victims"))
    assert {k: (v.added, v.changed, v.unchanged) for k, v in report.kinds.items()} == {
        "accident": (0, 0, imported.count(Query(kind="accident"))),
        "victim": (0, 0, 12_062),
    }
    assert casualties(imported).total()["casualties"] == 12_062


def test_newer_release_reports_changes(imported: Store, register: pd.DataFrame,
                                       tmp_path: Path) -> None:
    # A later release: one victim's outcome revised (injured -> killed), one late report
    # added, one row withdrawn.
    newer = register.copy()
    revised = newer.index[newer["estado"] == "Herido"][0]
    newer.loc[revised, "estado"] = "Muerto"
    newer = pd.concat([newer.drop(index=newer.index[-1]), newer.iloc[[5]]])
    path = tmp_path / "register-newer.csv"
    newer.to_csv(path, index=False)
    report = import_file(imported, path, mapping=load_mapping("aicma-victims"))
    v = report.kinds["victim"]
    # Rows have no ids: the revised row is matched to the victim it revises (io/release.py),
    # which keeps its id; before issue 17 it was one removed and one added.
    assert (v.added, v.removed, v.changed, v.review) == (1, 1, 1, 0)
    assert v.unchanged == 12_062 - 2
    assert imported.count(Query(kind="victim")) == 12_062 + 1  # kept without --delete-missing


def test_store_is_a_valid_geopackage_gdal_reads(tmp_path: Path, gdal_validator) -> None:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        import_file(store, REGISTER, mapping=load_mapping("aicma-victims"))
        import_file(store, EVENTS, mapping=load_mapping("aicma-events"))
    gdal_validator(path)
    layers = dict(pyogrio.list_layers(path))
    assert layers["accidents"] == "Point" and layers["admin_areas"] == "MultiPolygon"
    assert layers["victims"] is None  # an attribute table, joined through accident_id
    info = pyogrio.read_info(path, layer="accidents")
    assert info["crs"] == "EPSG:4326" and info["features"] > 6_000
    assert {"accident_date", "admin_area_pcode", "device_category"} <= set(info["fields"])
    meta, _, geometry, fields = pyogrio.raw.read(path, layer="accidents",
                                                 bbox=(-75.3, 6.0, -75.0, 6.3))
    assert len(geometry) > 0
    codes = [c for c in fields[list(meta["fields"]).index("admin_area_pcode")] if c]
    assert codes and all(c.startswith("05") for c in codes)  # Antioquia


def test_events_import_and_bogota_sign_error_is_flagged(tmp_path: Path) -> None:
    with open_store(tmp_path / "store.gpkg") as store:
        report = import_file(store, EVENTS, mapping=load_mapping("aicma-events"))
        events = pd.DataFrame([f["properties"] for f in pd.read_json(EVENTS)["features"]])
        kinds = events["TIPO_EVENTO"].value_counts()
        assert report.kinds["accident"].added == kinds[["1", "2"]].sum()
        assert report.kinds["hazard"].added == kinds["8"]
        assert report.kinds["find"].added == kinds[["3", "4", "5", "6", "7"]].sum()
        bogota = [f for f in report.flags if "74.234" in f.message]
        assert len(bogota) == 1
        assert "longitude sign looks wrong" in bogota[0].message
        hazard = store.query(Query(kind="hazard", limit=1)).items[0]
        assert hazard.hazard_kind == "SHA" and hazard.contamination == {"ap_mine"}


def test_mapping_source_becomes_the_datasets_source(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.gpkg") as store:
        import_file(store, REGISTER, mapping=load_mapping("aicma-victims"))
        import_file(store, REGISTER, mapping=load_mapping("aicma-victims"))
        (source,) = store.dataset_sources("aicma-victims")
        assert source.source_kind == "official" and source.reliability == "B"
        assert "AICMA" in source.title and source.credibility == 2
        assert store.count(Query(kind="source")) == 1  # re-imports do not add another
