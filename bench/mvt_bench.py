"""Our MVT encoder (geo/mvt.py) against mapbox-vector-tile's `encode` (issue 23, 2): the
issue keeps the hand-written encoder only if the library is not as fast. Both encode the
same features in the same run: those of real basemap tiles (Natural Earth countries,
land, lakes, rivers and places over Colombia and Azerbaijan, zooms 3 to 10), decoded
once to tile coordinates and handed to each encoder as its input (rings and lines in
tile units for ours, shapely geometries in tile units for the library, with
quantize_bounds off and y down, so it does no projecting either).

    python bench/mvt_bench.py               # bench/results/mvt_bench.json
    python bench/mvt_bench.py --rounds 3 --json /tmp/m.json

Prints the tiles a second each way and their ratio, and checks that the library decodes
our tiles to the same features it decodes its own to (so the race is for equal output).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, load_average, machine, stamp, table, write_json  # noqa: E402

# (z, x, y): Colombia and Azerbaijan, from country to village zoom
TILES = [(3, 2, 3), (4, 4, 7), (5, 9, 15), (6, 18, 30), (7, 37, 61), (8, 76, 123),
         (9, 152, 247), (10, 301, 495), (5, 20, 11), (6, 41, 23), (7, 83, 47), (8, 166, 95),
         (9, 322, 190)]


def features_of(tile: bytes) -> dict[str, list[dict[str, Any]]]:
    import mapbox_vector_tile

    if tile[:2] == b"\x1f\x8b":
        tile = gzip.decompress(tile)
    decoded = mapbox_vector_tile.decode(tile, default_options={"y_coord_down": True})
    return {name: layer["features"] for name, layer in decoded.items()}


def ours(layers: dict[str, list[dict[str, Any]]]) -> bytes:
    from mineaction.geo import mvt

    out = bytearray()
    for name, features in layers.items():
        enc = mvt.LayerEncoder()
        encoded = []
        for f in features:
            g, props = f["geometry"], list(f["properties"].items())
            kind, coords = g["type"], g["coordinates"]
            if kind == "Point":
                encoded.append(enc.point(props, coords[0] / mvt.EXTENT,
                                         coords[1] / mvt.EXTENT))
            elif kind in ("LineString", "MultiLineString"):
                lines = [coords] if kind == "LineString" else coords
                encoded.append(enc.line(props, [[tuple(p) for p in ln] for ln in lines]))
            else:
                polygons = [coords] if kind == "Polygon" else coords
                rings = [[tuple(p) for p in ring[:-1]] for poly in polygons for ring in poly]
                encoded.append(enc.polygon(props, rings))
        out += enc.tile(name, [e for e in encoded if e is not None])
    return bytes(out)


def library(layers: dict[str, list[dict[str, Any]]]) -> bytes:
    import mapbox_vector_tile
    from shapely.geometry import shape

    data = [{"name": name, "features": [{"geometry": shape(f["geometry"]),
                                         "properties": f["properties"]} for f in features]}
            for name, features in layers.items()]
    return mapbox_vector_tile.encode(data, default_options={
        "y_coord_down": True, "extents": 4096, "quantize_bounds": None,
        "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid})


def rate(encode: Any, inputs: list[Any], seconds: float) -> float:
    """Tiles encoded a second, over whole passes of `inputs` for about `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        for layers in inputs:
            encode(layers)
        done += len(inputs)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="per round and encoder")
    parser.add_argument("--json", help="default bench/results/mvt_bench.json")
    args = parser.parse_args()

    from mineaction.web import basemap

    base = basemap.basemap()
    inputs = [features_of(base.tile(*zxy)) for zxy in TILES]
    inputs = [i for i in inputs if i]
    n_features = sum(len(f) for layers in inputs for f in layers.values())
    # equal output first: the library decodes ours and its own to the same features
    for layers in inputs:
        a, b = features_of(ours(layers)), features_of(library(layers))
        assert a.keys() == b.keys()
        for name in a:
            assert len(a[name]) == len(b[name]), name
            for fa, fb in zip(a[name], b[name], strict=True):
                assert fa["properties"] == fb["properties"]
    mine, theirs = [], []
    for _ in range(args.rounds):  # alternating, so a busy spell falls on both
        mine.append(rate(ours, inputs, args.seconds))
        theirs.append(rate(library, inputs, args.seconds))
    m, t = statistics.median(mine), statistics.median(theirs)
    rows = [["ours (geo/mvt.py)", f"{m:,.0f}", "1.00"],
            ["mapbox-vector-tile 2.2.0", f"{t:,.0f}", f"{m / t:.2f}"]]
    print(f"{len(inputs)} basemap tiles, {n_features:,} features; median of "
          f"{args.rounds} rounds of {args.seconds:.0f} s each")
    print(table(["encoder", "tiles/s", "ours x faster"], rows))
    verdict = "keep ours" if m >= t else "replace ours with the library"
    print(f"verdict: {verdict} (ours {m / t:.2f}x the library's rate)")
    write_json(Path(args.json) if args.json else RESULTS / "mvt_bench.json", {
        "benchmark": "mvt_bench", "when": stamp(), "machine": machine(),
        "load_average": load_average(), "tiles": len(inputs), "features": n_features,
        "ours_tiles_per_s": m, "library_tiles_per_s": t, "ratio": m / t,
        "rounds": {"ours": mine, "library": theirs}, "verdict": verdict})


if __name__ == "__main__":
    main()
