# SPDX-License-Identifier: GPL-3.0-or-later
"""HXL exports validated with libhxl, for every kind of record; the profile of hashtags
(io/hxl_profile.py) is the one docs/hxl.md shows (issue 23)."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import hxl
import pytest
from hxl.input import InputOptions
from shapely.geometry import LineString, Point, Polygon

from mineaction.domain import models as m
from mineaction.domain.models import ENTITIES
from mineaction.io.export import export_records
from mineaction.io.hxl_profile import (
    FIELD_TAGS,
    HASHTAG_RE,
    KIND_TAGS,
    profile,
    profile_markdown,
    schema_rows,
    tags_for,
)
from mineaction.reports.publish import publish
from mineaction.store import Query, Store, open_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "hxl.md"
SQUARE = Polygon([(-75.10, 6.10), (-75.10, 6.11), (-75.09, 6.11), (-75.09, 6.10)])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store with records of every kind, every field filled that a test can fill."""
    s = open_store(tmp_path_factory.mktemp("hxl") / "store.gpkg")
    keys = iter(range(1, 100))

    def ok() -> dict[str, str]:
        return {"status": "approved", "dataset": "t", "external_id": f"r{next(keys)}"}

    s.add(m.AdminArea(pcode="05", name="Antioquia", level=1, geometry=SQUARE, **ok()))
    s.add(m.Place(name="Granada", alternative_names=["Granadita"], admin_area_pcode="05",
                  geometry=Point(-75.1, 6.1), **ok()))
    org = s.add(m.Organisation(name="Halo", acronym="HT", organisation_kind="ngo", **ok()))
    s.add(m.Source(source_kind="official", title="Register", reference="r1",
                   url="https://example.org", source_date=date(2020, 1, 2), reliability="B",
                   credibility=2, **ok()))
    hazard = s.add(m.Hazard(name="H1", hazard_kind="CHA", hazard_status="worked_on",
                            geometry=SQUARE, admin_area_pcode="05", organisation_id=org.id,
                            contamination={"ap_mine", "uxo"}, evidence_kind="direct",
                            evidence_description="a mine seen", blockages={"water"},
                            beneficiaries=120, priority=2, date_reported=date(2019, 5, 1),
                            date_confirmed=date(2019, 6, 1), **ok()))
    act = s.add(m.Activity(name="TS 1", activity_kind="technical_survey",
                           activity_status="completed", hazard_id=hazard.id,
                           organisation_id=org.id, start_date=date(2020, 1, 1),
                           end_date=date(2020, 2, 1), clearance_depth_cm=13, **ok()))
    s.add(m.ReleasedPart(activity_id=act.id, method="reduced", geometry=SQUARE,
                         release_date=date(2020, 2, 1), **ok()))
    s.add(m.Find(device_category="ap_mine", device_model="PMN-2", quantity=2,
                 condition="intact", depth_cm=5, geometry=Point(-75.095, 6.105),
                 find_date=date(2020, 1, 15), disposal="destroyed_in_situ",
                 activity_id=act.id, hazard_id=hazard.id, description="in a path", **ok()))
    acc = s.add(m.Accident(accident_date=date(2018, 3, 4), geometry=Point(-75.1, 6.1),
                           location_precision="exact", admin_area_pcode="05",
                           place_name="Granada", area_type="rural", accident_kind="mine",
                           device_category="ap_mine", device_model="PMN", hazard_id=hazard.id,
                           narrative="stepped on it", **ok()))
    s.add(m.Victim(accident_id=acc.id, outcome="injured", sex="female", age=34,
                   role="civilian", activity="agriculture", activity_text="farming",
                   injuries="leg", name="Ana", date_of_birth=date(1984, 1, 1),
                   contact="555", address="Calle 1", ethnic_group="none", **ok()))
    s.add(m.Victim(accident_id=acc.id, outcome="killed", sex="male", age=9, **ok()))
    s.add(m.RiskEducationSession(session_date=date(2021, 4, 5), geometry=Point(-75.1, 6.1),
                                 admin_area_pcode="05", place_name="Granada",
                                 organisation_id=org.id, method="talk", girls=3, boys=4,
                                 women=5, men=6, unknown_audience=1, **ok()))
    record = s.add(m.MinefieldRecord(hazard_id=hazard.id, name="MF-7",
                                     date_laid=date(1999, 1, 1),
                                     date_recorded=date(1999, 1, 2), laid_by="unit",
                                     handed_over_by="army", date_handed_over=date(2001, 1, 1),
                                     geometry=SQUARE, closure_error_m=0.4, adjusted=True,
                                     admin_area_pcode="05", organisation_id=org.id,
                                     notes="paper form", **ok()))
    s.add(m.MinefieldPoint(record_id=record.id, name="BM", role="benchmark", sequence=0,
                           from_point="TP1", bearing=90.0, bearing_reference="magnetic",
                           bearing_unit="degrees", distance=20.0, distance_unit="paces",
                           pace_factor=0.75, original_coordinates="18N 123 456",
                           description="a well", geometry=Point(-75.1, 6.1), **ok()))
    s.add(m.MineRow(record_id=record.id, label="A", start_point="A1", end_point="A2",
                    geometry=LineString([(-75.1, 6.1), (-75.099, 6.1)]), mines=10,
                    spacing_m=1.0, pattern="double", row_offset_m=0.5,
                    device_category="ap_mine", device_model="PMN", fuze="MD-9",
                    anti_handling=False, date_laid=date(1999, 1, 1), **ok()))
    assert {k for k in ENTITIES if s.count(Query(kind=k, limit=None))} == set(ENTITIES)
    return s


