"""The list path's shaping shortcuts (issue 3's benchmark) answer exactly what the
per-record functions answer: Records.present_rows as present_data on each row, and
negotiation.features as feature on each item."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mineaction.api.negotiation import feature, features
from mineaction.api.records import Records
from mineaction.auth.roles import PUBLIC, Policy, Principal, Role
from mineaction.store import open_store

ROWS: list[dict[str, Any]] = [
    {"id": "a", "geometry": {"type": "Point", "coordinates": [-74.123456, 4.987654]},
     "location_precision": "exact", "status": "approved"},
    {"id": "b", "geometry": None, "location_precision": None, "status": "approved"},
    {"id": "c", "status": "approved"},  # geometry not read
]


@pytest.mark.parametrize("who", [PUBLIC, Principal(username="ana", role=Role.viewer)])
@pytest.mark.parametrize("kind", ["accident", "hazard"])
def test_present_rows_is_present_data_per_row(who: Principal, kind: str,
                                              tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.gpkg"))
    try:
        records = Records(store, Policy(), public_decimals=2)
        want = [records.present_data(who, kind, copy.deepcopy(r)) for r in ROWS]
        assert records.present_rows(who, kind, copy.deepcopy(ROWS)) == want
    finally:
        store.close()


def test_features_is_feature_per_item() -> None:
    want = [feature(copy.deepcopy(r)) for r in ROWS]
    assert features(copy.deepcopy(ROWS)) == want
