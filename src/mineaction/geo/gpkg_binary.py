# SPDX-License-Identifier: GPL-3.0-or-later
"""The OGC GeoPackage geometry BLOB (GeoPackage 1.3, clause 2.1.3), without SpatiaLite.

Layout: "GP", version 0, a flags byte, srs_id (int32), an optional envelope of doubles,
then ISO WKB. Flags: bit 0 byte order of the header (1 little endian); bits 1-3 envelope
contents (0 none, 1 [minx, maxx, miny, maxy], 2 adds z, 3 adds m, 4 adds z and m); bit 4
empty geometry; bit 5 extended (non-standard) geometry type.

envelope() and the st_* functions back the SQL functions that the gpkg_rtree_index
triggers call for every inserted or updated row, so they read the header with struct and
never build a shapely geometry when the envelope is in the header or the geometry is a
point (the two cases GDAL and encode() produce). They need struct only: numpy and shapely
load when a geometry is first encoded or decoded, so opening a store to count its records
(`mineaction info`) does not pay for them (issue 16, item 12).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry

Envelope = tuple[float, float, float, float]  # (minx, maxx, miny, maxy): the spec's order

_MAGIC = b"GP"
_FLAG_LITTLE_ENDIAN = 0x01
_FLAG_ENVELOPE_XY = 0x02  # envelope contents indicator 1, shifted into bits 1-3
_FLAG_EMPTY = 0x10
_FLAG_EXTENDED = 0x20
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)  # by envelope contents indicator 0..4
_HEADER = struct.Struct("<2sBBi")  # magic, version, flags, srs_id
_HEADER_BYTES = _HEADER.size  # 8
_ENVELOPE_XY = {True: struct.Struct("<4d"), False: struct.Struct(">4d")}
# WKB after the header: byte order (1 byte), then geometry type and, for points, x and y.
_POINT_WKB = {True: struct.Struct("<I2d"), False: struct.Struct(">I2d")}
_ISO_POINT_TYPES = frozenset({1, 1001, 2001, 3001})  # Point, Point Z, Point M, Point ZM


@cache
def _point_blob() -> Any:
    """One packed record per point blob: header without envelope + little-endian WKB point
    (a numpy dtype)."""
    import numpy as np

    return np.dtype(
        [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
         ("byte_order", "u1"), ("wkb_type", "<u4"), ("x", "<f8"), ("y", "<f8")]
    )  # fmt: skip


def encode(geom: BaseGeometry, srs_id: int = 4326) -> bytes:
    """GeoPackage BLOB for geom, little endian, as GDAL writes it.

    Points get no envelope (it would repeat the point, and GDAL omits it too); other
    geometries get [minx, maxx, miny, maxy]. Empty geometries get the empty flag and no
    envelope; an empty point's WKB holds NaN coordinates, as the spec requires.
    """
    import shapely
    from shapely.geometry import Point

    wkb = bytes(shapely.to_wkb(geom, byte_order=1, flavor="iso"))
    if geom.is_empty:
        return _HEADER.pack(_MAGIC, 0, _FLAG_LITTLE_ENDIAN | _FLAG_EMPTY, srs_id) + wkb
    if isinstance(geom, Point):
        return _HEADER.pack(_MAGIC, 0, _FLAG_LITTLE_ENDIAN, srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    header = _HEADER.pack(_MAGIC, 0, _FLAG_LITTLE_ENDIAN | _FLAG_ENVELOPE_XY, srs_id)
    return header + _ENVELOPE_XY[True].pack(minx, maxx, miny, maxy) + wkb


def encode_points(lons: npt.ArrayLike, lats: npt.ArrayLike, srs_id: int = 4326) -> list[bytes]:
    """Point BLOBs for many points at once, byte-identical to encode(Point(lon, lat)).

    Built as one numpy record array (8-byte header + 21-byte WKB point) and cut into
    bytes objects, so a million points take a fraction of a second instead of the several
    seconds a shapely round trip per point costs. NaN marks an empty point.
    """
    import numpy as np

    point_blob = _point_blob()
    x = np.asarray(lons, dtype=np.float64)
    y = np.asarray(lats, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"lons {x.shape} and lats {y.shape} must be 1-D and of one length")
    if np.isinf(x).any() or np.isinf(y).any():
        raise ValueError("point coordinates must be finite (or NaN for an empty point)")
    records = np.empty(x.shape, dtype=point_blob)
    records["magic"] = _MAGIC
    records["version"] = 0
    records["flags"] = _FLAG_LITTLE_ENDIAN
    records["srs_id"] = srs_id
    records["byte_order"] = 1
    records["wkb_type"] = 1
    records["x"] = x
    records["y"] = y
    empty = np.isnan(x) | np.isnan(y)
    if empty.any():
        records["flags"][empty] = _FLAG_LITTLE_ENDIAN | _FLAG_EMPTY
        records["x"][empty] = np.nan
        records["y"][empty] = np.nan
    # A void view's tolist() yields bytes objects without stripping trailing NUL bytes
    # (an "S29" view would strip them and corrupt any y ending in zero bytes, like 0.0).
    blobs = records.view(np.dtype((np.void, point_blob.itemsize))).tolist()
    return cast(list[bytes], blobs)


def points_xy(blobs: list[bytes]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """x and y of many point BLOBs at once; NaN for an empty geometry.

    When every BLOB has the layout encode_points() writes (29 bytes: no envelope, little
    endian), they are read as one numpy record array: 100,000 points in a few
    milliseconds, where the R-tree join that gave a map its points cost a third of a
    second. Any other BLOB (an envelope, big endian, not a point) is read one at a time.
    """
    import numpy as np

    point_blob = _point_blob()
    n = len(blobs)
    size = point_blob.itemsize
    if n and set(map(len, blobs)) == {size}:
        records = np.frombuffer(b"".join(blobs), dtype=point_blob)
        plain = ((records["magic"] == _MAGIC) & (records["version"] == 0)
                 & ((records["flags"] | _FLAG_EMPTY) == (_FLAG_LITTLE_ENDIAN | _FLAG_EMPTY))
                 & (records["byte_order"] == 1) & (records["wkb_type"] == 1))
        if plain.all():
            empty = (records["flags"] & _FLAG_EMPTY) != 0
            x = np.where(empty, np.nan, records["x"])
            y = np.where(empty, np.nan, records["y"])
            return x, y
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    for i, blob in enumerate(blobs):
        env = envelope(blob)
        if env is not None:
            x[i], y[i] = env[0], env[2]
    return x, y


def decode(blob: bytes | None) -> BaseGeometry | None:
    """The shapely geometry in a GeoPackage BLOB; None for a NULL column."""
    if blob is None:
        return None
    import shapely

    offset, _ = _header(blob)
    return shapely.from_wkb(bytes(blob[offset:]))


def decode_many(blobs: Sequence[bytes | None]) -> list[BaseGeometry | None]:
    """`decode` of each BLOB, in one call to shapely: a call a BLOB cost ~3 µs of
    shapely's scalar wrapping, most of a public site check's read of a few hundred
    accidents (issue 20). The same headers checked, the same geometries."""
    import numpy as np
    import shapely

    point_blob = _point_blob()
    if blobs and all(blob is not None and len(blob) == point_blob.itemsize
                     for blob in blobs):
        # points as encode_points writes them, read as one record array (`points_xy`);
        # any other layout, or an empty point (flagged, or NaN), is left to from_wkb
        records = np.frombuffer(b"".join(cast(list[bytes], blobs)), dtype=point_blob)
        x, y = records["x"], records["y"]
        if bool(((records["magic"] == _MAGIC) & (records["version"] == 0)
                 & (records["flags"] == _FLAG_LITTLE_ENDIAN) & (records["byte_order"] == 1)
                 & (records["wkb_type"] == 1)).all()) \
                and not (np.isnan(x).any() or np.isnan(y).any()):
            return list(shapely.points(x, y))
    wkbs = np.empty(len(blobs), dtype=object)
    for i, blob in enumerate(blobs):
        if blob is not None:
            wkbs[i] = bytes(blob[_header(blob)[0]:])
    return list(shapely.from_wkb(wkbs))


def envelope(blob: bytes) -> Envelope | None:
    """(minx, maxx, miny, maxy) of a BLOB, or None for an empty geometry.

    Reads the header envelope when there is one and the x, y of a point otherwise;
    only other geometries written without an envelope are parsed in full.
    """
    offset, flags = _header(blob)
    if flags & _FLAG_EMPTY:
        return None
    if offset > _HEADER_BYTES:
        minx, maxx, miny, maxy = _ENVELOPE_XY[bool(flags & _FLAG_LITTLE_ENDIAN)].unpack_from(
            blob, _HEADER_BYTES
        )
        return minx, maxx, miny, maxy
    if len(blob) >= _HEADER_BYTES + 21:
        wkb_type, x, y = _POINT_WKB[blob[_HEADER_BYTES] == 1].unpack_from(blob, _HEADER_BYTES + 1)
        if wkb_type in _ISO_POINT_TYPES:
            return None if x != x or y != y else (x, x, y, y)  # NaN: an empty point
    geom = decode(blob)
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def wkb_offset(blob: bytes) -> int:
    """Where the WKB starts in a BLOB (after the header and its envelope)."""
    return _header(blob)[0]


def is_empty(blob: bytes) -> bool:
    """Whether the BLOB's header flags an empty geometry."""
    _, flags = _header(blob)
    return bool(flags & _FLAG_EMPTY)


