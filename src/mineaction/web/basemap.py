"""The offline basemap: Natural Earth 1:50m admin-0 countries (public domain), shipped in
mineaction/data/, with only the outline and the name kept. Served whole as GeoJSON (for
other clients) and cut into vector tiles for the map (issue 4).

Detail (issue 21): Natural Earth 1:10m land, lakes, rivers and populated places
(mineaction/data/ne10m_*.geojson.gz, built by scripts/build_basemap_data.py) travel in
the same tiles as layers `land`, `lakes`, `rivers` and `places` (web/basemap_layers.py),
up to zoom MAX_ZOOM, past which the map over-zooms. Rivers and lakes appear one zoom
before Natural Earth's own `min_zoom` for them, places at it: fewer and larger ones
zoomed out.

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
import math
import threading
from collections import OrderedDict
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import Polygon, mapping, shape
from shapely.geometry.polygon import orient

from mineaction.geo import mvt
from mineaction.geo.mvt import BUFFER, TOLERANCE, mercator
from mineaction.http import heap
from mineaction.web.basemap_layers import Feature, TileLayer, clean_name, explode

DATA = Path(__file__).parents[1] / "data"
SOURCE = DATA / "countries_ne50m.geojson"
MAX_ZOOM = 10
LAYER = "countries"


def _detail(name: str) -> list[tuple[Any, dict[str, Any]]]:
    """(geometry, properties) of one detail layer. Read by GDAL (pyogrio, straight from
    the gzip): half the time of json.loads and shapely.shape over 7,000 places."""
    path = DATA / f"ne10m_{name}.geojson.gz"
    if not path.exists():  # a trimmed install: the countries alone
        return []
    meta, _, wkb, fields = pyogrio.raw.read(f"/vsigzip/{path}")
    geoms = shapely.from_wkb(wkb)
    names = list(meta["fields"])
    return [(g, {k: _value(fields[j][i]) for j, k in enumerate(names)})
            for i, g in enumerate(geoms) if g is not None]


def _value(v: Any) -> Any:
    """A field's value as JSON would give it: None for GDAL's nulls (NaN)."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if hasattr(v, "item") else v


def _first_zoom(props: dict[str, Any], before: int = 1) -> float:
    """`before` zooms before Natural Earth's rounded `min_zoom` (a river of 6.7 from zoom
    6). Places keep Natural Earth's own (`before=0`): a label costs the map's layout and
    placement on every zoom, and a town one zoom early put 2,400 more of them in every
    country-zoom tile (the first render 0.4 s and each pan or zoom 0.2 s slower on a
    2-core laptop)."""
    return max(0.0, round(props.get("min_zoom") or 0) - before)


def place_rank(props: dict[str, Any]) -> int:
    """Smaller first: Natural Earth's scale rank, then the larger population (the labels'
    sort key, so a capital keeps its label where it collides with a town's)."""
    pop = int(props.get("pop_max") or 0)
    return int(props.get("scalerank") or 0) * 1000 + 999 - min(999, pop // 20_000)


def detail_layers() -> list[TileLayer]:
    land = [Feature(g, ()) for g, _ in _detail("land")]
    named = {}
    for layer in ("lakes", "rivers"):
        named[layer] = [Feature(g, (("name", clean_name(p.get("name"))),
                                    ("scalerank", int(p.get("scalerank") or 0))),
                                _first_zoom(p))
                        for g, p in _detail(layer)]
    places = []
    for g, p in _detail("places"):
        places.append(Feature(g,
                              (("name", clean_name(p.get("name"))), ("rank", place_rank(p)),
                               ("scalerank", int(p.get("scalerank") or 0)),
                               ("labelrank", int(p.get("labelrank") or 0)),
                               ("pop_max", int(p.get("pop_max") or 0))),
                              _first_zoom(p, before=0)))
    return [TileLayer("land", explode(land)), TileLayer("lakes", explode(named["lakes"])),
            TileLayer("rivers", explode(named["rivers"])), TileLayer("places", places)]


class Basemap:
    def __init__(self, source: Path = SOURCE, cached_tiles: int = 4096,
                 detail: bool = True) -> None:
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
        self.detail = detail_layers() if detail else []
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
        data = self._cut(z, x, y) + b"".join(layer.encode(z, x, y) for layer in self.detail)
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
    ahead would compete for the CPU with the first visitor's own requests. Built with the
    cyclic collector paused, then what is alive is frozen out of its full passes
    (http/heap.py: each took 120-220 ms in which no request ran)."""
    threading.Thread(target=_build_and_freeze, name="basemap-warm-up", daemon=True).start()


def _build_and_freeze() -> None:
    # Once a process: a later app (tests build many) finds it built and freezes nothing,
    # which would keep that moment's garbage cycles for good.
    if _basemap.cache_info().currsize:
        return
    with heap.collector_paused():
        basemap()
    heap.freeze_long_lived()
