# SPDX-License-Identifier: GPL-3.0-or-later
"""Which site checks are quick enough for the API to run on its event loop
(services/site_check.py `SiteChecks.is_quick`): small sites at the usual reach, on either
store; anything larger or malformed goes to a thread."""

from __future__ import annotations

from typing import Any

import pytest

from mineaction.services.site_check import QUICK_POSITIONS, SiteChecks
from mineaction.store import open_store

POINT = {"type": "Point", "coordinates": [-75.0, 6.0]}
PLOT = {"type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.99, 6.0], [-74.99, 6.01],
                                            [-75.0, 6.0]]]}
ROAD = {"type": "MultiLineString", "coordinates": [[[-75.0, 6.0], [-74.99, 6.0]],
                                                   [[-74.99, 6.0], [-74.985, 6.005]]]}


def _ring(n: int) -> dict[str, Any]:
    coords = [[-75.0 + 0.01 * i / n, 6.0 + 0.001 * (i % 2)] for i in range(n - 1)]
    return {"type": "Polygon", "coordinates": [[*coords, coords[0]]]}


SLOW: list[tuple[dict[str, Any] | Any, float, float]] = [
    (POINT, 2001, 500), (POINT, 500, 2001), (POINT, -1, 500),
    ({"type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.97, 6.0], [-74.97, 6.01],
                                          [-75.0, 6.0]]]}, 500, 2000),  # 3 km across
    ({"type": "LineString", "coordinates": [[-75.0, 6.0], [-75.0, 6.05]]}, 500, 2000),
    (_ring(QUICK_POSITIONS + 1), 500, 2000),
    # malformed: the check itself says what is wrong
    ({"type": "Point", "coordinates": []}, 500, 2000),
    ({"type": "Point", "coordinates": ["a", 6.0]}, 500, 2000),
    ({"type": "Point", "coordinates": [-75.0]}, 500, 2000),
    ({"type": "Point"}, 500, 2000),
    ({"type": "GeometryCollection", "geometries": [POINT]}, 500, 2000),
    ([-75.0, 6.0], 500, 2000),
]


def test_small_sites_at_the_usual_reach_are_quick_on_either_store(
        store_location: str) -> None:
    store = open_store(store_location)
    try:
        checks = SiteChecks(store)
        for site in (POINT, PLOT, ROAD, _ring(QUICK_POSITIONS)):
            assert checks.is_quick(site, 500, 2000), site
        assert checks.is_quick(POINT, 0, 0)
        assert checks.is_quick(POINT, 2000, 2000)
        for site, buffer_m, nearby_m in SLOW:
            assert not checks.is_quick(site, buffer_m, nearby_m), (site, buffer_m, nearby_m)
    finally:
        store.close()


@pytest.mark.parametrize("geometry", [site for site, _, _ in SLOW[6:11]])
def test_what_is_not_quick_because_malformed_is_refused_by_the_check(
        tmp_path: Any, geometry: Any) -> None:
    from mineaction.access.roles import PUBLIC
    from mineaction.services.errors import Invalid

    store = open_store(str(tmp_path / "s.gpkg"))
    try:
        with pytest.raises(Invalid):
            SiteChecks(store).check(PUBLIC, geometry)
    finally:
        store.close()
