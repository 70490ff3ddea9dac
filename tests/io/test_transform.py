"""The bulk importer checks whole columns; the pydantic models check one record. Both must
accept and refuse the same values: this holds the column checks to the models' verdicts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mineaction.domain.models import ENTITIES
from mineaction.domain.rules import RuleError
from mineaction.io.mapping import FieldRule, NumberFormat
from mineaction.io.pipeline import _map
from mineaction.io.transform import ROW

CASES: list[tuple[str, dict[str, Any]]] = [
    ("victim", {"outcome": "killed", "age": "12"}),
    ("victim", {"outcome": "dead"}),
    ("victim", {"age": "130"}),
    ("victim", {"age": "-1"}),
    ("victim", {"age": "12.5"}),
    ("victim", {"age": "40", "age_band": "child"}),
    ("victim", {"age": "10", "age_band": "child"}),
    ("victim", {"sex": "f"}),
    ("find", {"quantity": "0"}),
    ("find", {"quantity": "3", "device_category": "uxo"}),
    ("find", {"device_category": "grenade"}),
    ("hazard", {"hazard_kind": "SHA", "priority": "6"}),
    ("hazard", {"hazard_kind": "CHA", "priority": "2", "beneficiaries": "40"}),
    ("hazard", {"hazard_kind": "SHA", "contamination": "ap_mine,uxo"}),
    ("hazard", {"hazard_kind": "SHA", "contamination": "ap_mine,rocks"}),
    ("hazard", {"hazard_kind": "CHA", "date_reported": "2020-13-01"}),
    ("activity", {"activity_kind": "clearance", "start_date": "2020-05-01",
                  "end_date": "2020-04-01"}),
    ("activity", {"activity_kind": "clearance", "clearance_depth_cm": "13"}),
    ("source", {"source_kind": "media", "title": "x", "credibility": "7"}),
    ("source", {"source_kind": "media", "title": "x", "reliability": "B"}),
    ("risk_education", {"girls": "12", "boys": "-3"}),
]


@pytest.mark.parametrize(("kind", "row"), CASES)
def test_column_checks_agree_with_the_model(kind: str, row: dict[str, Any]) -> None:
    chunk = pd.DataFrame([{**row, ROW: 2}], dtype=object)
    mapped = _map(chunk, kind, {name: FieldRule(source=name) for name in row})
    column_ok = not mapped.errors
    # A set field arrives as "a,b" text in a file, as a list in a record.
    as_record = {k: v.split(",") if k == "contamination" else v for k, v in row.items()}
    try:
        ENTITIES[kind].model_validate(as_record)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert column_ok == model_ok, (mapped.errors, row)


def test_locale_numbers_and_padding() -> None:
    chunk = pd.DataFrame([{"n": "2,006", "code": "5313", ROW: 2},
                          {"n": "1.234,5", "code": "11001", ROW: 3}], dtype=object)
    mapped = _map(chunk, "hazard", {
        "hazard_kind": FieldRule(constant="SHA"),
        "beneficiaries": FieldRule(source="n", number=NumberFormat(thousands=",")),
        "admin_area_pcode": FieldRule(source="code", pad=5),
    })
    assert mapped.errors and mapped.errors[0].row == 3  # 1.234,5 is not 1,234
    assert mapped.values["beneficiaries"].iloc[0] == 2006
    assert list(mapped.values["admin_area_pcode"]) == ["05313", "11001"]
    euro = _map(chunk.iloc[1:], "hazard", {
        "hazard_kind": FieldRule(constant="SHA"),
        "area_m2": FieldRule(source="n", number=NumberFormat(decimal=",", thousands=".")),
    })
    assert not euro.errors and euro.values["area_m2"].iloc[0] == 1234.5


# -- the column checks against the models, on generated records --------------------------------
#
# The rules across fields and the geometry checks are the models' own functions
# (domain/rules.py), which the importer calls too. What stays in two forms is each field's
# own check: pydantic validates a record's fields, the importer whole columns from the specs
# (domain/columns.py). This generates chunks of records of every kind, with values in and
# out of bounds, unknown codes, missing cells and fields the file does not give, and holds the
# importer to the model field by field: the same fields refused, the same rule broken, and
# for the records both accept, the same value in every field.

BOOKKEEPING = {"id", "version", "status", "created_at", "updated_at", "created_by",
               "updated_by", "source_ids", "dataset", "external_id"}
_MARKERS = {"", "NA", "N/A", "NULL", "null", "None"}
_WKT = [
    "POINT (-75.2 6.1)",
    "POINT (200 1)",  # outside longitude -180..180
    "POLYGON ((-75 6, -74.99 6, -74.99 6.01, -75 6.01, -75 6))",
    "POLYGON ((-75 6, -74 7, -74 6, -75 7, -75 6))",  # self-intersecting
    "POLYGON EMPTY",
    "MULTIPOLYGON (((1 1, 1.01 1, 1.01 1.01, 1 1)), ((2 2, 2.01 2, 2.01 2.01, 2 2)))",
    "POLYGON ((500000 700000, 500100 700000, 500100 700100, 500000 700000))",  # metres
    "LINESTRING (-75 6, -74 7)",
]


def _specs(kind: str) -> list[Any]:
    from mineaction.domain.columns import columns

    return [c for c in columns(ENTITIES[kind]) if c.name not in BOOKKEEPING]


def _value(spec: Any) -> st.SearchStrategy[Any]:
    """Values of the field's Python type, in bounds or near them, and codes it may not take."""
    if spec.kind == "int":
        lo = int(spec.ge) if spec.ge is not None else -50
        hi = int(spec.le) if spec.le is not None else lo + 300
        return st.integers(lo - 3, lo + 3) | st.integers(hi - 3, hi + 3) | st.integers(lo, hi)
    if spec.kind == "float":
        return (st.floats(-1e3, 1e9, allow_nan=False) | st.sampled_from([0.0, -0.5, 12.25]))
    if spec.kind == "enum":
        return st.sampled_from([*spec.enum_values, "bogus"])
    if spec.kind == "enum_set":
        return st.frozensets(st.sampled_from([*spec.enum_values, "bogus"]), max_size=3)
    if spec.kind == "list":
        return st.frozensets(st.text("abcXYZ ", min_size=1, max_size=6).map(str.strip)
                             .filter(lambda t: t not in _MARKERS), max_size=3)
    if spec.kind == "date":
        return st.dates(date(1950, 1, 1), date(2050, 12, 31))
    if spec.kind == "uuid":
        return st.uuids().map(str)
    if spec.kind == "geometry":
        return st.sampled_from(_WKT).map(shapely.from_wkt)
    if spec.kind == "bool":
        return st.booleans()
    assert spec.kind == "text", spec
    longest = (spec.max_length or 12) + 3
    return st.text("abcdefghij ÑñéXYZ-0123", min_size=1, max_size=longest).map(str.strip) \
        .filter(lambda t: t not in _MARKERS)


