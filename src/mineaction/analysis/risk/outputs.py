# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk grid as files GIS tools and the web layer read: a GeoPackage of cells and a
GeoTIFF of probabilities.

The GeoPackage's layout is fixed (the web layer reads it; change it only with that layer):

- `risk_cells`, Polygon, EPSG:4326: one square per cell (its four corners transformed from
  the grid's projection, so it lies exactly over the GeoTIFF's pixel), with `cell_id`
  (int64), `probability` (calibrated), `raw_score`, `percentile` (0-100, the share of the
  grid's cells scoring lower), `why` (JSON object, the top 5 features by absolute LightGBM
  contribution in log-odds), `lon`, `lat` (the cell's centre);
- `risk_model`, no geometry, one row: `trained_until`, `horizon_years`, `cutoff`, `cell_m`,
  `created` (ISO), `features` (JSON list), `metrics` (JSON), `model_format`, and `report`
  (JSON: what the annual report's risk section reads of the model's meta; `{}` when the
  writer gives none; files written before it have no such column).

The GeoTIFF: float32 probability in the grid's own (equal-area) projection, one pixel per
cell, nodata -9999 where a cell of the rectangle is not in the kept set, LZW compressed.

Files are written beside the target under a temporary name and moved into place at the
end: a failed run leaves no half-written file where a previous good one was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mineaction.analysis.risk.grid import Grid

CELLS_LAYER = "risk_cells"
MODEL_LAYER = "risk_model"
NODATA = -9999.0
WGS84 = "EPSG:4326"


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def cell_polygons(g: Grid) -> Any:
    """WKB of each kept cell's square in lon/lat: the four corners in the projection,
    transformed one by one."""
    import shapely

    half = g.cell_m / 2.0
    cx, cy = g.x, g.y
    xs = np.stack([cx - half, cx + half, cx + half, cx - half, cx - half], axis=1)
    ys = np.stack([cy - half, cy - half, cy + half, cy + half, cy - half], axis=1)
    lon, lat = g.projection.inverse(xs.ravel(), ys.ravel())
    rings = np.stack([lon.reshape(xs.shape), lat.reshape(ys.shape)], axis=2)
    return shapely.to_wkb(shapely.polygons(rings))


def write_geopackage(path: str | Path, g: Grid, scores: pd.DataFrame, model_row: dict[str, Any],
                     *, chunk_cells: int = 200_000,
                     progress: Callable[[int], None] | None = None) -> Path:
    """`scores` has one row per kept cell of `g`, in its order: probability, raw, why
    (and percentile, computed here when absent)."""
    import pyproj
    from pyogrio.raw import write

    from mineaction.analysis.risk.scoring import percentile

    target = Path(path)
    tmp = _temporary(target)
    if tmp.exists():
        tmp.unlink()
    n = len(g)
    pct = scores["percentile"].to_numpy(float) if "percentile" in scores else \
        percentile(scores["raw"].to_numpy(float))
    lon, lat = g.lonlat()
    crs = pyproj.CRS.from_user_input(WGS84).to_wkt()
    why = scores["why"].to_numpy(object) if "why" in scores else np.full(n, "{}", object)
    fields = ["cell_id", "probability", "raw_score", "percentile", "why", "lon", "lat"]
    try:
        for s in range(0, max(n, 1), chunk_cells):
            e = min(n, s + chunk_cells)
            sub = Grid(g.projection, g.cell_m, g.x0, g.y0, g.nrows, g.ncols,
                       g.cell_id[s:e])
            write(str(tmp), cell_polygons(sub),
                  [g.cell_id[s:e].astype(np.int64),
                   scores["probability"].to_numpy(np.float64)[s:e],
                   scores["raw"].to_numpy(np.float64)[s:e], pct[s:e].astype(np.float64),
                   why[s:e], lon[s:e].astype(np.float64), lat[s:e].astype(np.float64)],
                  fields, layer=CELLS_LAYER, driver="GPKG", geometry_type="Polygon",
                  crs=crs, append=s > 0)
            if progress is not None:
                progress(e - s)
        row = {
            "trained_until": np.array([float(model_row["trained_until"])]),
            "horizon_years": np.array([float(model_row["horizon_years"])]),
            "cutoff": np.array([float(model_row["cutoff"])]),
            "cell_m": np.array([float(model_row["cell_m"])]),
            "created": np.array([str(model_row["created"])], object),
            "features": np.array([json.dumps(list(model_row["features"]))], object),
            "metrics": np.array([json.dumps(model_row.get("metrics") or {})], object),
            "model_format": np.array([int(model_row["model_format"])], np.int64),
            "report": np.array([json.dumps(model_row.get("report") or {})], object),
        }
        write(str(tmp), None, list(row.values()), list(row), layer=MODEL_LAYER,
              driver="GPKG", append=True)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def write_geotiff(path: str | Path, g: Grid, probability: np.ndarray) -> Path:
    """The kept cells' probabilities on the smallest rectangle of the grid holding them."""
    import rasterio
    from rasterio.transform import Affine

    target = Path(path)
    tmp = _temporary(target)
    rows, cols = g.row, g.col
    if len(g):
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
    else:
        r0 = r1 = c0 = c1 = 0
    height, width = r1 - r0 + 1, c1 - c0 + 1
    band = np.full((height, width), NODATA, np.float32)
    # grid rows count up from the bottom; raster rows count down from the top
    band[r1 - rows, cols - c0] = np.asarray(probability, np.float32)
    # north-up: the top-left corner, square pixels of one cell (rasterio's from_origin, but
    # without the `*` that affine now warns about)
    transform = Affine(g.cell_m, 0.0, g.x0 + c0 * g.cell_m,
                       0.0, -g.cell_m, g.y0 + (r1 + 1) * g.cell_m)
    try:
        with rasterio.open(tmp, "w", driver="GTiff", height=height, width=width, count=1,
                           dtype="float32", crs=g.projection.crs.to_wkt(),
                           transform=transform, nodata=NODATA, compress="lzw") as dst:
            dst.write(band, 1)
            dst.set_band_description(1, "probability")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
