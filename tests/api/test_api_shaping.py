"""The list path's shaping shortcuts (issue 3's benchmark) answer exactly what the
per-record functions answer: Access.present_rows as Access.present on each row, and
negotiation.features as feature on each item."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mineaction.access import Access
from mineaction.access.roles import PUBLIC, Policy, Principal, Role
from mineaction.api.negotiation import feature, features

ROWS: list[dict[str, Any]] = [
    {"id": "a", "geometry": {"type": "Point", "coordinates": [-74.123456, 4.987654]},
     "location_precision": "exact", "status": "approved"},
    {"id": "b", "geometry": None, "location_precision": None, "status": "approved"},
    {"id": "c", "status": "approved"},  # geometry not read
]


@pytest.mark.parametrize("who", [PUBLIC, Principal(username="ana", role=Role.viewer)])
@pytest.mark.parametrize("kind", ["accident", "hazard"])
def test_present_rows_is_present_per_row(who: Principal, kind: str) -> None:
    access = Access(who, Policy(), public_decimals=2)
    want = [access.present(kind, copy.deepcopy(r)) for r in ROWS]
    assert access.present_rows(kind, copy.deepcopy(ROWS)) == want


def test_features_is_feature_per_item() -> None:
    want = [feature(copy.deepcopy(r)) for r in ROWS]
    assert features(copy.deepcopy(ROWS)) == want
