# SPDX-License-Identifier: GPL-3.0-or-later
"""WKB straight to a GeoJSON geometry dict, for reads that answer JSON.

A list of 100 accidents spent more time building shapely points and asking them for
`__geo_interface__` (~25 us a point) than SQLite spent finding them (issue 3's API
benchmark). 2-D points, nearly every geometry the API lists, are read here with one
struct call; anything else (lines, polygons, Z/M, empty points) goes through shapely, so
the output always equals `shapely.geometry.mapping(shapely.from_wkb(wkb))` as JSON.
"""

from __future__ import annotations

import struct
from typing import Any

from mineaction.geo import gpkg_binary

_POINT = {1: struct.Struct("<I2d"), 0: struct.Struct(">I2d")}
# Plain ISO/OGC 2-D point, or the same with PostGIS's EWKB SRID flag.
_EWKB_SRID = 0x20000000
_POINT_TYPES = frozenset({1, 1 | _EWKB_SRID})


def wkb_geojson(wkb: bytes | memoryview, offset: int = 0) -> dict[str, Any]:
    """The GeoJSON geometry of the (E)WKB starting at `offset`."""
    order = wkb[offset]
    if order in (0, 1) and len(wkb) - offset >= 21:
        kind = _POINT[order].unpack_from(wkb, offset + 1)[0]
        if kind in _POINT_TYPES:
            skip = 4 if kind & _EWKB_SRID else 0
            if len(wkb) - offset - skip == 21:
                _, x, y = _POINT[order].unpack_from(wkb, offset + skip + 1)
                if x == x and y == y:  # NaN coordinates mean an empty point: shapely says
                    return {"type": "Point", "coordinates": [x, y]}
    import shapely  # the rare case: loaded on first use (issue 16, start-up)
    from shapely.geometry import mapping

    return dict(mapping(shapely.from_wkb(bytes(wkb[offset:]))))


_GPKG_POINT = struct.Struct("<2sBBiBI2d")  # header without envelope + little-endian point


def gpkg_geojson(blob: bytes) -> dict[str, Any]:
    """The GeoJSON geometry of a GeoPackage geometry BLOB."""
    if len(blob) == _GPKG_POINT.size and blob[3] == 1:  # what encode() writes for points
        magic, version, _, _, order, kind, x, y = _GPKG_POINT.unpack(blob)
        if magic == b"GP" and version == 0 and order == 1 and kind == 1 and x == x and y == y:
            return {"type": "Point", "coordinates": [x, y]}
    return wkb_geojson(blob, gpkg_binary.wkb_offset(blob))
