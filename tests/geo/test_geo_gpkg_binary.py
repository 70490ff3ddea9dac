# SPDX-License-Identifier: GPL-3.0-or-later
import math
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pyogrio.raw
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
from shapely.geometry.base import BaseGeometry

from mineaction.geo import gpkg_binary
from mineaction.geo.gpkg_binary import (
    SQLITE_FUNCTIONS,
    decode,
    encode,
    encode_points,
    envelope,
    is_empty,
)

HAZARD = Polygon(
    [(-74.09, 4.60), (-74.08, 4.60), (-74.08, 4.61), (-74.09, 4.61)],
    holes=[[(-74.087, 4.603), (-74.084, 4.603), (-74.084, 4.606)]],
)
GEOMETRIES = [
    Point(-74.0817, 4.6097),
    Point(-74.0817, 4.6097, 2600.0),
    LineString([(0, 0), (1, 1), (2, 0)]),
    HAZARD,
    MultiPolygon([HAZARD, box(10, 10, 11, 11)]),
    GeometryCollection([Point(1, 2), LineString([(0, 0), (3, 3)])]),
]


@pytest.mark.parametrize("geom", GEOMETRIES, ids=lambda g: g.geom_type)
def test_round_trip(geom: BaseGeometry) -> None:
    blob = encode(geom)
    decoded = decode(blob)
    assert decoded is not None
    assert shapely.equals_exact(decoded, geom, tolerance=0)
    assert decoded.has_z == geom.has_z
    assert not is_empty(blob)


@pytest.mark.parametrize("geom", [Point(), Polygon(), LineString(), GeometryCollection()])
def test_empty_geometries(geom: BaseGeometry) -> None:
    blob = encode(geom)
    assert blob[3] == 0x11  # little endian, no envelope, empty flag
    assert is_empty(blob)
    assert envelope(blob) is None
    decoded = decode(blob)
    assert decoded is not None and decoded.is_empty
    assert decoded.geom_type == geom.geom_type


def test_point_header_has_no_envelope() -> None:
    blob = encode(Point(-74.0817, 4.6097), srs_id=4326)
    assert len(blob) == 8 + 21
    assert blob[:4] == b"GP\x00\x01"
    assert struct.unpack_from("<i", blob, 4) == (4326,)
    assert envelope(blob) == (-74.0817, -74.0817, 4.6097, 4.6097)


def test_polygon_header_has_xy_envelope() -> None:
    blob = encode(HAZARD, srs_id=32618)
    assert blob[:4] == b"GP\x00\x03"
    assert struct.unpack_from("<i", blob, 4) == (32618,)
    assert struct.unpack_from("<4d", blob, 8) == (-74.09, -74.08, 4.60, 4.61)
    assert envelope(blob) == (-74.09, -74.08, 4.60, 4.61)


def test_envelope_of_big_endian_header() -> None:
    wkb = shapely.to_wkb(LineString([(1, 2), (3, 4)]), byte_order=0)
    blob = struct.pack(">2sBBi4d", b"GP", 0, 0x02, 4326, 1.0, 3.0, 2.0, 4.0) + wkb
    assert envelope(blob) == (1.0, 3.0, 2.0, 4.0)
    decoded = decode(blob)
    assert decoded is not None and decoded.equals(LineString([(1, 2), (3, 4)]))


def test_envelope_of_big_endian_point_wkb() -> None:
    blob = struct.pack("<2sBBi", b"GP", 0, 0x01, 4326) + shapely.to_wkb(Point(5, 6), byte_order=0)
    assert envelope(blob) == (5.0, 5.0, 6.0, 6.0)


def test_envelope_falls_back_to_parsing_when_the_header_has_none() -> None:
    line = LineString([(1, 2), (3, -4)])
    blob = struct.pack("<2sBBi", b"GP", 0, 0x01, 4326) + shapely.to_wkb(line, byte_order=1)
    assert envelope(blob) == (1.0, 3.0, -4.0, 2.0)


def test_envelope_of_a_point_z_uses_the_fast_path() -> None:
    blob = encode(Point(1, 2, 3))
    assert struct.unpack_from("<I", blob, 9) == (1001,)
    assert envelope(blob) == (1.0, 1.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"XX\x00\x01\xe6\x10\x00\x00", "does not start with 'GP'"),
        (b"GP", "does not start with 'GP'"),
        (b"GP\x01\x01\xe6\x10\x00\x00", "version 1 is not supported"),
        (b"GP\x00\x21\xe6\x10\x00\x00", "extended"),
        (b"GP\x00\x0b\xe6\x10\x00\x00", "invalid envelope contents indicator 5"),
    ],
)
def test_bad_blobs_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(blob)
    with pytest.raises(ValueError, match=message):
        envelope(blob)


def test_decode_null() -> None:
    assert decode(None) is None


def test_encode_points_matches_encode() -> None:
    lons = np.array([-74.0817, 0.0, -0.0, 180.0, np.nan, 3.5])
    lats = np.array([4.6097, 0.0, 0.0, -90.0, 1.0, np.nan])
    blobs = encode_points(lons, lats, srs_id=4326)
    assert all(type(blob) is bytes and len(blob) == 29 for blob in blobs)
    for blob, x, y in zip(blobs[:4], lons[:4], lats[:4], strict=True):
        assert blob == encode(Point(x, y))
    # NaN in either coordinate is an empty point, flagged as such.
    assert blobs[4] == blobs[5] == encode(Point())
    assert is_empty(blobs[4])


