"""The offline basemap: Natural Earth 1:50m admin-0 countries (public domain), shipped in
mineaction/data/, with only the outline and the name kept. Served whole as GeoJSON (for
other clients) and cut into vector tiles for the map (issue 4).

Why tiles: handed the whole world as GeoJSON, MapLibre's worker cut its tiles itself,
which held up the first render by 0.5 to 1.5 s on our 2-core machine. Cutting a tile here
is a clip of the few countries it touches (an STRtree finds them), done once per tile and
kept.

The outlines are simplified to ~1 km and rounded to 0.001 degree: a third fewer vertices,
invisible at the zooms where outlines are all there is (tiles stop at MAX_ZOOM; the map
over-zooms past it).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, mapping, shape
from shapely.geometry.polygon import orient

from mineaction.web import mvt
from mineaction.web.tiles import mercator

SOURCE = Path(__file__).parents[1] / "data" / "countries_ne50m.geojson"
MAX_ZOOM = 6
LAYER = "countries"
# Polygons reach this far past a tile's edge (in tile units: geojson-vt's 64 of 4096), so
# the outline of a clipped polygon runs outside the part of the tile that is drawn.
BUFFER = 64 / mvt.EXTENT
# Half a pixel of a 512-pixel tile, in EXTENT units: finer detail cannot be seen.
TOLERANCE = mvt.EXTENT / 512 / 2


class Basemap:
    def __init__(self, source: Path = SOURCE, cached_tiles: int = 1024) -> None:
        data = json.loads(source.read_text(encoding="utf-8"))
        self.names: list[str] = []
        geoms = []
        for feat in data["features"]:
            self.names.append((feat.get("properties") or {}).get("name") or "")
            geoms.append(shapely.set_precision(
                shape(feat["geometry"]).simplify(0.01, preserve_topology=True), 0.001))
        self.geoms = geoms
        # Web Mercator in world units (0..1 across, y down), as tiles count.
        self.world = shapely.transform(np.asarray(geoms, dtype=object), _to_world)
        self.tree = shapely.STRtree(self.world)
        self._tiles: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._size = cached_tiles
        self._lock = threading.Lock()

    @cached_property
    def geojson(self) -> bytes:
        """The whole basemap as GeoJSON; only built when asked for (half a second that
        the map, which draws tiles, does not need)."""
        return json.dumps(
            {"type": "FeatureCollection",
             "features": [{"type": "Feature", "geometry": mapping(g), "properties": {"name": n}}
                          for g, n in zip(self.geoms, self.names, strict=True)]},
            separators=(",", ":")).encode()

    def tile(self, z: int, x: int, y: int) -> bytes:
        key = (z, x, y)
        with self._lock:
            if key in self._tiles:
                self._tiles.move_to_end(key)
                return self._tiles[key]
        data = self._cut(z, x, y)
        with self._lock:
            self._tiles[key] = data
            while len(self._tiles) > self._size:
                self._tiles.popitem(last=False)
        return data

    def _cut(self, z: int, x: int, y: int) -> bytes:
        n = 1 << z
        rect = ((x - BUFFER) / n, (y - BUFFER) / n, (x + 1 + BUFFER) / n, (y + 1 + BUFFER) / n)
        enc = mvt.LayerEncoder()
        features = []
        for i in sorted(self.tree.query(shapely.box(*rect)).tolist()):
            clipped = shapely.clip_by_rect(self.world[i], *rect)
            if clipped.is_empty:
                continue
            # Into EXTENT units of this tile, simplified, snapped to whole units.
            local = shapely.transform(clipped, lambda c: (c * n - (x, y)) * mvt.EXTENT)
            local = local.simplify(TOLERANCE, preserve_topology=True)
            try:
                local = shapely.set_precision(local, 1.0)
            except shapely.errors.GEOSException:  # an outline that self-touches once snapped
                local = shapely.set_precision(shapely.make_valid(local), 1.0)
            rings = _rings(local)
            if rings:
                f = enc.polygon([("name", self.names[i])], rings)
                if f is not None:
                    features.append(f)
        return enc.tile(LAYER, features)


def _to_world(coords: Any) -> Any:
    mx, my = mercator(coords[:, 0], coords[:, 1])
    return np.column_stack([mx, my])


def _rings(geom: Any) -> list[list[tuple[int, int]]]:
    """Every polygon's rings in the spec's order and winding: in tile units (y down) an
    exterior has a positive surveyor's area, as shapely's orient(sign=1) makes it."""
    out: list[list[tuple[int, int]]] = []
    for part in shapely.get_parts(geom):
        if not isinstance(part, Polygon) or part.is_empty:
            continue
        part = orient(part, sign=1.0)
        for ring in (part.exterior, *part.interiors):
            coords = [(int(a), int(b)) for a, b in ring.coords[:-1]]
            if len(coords) >= 3:
                out.append(coords)
    return out


_warm_up = threading.Lock()


@cache
def _basemap() -> Basemap:
    return Basemap()


def basemap() -> Basemap:
    """The process's basemap, built by whoever asks first (about a second of CPU); the
    others wait for it rather than building their own."""
    with _warm_up:
        return _basemap()


def warm_up() -> None:
    """Build the basemap in a background thread when the app is built, so the first
    visitor's map does not wait for it (#4). Tiles are cut when first asked for: cutting
    ahead would compete for the CPU with the first visitor's own requests."""
    threading.Thread(target=basemap, name="basemap-warm-up", daemon=True).start()
