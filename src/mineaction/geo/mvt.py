"""A Mapbox Vector Tile writer for what the map draws: points (web/tiles.py) and polygons
(web/basemap.py), and for the API's tiles of every layer for GIS clients
(services/vector_tiles.py, issue 23), after the MVT 2.1 spec
(https://github.com/mapbox/vector-tile-spec/tree/master/2.1); lines for the detail
basemap's rivers (issue 21). A tile of several layers is their tiles concatenated (each
is one `layers` field of the Tile message).

Written by hand, a hundred lines of protobuf: the packages that write MVT bring a protobuf
runtime or GDAL bindings for what is, for us, one message type, and mapbox-vector-tile's
encoder is about 11 times slower on our tiles (bench/mvt_bench.py); its decoder checks
ours in tests/web/test_mvt_decoder.py. Coordinates come in tile units (0..1 across the
tile, y down) and are rounded to EXTENT steps. Here too: Web Mercator in world units
(`mercator`) and a line or polygon cut to a tile (`encode_shape`), shared by every tiler.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

EXTENT = 4096  # coordinates per tile side (the spec's default)
MAX_LAT = 85.0511287798  # Web Mercator's limit
# Lines and polygons reach this far past a tile's edge (geojson-vt's 64 of 4096).
BUFFER = 64 / EXTENT
# Half a pixel of a 512-pixel tile, in EXTENT units.
TOLERANCE = EXTENT / 512 / 2
_MOVE_TO, _LINE_TO, _CLOSE_PATH = 1, 2, 7
POINT, LINESTRING, POLYGON = 1, 2, 3


def _varint(v: int, out: bytearray) -> None:
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _zigzag(v: int) -> int:
    return (v << 1) ^ (v >> 63)


def _command(command: int, count: int) -> int:
    return (count << 3) | command


def _field(number: int, payload: bytes, out: bytearray) -> None:
    """A length-delimited field (wire type 2)."""
    _varint((number << 3) | 2, out)
    _varint(len(payload), out)
    out += payload


def _path(vertices: Sequence[tuple[int, int]], cursor: tuple[int, int], out: bytearray
          ) -> tuple[int, int]:
    """MoveTo the first vertex and LineTo the rest, each relative to the one before (the
    cursor carries over between a feature's parts); the cursor after the last."""
    cx, cy = cursor
    x, y = vertices[0]
    _varint(_command(_MOVE_TO, 1), out)
    _varint(_zigzag(x - cx), out)
    _varint(_zigzag(y - cy), out)
    cx, cy = x, y
    _varint(_command(_LINE_TO, len(vertices) - 1), out)
    for x, y in vertices[1:]:
        _varint(_zigzag(x - cx), out)
        _varint(_zigzag(y - cy), out)
        cx, cy = x, y
    return cx, cy


class LayerEncoder:
    """One layer's features and its keys and values tables, which they share."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.values: dict[tuple[type, Any], int] = {}

    def point(self, props: Sequence[tuple[str, Any]], tx: float, ty: float) -> bytes:
        geom = bytearray()
        _varint(_command(_MOVE_TO, 1), geom)
        _varint(_zigzag(round(tx * EXTENT)), geom)
        _varint(_zigzag(round(ty * EXTENT)), geom)
        return self._feature(props, POINT, geom)

    def polygon(self, props: Sequence[tuple[str, Any]],
                rings: Sequence[Sequence[tuple[int, int]]]) -> bytes | None:
        """A (multi)polygon from rings already in EXTENT units, each without its closing
        vertex, exteriors of positive area (clockwise as drawn, y down) each followed by
        its holes, as the spec orders them. None when no ring is left."""
        geom = bytearray()
        cursor = (0, 0)
        for ring in rings:
            if len(ring) < 3:
                continue
            cursor = _path(ring, cursor, geom)
            _varint(_command(_CLOSE_PATH, 1), geom)
        if not geom:
            return None
        return self._feature(props, POLYGON, geom)

    def line(self, props: Sequence[tuple[str, Any]],
             lines: Sequence[Sequence[tuple[int, int]]]) -> bytes | None:
        """A (multi)linestring from lines already in EXTENT units (rivers, issue 21).
        None when no line of two vertices or more is left."""
        geom = bytearray()
        cursor = (0, 0)
        for line in lines:
            if len(line) < 2:
                continue
            cursor = _path(line, cursor, geom)
        if not geom:
            return None
        return self._feature(props, LINESTRING, geom)

    def _feature(self, props: Sequence[tuple[str, Any]], kind: int, geom: bytearray) -> bytes:
        tags = bytearray()
        for key, value in props:
            _varint(self.keys.setdefault(key, len(self.keys)), tags)
            _varint(self.values.setdefault((type(value), value), len(self.values)), tags)
        out = bytearray()
        _field(2, bytes(tags), out)
        out += bytes((0x18, kind))  # type
        _field(4, bytes(geom), out)
        return bytes(out)

    def tile(self, name: str, features: Sequence[bytes]) -> bytes:
        """The tile holding this one layer (empty bytes when it has no feature)."""
        if not features:
            return b""
        layer = bytearray(b"\x78\x02")  # version = 2
        _field(1, name.encode(), layer)
        for f in features:
            _field(2, f, layer)
        for key in self.keys:
            _field(3, key.encode(), layer)
        for kind, value in self.values:
            v = bytearray()
            if kind is str:
                _field(1, value.encode(), v)
            elif kind is bool:
                v += b"\x38" + (b"\x01" if value else b"\x00")
            elif kind is int and value >= 0:
                _varint(5 << 3, v)  # uint_value
                _varint(value, v)
            elif kind is int:
                _varint(6 << 3, v)  # sint_value
                _varint(_zigzag(value), v)
            else:
                v += b"\x19" + struct.pack("<d", float(value))  # double_value
            _field(4, bytes(v), layer)
        _varint(5 << 3, layer)  # extent
        _varint(EXTENT, layer)
        out = bytearray()
        _field(3, bytes(layer), out)
        return bytes(out)


# -- Web Mercator and cutting a shape to a tile ---------------------------------------------
def mercator(lon: Any, lat: Any) -> tuple[Any, Any]:
    """WGS84 degrees (numpy arrays) to Web Mercator in world units (0..1, y down), as
    tiles count."""
    import numpy as np

    mx = (lon + 180.0) / 360.0
    phi = np.radians(np.clip(lat, -MAX_LAT, MAX_LAT))
    my = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0
    return mx, my


def to_world(geom: Any) -> Any:
    """A shapely geometry (or array of them) in lon/lat to Web Mercator world units."""
    import numpy as np
    import shapely

    def tr(coords: Any) -> Any:
        mx, my = mercator(coords[:, 0], coords[:, 1])
        return np.column_stack([mx, my])

    return shapely.transform(geom, tr)


def tile_rect(z: int, x: int, y: int, pad: float = 0.0) -> tuple[float, float, float, float]:
    """Tile z/x/y in world units, widened by `pad` tiles on each side."""
    n = 1 << z
    return ((x - pad) / n, (y - pad) / n, (x + 1 + pad) / n, (y + 1 + pad) / n)


def tile_lonlat(z: int, x: int, y: int, pad: float = 0.0) -> tuple[float, float, float, float]:
    """Tile z/x/y (widened by `pad` tiles) as min_lon, min_lat, max_lon, max_lat."""
    n = 1 << z

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return ((x - pad) / n * 360.0 - 180.0, max(lat(y + 1 + pad), -MAX_LAT),
            (x + 1 + pad) / n * 360.0 - 180.0, min(lat(y - pad), MAX_LAT))


def encode_shape(enc: LayerEncoder, props: Sequence[tuple[str, Any]], geom: Any,
                 rect: tuple[float, float, float, float], n: int, x: int, y: int
                 ) -> bytes | None:
    """A line or polygon in world units cut to `rect` (the tile and its buffer), in tile
    units, simplified to half a pixel and snapped to the grid; None when nothing is left."""
    import shapely
    from shapely.geometry import LineString, Polygon
    from shapely.geometry.polygon import orient

    clipped = shapely.clip_by_rect(geom, *rect)
    if clipped.is_empty:
        return None
    local = shapely.transform(clipped, lambda c: (c * n - (x, y)) * EXTENT)
    local = local.simplify(TOLERANCE, preserve_topology=True)
    try:
        local = shapely.set_precision(local, 1.0)
    except shapely.errors.GEOSException:  # a polygon that self-touches once snapped
        local = shapely.set_precision(shapely.make_valid(local), 1.0)
    lines: list[list[tuple[int, int]]] = []
    rings: list[list[tuple[int, int]]] = []
    for part in shapely.get_parts(local):
        if isinstance(part, Polygon) and not part.is_empty:
            part = orient(part, sign=1.0)
            for ring in (part.exterior, *part.interiors):
                coords = [(int(a), int(b)) for a, b in ring.coords[:-1]]
                if len(coords) >= 3:
                    rings.append(coords)
        elif isinstance(part, LineString) and not part.is_empty:
            coords = [(int(a), int(b)) for a, b in part.coords]
            if len(coords) >= 2:
                lines.append(coords)
    if rings:
        return enc.polygon(props, rings)
    if lines:
        return enc.line(props, lines)
    return None
