"""Record keys for imported rows.

Files such as the AICMA register have no record identifiers. When a mapping names no id
column, a row's key is a digest of the row's MAPPED values (what the record will hold, not
the file's text), numbered among identical rows ("9f..", "9f..#1", ...). A re-import of the
same file yields the same keys; so does a later release that writes "5,313" for 5313,
reorders its columns or renames one the mapping reads; and a release that adds or drops rows
does not shift the keys of the others (issue 17, item 1). A row whose values were revised
gets a new key: the import's release matching (io/release.py) then finds which stored record
it is, and the record keeps its id and history.

Group keys (a parent record made from several rows, e.g. an accident from its victims' rows)
are the key columns' text, each cell normalised (spaces, thousands separators, leading
zeros), so that they stay readable in QGIS.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from mineaction.io.transform import Points

MAX_KEY = 200


def mapped_content_keys(values: dict[str, Any], n: int, ordinals: Counter[int], *,
                        parent_keys: np.ndarray | None = None,
                        skip: Iterable[str] = ()) -> np.ndarray:
    """Digest keys of `n` mapped rows (`values`: field -> Series, array or Points), field by
    field in name order; `parent_keys` (the rows' parent group keys) stand for the link
    to the parent, whose id is not known before the parent is written."""

    left_out = {"dataset", "external_id", *skip}
    cols: dict[str, Any] = {}
    for name in sorted(values):
        if name in left_out:
            continue
        value = values[name]
        if isinstance(value, Points):
            cols[f"{name}.lon"] = np.round(value.lon, 9)
            cols[f"{name}.lat"] = np.round(value.lat, 9)
            continue
        series = value if isinstance(value, pd.Series) else pd.Series(list(value))
        series = series.reset_index(drop=True)
        if series.dtype == object:
            series = series.map(_cell_text)
        cols[name] = series
    if parent_keys is not None:
        cols["__parent"] = pd.Series(parent_keys).astype(str)
    frame = pd.DataFrame(cols, index=range(n))
    digests = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return _numbered(digests, ordinals)


def _cell_text(value: Any) -> Any:
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkb(value, hex=True)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _numbered(digests: np.ndarray, ordinals: Counter[int]) -> np.ndarray:
    series = pd.Series(digests)
    within = series.groupby(series).cumcount().to_numpy()
    before = np.fromiter((ordinals.get(d, 0) for d in digests), dtype=np.int64,
                         count=len(digests))
    ordinals.update(series.value_counts().to_dict())
    nth = within + before
    return np.array([f"{d:016x}" if n == 0 else f"{d:016x}#{n}" for d, n in zip(
        digests.tolist(), nth.tolist(), strict=True)], dtype=object)


# Commas (and the spaces some locales use) only: a point may be a decimal point (6.143).
_GROUPED_DIGITS = re.compile(r"\d{1,3}(?:[,\u00a0\u202f ]\d{3})+")


def normal_key_cell(text: str) -> str:
    """A key cell as its meaning, not its typing: spaces collapsed, digits grouped by
    thousands separators joined ("5,313" -> "5313"), leading zeros of a number dropped
    ("05313" -> "5313"): releases of one register type the same codes differently."""
    text = " ".join(text.split())
    if _GROUPED_DIGITS.fullmatch(text):
        text = re.sub(r"[,\u00a0\u202f ]", "", text)
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


def group_keys(chunk: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Readable keys for parent records from the grouping columns, e.g.
    "5313|Sin información|2006|1|Accidente por MAP"; a digest when that would be too long."""
    missing = [c for c in columns if c not in chunk.columns]
    if missing:
        from mineaction.io.mapping import MappingError

        raise MappingError(f"group key column(s) {', '.join(map(repr, missing))} not in the file")
    parts = [chunk[c].astype("string").fillna("").map(normal_key_cell).astype("string")
             for c in columns]
    joined = parts[0].str.cat(parts[1:], sep="|").to_numpy(dtype=object)
    return np.array([k if len(k) <= MAX_KEY else hashlib.blake2b(k.encode(), digest_size=16)
                     .hexdigest() for k in joined], dtype=object)


def explicit_keys(values: pd.Series) -> np.ndarray:
    keys: np.ndarray = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
    return keys
