"""Point layers as Mapbox Vector Tiles, clustered on the server (issue 4).

Why tiles: with 100,000 accidents, handing MapLibre every point as GeoJSON and letting it
cluster them (supercluster, in its web worker) cost 2-3 s of the first render on our
2-core machine, more than the query and the transfer together. Here the server keeps the
visible points of a layer in numpy arrays (`PointIndex`, built once from
`services.maps.point_layer`, so the same visibility rules and the same generalisation of public
accident locations apply) and cuts each requested tile from them: a few hundred clusters
at a country-wide zoom, the points themselves past `CLUSTER_MAX_ZOOM`. The browser then
decodes a handful of small tiles instead of indexing every point.

Clustering is a grid: at zoom z a tile is cut into GRID x GRID cells (64 px of a 512 px
tile, about the 45 px radius the browser clustering used) and the points of a cell make
one cluster, drawn at their mean position, kept inside its cell far enough that
neighbouring clusters never overlap. A cell never straddles two tiles, so a cluster is the
same in every tile that draws it (its `cid` says which cell it is). A cell holding one
point sends the point itself. The clusters of a zoom are grouped once for the whole layer
(`_level`), and a tile once cut is kept with its index.

Indexes are cached per (layer, who may see what, filters) and keyed by a data version
(row count and sum of record versions of the tables involved: every write bumps one or
the other, `Store.update`/`delete`), so a second visit, or a pan, costs no query.

The tiles are written by geo/mvt.py.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mineaction.access.visibility import Access
from mineaction.geo import mvt
from mineaction.geo.mvt import mercator
from mineaction.services import maps
from mineaction.store import Store

GRID = 8  # cluster cells per tile side: 64 px cells in MapLibre's 512 px tiles
CLUSTER_MAX_ZOOM = 11  # from 12 on, points are drawn one by one (as the browser did)
MAX_ZOOM = 12  # tiles past this are over-zoomed by MapLibre from the zoom-12 tile
# Features this close outside a tile (a fraction of its side: 32 px) are kept in it too,
# so a circle on a tile border is not cut in half.
BUFFER = 1 / 16
# Tables whose rows a layer shows (accidents carry their victims' casualties).
DEPENDS = {"accidents": ("accident", "victim"), "finds": ("find",),
           "risk-education": ("risk_education",)}


@dataclass(frozen=True)
class Level:
    """The grid clusters of one zoom, sorted west to east by their mean position (world
    units), with the global cell of each, its point count and sums, and (for cells of one
    point) that point."""

    mx: np.ndarray
    my: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    count: np.ndarray
    killed: np.ndarray | None
    injured: np.ndarray | None
    first: np.ndarray


@dataclass(frozen=True)
class PointIndex:
    """The visible points of a layer: Web Mercator position (0..1 across the world, y
    down), what a point feature carries, and the summary the page needs first."""

    layer: str
    token: str
    count: int
    bounds: tuple[float, float, float, float] | None
    mx: np.ndarray
    my: np.ndarray
    fid: np.ndarray
    killed: np.ndarray | None
    injured: np.ndarray | None
    coded: dict[str, tuple[list[Any], np.ndarray]]
    # Tiles already cut from this index: a tile of the same data is the same bytes, and
    # the zooms every visitor passes through are cut once.
    cut: dict[tuple[int, int, int], bytes] = field(default_factory=dict, compare=False,
                                                   repr=False)
    # The clusters of each zoom, grouped once for the whole layer when a tile of that zoom
    # is first asked for (`_level`).
    levels: dict[int, Level] = field(default_factory=dict, compare=False, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)


def data_version(store: Store, layer: str) -> str:
    """Changes whenever a record the layer draws is added, changed or deleted: inserts
    change the count, every update or (soft) delete raises a record's version."""
    return maps.data_version(store, DEPENDS[layer])


