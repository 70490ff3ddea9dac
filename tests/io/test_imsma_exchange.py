# SPDX-License-Identifier: GPL-3.0-or-later
"""IMSMA Core exchange (issue 23): an export to IMSMA Core's layout read back gives the same
records; a file from IMSMA keeps its imsma_ids and links; a bad file is refused naming
file, layer, row and field, with nothing written; GDAL reads the layers and fields that
docs/imsma.md states."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from mineaction.domain import models as m
from mineaction.domain.models import Record
from mineaction.io.imsma import ImsmaRejected, export_imsma, import_imsma
from mineaction.io.imsma_fields import LAYERS, all_fields, field_kinds, fields_markdown
from mineaction.io.writers import write_layers
from mineaction.store import Query, Store, open_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "imsma.md"
SQUARE = Polygon([(-75.10, 6.10), (-75.10, 6.11), (-75.09, 6.11), (-75.09, 6.10)])
HALF = Polygon([(-75.10, 6.10), (-75.10, 6.105), (-75.09, 6.105), (-75.09, 6.10)])
KINDS = [layer.kind for layer in LAYERS]


def _gdal(path: Path, layer: str) -> pd.DataFrame:
    """A layer's attributes as GDAL reads them (pyogrio, as QGIS would)."""
    meta, _, _, values = pyogrio.raw.read(path, layer=layer, read_geometry=False)
    return pd.DataFrame(dict(zip(meta["fields"], values, strict=True)))


def _fill(s: Store) -> None:
    """Hazards (SHA and CHA, several statuses), activities with released parts, accidents
    with their victims, risk education: every IMSMA item type, with links."""
    approved = {"status": "approved"}
    sha = s.add(m.Hazard(name="Vereda 1", hazard_kind="SHA", geometry=SQUARE,
                         contamination={"ap_mine", "uxo"}, blockages={"agriculture"},
                         evidence_kind="indirect", beneficiaries=40, priority=2,
                         date_reported=date(2019, 5, 1), admin_area_pcode="05313",
                         dataset="aicma", external_id="H-1", **approved))
    cha = s.add(m.Hazard(name="Escuela", hazard_kind="CHA", hazard_status="worked_on",
                         geometry=Point(-75.2, 6.2), area_m2=1500.0,
                         original_coordinates="6°12'N 75°12'W",
                         date_confirmed=date(2020, 1, 2), status="submitted"))
    s.add(m.Hazard(hazard_kind="CHA", hazard_status="closed", geometry=HALF,
                   date_closed=date(2021, 1, 1), **approved))
    ts = s.add(m.Activity(name="TS-7", activity_kind="technical_survey",
                          activity_status="completed", hazard_id=sha.id,
                          start_date=date(2020, 3, 1), end_date=date(2020, 4, 1), **approved))
    nts = s.add(m.Activity(activity_kind="non_technical_survey", hazard_id=cha.id,
                           **approved))
    s.add(m.ReleasedPart(activity_id=ts.id, method="reduced", geometry=HALF,
                         release_date=date(2020, 4, 1), **approved))
    s.add(m.ReleasedPart(activity_id=nts.id, method="cancelled", geometry=SQUARE,
                         **approved))
    acc = s.add(m.Accident(accident_date=date(2018, 3, 4), geometry=Point(-75.1, 6.1),
                           accident_kind="mine", device_category="ap_mine",
                           device_model="PMN-2", hazard_id=sha.id, place_name="Granada",
                           area_type="rural", location_precision="exact",
                           narrative="stepped on it", **approved))
    lone = s.add(m.Accident(accident_date=date(2019, 6, 1), date_precision="month",
                            geometry=Point(-75.3, 6.3), accident_kind="erw", **approved))
    s.add(m.Victim(accident_id=acc.id, outcome="injured", sex="female", age=34,
                   role="civilian", activity="agriculture", injuries="leg", name="Ana",
                   date_of_birth=date(1984, 1, 1), **approved))
    s.add(m.Victim(accident_id=acc.id, outcome="killed", sex="male", age=9, **approved))
    s.add(m.Victim(accident_id=lone.id, outcome="killed", **approved))
    s.add(m.RiskEducationSession(session_date=date(2021, 4, 5), geometry=Point(-75.1, 6.1),
                                 place_name="Granada", method="talk", girls=3, boys=4,
                                 women=5, men=6, **approved))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "source.gpkg")
    _fill(s)
    yield s
    s.close()


def _records(s: Store, kind: str) -> dict[str, Record]:
    return {str(r.id): r for r in s.query(Query(kind=kind, limit=None)).items}


