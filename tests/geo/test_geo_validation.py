# SPDX-License-Identifier: GPL-3.0-or-later
import math

import pytest
import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from mineaction.geo.validation import (
    plausibility_problems,
    repair_geometry,
    to_multipolygon,
    validate_geometry,
)

POLYGONAL = {"Polygon", "MultiPolygon"}
# Colombia's bounding box including San Andres (-81.7, 12.5).
COLOMBIA = (-82.0, -4.3, -66.8, 13.6)
BOWTIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])


def test_valid_geometry_has_no_problems() -> None:
    assert validate_geometry(box(-74.1, 4.6, -74.0, 4.7), allowed=POLYGONAL) == []
    assert validate_geometry(Point(-74.08, 4.6), allowed={"Point"}) == []


def test_wrong_type_missing_and_empty() -> None:
    assert validate_geometry(Point(1, 1), allowed=POLYGONAL) == [
        "geometry type Point is not allowed here; expected MultiPolygon or Polygon"
    ]
    assert validate_geometry(None, allowed=POLYGONAL) == ["geometry is missing"]
    assert validate_geometry(Polygon(), allowed=POLYGONAL) == ["geometry is empty"]


def test_invalid_geometry_gives_the_reason() -> None:
    (problem,) = validate_geometry(BOWTIE, allowed=POLYGONAL)
    assert problem.startswith("geometry is invalid: Self-intersection[1 1]")


def test_projected_coordinates_are_flagged() -> None:
    utm = box(600000, 500000, 600100, 500100)
    (problem,) = validate_geometry(utm, allowed=POLYGONAL)
    assert "5 of 5 coordinates are outside lon -180..180 / lat -90..90" in problem
    assert "(600100, 500000)" in problem
    assert "converted to WGS84" in problem


def test_non_finite_coordinates_are_flagged() -> None:
    problems = validate_geometry(Point(math.inf, 1.0), allowed={"Point"})
    assert "geometry has coordinates that are not numbers (NaN or infinite)" in problems


def test_repair_bowtie_gives_two_triangles() -> None:
    repaired = repair_geometry(BOWTIE)
    assert isinstance(repaired, MultiPolygon)
    assert repaired.is_valid
    assert repaired.area == pytest.approx(2.0)


def test_repair_overlapping_parts_keeps_the_union() -> None:
    overlapping = MultiPolygon([box(0, 0, 2, 2), box(1, 1, 3, 3)])
    repaired = repair_geometry(overlapping)
    assert isinstance(repaired, Polygon)
    assert repaired.area == pytest.approx(7.0)
    # GEOS's default "linework" method would cut the overlap out:
    assert shapely.make_valid(overlapping).area == pytest.approx(6.0)


def test_repair_drops_collapsed_parts() -> None:
    collapsed = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    assert repair_geometry(collapsed).equals(Polygon())
    assert isinstance(repair_geometry(collapsed), Polygon)
    spike = Polygon([(0, 0), (1, 0), (1, 1), (1, 2), (1, 1), (0, 1)])
    repaired = repair_geometry(spike)
    assert isinstance(repaired, Polygon)
    assert repaired.area == pytest.approx(1.0)


def test_repair_returns_valid_input_unchanged() -> None:
    polygon = box(0, 0, 1, 1)
    assert repair_geometry(polygon) is polygon
    line = LineString([(0, 0), (1, 1)])
    assert repair_geometry(line) is line


def test_repair_non_polygonal_input() -> None:
    degenerate = LineString([(0, 0), (0, 0)])
    assert not degenerate.is_valid
    assert repair_geometry(degenerate).is_valid


def test_to_multipolygon() -> None:
    polygon = box(0, 0, 1, 1)
    assert to_multipolygon(polygon).equals(MultiPolygon([polygon]))
    multi = MultiPolygon([polygon, box(2, 2, 3, 3)])
    assert to_multipolygon(multi) is multi
    mixed = GeometryCollection([polygon, LineString([(5, 5), (6, 6)]), Point(9, 9)])
    assert to_multipolygon(mixed).equals(MultiPolygon([polygon]))
    assert to_multipolygon(Polygon()).is_empty
    assert to_multipolygon(GeometryCollection()).geom_type == "MultiPolygon"
    with pytest.raises(ValueError, match="a Point has no area"):
        to_multipolygon(Point(0, 0))