def build_index(store: Store, access: Access, layer: str, f: maps.MapFilters, token: str
                ) -> PointIndex:
    cols = maps.point_layer(store, access, layer, f)
    lon = np.asarray(cols["lon"], dtype=float)
    lat = np.asarray(cols["lat"], dtype=float)
    bounds = None
    if len(lon):
        bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    mx, my = mercator(lon, lat)
    # Sorted west to east, so a tile finds its column of points by binary search instead
    # of testing every point (pans and zooms ask for many tiles).
    order = np.argsort(mx, kind="stable")
    coded = {name: (c["values"], np.asarray(c["codes"], dtype=np.int32)[order])
             for name, c in cols["coded"].items()}
    killed = injured = None
    if "killed" in cols:
        killed = np.asarray(cols["killed"], dtype=np.int64)[order]
        injured = np.asarray(cols["injured"], dtype=np.int64)[order]
    return PointIndex(layer=layer, token=token, count=int(cols["count"]), bounds=bounds,
                      mx=mx[order], my=my[order],
                      fid=np.asarray(cols["fid"], dtype=np.int64)[order],
                      killed=killed, injured=injured, coded=coded)


class LayerCache:
    """A few recent indexes (least recently used dropped first), one per (layer, who may
    see what, filters). Lives on the app (app.state.web_layers), not in the module."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], PointIndex] = OrderedDict()
        self._lock = threading.Lock()
        # One build at a time: two tiles of a fresh map would otherwise both run the query.
        self._build = threading.Lock()
        # The last data version of each layer, and the store's change marker read just
        # before it: while the marker stands still, the version cannot have changed.
        self._versions: dict[tuple[str, str], tuple[Any, str]] = {}

    def _version(self, store: Store, layer: str) -> str:
        """data_version, recounted only when the store says something was written: the
        count over a million accidents takes ~165 ms, the marker microseconds."""
        marker = store.change_marker()
        key = (store.location, layer)
        known = self._versions.get(key)
        if marker is not None and known is not None and known[0] == marker:
            return known[1]
        version = data_version(store, layer)
        self._versions[key] = (marker, version)
        return version

    def get(self, store: Store, access: Access, layer: str, f: maps.MapFilters,
            token: str | None = None) -> PointIndex:
        """The index for this principal and filters. With `token` (a tile request naming
        the index its page was given), a cached index of that token is used without
        checking the data version again; otherwise the version is checked."""
        key = (layer, visibility_key(access, layer), f)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and token is not None and hit.token == token:
                self._entries.move_to_end(key)
                return hit
        with self._build:
            version = self._version(store, layer)
            want = hashlib.sha256(repr((key, version)).encode()).hexdigest()[:16]
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit.token == want:
                    self._entries.move_to_end(key)
                    return hit
            index = build_index(store, access, layer, f, want)
            with self._lock:
                self._entries[key] = index
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return index


def visibility_key(access: Access, layer: str) -> tuple[Any, ...]:
    """What decides what a layer shows the principal (access/visibility.py's cache keys of
    the kinds it reads: accidents carry their victims' counts). Principals with equal
    keys see the same points: they share an index."""
    return tuple(access.cache_key(kind) for kind in DEPENDS[layer])


# -- tiles ---------------------------------------------------------------------------------
MAX_CUT_TILES = 4096  # tiles kept an index (a few KB each)


def tile(index: PointIndex, z: int, x: int, y: int) -> bytes:
    """The MVT tile z/x/y of the index: clusters up to CLUSTER_MAX_ZOOM, points after."""
    key = (z, x, y)
    data = index.cut.get(key)
    if data is None:
        data = _cut(index, z, x, y)
        if len(index.cut) >= MAX_CUT_TILES:
            index.cut.clear()
        index.cut[key] = data
    return data


def _cut(index: PointIndex, z: int, x: int, y: int) -> bytes:
    n = 1 << z
    enc = mvt.LayerEncoder()
    features: list[bytes] = []
    if z > CLUSTER_MAX_ZOOM:
        lo, hi = np.searchsorted(index.mx, [(x - BUFFER) / n, (x + 1 + BUFFER) / n]).tolist()
        tx = index.mx[lo:hi] * n - x  # tile units: 0..1 across this tile
        ty = index.my[lo:hi] * n - y
        for j in np.flatnonzero((ty >= -BUFFER) & (ty < 1 + BUFFER)).tolist():
            features.append(_point_feature(enc, index, lo + j, tx[j], ty[j]))
        return enc.tile(index.layer, features)
    level = _level(index, z)
    lo, hi = np.searchsorted(level.mx, [(x - BUFFER) / n, (x + 1 + BUFFER) / n]).tolist()
    tx = level.mx[lo:hi] * n - x
    ty = level.my[lo:hi] * n - y
    for j in np.flatnonzero((ty >= -BUFFER) & (ty < 1 + BUFFER)).tolist():
        k = lo + j
        count = int(level.count[k])
        if count == 1:
            i = int(level.first[k])
            features.append(_point_feature(enc, index, i, index.mx[i] * n - x,
                                           index.my[i] * n - y))
            continue
        # Unique across zooms and within the safe integers of JavaScript.
        cid = (z << 40) | (int(level.gx[k]) << 20) | int(level.gy[k])
        props: list[tuple[str, Any]] = [("cid", cid), ("point_count", count)]
        if level.killed is not None and level.injured is not None:
            killed = int(level.killed[k])
            props += [("killed", killed), ("casualties", killed + int(level.injured[k]))]
        features.append(enc.point(props, tx[j], ty[j]))
    return enc.tile(index.layer, features)


def _level(index: PointIndex, z: int) -> Level:
    """The clusters of zoom z: GRID x GRID cells a tile, the points of a cell one cluster
    at their mean position. Grouped for the whole layer at once (15 ms for 100,000
    points), so every tile of the zoom is a slice, not a grouping of its own."""
    with index.lock:
        level = index.levels.get(z)
        if level is not None:
            return level
        cells = (1 << z) * GRID
        gx = np.minimum(np.floor(index.mx * cells).astype(np.int64), cells - 1)
        gy = np.minimum(np.floor(index.my * cells).astype(np.int64), cells - 1)
        keys, first, inverse, count = np.unique(gx * cells + gy, return_index=True,
                                                return_inverse=True, return_counts=True)
        mx = np.bincount(inverse, weights=index.mx) / count
        my = np.bincount(inverse, weights=index.my) / count
        killed = injured = None
        if index.killed is not None and index.injured is not None:
            killed = np.bincount(inverse, weights=index.killed).astype(np.int64)
            injured = np.bincount(inverse, weights=index.injured).astype(np.int64)
        # A cluster is drawn at the mean of its points, but kept far enough inside its
        # cell for its circle (radius by count, as map.js draws it, plus the stroke) to
        # stay in the cell: two neighbouring clusters then never overlap.
        px = 1.0 / (512 * (1 << z))  # world units a pixel at this zoom
        radius = np.select([count < 50, count < 500, count < 5000], [12, 16, 21], 27) + 2
        inset = np.where(count > 1, radius * px, 0.0)
        cx, cy = keys // cells, keys % cells
        mx = np.clip(mx, cx / cells + inset, (cx + 1) / cells - inset)
        my = np.clip(my, cy / cells + inset, (cy + 1) / cells - inset)
        order = np.argsort(mx, kind="stable")
        level = Level(mx=mx[order], my=my[order], gx=cx[order], gy=cy[order],
                      count=count[order],
                      killed=None if killed is None else killed[order],
                      injured=None if injured is None else injured[order],
                      first=first[order])
        index.levels[z] = level
        return level


def _point_feature(enc: mvt.LayerEncoder, index: PointIndex, i: int, tx: float, ty: float
                   ) -> bytes:
    props: list[tuple[str, Any]] = [("fid", int(index.fid[i]))]
    if index.killed is not None and index.injured is not None:
        k, j = int(index.killed[i]), int(index.injured[i])
        props += [("killed", k), ("injured", j), ("casualties", k + j)]
    for name, (values, codes) in index.coded.items():
        value = values[codes[i]]
        if value is not None:
            props.append((name, value))
    return enc.point(props, tx, ty)
