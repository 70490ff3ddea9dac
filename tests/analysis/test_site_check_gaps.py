# SPDX-License-Identifier: GPL-3.0-or-later
"""The site check's distances measured together (analysis/site_check.gaps_m, its fast
path, issue 20) are the one measure, geo.geodesic.gap_m, value for value: within 1e-8 m
(the projection centred on a point computed from the geodesic rather than by pyproj),
points exactly from a point site, lines and areas exactly from a line or area site, and
zero exactly where gap_m gives zero."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, box

from mineaction.analysis.site_check import gaps_m
from mineaction.geo.geodesic import gap_m

RNG = np.random.default_rng(20)


def _places(lon: float, lat: float) -> list[object]:
    out: list[object] = []
    for _ in range(15):
        x, y = lon + RNG.normal(0, 0.03), lat + RNG.normal(0, 0.03)
        out.append(Point(x, y))
        w = RNG.uniform(0.001, 0.02)
        out.append(box(x, y, x + w, y + w * RNG.uniform(0.3, 1)).buffer(w / 3, 3))
    out.append(MultiPolygon([box(lon + 0.01, lat, lon + 0.02, lat + 0.01),
                             box(lon - 0.03, lat - 0.02, lon - 0.025, lat - 0.015)]))
    out.append(LineString([(lon - 0.05, lat - 0.05), (lon + 0.05, lat - 0.04)]))
    out.append(box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001))  # over the site
    return out


@pytest.mark.parametrize("lon, lat", [(-75.0, 6.0), (-70.3, -3.9), (30.5, 60.2)])
def test_a_point_site_gets_gap_m_within_a_hundred_millionth_of_a_metre(
        lon: float, lat: float) -> None:
    site = Point(lon, lat)
    places = _places(lon, lat)
    fast = np.array(gaps_m(site, places))
    slow = np.array([gap_m(site, g) for g in places])
    assert np.abs(fast - slow).max() < 1e-8
    assert (fast == 0).tolist() == (slow == 0).tolist()
    assert (fast == 0).any()  # the box over the site
    at_points = [i for i, g in enumerate(places) if g.geom_type == "Point"]
    assert fast[at_points].tolist() == slow[at_points].tolist()


def test_a_point_site_near_a_pole_is_measured_by_pyproj_as_gap_m() -> None:
    site = Point(10.0, 89.9995)
    places = [box(0, 89.99, 20, 89.995), LineString([(-20, 89.999), (40, 89.999)])]
    assert gaps_m(site, places) == [gap_m(site, g) for g in places]


@pytest.mark.parametrize("lon, lat", [(-75.0, 6.0), (-70.3, -3.9), (30.5, 60.2)])
def test_a_line_or_area_site_gets_gap_m_within_a_hundred_millionth_of_a_metre(
        lon: float, lat: float) -> None:
    for site in (box(lon, lat, lon + 0.004, lat + 0.002),
                 LineString([(lon, lat), (lon + 0.03, lat + 0.02), (lon + 0.05, lat)]),
                 box(lon - 0.2, lat - 0.2, lon + 0.2, lat + 0.2)):
        places = _places(lon, lat)
        fast = np.array(gaps_m(site, places))
        slow = np.array([gap_m(site, g) for g in places])
        assert np.abs(fast - slow).max() < 1e-8
        assert (fast == 0).tolist() == (slow == 0).tolist()
        # lines and areas from a line or area: the same nearest points, the same geodesic
        shapes = [i for i, g in enumerate(places) if g.geom_type != "Point"]
        assert fast[shapes].tolist() == slow[shapes].tolist()


def test_nothing_to_measure() -> None:
    assert gaps_m(Point(0, 0), []) == []
    assert gaps_m(box(0, 0, 1e-3, 1e-3), []) == []