def test_plausible_point_has_no_problems() -> None:
    assert plausibility_problems(-74.234, 4.6, extent=COLOMBIA) == []
    assert plausibility_problems(-81.7, 12.55, extent=COLOMBIA) == []  # San Andres
    assert plausibility_problems(-74.234, 4.6) == []


def test_longitude_sign() -> None:
    assert plausibility_problems(74.234, 4.6, extent=COLOMBIA) == [
        "(74.234, 4.6) is outside the expected area",
        "longitude sign looks wrong: (-74.234, 4.6) falls inside",
    ]


def test_latitude_sign() -> None:
    assert plausibility_problems(-72.5, -11.0, extent=COLOMBIA) == [
        "(-72.5, -11) is outside the expected area",
        "latitude sign looks wrong: (-72.5, 11) falls inside",
    ]


def test_swapped_latitude_and_longitude() -> None:
    assert plausibility_problems(4.6, -74.234, extent=COLOMBIA) == [
        "(4.6, -74.234) is outside the expected area",
        "latitude and longitude look swapped: (-74.234, 4.6) falls inside",
    ]


def test_swapped_with_a_sign_lost() -> None:
    problems = plausibility_problems(4.6, 74.234, extent=COLOMBIA)
    assert problems[1:] == [
        "latitude and longitude look swapped, and a sign wrong: (-74.234, 4.6) falls inside"
    ]


def test_zero_zero_is_a_placeholder() -> None:
    assert plausibility_problems(0.0, 0.0, extent=COLOMBIA) == [
        "(0, 0) is a placeholder, not a location"
    ]
    assert plausibility_problems(0.0, 0.0) == ["(0, 0) is a placeholder, not a location"]


def test_out_of_range_and_not_numbers() -> None:
    assert plausibility_problems(-74.0, 95.0) == ["latitude 95 is outside -90..90"]
    assert plausibility_problems(-200.0, 4.6, extent=COLOMBIA)[0] == (
        "longitude -200 is outside -180..180"
    )
    assert plausibility_problems(math.nan, 4.6) == ["coordinates are not numbers"]


def test_outside_with_no_explanation() -> None:
    assert plausibility_problems(2.35, 48.85, extent=COLOMBIA) == [
        "(2.35, 48.85) is outside the expected area"
    ]


def test_against_an_area_polygon() -> None:
    # An L-shaped area: its bounding box contains points the polygon does not.
    area = Polygon([(-75, 4), (-73, 4), (-73, 4.5), (-74.5, 4.5), (-74.5, 5), (-75, 5)])
    assert plausibility_problems(-74.8, 4.8, area=area) == []
    assert plausibility_problems(-73.0, 4.2, area=area) == []  # on the border
    assert plausibility_problems(74.8, 4.8, area=area)[1] == (
        "longitude sign looks wrong: (-74.8, 4.8) falls inside"
    )
    assert plausibility_problems(4.2, -73.5, area=area)[1] == (
        "latitude and longitude look swapped: (-73.5, 4.2) falls inside"
    )
    assert plausibility_problems(-73.5, 4.8, area=area) == [
        "(-73.5, 4.8) is outside the expected area"
    ]
    shapely.prepare(area)  # what a caller does before checking many points
    assert plausibility_problems(-74.8, 4.8, area=area) == []
    # Both given: the point must satisfy both.
    assert plausibility_problems(-74.8, 4.8, extent=(-74.7, 4, -73, 5), area=area) != []


def test_extent_across_the_antimeridian() -> None:
    fiji = (177.0, -21.0, -178.0, -12.0)
    assert plausibility_problems(179.0, -17.0, extent=fiji) == []
    assert plausibility_problems(-179.0, -17.0, extent=fiji) == []
    assert plausibility_problems(178.0, 17.0, extent=fiji)[1] == (
        "latitude sign looks wrong: (178, -17) falls inside"
    )
