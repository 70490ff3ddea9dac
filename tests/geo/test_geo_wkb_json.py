"""WKB straight to GeoJSON must equal shapely's mapping, for the fast 2-D point path and
for everything it hands to shapely (Z, polygons, multi, empty, big-endian, EWKB)."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

from mineaction.geo import gpkg_binary
from mineaction.geo.wkb_json import gpkg_geojson, wkb_geojson

GEOMETRIES = [Point(-74.123456789, 4.987654321), Point(0.0, -0.0), Point(1, 2, 3),
              Point(), LineString([(0, 0), (1, 1)]), box(-75, 6, -74, 7),
              Polygon([(-75, 6), (-75, 6.01), (-74.99, 6.01), (-75, 6)]),
              MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])]


def _json(value: object) -> object:
    return json.loads(json.dumps(value))  # tuples and lists say the same


@pytest.mark.parametrize("geom", GEOMETRIES, ids=lambda g: g.wkt[:30])
def test_same_as_shapely(geom: shapely.Geometry) -> None:
    want = _json(mapping(geom))
    for order in (0, 1):
        assert _json(wkb_geojson(shapely.to_wkb(geom, byte_order=order))) == want
    ewkb = shapely.to_wkb(shapely.set_srid(geom, 4326), include_srid=True)
    assert _json(wkb_geojson(ewkb)) == want
    assert _json(gpkg_geojson(gpkg_binary.encode(geom))) == want


def test_points_from_bulk_encoding_and_an_offset() -> None:
    (blob,) = gpkg_binary.encode_points([-75.5], [6.25])
    assert gpkg_geojson(blob) == {"type": "Point", "coordinates": [-75.5, 6.25]}
    padded = b"xyz" + shapely.to_wkb(Point(1.5, 2.5))
    assert wkb_geojson(padded, 3) == {"type": "Point", "coordinates": [1.5, 2.5]}
