# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks and repairs for geometries and point locations arriving from imports and forms.

Problems are returned as lists of plain sentences rather than raised, because the import
pipeline collects every problem of every row (file/row/field/message) before deciding.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

Extent = tuple[float, float, float, float]  # (minx, miny, maxx, maxy) in degrees


def validate_geometry(geom: BaseGeometry | None, *, allowed: set[str]) -> list[str]:
    """Problems with a lon/lat geometry, or an empty list if there are none.

    allowed holds shapely geometry type names, e.g. {"Polygon", "MultiPolygon"}.
    """
    if geom is None:
        return ["geometry is missing"]
    problems: list[str] = []
    if geom.geom_type not in allowed:
        problems.append(
            f"geometry type {geom.geom_type} is not allowed here; expected "
            + " or ".join(sorted(allowed))
        )
    if geom.is_empty:
        return [*problems, "geometry is empty"]
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        problems.append("geometry has coordinates that are not numbers (NaN or infinite)")
    else:
        outside = (np.abs(coords[:, 0]) > 180.0) | (np.abs(coords[:, 1]) > 90.0)
        if outside.any():
            x, y = coords[outside][0]
            problems.append(
                f"{int(outside.sum())} of {len(coords)} coordinates are outside lon -180..180 / "
                f"lat -90..90, e.g. ({_number(x)}, {_number(y)}); projected coordinates "
                "(UTM, metres) must be converted to WGS84 first"
            )
    if not shapely.is_valid(geom):
        problems.append(f"geometry is invalid: {shapely.is_valid_reason(geom)}")
    return problems


def repair_geometry(geom: BaseGeometry) -> BaseGeometry:
    """A valid version of geom; polygonal input gives a Polygon or MultiPolygon.

    Polygonal input is repaired with GEOS's "structure" method, which unions the shells
    and subtracts the holes. The default "linework" method treats every edge as a border
    to cross, so two overlapping parts of a MultiPolygon come out with the overlap cut
    away: a hazard drawn as overlapping patches would lose land. Parts that collapse to
    lines or points (a sliver drawn back over itself) are dropped: they have no area.
    """
    if not _is_polygonal(geom):
        return geom if shapely.is_valid(geom) else shapely.make_valid(geom)
    if shapely.is_valid(geom):
        return geom
    repaired = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    polygons = list(_polygons(repaired))
    if len(polygons) == 1:
        return polygons[0]
    return MultiPolygon(polygons) if polygons else Polygon()


def to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """geom as a MultiPolygon; from a collection only the polygonal parts are kept."""
    if isinstance(geom, MultiPolygon):
        return geom
    if not (isinstance(geom, Polygon | GeometryCollection) or geom.is_empty):
        raise ValueError(f"a {geom.geom_type} has no area and cannot become a MultiPolygon")
    return MultiPolygon(list(_polygons(geom)))


def plausibility_problems(
    lon: float,
    lat: float,
    *,
    extent: Extent | None = None,
    area: BaseGeometry | None = None,
) -> list[str]:
    """Reasons to doubt a point, with the likely typing mistake when one explains it.

    The point should fall inside extent (minx, miny, maxx, maxy; minx > maxx means the
    box crosses the antimeridian) and inside area (e.g. the country's outline), when
    given. If it does not but flipping a sign or swapping latitude and longitude would
    put it inside, that is reported: a Bogota record typed with longitude +74.08 becomes
    "longitude sign looks wrong: (-74.08, 4.6) falls inside". For many points, call
    shapely.prepare(area) once first: the containment test then uses the prepared area.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return ["coordinates are not numbers"]
    if lon == 0 and lat == 0:
        return ["(0, 0) is a placeholder, not a location"]
    problems: list[str] = []
    if not -90.0 <= lat <= 90.0:
        problems.append(f"latitude {_number(lat)} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        problems.append(f"longitude {_number(lon)} is outside -180..180")
    if (extent is None and area is None) or _inside(lon, lat, extent, area):
        return problems
    problems.append(f"({_number(lon)}, {_number(lat)}) is outside the expected area")
    simple = [
        ("longitude sign looks wrong", -lon, lat),
        ("latitude sign looks wrong", lon, -lat),
        ("latitude and longitude signs both look wrong", -lon, -lat),
        ("latitude and longitude look swapped", lat, lon),
    ]
    swapped_with_sign = [
        ("latitude and longitude look swapped, and a sign wrong", x, y)
        for x, y in ((-lat, lon), (lat, -lon), (-lat, -lon))
    ]
    for candidates in (simple, swapped_with_sign):
        found = [
            f"{reason}: ({_number(x)}, {_number(y)}) falls inside"
            for reason, x, y in candidates
            if (x, y) != (lon, lat) and _inside(x, y, extent, area)
        ]
        if found:  # the simpler explanations win; do not add far-fetched ones
            return problems + found
    return problems


def _inside(x: float, y: float, extent: Extent | None, area: BaseGeometry | None) -> bool:
    if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
        return False
    if extent is not None:
        minx, miny, maxx, maxy = extent
        in_x = minx <= x <= maxx if minx <= maxx else (x >= minx or x <= maxx)
        if not (in_x and miny <= y <= maxy):
            return False
    # intersects, not contains: a point on the border counts as inside.
    return area is None or bool(shapely.intersects_xy(area, x, y))


def _is_polygonal(geom: BaseGeometry) -> bool:
    return isinstance(geom, Polygon | MultiPolygon)


def _polygons(geom: BaseGeometry) -> Iterator[Polygon]:
    if geom.is_empty:
        return
    if isinstance(geom, Polygon):
        yield geom
    elif hasattr(geom, "geoms"):
        for part in geom.geoms:
            yield from _polygons(part)


def _number(value: float) -> str:
    # Six decimals (~0.1 m) reads better in a message than repr's 17 digits; + 0.0
    # turns -0.0 into 0.0.
    return f"{value + 0.0:.6f}".rstrip("0").rstrip(".")
