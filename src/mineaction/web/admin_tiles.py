# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's own admin areas as vector tiles with their names, drawn over the basemap at
every level (issue 21): outlines in layer `admin` and one label point an area in layer
`admin_labels`, each with `name`, `pcode` and `level`.

The areas come through `services/maps.area_layer`, which asks `Access` which admin areas
the principal may see (the public: approved ones, as for any record). They are read once
per (who sees what, data version) and cut into tiles on demand with an STRtree
(web/basemap_layers.py): departments from zoom 3, municipalities from zoom 6, finer
levels from zoom 8, so a country's thousand municipalities are not drawn at zoom 2.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from shapely.geometry import shape

from mineaction.access.visibility import Access
from mineaction.services import maps
from mineaction.web.basemap_layers import Feature, TileLayer

LEVELS = range(0, 5)
# The first zoom of each admin level's outlines (labels one zoom later).
FIRST_ZOOM = {0: 0, 1: 3, 2: 6, 3: 8, 4: 9}
MAX_ZOOM = 12


class AdminTiles:
    """One principal class's admin areas, cut into tiles and kept."""

    def __init__(self, areas: list[dict[str, Any]], cached_tiles: int = 2048) -> None:
        outlines, labels = [], []
        for f in areas:
            geom = shape(f["geometry"])
            p = f["properties"]
            level = int(p.get("level") or 0)
            props = (("name", str(p.get("name") or "")), ("pcode", str(p.get("pcode") or "")),
                     ("level", level))
            first = FIRST_ZOOM.get(level, 9)
            outlines.append(Feature(geom, props, first))
            labels.append(Feature(geom.representative_point(), props, first + 1))
        self.layers = [TileLayer("admin", outlines), TileLayer("admin_labels", labels)]
        self._tiles: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._size = cached_tiles
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> bytes:
        key = (z, x, y)
        with self._lock:
            if key in self._tiles:
                self._tiles.move_to_end(key)
                return self._tiles[key]
        data = b"".join(layer.encode(z, x, y) for layer in self.layers)
        with self._lock:
            self._tiles[key] = data
            while len(self._tiles) > self._size:
                self._tiles.popitem(last=False)
        return data


class AdminTileCache:
    """AdminTiles per (who sees what, data version): a write to an admin area makes the
    next tile read them again; principals who see the same areas share them."""

    def __init__(self, keep: int = 8) -> None:
        self._built: OrderedDict[tuple[Any, ...], AdminTiles] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, store: Any, access: Access) -> AdminTiles:
        key = (access.cache_key("admin_area"), maps.data_version(store, ("admin_area",)))
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        areas: list[dict[str, Any]] = []
        for level in LEVELS:
            fc = maps.area_layer(store, access, "admin-areas", maps.MapFilters(admin_level=level))
            areas.extend(fc["features"])
        built = AdminTiles(areas)
        with self._lock:
            self._built[key] = built
            while len(self._built) > self._keep:
                self._built.popitem(last=False)
        return built
