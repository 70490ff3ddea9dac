# SPDX-License-Identifier: GPL-3.0-or-later
"""Layers of vector tiles cut on the server from geometries held in memory (issue 21): the
detail basemap's land, lakes, rivers and places (Natural Earth 1:10m), and the store's
admin areas with their names.

A `TileLayer` holds its features in Web Mercator world units with an STRtree, as
web/basemap.py does for the countries, and keeps three copies simplified for low, middle
and high zooms: clipping the whole of Eurasia's coast at full detail for a zoom-2 tile
would cost a second for nothing a pixel can show. Each feature has a first zoom
(`min_zoom`): fewer, larger places and rivers when zoomed out. Points carry a `rank`
(smaller first) that the style sorts labels by, so that where labels collide the larger
place keeps its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point

from mineaction.geo import mvt
from mineaction.geo.mvt import BUFFER, to_world

# (first zoom, simplification in degrees) of the copies each layer keeps.
LEVELS = ((0, 0.05), (4, 0.005), (8, 0.0))


@dataclass(frozen=True)
class Feature:
    geometry: Any  # shapely, lon/lat
    props: tuple[tuple[str, Any], ...]
    min_zoom: float = 0


class TileLayer:
    """One named layer of features, cut into any tile on demand."""

    def __init__(self, name: str, features: Sequence[Feature]) -> None:
        self.name = name
        self.props = [f.props for f in features]
        self.min_zoom = np.array([f.min_zoom for f in features], dtype=float)
        geoms = np.asarray([f.geometry for f in features], dtype=object)
        self.points = bool(len(geoms)) and all(isinstance(g, Point) for g in geoms)
        self.levels: list[tuple[int, Any, shapely.STRtree]] = []
        # Finest first, each coarser copy simplified from the one before: a tenth of the
        # time of simplifying the full detail twice (the land's build is most of the
        # basemap's start-up).
        finer = geoms
        for first, tolerance in reversed(LEVELS if not self.points else LEVELS[-1:]):
            # Without topology: 4x faster; a polygon it leaves invalid is repaired when a
            # tile is cut (mvt.encode_shape), and nothing at these zooms shows the difference.
            simplified = (shapely.simplify(finer, tolerance, preserve_topology=False)
                          if tolerance and len(finer) else finer)
            world = to_world(simplified) if len(simplified) else np.array([])
            self.levels.insert(0, (first, world, shapely.STRtree(world)))
            finer = simplified

    def __len__(self) -> int:
        return len(self.props)

    def _level(self, z: int) -> tuple[Any, shapely.STRtree]:
        world, tree = self.levels[0][1], self.levels[0][2]
        for first, w, t in self.levels:
            if z >= first:
                world, tree = w, t
        return world, tree

    def encode(self, z: int, x: int, y: int) -> bytes:
        """This layer's part of tile z/x/y (empty bytes when nothing is in it)."""
        if not self.props:
            return b""
        n = 1 << z
        world, tree = self._level(z)
        pad = 0.0 if self.points else BUFFER
        rect = ((x - pad) / n, (y - pad) / n, (x + 1 + pad) / n, (y + 1 + pad) / n)
        hits = tree.query(shapely.box(*rect))
        hits = np.sort(hits[self.min_zoom[hits] <= z])
        enc = mvt.LayerEncoder()
        out: list[bytes] = []
        for i in hits.tolist():
            geom = world[i]
            if self.points:
                if not (rect[0] <= geom.x < rect[2] and rect[1] <= geom.y < rect[3]):
                    continue  # on the edge: the neighbouring tile has it
                out.append(enc.point(self.props[i], geom.x * n - x, geom.y * n - y))
                continue
            f = mvt.encode_shape(enc, self.props[i], geom, rect, n, x, y)
            if f is not None:
                out.append(f)
        return enc.tile(self.name, out)


def explode(features: Sequence[Feature]) -> list[Feature]:
    """Multi-part features as one feature a part: the STRtree then finds the few parts a
    tile touches rather than a continent's every island."""
    out: list[Feature] = []
    for f in features:
        for part in shapely.get_parts(f.geometry):
            out.append(Feature(part, f.props, f.min_zoom))
    return out


def clean_name(name: Any) -> str:
    """A label as drawn: Natural Earth's names carry invisible direction marks
    ("Granada\u200e")."""
    marks = "\u200e\u200f\u202a\u202b\u202c"
    return "".join(ch for ch in str(name or "") if ch not in marks).strip()
