"""A small risk GeoPackage in the fixed format `mineaction risk predict` writes (issue 19):
layer `risk_cells` (Polygon, EPSG:4326) and the one-row table `risk_model`. Shared by
tests/api/test_risk_layer.py, tests/web/test_risk_layer_web.py and tests/security/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write

# 10 x 5 cells of 0.01 degrees, south-west corner at (-75.0, 6.0).
NX, NY, SIDE, X0, Y0 = 10, 5, 0.01, -75.0, 6.0
TRAINED_UNTIL, HORIZON = 2018.0, 2.0
# Every cell's reasons: the largest first is the same feature in each cell, so tests
# know which meaning the explanation must lead with.
TOP_FEATURE = "dist_accident_km"
WHY_FEATURES = (TOP_FEATURE, "wcount_any_5km", "years_since_find_10km", "admin_wdensity",
                "cov_roads_km")


def cell_id(ix: int, iy: int) -> int:
    return 1000 + iy * NX + ix


def why(i: int) -> dict[str, float]:
    return {TOP_FEATURE: 1.5 + i / 100, "wcount_any_5km": 0.6, "years_since_find_10km": -0.4,
            "admin_wdensity": 0.2, "cov_roads_km": -0.1}


def make_risk_gpkg(path: Path, report: dict[str, object] | None = None) -> Path:
    """The layer; with `report`, the `risk_model.report` column `risk predict` now writes
    (what the annual report shows of the model), else the format written before it."""
    geoms, ids, prob, raw, pct, whys, lon, lat = [], [], [], [], [], [], [], []
    n = NX * NY
    for iy in range(NY):
        for ix in range(NX):
            i = iy * NX + ix
            x, y = X0 + ix * SIDE, Y0 + iy * SIDE
            geoms.append(shapely.to_wkb(shapely.box(x, y, x + SIDE, y + SIDE)))
            ids.append(cell_id(ix, iy))
            p = (i + 1) / (n + 1)
            prob.append(p)
            raw.append(float(np.log(p / (1 - p))))
            pct.append(100 * i / n)
            whys.append(json.dumps(why(i)))
            lon.append(x + SIDE / 2)
            lat.append(y + SIDE / 2)
    write(str(path), np.array(geoms, dtype=object),
          [np.array(ids, dtype=np.int64), np.array(prob), np.array(raw), np.array(pct),
           np.array(whys, dtype=object), np.array(lon), np.array(lat)],
          ["cell_id", "probability", "raw_score", "percentile", "why", "lon", "lat"],
          layer="risk_cells", driver="GPKG", crs="EPSG:4326", geometry_type="Polygon")
    write(str(path), None,
          [np.array([TRAINED_UNTIL]), np.array([HORIZON]), np.array([TRAINED_UNTIL]),
           np.array([1000.0]), np.array(["2026-12-01T10:00:00+00:00"], dtype=object),
           np.array([json.dumps(list(WHY_FEATURES))], dtype=object),
           np.array([json.dumps({"roc_auc": 0.81, "average_precision": 0.22,
                                 "capture_5": 0.41})], dtype=object),
           np.array([1], dtype=np.int64),
           *([np.array([json.dumps(report)], dtype=object)] if report is not None else [])],
          ["trained_until", "horizon_years", "cutoff", "cell_m", "created", "features",
           "metrics", "model_format", *(["report"] if report is not None else [])],
          layer="risk_model", driver="GPKG")
    return path
