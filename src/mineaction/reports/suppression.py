"""Small-count suppression for public casualty tables, primary and complementary.

Primary: a count from 1 to threshold-1 could single people out (three casualties in one
village in one year), so it is left empty. Zeros are kept: they identify nobody.

Complementary (secondary): a hidden count must not be recoverable by subtraction. Two
kinds of sums are published beside the cells:
- within a row, casualties = killed + injured + unknown_outcome;
- within a group of rows (a year's admin areas, a year's categories of one dimension), the
  rows add up to the group's total, which another table or row publishes.
Wherever a sum has exactly one hidden term, the smallest other non-zero term (else a zero)
is hidden too, until no sum has exactly one (the usual greedy heuristic of statistical
offices; it hides more than an optimal solver would, never less).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

TOTAL = "casualties"
PARTS = ("killed", "injured", "unknown_outcome")
COUNT_COLUMNS = (TOTAL, *PARTS)


def hidden_cells(values: np.ndarray, threshold: int, groups: Sequence[np.ndarray],
                 columns: Sequence[str]) -> np.ndarray:
    """Boolean mask (rows x count columns) of the cells to hide. `values` holds the
    counts, `columns` their names, `groups` the row indexes of each group."""
    hidden = (values > 0) & (values < threshold)
    relation = [i for i, c in enumerate(columns) if c in COUNT_COLUMNS]
    for _ in range(values.size + 1):  # each pass hides at least one cell, or stops
        changed = False
        # Within rows: the total and its parts.
        if TOTAL in columns and len(relation) > 1:
            for r in np.flatnonzero(hidden[:, relation].sum(axis=1) == 1):
                changed |= _hide_smallest(values, hidden, [(r, c) for c in relation])
        # Within groups: each column's cells and the group total published elsewhere.
        for rows in groups:
            if len(rows) < 2:
                continue
            for c in range(values.shape[1]):
                if hidden[rows, c].sum() == 1:
                    changed |= _hide_smallest(values, hidden, [(r, c) for r in rows])
        if not changed:
            return hidden
    return hidden


def _hide_smallest(values: np.ndarray, hidden: np.ndarray,
                   cells: list[tuple[int, int]]) -> bool:
    """Hide the smallest shown non-zero term; failing that a shown zero (when every other
    term is zero, the sum, published elsewhere, would give the hidden value away)."""
    open_cells = [(values[r, c] == 0, values[r, c], r, c) for r, c in cells
                  if not hidden[r, c]]
    if not open_cells:
        return False
    *_, r, c = min(open_cells)
    hidden[r, c] = True
    return True


def suppress(frame: pd.DataFrame, threshold: int,
             groupings: Sequence[Sequence[str]] = ()) -> pd.DataFrame:
    """The frame with hidden counts as None and a `suppressed` column marking rows with
    any hidden count. Each of `groupings` names columns whose groups of rows add up to a
    published total (e.g. [["year"]] for a year x admin area table whose years are
    published elsewhere); an empty grouping means the whole table adds up to one."""
    frame = frame.reset_index(drop=True).copy()
    cols = [c for c in COUNT_COLUMNS if c in frame.columns]
    values = frame[cols].fillna(0).to_numpy(dtype=np.int64)
    groups: list[np.ndarray] = []
    for grouping in groupings:
        if not grouping:
            groups.append(np.arange(len(frame)))
            continue
        # A single key by name: pandas warns that list keys of one will become tuples.
        key = grouping[0] if len(grouping) == 1 else list(grouping)
        groups.extend(np.asarray(ix) for ix in frame.groupby(key, dropna=False)
                      .indices.values())
    hidden = hidden_cells(values, threshold, groups, cols)
    frame["suppressed"] = hidden.any(axis=1)
    for i, c in enumerate(cols):
        frame[c] = frame[c].astype(object).where(~hidden[:, i], None)
    return frame


def _plain(value: Any) -> Any:
    """A cell as JSON wants it: None for hidden (or missing), Python ints and bools."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    return value


def suppress_rows(rows: Sequence[dict[str, Any]], dimensions: Sequence[str],
                  threshold: int) -> list[dict[str, Any]]:
    """Rows of counts grouped by `dimensions` (dicts, as statistics return them), suppressed
    for the public and JSON-ready. Each dimension's rows add up to what grouping by the
    other dimensions gives, which is public too: those are the complementary groups. A
    single total row is `suppress_rows([total], [], threshold)`."""
    if not rows:
        return []
    groupings = [[d for d in dimensions if d != left_out] for left_out in dimensions]
    frame = suppress(pd.DataFrame(list(rows)), threshold, groupings)
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]
