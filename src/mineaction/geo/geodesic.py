# SPDX-License-Identifier: GPL-3.0-or-later
"""Areas, lengths and distances on the WGS84 ellipsoid for lon/lat (EPSG:4326) geometries.

docs/design.md: areas and lengths are computed on the ellipsoid, never from degrees. A square
degree is 12,300 km2 at the equator and half that at 60N, so planar shapely .area on
lon/lat is wrong by a latitude-dependent factor; pyproj.Geod (GeographicLib) is exact to
millimetres.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

_G = TypeVar("_G", bound=BaseGeometry)

# Geod holds only the ellipsoid's constants and is read-only, so one shared instance is safe
# across threads (it is not a connection or configuration).
WGS84 = Geod(ellps="WGS84")

# One degree of latitude is shortest at the equator, where the meridian's radius of
# curvature is a(1 - e^2): 110,574.27 m. Rounded down, so it bounds every latitude.
_MIN_METRES_PER_DEGREE_LAT = 110_574.0
# Slack for the spherical formula used for longitude (the ellipsoid differs by <0.7%, see
# tests/geo/test_geo_geodesic.py) and for rounding in callers' comparisons.
_BUFFER_MARGIN = 1.001
# Longest lon/lat edge kept straight when projecting for distance_to_geometry_m (~1 km).
_MAX_EDGE_DEG = 0.01


def geodesic_area_m2(geom: BaseGeometry) -> float:
    """Area in square metres of the polygonal parts of geom; 0 for points and lines.

    Ring orientation does not matter. Parts of a GeometryCollection are summed, so
    overlapping parts count twice: repair or union such input first.
    """
    return sum(_polygon_area(polygon) for polygon in _parts(geom, Polygon))


def geodesic_length_m(geom: BaseGeometry) -> float:
    """Length in metres of lines, or perimeter (all rings, holes included) of polygons."""
    total = 0.0
    for line in _parts(geom, LineString):
        total += WGS84.line_length(*line.xy)
    for polygon in _parts(geom, Polygon):
        for ring in (polygon.exterior, *polygon.interiors):
            total += WGS84.line_length(*ring.xy)
    return total


def geodesic_distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Shortest distance in metres between two points on the ellipsoid."""
    _, _, distance = WGS84.inv(lon1, lat1, lon2, lat2)
    return float(distance)


