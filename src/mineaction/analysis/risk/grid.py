# SPDX-License-Identifier: GPL-3.0-or-later
"""Square cells of a given size in metres over an area.

Projection: Lambert azimuthal equal-area (LAEA) centred on the area. Equal-area because the
validation measures "share of future events in the top 5% of the *area*": every cell must
weigh the same ground area, which a lon/lat grid (cells shrink with latitude) or Web Mercator
does not give. Centred LAEA rather than UTM because a country often spans two or more UTM
zones (Colombia spans 17N to 19N) and a UTM grid outside its zone distorts areas; within
1,000 km of the centre LAEA's distance error is under 2%, small beside 1 km cells.
A UTM (or any metric) CRS can still be given as `crs=` when a programme works in one.

Cell ids are integers `row * ncols + col` of the full rectangle, so a cell keeps its id
whichever cells a mask keeps, and ids from two runs on the same grid agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
from numpy.typing import NDArray
from scipy.spatial import cKDTree

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def laea_crs(lon0: float, lat0: float) -> pyproj.CRS:
    """Equal-area projection centred on (lon0, lat0), metres."""
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 +ellps=WGS84 "
        "+units=m +no_defs")


@dataclass(frozen=True)
class Projection:
    """Forward (lon/lat -> metres) and inverse transforms of one metric CRS."""

    crs: pyproj.CRS

    def forward(self, lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
        t = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = t.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def inverse(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        t = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = t.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    @classmethod
    def centred_on(cls, lon: Floats, lat: Floats) -> Projection:
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        # the middle of the extent, not the mean: a dense cluster must not pull the centre
        return cls(laea_crs(float((lon.min() + lon.max()) / 2),
                            float((lat.min() + lat.max()) / 2)))


@dataclass(frozen=True)
class Grid:
    """Kept cells of a rectangle of `nrows` x `ncols` square cells of `cell_m` metres whose
    lower-left corner is (x0, y0) in `projection`."""

    projection: Projection
    cell_m: float
    x0: float
    y0: float
    nrows: int
    ncols: int
    cell_id: Ints  # kept cells only, ascending

    @property
    def row(self) -> Ints:
        return self.cell_id // self.ncols

    @property
    def col(self) -> Ints:
        return self.cell_id % self.ncols

    @property
    def x(self) -> Floats:
        """Cell centres, projected metres."""
        return self.x0 + (self.col.astype(float) + 0.5) * self.cell_m

    @property
    def y(self) -> Floats:
        return self.y0 + (self.row.astype(float) + 0.5) * self.cell_m

    def lonlat(self) -> tuple[Floats, Floats]:
        """Cell centres back in lon/lat (WGS 84)."""
        return self.projection.inverse(self.x, self.y)

    @property
    def cell_area_km2(self) -> float:
        return (self.cell_m / 1000.0) ** 2

    def __len__(self) -> int:
        return int(self.cell_id.size)

    def locate(self, x: Floats, y: Floats) -> Ints:
        """Cell id holding each projected point, -1 where it is not a kept cell."""
        col = np.floor((np.asarray(x) - self.x0) / self.cell_m).astype(np.int64)
        row = np.floor((np.asarray(y) - self.y0) / self.cell_m).astype(np.int64)
        inside = (col >= 0) & (col < self.ncols) & (row >= 0) & (row < self.nrows)
        ids = np.where(inside, row * self.ncols + col, -1)
        pos = np.searchsorted(self.cell_id, ids)
        pos = np.clip(pos, 0, max(len(self) - 1, 0))
        kept = inside & (len(self) > 0) & (self.cell_id[pos] == ids)
        return np.where(kept, ids, -1)

    def index_of(self, ids: Ints) -> Ints:
        """Position of each kept cell id in this grid's arrays (ids must be kept cells)."""
        return np.searchsorted(self.cell_id, ids).astype(np.int64)


def rectangle(projection: Projection, bounds: tuple[float, float, float, float],
              cell_m: float) -> Grid:
    """Every cell of the rectangle (minx, miny, maxx, maxy) in projected metres; the corner
    snaps down to a multiple of the cell size so grids of one size line up."""
    minx, miny, maxx, maxy = bounds
    x0 = np.floor(minx / cell_m) * cell_m
    y0 = np.floor(miny / cell_m) * cell_m
    ncols = max(1, int(np.ceil((maxx - x0) / cell_m)))
    nrows = max(1, int(np.ceil((maxy - y0) / cell_m)))
    ids = np.arange(nrows * ncols, dtype=np.int64)
    return Grid(projection, float(cell_m), float(x0), float(y0), nrows, ncols, ids)


def over_bbox(lon_min: float, lat_min: float, lon_max: float, lat_max: float,
              cell_m: float, projection: Projection | None = None) -> Grid:
    """Cells covering a lon/lat box (all of it: the projected box's corners and edges)."""
    lon = np.r_[np.linspace(lon_min, lon_max, 21), np.full(21, lon_min), np.full(21, lon_max),
                np.linspace(lon_min, lon_max, 21)]
    lat = np.r_[np.full(21, lat_min), np.linspace(lat_min, lat_max, 21),
                np.linspace(lat_min, lat_max, 21), np.full(21, lat_max)]
    proj = projection or Projection.centred_on(lon, lat)
    x, y = proj.forward(lon, lat)
    return rectangle(proj, (x.min(), y.min(), x.max(), y.max()), cell_m)


def near_points(lon: Floats, lat: Floats, cell_m: float, within_m: float,
                projection: Projection | None = None, chunk_rows: int = 256) -> Grid:
    """Cells whose centre lies within `within_m` of any of the points, e.g. 1 km cells
    within 50 km of any event known by the cut-off. Rows of the rectangle go through a
    KD-tree in chunks, so a country-sized rectangle never sits in memory at once."""
    proj = projection or Projection.centred_on(lon, lat)
    px, py = proj.forward(lon, lat)
    full = rectangle(proj, (px.min() - within_m, py.min() - within_m,
                            px.max() + within_m, py.max() + within_m), cell_m)
    tree = cKDTree(np.c_[px, py])
    xs = full.x0 + (np.arange(full.ncols) + 0.5) * cell_m
    kept: list[Ints] = []
    for r0 in range(0, full.nrows, chunk_rows):
        rows = np.arange(r0, min(r0 + chunk_rows, full.nrows))
        ys = full.y0 + (rows + 0.5) * cell_m
        gx, gy = np.meshgrid(xs, ys)
        d, _ = tree.query(np.c_[gx.ravel(), gy.ravel()], k=1,
                          distance_upper_bound=within_m * (1 + 1e-12))
        ids = (rows[:, None] * full.ncols + np.arange(full.ncols)[None, :]).ravel()
        kept.append(ids[np.isfinite(d) & (d <= within_m)].astype(np.int64))
    cell_id = np.concatenate(kept) if kept else np.empty(0, np.int64)
    return Grid(proj, float(cell_m), full.x0, full.y0, full.nrows, full.ncols, cell_id)
