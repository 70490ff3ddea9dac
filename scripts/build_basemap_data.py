# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the detail basemap's data (issue 21) from Natural Earth 1:10m in ../shared/data/world/
into src/mineaction/data/ne10m_<layer>.geojson.gz.

Only what the map draws is kept (name and ranks), coordinates rounded to 1e-4 degrees
(~11 m, finer than the 1:10m source's own accuracy), lines and polygons simplified by
0.0005 degrees (~50 m, under a pixel up to zoom 11), and gzipped: the four layers cost
about 5 MB of the repository instead of 43 MB. Run it again only if the source changes:

    .venv/bin/python scripts/build_basemap_data.py ../shared/data/world
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape

OUT = Path(__file__).parents[1] / "src" / "mineaction" / "data"
LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "land": ("ne_10m_land.geojson", ("scalerank", "min_zoom")),
    "lakes": ("ne_10m_lakes.geojson", ("name", "scalerank", "min_zoom")),
    "rivers": ("ne_10m_rivers_lake_centerlines.geojson", ("name", "scalerank", "min_zoom")),
    "places": ("ne_10m_populated_places_simple.geojson",
               ("name", "scalerank", "labelrank", "pop_max", "min_zoom", "adm0name")),
}
TOLERANCE = 0.0005
GRID = 1e-4


def _geometry(geom: Any) -> Any:
    g = shape(geom)
    if g.geom_type != "Point":
        g = g.simplify(TOLERANCE, preserve_topology=True)
    g = shapely.set_precision(g, GRID)
    if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_valid:
        g = shapely.make_valid(g)
    return mapping(g)


def build(source: Path) -> None:
    for layer, (name, keep) in LAYERS.items():
        data = json.loads((source / name).read_text(encoding="utf-8"))
        features = []
        for feat in data["features"]:
            if not feat.get("geometry"):
                continue
            props = feat.get("properties") or {}
            features.append({"type": "Feature", "geometry": _geometry(feat["geometry"]),
                             "properties": {k: props.get(k) for k in keep}})
        body = json.dumps({"type": "FeatureCollection", "features": features},
                          separators=(",", ":"), ensure_ascii=False)
        # Fixed mtime: the same source gives the same bytes (no spurious diffs).
        path = OUT / f"ne10m_{layer}.geojson.gz"
        path.write_bytes(gzip.compress(body.encode(), compresslevel=9, mtime=0))
        print(f"{path.name}: {len(features)} features, {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/world"))