def test_encode_points_other_srs_and_errors() -> None:
    (blob,) = encode_points([600000.0], [500000.0], srs_id=32618)
    assert blob == encode(Point(600000, 500000), srs_id=32618)
    assert encode_points(np.array([]), np.array([])) == []
    with pytest.raises(ValueError, match="1-D and of one length"):
        encode_points(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        encode_points([math.inf], [0.0])


def test_sqlite_functions_follow_sql_null_semantics() -> None:
    blob = encode(HAZARD)
    names = ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")
    assert [SQLITE_FUNCTIONS[name](blob) for name in names] == [-74.09, -74.08, 4.60, 4.61]
    assert SQLITE_FUNCTIONS["ST_IsEmpty"](blob) == 0
    assert SQLITE_FUNCTIONS["ST_IsEmpty"](encode(Point())) == 1
    assert all(function(None) is None for function in SQLITE_FUNCTIONS.values())
    assert gpkg_binary.st_minx(encode(Polygon())) is None


def _write_with_gdal(path: Path, geometries: list[BaseGeometry]) -> None:
    wkb = np.array([shapely.to_wkb(g) for g in geometries], dtype=object)
    pyogrio.raw.write(
        path,
        wkb,
        field_data=[np.arange(len(geometries))],
        fields=["n"],
        layer="things",
        driver="GPKG",
        geometry_type="Unknown",
        crs="EPSG:4326",
    )


def test_gdal_writes_the_same_bytes_and_we_decode_them(tmp_path: Path) -> None:
    path = tmp_path / "gdal.gpkg"
    geometries = [Point(-74.0817, 4.6097), HAZARD]
    _write_with_gdal(path, geometries)
    with sqlite3.connect(path) as connection:
        blobs = [row[0] for row in connection.execute("SELECT geom FROM things ORDER BY fid")]
    connection.close()
    for blob, geom in zip(blobs, geometries, strict=True):
        assert blob == encode(geom)  # byte for byte: points without envelope, others with
        decoded = decode(blob)
        assert decoded is not None and shapely.equals_exact(decoded, geom, tolerance=0)


def test_gdal_reads_what_we_write_and_the_rtree_triggers_use_our_functions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ours.gpkg"
    _write_with_gdal(path, [Point(0, 0)])
    ours = [Point(-74.0817, 4.6097), HAZARD, Point()]
    connection = sqlite3.connect(path)
    for name, function in SQLITE_FUNCTIONS.items():
        connection.create_function(name, 1, function, deterministic=True)
    with connection:
        connection.executemany(
            "INSERT INTO things (geom, n) VALUES (?, ?)",
            [(encode(g), i) for i, g in enumerate(ours, start=1)],
        )
        connection.execute(
            "INSERT INTO things (geom, n) VALUES (?, 4)", encode_points([10.5], [-3.25])
        )
    rtree = dict(
        (row[0], row[1:])
        for row in connection.execute("SELECT id, minx, maxx, miny, maxy FROM rtree_things_geom")
    )
    connection.close()
    # The R-tree stores 32-bit floats rounded outwards, so compare loosely.
    assert set(rtree) == {1, 2, 3, 5}  # the empty point (fid 4) is not indexed
    minx, maxx, miny, maxy = rtree[3]
    assert minx <= -74.09 and maxx >= -74.08 and miny <= 4.60 and maxy >= 4.61
    assert rtree[3] == pytest.approx((-74.09, -74.08, 4.60, 4.61), abs=1e-4)
    assert rtree[5] == pytest.approx((10.5, 10.5, -3.25, -3.25))

    _, _, wkb, fields = pyogrio.raw.read(path, layer="things")
    read_back = shapely.from_wkb(wkb)
    assert shapely.equals_exact(read_back[1], ours[0], tolerance=0)
    assert shapely.equals_exact(read_back[2], ours[1], tolerance=0)
    assert read_back[3] is None or read_back[3].is_empty
    assert read_back[4].equals(Point(10.5, -3.25))
    assert list(fields[0]) == [0, 1, 2, 3, 4]


def test_points_xy_reads_many_blobs_at_once() -> None:
    lons, lats = [-74.08, 0.0, -75.5, 12.25], [4.6, 0.0, float("nan"), -1.0]
    x, y = gpkg_binary.points_xy(encode_points(lons, lats))
    np.testing.assert_array_equal(x, [-74.08, 0.0, np.nan, 12.25])
    np.testing.assert_array_equal(y, [4.6, 0.0, np.nan, -1.0])
    # Blobs of other layouts (GDAL's envelope, big endian, empty flag) take the slow path
    # and agree with decode().
    big = struct.pack(">2sBBi", b"GP", 0, 0, 4326) + b"\x00" + struct.pack(">I2d", 1, 3.5, -2.25)
    mixed = [encode(Point(1.5, 2.5)), big, encode(Point()), encode_points([7.0], [8.0])[0]]
    x, y = gpkg_binary.points_xy(mixed)
    np.testing.assert_array_equal(x, [1.5, 3.5, np.nan, 7.0])
    np.testing.assert_array_equal(y, [2.5, -2.25, np.nan, 8.0])
    x, y = gpkg_binary.points_xy([])
    assert x.shape == y.shape == (0,)