def _cell(spec: Any, value: Any) -> str:
    """How a file writes the value."""
    if value is None:
        return ""
    if spec.kind == "enum_set":
        return ",".join(sorted(value))
    if spec.kind == "list":
        return "|".join(sorted(value))
    if spec.kind == "date":
        return value.isoformat()
    if spec.kind == "geometry":
        return value.wkt
    return str(value)


@st.composite
def _chunks(draw: st.DrawFn, kind: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Which fields the file gives (every required one), and 1-4 records with a value or an
    empty cell in each."""
    specs = _specs(kind)
    given = [s.name for s in specs if s.required or draw(st.booleans())]
    by_name = {s.name: s for s in specs}
    records = draw(st.lists(st.fixed_dictionaries(
        {name: st.none() | _value(by_name[name]) for name in given}), min_size=1, max_size=4))
    return given, records


def _model_verdict(kind: str, record: dict[str, Any]) -> tuple[set[str], Any, Any]:
    """(fields refused, the rule broken, the record) as the model sees the record, an empty
    cell being a value not given."""
    values = {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in record.items()
              if v is not None}
    try:
        return set(), None, ENTITIES[kind].model_validate(values)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        broken = [e["ctx"]["error"] for e in exc.errors() if not e["loc"]]
        assert all(isinstance(b, RuleError) for b in broken), exc
        return fields, (broken[0].field, broken[0].message) if broken else None, None


def _norm(spec: Any, value: Any) -> Any:
    """A field's value, from the model or the importer's column, in one form."""
    if value is None or (not isinstance(value, str | frozenset | set | list | tuple)
                         and not hasattr(value, "geom_type") and pd.isna(value)):
        value = None
    if value is None:
        return None
    if spec.kind in ("enum_set", "list"):
        if isinstance(value, str):
            value = value.split("," if spec.kind == "enum_set" else "|")
        return tuple(sorted(str(v) for v in value)) or None
    if spec.kind == "geometry":
        parts = shapely.get_parts(value) if value.geom_type == "MultiPolygon" else [value]
        return shapely.normalize(shapely.MultiPolygon(list(parts))
                                 if value.geom_type in ("Polygon", "MultiPolygon")
                                 else value).wkb
    if spec.kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if spec.kind in ("int", "float"):
        return float(value)
    return str(value)


@pytest.mark.parametrize("kind", sorted(ENTITIES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_importer_refuses_and_derives_what_the_model_does(kind: str,
                                                               data: st.DataObject) -> None:
    given, records = data.draw(_chunks(kind))
    by_name = {s.name: s for s in _specs(kind)}
    chunk = pd.DataFrame(
        [{**{name: _cell(by_name[name], r[name]) for name in given}, ROW: i + 2}
         for i, r in enumerate(records)], columns=[*given, ROW], dtype=object)
    mapped = _map(chunk, kind, {name: FieldRule(source=name) for name in given})
    for i, record in enumerate(records):
        row = i + 2
        errors = [e for e in mapped.errors if e.row == row]
        columns = {e.field for e in errors if e.rule is None}
        ruled = [(e.field, e.message) for e in errors if e.rule is not None]
        fields, broken, model = _model_verdict(kind, record)
        note = (kind, record, errors)
        if fields:  # pydantic stops before the rules: compare the fields' own checks
            assert columns == fields, note
            continue
        assert not columns, note
        # The model stops at the first rule broken; the importer runs them in its order.
        assert (ruled[0] if ruled else None) == broken, note
        if model is None:
            continue
        for name, spec in by_name.items():
            value = mapped.values.get(name)
            # What the store writes: a field the file does not give has its default.
            ours = value.iloc[i] if isinstance(value, pd.Series) else spec.default
            assert _norm(spec, ours) == _norm(spec, getattr(model, name)), (name, note)