def _carried(layer: Any, record: Record) -> dict[str, Any]:
    """Every field the layout carries (its fields, links and geometry) of a record."""
    out: dict[str, Any] = {}
    for f in all_fields(layer):
        value = getattr(record, f.field)
        out[f.field] = set(value) if isinstance(value, set | list) else value
    for link_field, _ in layer.links:
        out[link_field] = getattr(record, link_field)
    if layer.geometry:
        out["geometry"] = getattr(record, "geometry", None).wkb_hex
    return out


def _assert_same_records(a: Store, b: Store) -> None:
    for layer in LAYERS:
        left, right = _records(a, layer.kind), _records(b, layer.kind)
        assert left.keys() == right.keys(), layer.name
        for rid, record in left.items():
            mine, theirs = _carried(layer, record), _carried(layer, right[rid])
            if layer.geometry:
                g1 = shapely.from_wkb(mine.pop("geometry"))
                g2 = shapely.from_wkb(theirs.pop("geometry"))
                assert shapely.equals_exact(g1, g2, 1e-7), (layer.name, rid)
            assert mine == theirs, (layer.name, rid)


@pytest.fixture
def fresh(store_location: str) -> Iterator[Store]:
    """An empty store: a GeoPackage, or a PostGIS database (in CI)."""
    s = open_store(store_location)
    yield s
    s.close()


def test_round_trip_leaves_every_record_equal(store: Store, tmp_path: Path,
                                              fresh: Store) -> None:
    out = tmp_path / "imsma.gpkg"
    counts = export_imsma(store, out, include_personal_data=True)
    assert counts == {"hazard": 3, "hazard_reduction": 2, "hazard_reduction_area": 2,
                      "accident": 2, "victim": 3, "education": 1}
    report = import_imsma(fresh, out)
    assert report.committed
    assert {n: c.added for n, c in report.layers.items()} == counts
    _assert_same_records(store, fresh)
    # The same file again, into that store and into the one it came from: all unchanged.
    for target in (fresh, store):
        again = import_imsma(target, out)
        assert {n: (c.added, c.changed, c.unchanged) for n, c in again.layers.items()} \
            == {n: (0, 0, c) for n, c in counts.items()}
        assert not again.committed
    _assert_same_records(store, fresh)
    # And an export of the copy is the same file's content: the same imsma_ids and links.
    out2 = tmp_path / "imsma2.gpkg"
    export_imsma(fresh, out2, include_personal_data=True)
    for layer in LAYERS:
        first = _gdal(out, layer.name)
        second = _gdal(out2, layer.name)
        pd.testing.assert_frame_equal(first, second)