def st_minx(blob: bytes | None) -> float | None:
    """SQL ST_MinX for the R-tree triggers: NULL for NULL or empty geometries."""
    return None if blob is None or (box := envelope(blob)) is None else box[0]


def st_maxx(blob: bytes | None) -> float | None:
    """SQL ST_MaxX, as st_minx."""
    return None if blob is None or (box := envelope(blob)) is None else box[1]


def st_miny(blob: bytes | None) -> float | None:
    """SQL ST_MinY, as st_minx."""
    return None if blob is None or (box := envelope(blob)) is None else box[2]


def st_maxy(blob: bytes | None) -> float | None:
    """SQL ST_MaxY, as st_minx."""
    return None if blob is None or (box := envelope(blob)) is None else box[3]


def st_isempty(blob: bytes | None) -> int | None:
    """SQL ST_IsEmpty: 1 or 0, NULL for NULL."""
    return None if blob is None else int(is_empty(blob))


# Register on every connection with
#   for name, function in SQLITE_FUNCTIONS.items():
#       connection.create_function(name, 1, function, deterministic=True)
SQLITE_FUNCTIONS: Mapping[str, Callable[[bytes | None], float | int | None]] = MappingProxyType(
    {"ST_MinX": st_minx, "ST_MaxX": st_maxx, "ST_MinY": st_miny, "ST_MaxY": st_maxy,
     "ST_IsEmpty": st_isempty}
)  # fmt: skip


def _header(blob: bytes) -> tuple[int, int]:
    """(offset of the WKB, flags), after checking the header can be read."""
    if len(blob) < _HEADER_BYTES or blob[:2] != _MAGIC:
        raise ValueError("not a GeoPackage geometry: the BLOB does not start with 'GP'")
    if blob[2] != 0:
        raise ValueError(f"GeoPackage geometry version {blob[2]} is not supported (only 0)")
    flags = blob[3]
    if flags & _FLAG_EXTENDED:
        raise ValueError("extended GeoPackage geometry types are not supported")
    indicator = (flags >> 1) & 0x07
    if indicator >= len(_ENVELOPE_BYTES):
        raise ValueError(f"invalid envelope contents indicator {indicator} in the flags")
    return _HEADER_BYTES + _ENVELOPE_BYTES[indicator], flags