def geodesic_distances_m(
    lon: float, lat: float, lons: npt.ArrayLike, lats: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Distances in metres from one point to many, in one call into GeographicLib."""
    lons_array = np.asarray(lons, dtype=np.float64)
    lats_array = np.asarray(lats, dtype=np.float64)
    if lons_array.shape != lats_array.shape:
        raise ValueError(f"lons {lons_array.shape} and lats {lats_array.shape} differ in shape")
    _, _, distances = WGS84.inv(
        np.full(lons_array.shape, lon), np.full(lats_array.shape, lat), lons_array, lats_array
    )
    return np.asarray(distances, dtype=np.float64)


def degrees_buffer_for_distance(lat: float, distance_m: float) -> tuple[float, float]:
    """(dlon, dlat) such that every point within distance_m of a point at latitude lat
    lies in [lon - dlon, lon + dlon] x [lat - dlat, lat + dlat].

    Meant as a cheap bounding-box prefilter before an exact geodesic check, so it errs on
    the large side. Near a pole the circle reaches all longitudes and dlon is 180; callers
    clamp latitudes to -90..90 and handle boxes that cross the antimeridian.
    """
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise ValueError(f"distance must be a non-negative number of metres, not {distance_m}")
    lat = min(max(lat, -90.0), 90.0)
    dlat = min(distance_m / _MIN_METRES_PER_DEGREE_LAT * _BUFFER_MARGIN, 180.0)
    if abs(lat) + dlat >= 90.0:
        return 180.0, dlat
    # On a sphere, the circle of angular radius d around latitude phi spans at most
    # asin(sin d / cos phi) of longitude, reached poleward of phi, not on the parallel:
    # the parallel is not the shortest path, so d / (metres per degree of longitude)
    # would be too small near the poles.
    ratio = math.sin(math.radians(dlat)) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return 180.0, dlat
    return min(math.degrees(math.asin(ratio)) * _BUFFER_MARGIN, 180.0), dlat


Coordinates = npt.NDArray[np.float64]


def centred_projection(name: str, lon: float, lat: float
                       ) -> Callable[[Coordinates], Coordinates]:
    """Lon/lat degrees (an N x 2 array) to metres in PROJ's projection `name` ("aeqd",
    "laea") centred on (lon, lat), on the WGS84 ellipsoid: the function shapely.transform
    takes.

    Built as a PROJ pipeline (pyproj's Transformer.from_pipeline), the same operation a
    `Proj("+proj=NAME +lat_0 +lon_0 +datum=WGS84")` runs, to the last bit
    (tests/geo/test_centred_projection.py), in a third of the time to build (0.05 ms
    against 0.16: Proj parses a coordinate reference system first). Every site checked,
    and every point measured to a line or area, has a projection of its own centre
    (issue 20). Not shared across threads: each call builds its own."""
    transformer = Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj={name} +lat_0={float(lat)!r} +lon_0={float(lon)!r} +ellps=WGS84")

    def forward(coords: Coordinates) -> Coordinates:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return forward


def distance_to_geometry_m(lon: float, lat: float, geom: BaseGeometry) -> float:
    """Distance in metres from a point to the nearest point of geom; 0 inside a polygon.

    geom is projected to an azimuthal equidistant projection centred on the point, where
    the planar distance from the centre to any vertex equals the geodesic distance
    exactly; only the shape of edges between vertices is approximated. Edges are first cut
    to at most ~1 km in lon/lat, and near the centre, where the nearest point usually is,
    the projection's scale error is (d/R)^2/6: under a millimetre at 1 km, 0.4 mm per km at
    10 km. Good enough for "hazards within 500 m of this accident".
    """
    if geom.is_empty:
        raise ValueError("an empty geometry has no distance")
    project = centred_projection("aeqd", lon, lat)
    projected = shapely.transform(shapely.segmentize(geom, _MAX_EDGE_DEG), project)
    return float(shapely.distance(Point(0.0, 0.0), projected))


def gap_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """Distance in metres between two geometries on the ellipsoid; 0 where they touch.

    The one measure of "within distance" the GeoPackage store's near-queries and the site
    check use (PostGIS runs ST_DWithin on geography, which agrees to millimetres at these
    scales). Point to point is exact (the inverse geodesic problem); point to line or
    area goes through `distance_to_geometry_m`; between two lines or areas, the planar
    nearest points in lon/lat are measured on the ellipsoid, close enough at the scale of
    a site check (metres at a few kilometres).
    """
    if a.geom_type == "Point" and b.geom_type == "Point":
        return geodesic_distance_m(a.x, a.y, b.x, b.y)
    if b.geom_type == "Point":
        return distance_to_geometry_m(b.x, b.y, a)
    if a.geom_type == "Point":
        return distance_to_geometry_m(a.x, a.y, b)
    if a.intersects(b):
        return 0.0
    from shapely.ops import nearest_points

    p, q = nearest_points(a, b)
    return geodesic_distance_m(p.x, p.y, q.x, q.y)


def _polygon_area(polygon: Polygon) -> float:
    # pyproj's geometry_area_perimeter signs each ring by its orientation and adds them,
    # so a clockwise exterior or a same-orientation hole gives a wrong total; taking the
    # absolute area of each ring and subtracting holes does not depend on orientation.
    exterior = abs(_ring_area(polygon.exterior))
    return exterior - sum(abs(_ring_area(hole)) for hole in polygon.interiors)


def _ring_area(ring: LinearRing) -> float:
    area, _ = WGS84.polygon_area_perimeter(*ring.xy)
    return float(area)


def _parts(geom: BaseGeometry, kind: type[_G]) -> Iterator[_G]:
    """Non-empty single parts of the given kind, looking inside multi-parts and collections."""
    if geom.is_empty:
        return
    if isinstance(geom, kind):
        yield geom
    elif hasattr(geom, "geoms"):
        for part in geom.geoms:
            yield from _parts(part, kind)
