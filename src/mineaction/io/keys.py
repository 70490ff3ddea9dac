"""Record keys for imported rows.

Files such as the AICMA register have no record identifiers. When a mapping names no id
column, a row's key is a digest of the whole source row, numbered among identical rows
("9f..", "9f..#1", ...). A re-import of the same file then yields the same keys, and a newer
release that adds or drops rows does not shift the keys of the others. The price: a row whose
values were revised shows up as one removed and one added rather than as changed.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pandas as pd
import shapely

from mineaction.io.transform import ROW

MAX_KEY = 200


def _source_columns(chunk: pd.DataFrame) -> pd.DataFrame:
    frame = chunk.drop(columns=[ROW])
    if "geometry" in frame.columns:
        frame = frame.assign(geometry=[shapely.to_wkb(g, hex=True)
                                       if isinstance(g, shapely.Geometry) else g
                                       for g in frame["geometry"]])
    return frame.astype(object).where(frame.notna(), None)


def content_keys(chunk: pd.DataFrame, ordinals: Counter[int]) -> np.ndarray:
    """Digest keys for every row of a chunk; `ordinals` carries counts across chunks."""
    digests = pd.util.hash_pandas_object(_source_columns(chunk), index=False).to_numpy()
    series = pd.Series(digests)
    within = series.groupby(series).cumcount().to_numpy()
    before = np.fromiter((ordinals.get(d, 0) for d in digests), dtype=np.int64,
                         count=len(digests))
    ordinals.update(series.value_counts().to_dict())
    nth = within + before
    return np.array([f"{d:016x}" if n == 0 else f"{d:016x}#{n}" for d, n in zip(
        digests.tolist(), nth.tolist(), strict=True)], dtype=object)


def group_keys(chunk: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Readable keys for parent records from the grouping columns, e.g.
    "5313|Sin información|2006|1|Accidente por MAP"; a digest when that would be too long."""
    missing = [c for c in columns if c not in chunk.columns]
    if missing:
        from mineaction.io.mapping import MappingError

        raise MappingError(f"group key column(s) {', '.join(map(repr, missing))} not in the file")
    parts = [chunk[c].astype("string").fillna("").str.strip() for c in columns]
    joined = parts[0].str.cat(parts[1:], sep="|").to_numpy(dtype=object)
    return np.array([k if len(k) <= MAX_KEY else hashlib.blake2b(k.encode(), digest_size=16)
                     .hexdigest() for k in joined], dtype=object)


def explicit_keys(values: pd.Series) -> np.ndarray:
    keys: np.ndarray = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
    return keys
