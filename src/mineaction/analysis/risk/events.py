# SPDX-License-Identifier: GPL-3.0-or-later
"""Past events as one plain table: kind, lon, lat, t (decimal year), admin.

Two doors in: `from_frame` for any table (tests, a CSV, the AICMA GeoJSON read directly) and
`from_store` through the store's read API, so the model runs on a programme's own store and
the tests need no store. Everything downstream sees only this table.

Time is a decimal year (2009.0 = 1 January 2009) because sources date events to the year,
the month or the day; a year-only date counts as 1 January of that year, so "before the
cut-off 2010.0" keeps exactly the events of 2009 and earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

# Record kinds the features know, and the store entity and date field each comes from.
KINDS: dict[str, tuple[str, str]] = {
    "accident": ("accident", "accident_date"),
    "find": ("find", "find_date"),
    "hazard": ("hazard", "date_reported"),
    "released": ("released_part", "release_date"),
}

COLUMNS = ["kind", "lon", "lat", "t", "admin"]


def decimal_year(value: Any) -> float:
    """2009 -> 2009.0; date(2009, 7, 2) -> 2009.5; None/NaN -> NaN."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, (pd.Timestamp, date)):
        start = date(value.year, 1, 1)
        days = 366 if value.year % 4 == 0 and (value.year % 100 or value.year % 400 == 0) \
            else 365
        day = value.date() if isinstance(value, pd.Timestamp) else value
        return value.year + (day - start).days / days
    raise TypeError(f"not a date: {value!r}")


def from_frame(frame: pd.DataFrame, kind: str = "kind", lon: str = "lon", lat: str = "lat",
               when: str = "t", admin: str | None = None) -> pd.DataFrame:
    """Normalise any table of point events. Rows without a position or a date are dropped:
    an event with no date cannot be placed before or after a cut-off."""
    out = pd.DataFrame({
        "kind": frame[kind].astype(str).to_numpy(),
        "lon": pd.to_numeric(frame[lon], errors="coerce").to_numpy(float),
        "lat": pd.to_numeric(frame[lat], errors="coerce").to_numpy(float),
        "t": [decimal_year(v) for v in frame[when]],
        "admin": (frame[admin].astype(str).to_numpy() if admin else None),
    })
    keep = np.isfinite(out["lon"]) & np.isfinite(out["lat"]) & np.isfinite(out["t"])
    return out[keep].reset_index(drop=True)


def from_store(store: Any, kinds: Iterable[str] = tuple(KINDS),
               date_to: date | None = None,
               visible: Callable[[str], Any] | None = None) -> pd.DataFrame:
    """Events of the given kinds through the store's read API (`read_frame(Query)`), one
    point each (a polygon's representative point: a hazard or released area counts where it
    lies, not at a corner). `date_to` limits what is read; the cut-off itself is applied by
    the features, so one read serves several cut-offs. `visible` (entity kind -> the
    store's Visible conditions, `Access.rows`) reads only the records a principal may see:
    a model must not learn from records its user could not open."""
    import shapely

    from mineaction.store.query import Query

    parts = []
    for name in kinds:
        entity, date_field = KINDS[name]
        frame = store.read_frame(Query(kind=entity, date_to=date_to, limit=None,
                                       visible=visible(entity) if visible else ()))
        if frame.empty:
            continue
        geoms = [g for g in frame["geometry"]]
        has = np.array([g is not None and not g.is_empty for g in geoms])
        pts = shapely.point_on_surface(np.array([g for g, h in zip(geoms, has, strict=True)
                                                 if h], dtype=object))
        sub = frame[has]
        parts.append(pd.DataFrame({
            "kind": name, "lon": shapely.get_x(pts), "lat": shapely.get_y(pts),
            "t": [decimal_year(v) for v in sub[date_field]],
            "admin": sub.get("admin_area_pcode", pd.Series([None] * len(sub))).to_numpy(),
        }))
    if not parts:
        return pd.DataFrame({c: [] for c in COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out[np.isfinite(out["t"].to_numpy(float))].reset_index(drop=True)


AICMA_KIND = {"1": "accident", "2": "accident", "3": "find", "4": "find", "5": "find",
              "6": "find", "7": "find", "8": "hazard"}


def aicma_events(path: str) -> pd.DataFrame:
    """The AICMA events GeoJSON read directly, kinds as the shipped `aicma-events` mapping
    maps them (1-2 accidents, 3-7 finds, 8 suspected hazardous areas). Events with a
    longitude east of 0 (a sign error kept in the data) are dropped."""
    import shapely

    from mineaction.analysis.risk import vector

    df, geoms = vector.read(path)
    frame = pd.DataFrame({
        "kind": df["TIPO_EVENTO"].astype(str).map(AICMA_KIND).fillna("find"),
        "lon": shapely.get_x(geoms), "lat": shapely.get_y(geoms),
        "t": pd.to_numeric(df["AÑO"], errors="coerce").to_numpy(float),
        "admin": (df["DEPARTAMENTO"].astype(str) + "/" + df["MUNICIPIO"].astype(str)),
    })
    frame = frame[frame["lon"] < 0]
    return from_frame(frame, admin="admin")
