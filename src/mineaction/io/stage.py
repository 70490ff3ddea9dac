"""Staging mapped rows into the store: cells, content digests, and the added / changed /
unchanged decision against what the dataset already holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.geo.validation import plausibility_problems
from mineaction.io.transform import Mapped, Points
from mineaction.store import codec
from mineaction.store.base import Store


@dataclass
class StagedKind:
    kind: str
    existing: dict[str, tuple[str, str, int]]
    bookkeeping: dict[str, Any]
    seen: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    ordinals: Counter[int] = field(default_factory=Counter)
    report: Any = None

    def __post_init__(self) -> None:
        from mineaction.io.pipeline import KindReport

        self.report = KindReport(self.kind)


def _cells(values: Any, ok: np.ndarray) -> list[Any]:
    """A column as plain Python values (sqlite3 and psycopg take no numpy scalars)."""
    series = values[ok] if isinstance(values, pd.Series) else pd.Series(values)[ok]
    if series.dtype.kind == "f":
        return [None if v != v else v for v in series.to_numpy().tolist()]
    return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
            for v in series.astype(object).tolist()]


def write_chunk(store: Store, conn: Any, mapped: Mapped, ok: np.ndarray, ext_ids: np.ndarray,
                ids: np.ndarray, dataset: str, stage: StagedKind) -> None:
    model = ENTITIES[mapped.kind]
    n = int(ok.sum())
    specs = codec.stored_columns(model)
    geom = geometry_column(model)
    cols: dict[str, list[Any]] = {}
    for spec in specs:
        name = spec.name
        if name == "id":
            cols[name] = ids.tolist()
        elif name == "dataset":
            cols[name] = [dataset] * n
        elif name == "external_id":
            cols[name] = ext_ids.tolist()
        elif name in stage.bookkeeping:
            cols[name] = [stage.bookkeeping[name]] * n
        elif geom is not None and name == geom.name and name in mapped.values:
            value = mapped.values[name]
            if isinstance(value, Points):
                part = value.take(ok)
                cols[name] = store.encode_points(part.lon, part.lat)
            else:
                cols[name] = [None if g is None else store.encode_geometry(g)
                              for g in value[ok]]
        elif name in mapped.values:
            cols[name] = _cells(mapped.values[name], ok)
        else:
            cols[name] = [spec.default] * n
    content = codec.content_columns(model)
    hashes = [codec.row_hash(v) for v in zip(*(cols[c] for c in content), strict=True)]
    names = [s.name for s in specs] + ["row_hash"]
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    update_names = content + ["row_hash", "status", "updated_at", "updated_by"]
    all_rows = zip(*(cols[s.name] for s in specs), hashes, strict=True)
    index = {name: i for i, name in enumerate(names)}
    for ext, row in zip(ext_ids.tolist(), all_rows, strict=True):
        stage.seen.add(ext)
        known = stage.existing.get(ext)
        if known is None:
            inserts.append(row)
        elif known[1] == row[-1]:
            stage.report.unchanged += 1
        else:
            updates.append(tuple(row[index[c]] for c in update_names) + (known[0],))
    stage.report.added += len(inserts)
    stage.report.changed += len(updates)
    store.bulk_insert(conn, mapped.kind, names, inserts)
    store.bulk_update(conn, mapped.kind, update_names, updates)


def plausibility_flags(mapped: Mapped, ok: np.ndarray, ids: np.ndarray, outline: Any
                       ) -> list[tuple[int, str, str]]:
    """Points (or areas' centres) that fall outside the country, with the likely cause."""
    value = mapped.values.get("geometry")
    if value is None:
        return []
    if isinstance(value, Points):
        lon, lat = value.lon[ok], value.lat[ok]
    else:
        centres = [None if g is None else g.representative_point() for g in value[ok]]
        lon = np.array([np.nan if c is None else c.x for c in centres])
        lat = np.array([np.nan if c is None else c.y for c in centres])
    present = ~np.isnan(lon)
    inside = np.zeros(len(lon), bool)
    inside[present] = shapely.contains_xy(outline, lon[present], lat[present])
    flags = []
    rows = mapped.rows[ok]
    for i in np.nonzero(present & ~inside)[0]:
        problems = plausibility_problems(float(lon[i]), float(lat[i]), area=outline)
        message = "; ".join(problems) or "outside the country"
        flags.append((int(rows[i]), str(ids[i]), message))
    return flags