def _read(path: Path) -> hxl.model.Dataset:
    """The file as libhxl reads it, in memory (the file closed again)."""
    with hxl.data(str(path), InputOptions(allow_local=True)) as source:
        table = [source.headers, source.display_tags, *(row.values for row in source)]
    return hxl.data(table)


def _errors(data: hxl.model.Dataset, schema: object = None) -> list[str]:
    """The error-severity findings of a libhxl schema (the default one: None)."""
    found: list[str] = []

    def note(e: hxl.validation.HXLValidationException) -> None:
        if e.rule is None or e.rule.severity == "error":
            column = e.column.display_tag if e.column is not None else ""
            found.append(f"{column} {e.value!r}: {e.message}")

    hxl.schema(schema, callback=note).validate(data)
    return found


def _export(store: Store, kind: str, out: Path) -> Path:
    export_records(store, out, Query(kind=kind, limit=None), format="hxl",
                   include_personal_data=True)
    return out


@pytest.mark.parametrize("kind", list(ENTITIES))
def test_every_hxl_export_validates_with_libhxl(store: Store, tmp_path: Path,
                                                kind: str) -> None:
    out = _export(store, kind, tmp_path / f"{kind}.csv")
    with out.open(encoding="utf-8-sig", newline="") as f:
        header, tag_row, *rows = list(csv.reader(f))
    assert rows, "an empty export would prove nothing"
    # libhxl parses it, and sees every column of the file with a hashtag and attributes.
    data = _read(out)
    # (libhxl keeps the byte-order mark, which the export writes for Excel, in the first
    # header; the hashtags, which HXL tools go by, are clean.)
    assert [c.header.lstrip("\ufeff") for c in data.columns] == header
    for column, text in zip(data.columns, tag_row, strict=True):
        assert column.tag is not None and column.attributes, column.header
        assert HASHTAG_RE.match(text), text
        assert column.display_tag == text.lower()
    assert len(list(data)) == len(rows)
    # libhxl's own default schema (dates are dates, #affected/#reached are numbers ...)
    assert _errors(data) == []
    # and the profile's schema: numbers, dates and value lists, column by column.
    schema = schema_rows(kind, present=header)
    assert len(schema) > 1
    assert _errors(data, schema) == []


def test_the_profile_schema_catches_a_bad_number_date_and_code(store: Store,
                                                               tmp_path: Path) -> None:
    out = _export(store, "risk_education", tmp_path / "re.csv")
    text = out.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0].split(",")
    schema = schema_rows("risk_education", present=header)
    for column, bad in (("girls", "three"), ("session_date", "someday"),
                        ("status", "published")):
        lines = text.splitlines()
        cells = next(csv.reader([lines[2]]))
        cells[header.index(column)] = bad
        lines[2] = ",".join(f'"{c}"' for c in cells)
        broken = tmp_path / f"broken-{column}.csv"
        broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
        errors = _errors(_read(broken), schema)
        assert len(errors) == 1 and repr(bad) in errors[0], (column, errors)


def test_every_field_of_every_kind_has_one_hashtag_with_attributes() -> None:
    for kind in ENTITIES:
        rows = profile(kind)
        fields = {r.field for r in rows}
        assert {n for n in ENTITIES[kind].model_fields if n != "geometry"} <= fields
        tags = [r.tag.hashtag for r in rows]
        assert len(set(tags)) == len(tags), f"{kind}: two columns share a hashtag"
        assert all(HASHTAG_RE.match(t) for t in tags)
    # Extensions only for mine-action concepts; the #x_ hashtags in use:
    used = {t.hashtag.split("+")[0] for t in [*FIELD_TAGS.values(), *KIND_TAGS.values()]
            if t.is_extension}
    assert used == {"#x_area", "#x_hazard", "#x_device", "#x_release", "#x_clearance",
                    "#x_victim", "#x_minefield", "#x_minefield_point", "#x_mine_row"}


def test_the_profile_uses_hxl_core_hashtags_where_they_exist() -> None:
    core = {("accident", "accident_date"): "#date+occurred",
            ("accident", "admin_area_pcode"): "#adm2+code",
            ("accident", "place_name"): "#loc+name",
            ("hazard", "organisation_id"): "#org+id",
            ("risk_education", "girls"): "#reached+f+children"}
    for (kind, field), tag in core.items():
        assert next(r.tag.hashtag for r in profile(kind) if r.field == field) == tag
    assert next(r.tag.hashtag for r in profile("accident") if r.field == "latitude") \
        == "#geo+lat"


def test_docs_hxl_md_shows_the_profile_of_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- BEGIN GENERATED[^>]*-->\n(.*?)<!-- END GENERATED -->", text, re.S)
    assert found, "docs/hxl.md lost its generated profile section"
    assert found.group(1) == profile_markdown(), (
        "docs/hxl.md differs from io/hxl_profile.py: run python docs/generate_command_docs.py")


def test_published_casualty_tables_validate_with_libhxl(store: Store, tmp_path: Path) -> None:
    publish(store, tmp_path / "open", threshold=1, validate=False)
    tables = sorted((tmp_path / "open").glob("casualties*.csv"))
    assert tables
    for table in tables:
        data = _read(table)
        assert all(c.tag for c in data.columns)
        assert _errors(data) == [], table.name


def test_a_field_new_to_the_profile_still_gets_a_valid_hashtag() -> None:
    tags = tags_for("hazard", ["hazard_kind", "a_field_added_later"])
    assert tags == {"hazard_kind": "#x_hazard+kind",
                    "a_field_added_later": "#x_hazard+a_field_added_later"}
    assert all(HASHTAG_RE.match(t) for t in tags.values())
