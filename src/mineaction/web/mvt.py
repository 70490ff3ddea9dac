"""A Mapbox Vector Tile writer for what the map draws: points (web/tiles.py) and polygons
(web/basemap.py), after the MVT 2.1 spec
(https://github.com/mapbox/vector-tile-spec/tree/master/2.1); lines for the detail
basemap's rivers (issue 21). A tile of several layers is their tiles concatenated (each
is one `layers` field of the Tile message).

Written by hand, a hundred lines of protobuf: the packages that write MVT bring a protobuf
runtime or GDAL bindings for what is, for us, one message type. Coordinates come in tile
units (0..1 across the tile, y down) and are rounded to EXTENT steps.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

EXTENT = 4096  # coordinates per tile side (the spec's default)
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
        cx = cy = 0
        for ring in rings:
            if len(ring) < 3:
                continue
            x, y = ring[0]
            _varint(_command(_MOVE_TO, 1), geom)
            _varint(_zigzag(x - cx), geom)
            _varint(_zigzag(y - cy), geom)
            cx, cy = x, y
            _varint(_command(_LINE_TO, len(ring) - 1), geom)
            for x, y in ring[1:]:
                _varint(_zigzag(x - cx), geom)
                _varint(_zigzag(y - cy), geom)
                cx, cy = x, y
            _varint(_command(_CLOSE_PATH, 1), geom)
        if not geom:
            return None
        return self._feature(props, POLYGON, geom)

    def line(self, props: Sequence[tuple[str, Any]],
             lines: Sequence[Sequence[tuple[int, int]]]) -> bytes | None:
        """A (multi)linestring from lines already in EXTENT units (rivers, issue 21).
        None when no line of two vertices or more is left."""
        geom = bytearray()
        cx = cy = 0
        for line in lines:
            if len(line) < 2:
                continue
            x, y = line[0]
            _varint(_command(_MOVE_TO, 1), geom)
            _varint(_zigzag(x - cx), geom)
            _varint(_zigzag(y - cy), geom)
            cx, cy = x, y
            _varint(_command(_LINE_TO, len(line) - 1), geom)
            for x, y in line[1:]:
                _varint(_zigzag(x - cx), geom)
                _varint(_zigzag(y - cy), geom)
                cx, cy = x, y
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
