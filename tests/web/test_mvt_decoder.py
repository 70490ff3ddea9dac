# SPDX-License-Identifier: GPL-3.0-or-later
"""The hand-written MVT encoder (geo/mvt.py) checked feature by feature against
mapbox-vector-tile's decoder (issue 23, 2), an implementation of the spec that is not ours:
points, lines and polygons with holes, every kind of property value, drawn by hypothesis;
and real tiles of the basemap, decoded by it and by GDAL's MVT driver alike."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pyogrio.raw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mineaction.geo import mvt
from mineaction.web import basemap

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
VALUES = st.one_of(
    st.text(max_size=20),  # any Unicode: place names in every script
    st.booleans(),
    st.integers(min_value=0, max_value=2**63 - 1),  # uint_value
    st.integers(min_value=-(2**62), max_value=-1),  # sint_value
    st.floats(allow_nan=False, allow_infinity=False),
)
PROPS = st.dictionaries(KEYS, VALUES, max_size=6)
UNIT = st.floats(min_value=0, max_value=0.999, allow_nan=False)
XY = st.tuples(st.integers(-64, 4160), st.integers(-64, 4160))


def decode(tile: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(tile, default_options={"y_coord_down": True})


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (isinstance(a, float) and a == b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(PROPS, UNIT, UNIT), min_size=1, max_size=12))
def test_points_and_every_kind_of_value_decode_as_written(features: list[Any]) -> None:
    enc = mvt.LayerEncoder()
    tile = enc.tile("points", [enc.point(list(p.items()), x, y) for p, x, y in features])
    got = decode(tile)["points"]
    assert got["extent"] == mvt.EXTENT and got["version"] == 2
    assert len(got["features"]) == len(features)
    for (props, x, y), f in zip(features, got["features"], strict=True):
        assert f["geometry"] == {"type": "Point", "coordinates": [round(x * mvt.EXTENT),
                                                                  round(y * mvt.EXTENT)]}
        assert f["properties"].keys() == props.keys()
        for key, value in props.items():
            assert _same_value(value, f["properties"][key]), (key, value, f["properties"][key])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(XY, min_size=2, max_size=8), min_size=1, max_size=4), PROPS)
def test_lines_decode_as_written(lines: list[list[tuple[int, int]]],
                                 props: dict[str, Any]) -> None:
    enc = mvt.LayerEncoder()
    feature = enc.line(list(props.items()), lines)
    assert feature is not None
    (f,) = decode(enc.tile("rivers", [feature]))["rivers"]["features"]
    coords = [[list(p) for p in line] for line in lines]
    if len(lines) == 1:
        assert f["geometry"] == {"type": "LineString", "coordinates": coords[0]}
    else:
        assert f["geometry"] == {"type": "MultiLineString", "coordinates": coords}


def _square(x: int, y: int, side: int, clockwise: bool) -> list[tuple[int, int]]:
    """A square's ring without its closing vertex; clockwise as drawn with y down is
    positive area in tile coordinates, the spec's exterior."""
    ring = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    return ring if clockwise else ring[::-1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.booleans()),
                min_size=1, max_size=5, unique_by=lambda t: (t[0], t[1])), PROPS)
def test_polygons_with_holes_decode_as_written(cells: list[tuple[int, int, bool]],
                                               props: dict[str, Any]) -> None:
    """Squares on a grid of 1000-unit cells, some with a hole: one exterior each, its
    hole after it, as the spec orders rings."""
    rings: list[list[tuple[int, int]]] = []
    expected: list[list[list[list[int]]]] = []
    for cx, cy, holed in cells:
        outer = _square(cx * 1000, cy * 1000, 800, clockwise=True)
        polygon = [outer]
        if holed:
            polygon.append(_square(cx * 1000 + 200, cy * 1000 + 200, 300, clockwise=False))
        rings.extend(polygon)
        expected.append([[list(p) for p in (*r, r[0])] for r in polygon])
    enc = mvt.LayerEncoder()
    feature = enc.polygon(list(props.items()), rings)
    assert feature is not None
    (f,) = decode(enc.tile("areas", [feature]))["areas"]["features"]
    if len(expected) == 1:
        assert f["geometry"] == {"type": "Polygon", "coordinates": expected[0]}
    else:
        assert f["geometry"] == {"type": "MultiPolygon", "coordinates": expected}


def test_nothing_to_draw_is_no_feature_and_an_empty_layer_no_bytes() -> None:
    enc = mvt.LayerEncoder()
    assert enc.polygon([], [[(0, 0), (1, 1)]]) is None  # a ring needs three vertices
    assert enc.line([], [[(0, 0)]]) is None
    assert enc.tile("empty", []) == b""


@pytest.mark.parametrize("zxy", [(3, 2, 3), (6, 18, 30), (8, 76, 123), (9, 322, 190),
                                 (10, 301, 495)])
def test_basemap_tiles_decode_alike_with_mapbox_vector_tile_and_gdal(
        zxy: tuple[int, int, int], tmp_path: Path) -> None:
    """Colombia and Azerbaijan at country and village zoom: the same layers, features and
    properties whichever decoder reads them."""
    z, x, y = zxy
    tile = basemap.basemap().tile(z, x, y)
    if tile[:2] == b"\x1f\x8b":
        tile = gzip.decompress(tile)
    ours = decode(tile)
    assert ours, f"tile {zxy} holds nothing"
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"  # GDAL reads z/x/y from the path
    path.parent.mkdir(parents=True)
    path.write_bytes(tile)
    layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    assert layers == set(ours)
    for name, layer in ours.items():
        # CLIP=NO: GDAL otherwise drops what lies wholly in the tile's buffer, past its edge
        meta, _, _, fields = pyogrio.raw.read(path, layer=name, CLIP="NO")
        names = [str(n) for n in meta["fields"]]
        rows = [{n: fields[j][i] for j, n in enumerate(names)}
                for i in range(len(fields[0]) if fields else 0)]
        if not rows:  # a layer without attributes: compare the count of features
            meta, _, wkb, _ = pyogrio.raw.read(path, layer=name, CLIP="NO")
            assert len(wkb) == len(layer["features"])
            continue
        assert len(rows) == len(layer["features"]), name
        for row, f in zip(rows, layer["features"], strict=True):
            for key, value in f["properties"].items():
                assert row[key] == value, (name, key, row[key], value)
