"""The bulk importer checks whole columns; the pydantic models check one record. Both must
accept and refuse the same values: this holds the column checks to the models' verdicts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from mineaction.domain.models import ENTITIES
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