def test_a_record_deleted_by_a_person_stays_deleted(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "imsma.gpkg"
    export_imsma(store, out)
    fresh = open_store(tmp_path / "fresh.gpkg")
    import_imsma(fresh, out)
    victim = fresh.query(Query(kind="victim", limit=None)).items[0]
    fresh.delete("victim", victim.id)
    again = import_imsma(fresh, out)
    assert (again.layers["victim"].kept_deleted, again.layers["victim"].added) == (1, 0)
    assert fresh.count(Query(kind="victim", limit=None)) == 2


def test_links_are_imsma_ids_on_both_sides(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "imsma.gpkg"
    export_imsma(store, out)
    frames = {x.name: _gdal(out, x.name)
              for x in LAYERS}
    hazards = frames["hazard"].set_index("hazard_name")
    # The record imported with external id "H-1" is not an IMSMA id: it gets a made one.
    sha = hazards.loc["Vereda 1"]
    assert re.fullmatch(r"hazard_\d+", sha["imsma_id"])
    victims = frames["victim"]
    accident = frames["accident"].set_index("location_name").loc["Granada"]
    linked = victims[victims["imsma_links"] == accident["imsma_id"]]
    assert len(linked) == 2
    assert set(accident["imsma_links"].split(",")) == {sha["imsma_id"], *linked["imsma_id"]}
    assert set(frames["accident"]["accident_type"]) == {"Mine accident", "UXO/AXO accident"}
    # Without --include-personal-data, no victim's name leaves the store.
    assert "victim_name" not in victims.columns


def _imsma_file(path: Path, *, hazard_type: str = "SHA",
                victim_links: str = "accident_34") -> Path:
    """A file as IMSMA Core would give it: its own ids, no mineaction fields."""
    write_layers(path, {
        "hazard": pd.DataFrame([{
            "imsma_id": "hazard_poly_145", "imsma_links": "accident_34,organization_2",
            "hazard_name": "Loma", "hazard_type": hazard_type, "hazard_status": "Active",
            "contamination": "AP Mine, UXO", "geometry": SQUARE}]),
        "accident": pd.DataFrame([{
            "imsma_id": "accident_34", "imsma_links": "hazard_poly_145,victim_7",
            "accident_date": date(2017, 8, 9), "accident_type": "Mine accident",
            "device_type": "AP Mine", "geometry": Point(-75.1, 6.1)}]),
        "victim": pd.DataFrame([
            {"imsma_id": "victim_7", "imsma_links": victim_links, "victim_status": "Killed",
             "gender": "Male", "age": 41},
            {"imsma_id": "victim_8", "imsma_links": "accident_34",
             "victim_status": "injured", "gender": "FEMALE", "age": None}]),
        "location": pd.DataFrame([{"imsma_id": "location_1", "name": "a village"}]),
    })
    return path


def test_a_file_from_imsma_keeps_its_ids_and_links(tmp_path: Path) -> None:
    source = _imsma_file(tmp_path / "from-imsma.gpkg")
    s = open_store(tmp_path / "store.gpkg")
    report = import_imsma(s, source, dataset="imsma-col")
    assert report.ignored_layers == ["location"]
    hazard = s.query(Query(kind="hazard", limit=None)).items[0]
    assert (hazard.dataset, hazard.external_id) == ("imsma-col", "hazard_poly_145")
    assert hazard.contamination == {"ap_mine", "uxo"}
    accident = s.query(Query(kind="accident", limit=None)).items[0]
    assert accident.external_id == "accident_34" and accident.hazard_id == hazard.id
    victims = s.query(Query(kind="victim", limit=None)).items
    assert {(v.external_id, v.accident_id, v.outcome.value, v.sex.value) for v in victims} \
        == {("victim_7", accident.id, "killed", "male"),
            ("victim_8", accident.id, "injured", "female")}
    # Exported again, the items keep IMSMA's ids; read back, nothing changes.
    out = tmp_path / "back.gpkg"
    export_imsma(s, out)
    ids = {x.name: set(_gdal(out, x.name)["imsma_id"]) for x in LAYERS
           if x.name in ("hazard", "accident", "victim")}
    assert ids == {"hazard": {"hazard_poly_145"}, "accident": {"accident_34"},
                   "victim": {"victim_7", "victim_8"}}
    again = import_imsma(s, source, dataset="imsma-col")
    assert sum(c.added + c.changed for c in again.layers.values()) == 0
    # A victims-only file links to the accident already in the dataset.
    write_layers(tmp_path / "more.gpkg", {"victim": pd.DataFrame([
        {"imsma_id": "victim_9", "imsma_links": "accident_34", "victim_status": "Injured"}])})
    import_imsma(s, tmp_path / "more.gpkg", dataset="imsma-col")
    added = [v for v in s.query(Query(kind="victim", limit=None)).items
             if v.external_id == "victim_9"]
    assert added[0].accident_id == accident.id


def test_a_bad_file_is_refused_naming_layer_row_and_field(tmp_path: Path) -> None:
    bad = _imsma_file(tmp_path / "bad.gpkg", hazard_type="Minefield",
                      victim_links="accident_99")
    s = open_store(tmp_path / "store.gpkg")
    with pytest.raises(ImsmaRejected) as caught:
        import_imsma(s, bad, dataset="imsma-col")
    lines = caught.value.lines()
    assert any(line.startswith("bad.gpkg, layer hazard, row 1, field hazard_type: "
                               "'Minefield' is not in the value list") for line in lines)
    assert any(line.startswith("bad.gpkg, layer victim, row 1, field imsma_links: links to "
                               "accident_99") for line in lines), lines
    assert len(lines) == 2
    assert all(s.count(Query(kind=k, limit=None)) == 0 for k in KINDS)
    # A rule of the domain model, named by the IMSMA field: a negative age.
    write_layers(tmp_path / "age.gpkg", {"victim": pd.DataFrame([
        {"imsma_id": "victim_1", "victim_status": "Killed", "age": -4}])})
    with pytest.raises(ImsmaRejected) as caught:
        import_imsma(s, tmp_path / "age.gpkg")
    assert caught.value.lines()[0].startswith("age.gpkg, layer victim, row 1, field age: ")
    assert s.count(Query(kind="victim", limit=None)) == 0


def test_gdal_reads_the_layers_and_fields_the_doc_states(
        store: Store, tmp_path: Path, gdal_validator: Callable[..., None]) -> None:
    out = tmp_path / "imsma.gpkg"
    export_imsma(store, out, include_personal_data=True)
    gdal_validator(out)  # a valid GeoPackage, by GDAL's own validator
    assert sorted(str(n) for n, _ in pyogrio.list_layers(out)) == sorted(x.name for x in LAYERS)
    text = DOC.read_text(encoding="utf-8")
    for layer in LAYERS:
        info = pyogrio.read_info(out, layer=layer.name)
        fields = ["imsma_id", "imsma_links", *(f.name for f in all_fields(layer))]
        assert list(info["fields"]) == fields
        assert (info["geometry_type"] is None) == (layer.geometry is None)
        assert info["features"] == store.count(Query(kind=layer.kind, limit=None))
        for name in fields:
            assert f"| `{name}` |" in text, (layer.name, name)
    # An empty store gives the same layers, fields and field types, empty.
    empty = tmp_path / "empty.gpkg"
    export_imsma(open_store(tmp_path / "nothing.gpkg"), empty, include_personal_data=True)
    dtypes = {"int": "int64", "float": "float64", "date": "datetime64[D]", "str": "object"}
    for layer in LAYERS:
        full, none = (pyogrio.read_info(f, layer=layer.name) for f in (out, empty))
        assert none["features"] == 0
        assert list(none["fields"]) == list(full["fields"])
        expected = ["object", "object", *(dtypes[k] for k in field_kinds(layer).values())]
        assert list(none["dtypes"]) == list(full["dtypes"]) == expected, layer.name
    section = re.search(r"<!-- BEGIN GENERATED[^>]*-->\n(.*?)<!-- END GENERATED -->", text, re.S)
    assert section and section.group(1) == fields_markdown(), (
        "docs/imsma.md differs from io/imsma_fields.py: run python docs/generate_command_docs.py")


def test_cli_exports_and_imports_the_imsma_layout(store: Store, tmp_path: Path) -> None:
    from mineaction.cli import app

    out = tmp_path / "cli.gpkg"
    source = str(tmp_path / "source.gpkg")
    runner = CliRunner()
    done = runner.invoke(app, ["export", str(out), "--format", "imsma", "--store", source])
    assert done.exit_code == 0, done.output
    assert "hazard 3" in done.output
    target = str(tmp_path / "target.gpkg")
    dry = runner.invoke(app, ["import", str(out), "--format", "imsma", "--dry-run",
                              "--store", target])
    assert dry.exit_code == 0, dry.output
    assert "would change" in dry.output
    done = runner.invoke(app, ["import", str(out), "--format", "imsma", "--store", target])
    assert done.exit_code == 0, done.output
    assert "victim" in done.output and "added 3" in done.output
    written = open_store(target)
    assert written.count(Query(kind="victim", limit=None)) == 3
    bad = _imsma_file(tmp_path / "bad.gpkg", victim_links="accident_99")
    refused = runner.invoke(app, ["import", str(bad), "--format", "imsma", "--store", target])
    assert refused.exit_code == 1
    assert "bad.gpkg, layer victim, row 1, field imsma_links" in refused.output


def test_a_later_imsma_file_updates_what_changed(tmp_path: Path) -> None:
    s = open_store(tmp_path / "store.gpkg")
    first = import_imsma(s, _imsma_file(tmp_path / "v1.gpkg"), dataset="imsma-col",
                         status="submitted")
    assert first.layers["victim"].added == 2
    # The same items under another status: not a change of content, left alone.
    same = import_imsma(s, tmp_path / "v1.gpkg", dataset="imsma-col")
    assert sum(c.changed + c.added for c in same.layers.values()) == 0
    # The hazard now confirmed (CHA): that record changes, keeps its id, gets a version.
    before = s.query(Query(kind="hazard", limit=None)).items[0]
    later = import_imsma(s, _imsma_file(tmp_path / "v2.gpkg", hazard_type="CHA"),
                         dataset="imsma-col")
    assert (later.layers["hazard"].changed, later.layers["accident"].unchanged) == (1, 1)
    after = s.get("hazard", before.id)
    assert (after.hazard_kind.value, after.version, after.status.value) == ("CHA", 2, "approved")
    history = s.history("hazard", before.id)
    assert [(v["version"], v["action"], v["data"]["hazard_kind"]) for v in history] \
        == [(1, "import", "SHA"), (2, "current", "CHA")]


def test_a_partial_file_links_to_records_by_their_made_imsma_ids(store: Store,
                                                                tmp_path: Path) -> None:
    """Victims exported alone link to accidents that had no IMSMA id: the made ids lead
    back to the stored accidents."""
    out = tmp_path / "imsma.gpkg"
    export_imsma(store, out)
    victims = _gdal(out, "victim")
    assert all(re.fullmatch(r"accident_\d+", link) for link in victims["imsma_links"])
    victims.loc[victims["injury_description"] == "leg", "injury_description"] = "both legs"
    write_layers(tmp_path / "victims.gpkg", {"victim": victims})
    before = _records(store, "victim")
    report = import_imsma(store, tmp_path / "victims.gpkg")
    assert (report.layers["victim"].changed, report.layers["victim"].unchanged) == (1, 2)
    after = _records(store, "victim")
    assert {k: v.accident_id for k, v in after.items()} \
        == {k: v.accident_id for k, v in before.items()}
    assert sorted(str(v.injuries) for v in after.values()) == ["None", "None", "both legs"]
