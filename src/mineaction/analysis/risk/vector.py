# SPDX-License-Identifier: GPL-3.0-or-later
"""Read a vector file (GeoJSON, GeoPackage, Shapefile...) as a plain table plus shapely
geometries, with pyogrio alone: geopandas is not a dependency of this project."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def read(path: str, bbox: tuple[float, float, float, float] | None = None,
         where: str | None = None) -> tuple[pd.DataFrame, NDArray[Any]]:
    """(attributes, geometries in the file's CRS, lon/lat for the files this model uses)."""
    import shapely
    from pyogrio.raw import read as read_raw

    if path.endswith(".gz") and not path.startswith("/vsi"):
        path = "/vsigzip/" + path  # GDAL reads gzipped files through its virtual file system
    meta, _fids, wkb, fields = read_raw(path, bbox=bbox, where=where)
    table = pd.DataFrame({name: col for name, col in zip(meta["fields"], fields, strict=True)})
    geoms = shapely.from_wkb(wkb) if wkb is not None else np.array([], dtype=object)
    return table, np.asarray(geoms, dtype=object)
