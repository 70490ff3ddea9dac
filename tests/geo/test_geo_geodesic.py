# SPDX-License-Identifier: GPL-3.0-or-later
import math

import numpy as np
import pytest
import shapely
from pyproj import Geod, Proj
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from mineaction.geo.geodesic import (
    degrees_buffer_for_distance,
    distance_to_geometry_m,
    geodesic_area_m2,
    geodesic_distance_m,
    geodesic_distances_m,
    geodesic_length_m,
)

# One degree along the equator: a * pi / 180 for WGS84's semi-major axis.
EQUATOR_DEGREE_M = 6_378_137.0 * math.pi / 180.0

# A hazard polygon of roughly 1 km2 near Bogota, with a hole.
HAZARD = Polygon(
    [(-74.090, 4.600), (-74.081, 4.600), (-74.081, 4.609), (-74.090, 4.609)],
    holes=[[(-74.087, 4.603), (-74.084, 4.603), (-74.084, 4.606), (-74.087, 4.606)]],
)


def _equal_area_m2(geom: Polygon) -> float:
    """Planar area in a Lambert equal-area projection centred on geom: an independent check."""
    centre = geom.centroid
    laea = Proj(f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84")
    return float(shapely.transform(geom, lambda xy: np.column_stack(laea(xy[:, 0], xy[:, 1]))).area)


def test_area_matches_an_equal_area_projection() -> None:
    assert geodesic_area_m2(HAZARD) == pytest.approx(_equal_area_m2(HAZARD), rel=1e-6)
    # Sanity: planar degrees would be wrong by far, which is why we do not use them.
    assert HAZARD.area * EQUATOR_DEGREE_M**2 != pytest.approx(geodesic_area_m2(HAZARD), rel=1e-3)


def test_area_does_not_depend_on_ring_orientation() -> None:
    reversed_rings = shapely.reverse(HAZARD)
    assert geodesic_area_m2(reversed_rings) == pytest.approx(geodesic_area_m2(HAZARD))
    # Hole with the same orientation as the shell: pyproj alone would add it.
    same = Polygon(HAZARD.exterior.coords, holes=[HAZARD.exterior.coords[::-1]])
    assert geodesic_area_m2(same) == pytest.approx(0.0, abs=1e-3)


def test_area_of_multipolygon_with_mixed_orientations_is_the_sum() -> None:
    a = box(-74.0, 4.0, -73.99, 4.01)
    b = shapely.reverse(box(-73.0, 4.0, -72.99, 4.01))
    expected = geodesic_area_m2(a) + geodesic_area_m2(b)
    assert geodesic_area_m2(MultiPolygon([a, b])) == pytest.approx(expected)
    assert expected > 2 * 1.2e6


def test_area_of_collections_points_lines_and_empties() -> None:
    collection = GeometryCollection([HAZARD, Point(0, 0), LineString([(0, 0), (1, 1)])])
    assert geodesic_area_m2(collection) == pytest.approx(geodesic_area_m2(HAZARD))
    assert geodesic_area_m2(Point(0, 0)) == 0.0
    assert geodesic_area_m2(LineString([(0, 0), (1, 1)])) == 0.0
    assert geodesic_area_m2(Polygon()) == 0.0


def test_area_shrinks_with_latitude() -> None:
    equator = geodesic_area_m2(box(0, 0, 0.01, 0.01))
    sixty = geodesic_area_m2(box(0, 60, 0.01, 60.01))
    assert sixty / equator == pytest.approx(0.5, abs=0.01)


def test_length() -> None:
    assert geodesic_length_m(LineString([(0, 0), (1, 0)])) == pytest.approx(EQUATOR_DEGREE_M)
    geod = Geod(ellps="WGS84")
    rings = geod.line_length(*HAZARD.exterior.xy) + geod.line_length(*HAZARD.interiors[0].xy)
    assert geodesic_length_m(HAZARD) == pytest.approx(rings)  # holes count, like shapely
    assert geodesic_length_m(Point(1, 1)) == 0.0
    collection = GeometryCollection([LineString([(0, 0), (1, 0)]), Point(5, 5)])
    assert geodesic_length_m(collection) == pytest.approx(EQUATOR_DEGREE_M)


def test_distance() -> None:
    assert geodesic_distance_m(0, 0, 1, 0) == pytest.approx(EQUATOR_DEGREE_M)
    assert geodesic_distance_m(-74.08, 4.6, -74.08, 4.6) == 0.0
    # Across the antimeridian the short way round.
    assert geodesic_distance_m(179.5, 0, -179.5, 0) == pytest.approx(EQUATOR_DEGREE_M)


def test_vectorised_distances_match_the_scalar_ones() -> None:
    lons = np.array([[-74.0, -73.0], [-75.0, 0.0]])
    lats = np.array([[4.6, 5.0], [4.0, 0.0]])
    distances = geodesic_distances_m(-74.08, 4.6, lons, lats)
    assert distances.shape == (2, 2)
    assert distances.dtype == np.float64
    expected = [
        geodesic_distance_m(-74.08, 4.6, x, y) for x, y in zip(lons.flat, lats.flat, strict=True)
    ]
    np.testing.assert_allclose(distances.ravel(), expected)
    with pytest.raises(ValueError, match="differ in shape"):
        geodesic_distances_m(0, 0, np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("lat", [0.0, 4.6, 30.0, -45.0, 60.0, 80.0, 88.0, 89.9, -89.99])
@pytest.mark.parametrize("distance", [1.0, 500.0, 10_000.0, 100_000.0, 1_000_000.0])
def test_degree_buffer_contains_every_point_within_the_distance(
    lat: float, distance: float
) -> None:
    dlon, dlat = degrees_buffer_for_distance(lat, distance)
    azimuths = np.linspace(0.0, 360.0, 3601)
    geod = Geod(ellps="WGS84")
    for fraction in (1.0, 0.9, 0.5):
        lons, lats, _ = geod.fwd(
            np.zeros_like(azimuths),
            np.full_like(azimuths, lat),
            azimuths,
            np.full_like(azimuths, distance * fraction),
        )
        assert np.abs(lats - lat).max() <= dlat
        assert np.abs((lons + 180.0) % 360.0 - 180.0).max() <= dlon


def test_degree_buffer_is_not_wastefully_large() -> None:
    dlon, dlat = degrees_buffer_for_distance(4.6, 1000.0)
    assert dlat == pytest.approx(1000.0 / 110_574.0, rel=0.002)
    exact_dlon = 1000.0 / 110_964.0  # metres per degree of longitude at 4.6N
    assert exact_dlon <= dlon <= 1.01 * exact_dlon


def test_degree_buffer_near_the_poles_clamps_to_all_longitudes() -> None:
    assert degrees_buffer_for_distance(89.99, 5_000.0)[0] == 180.0
    assert degrees_buffer_for_distance(90.0, 1.0)[0] == 180.0
    assert degrees_buffer_for_distance(95.0, 1.0)[0] == 180.0  # clamped to the pole
    assert degrees_buffer_for_distance(0.0, 3e7) == (180.0, 180.0)
    with pytest.raises(ValueError, match="non-negative"):
        degrees_buffer_for_distance(0.0, -1.0)


def test_distance_to_geometry() -> None:
    assert distance_to_geometry_m(-74.085, 4.601, HAZARD) == 0.0  # inside
    in_hole = distance_to_geometry_m(-74.0865, 4.6045, HAZARD)  # nearest: the west edge
    assert in_hole == pytest.approx(
        geodesic_distance_m(-74.0865, 4.6045, -74.087, 4.6045), abs=0.01
    )
    to_point = distance_to_geometry_m(-74.0, 4.6, Point(-73.9, 4.7))
    assert to_point == pytest.approx(geodesic_distance_m(-74.0, 4.6, -73.9, 4.7), abs=1e-3)


def test_distance_to_a_line_is_the_perpendicular() -> None:
    meridian = LineString([(-74.01, 4.5), (-74.01, 4.7)])
    along_parallel = geodesic_distance_m(-74.0, 4.6, -74.01, 4.6)
    assert distance_to_geometry_m(-74.0, 4.6, meridian) == pytest.approx(along_parallel, abs=0.05)


def test_distance_to_geometry_across_the_antimeridian() -> None:
    fiji_side = box(-180.0, -1.0, -179.99, 1.0)
    distance = distance_to_geometry_m(179.999, 0.0, fiji_side)
    assert distance == pytest.approx(EQUATOR_DEGREE_M * 0.001, rel=1e-4)


def test_distance_to_empty_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        distance_to_geometry_m(0.0, 0.0, Polygon())
