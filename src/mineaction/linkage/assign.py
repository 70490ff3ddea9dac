# SPDX-License-Identifier: GPL-3.0-or-later
"""One-to-one assignment: exact matches of identical rows, and greedy assignment of scored
pairs. Both are used by the release matcher and by the cross-source linker."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """A 64-bit hash of the row's values in `columns` (nulls included): equal rows get equal
    keys. Vectorised, so a million rows cost a second, not a minute."""
    return pd.util.hash_pandas_object(frame[list(columns)], index=False)


def exact_pairs(left: pd.DataFrame, right: pd.DataFrame, columns: Sequence[str],
                left_id: str, right_id: str) -> pd.DataFrame:
    """Pairs of rows equal in every column, one-to-one: identical rows are interchangeable,
    so the k-th copy on the left takes the k-th copy on the right (in id order) and surplus
    copies stay unmatched. Columns: left_id, right_id."""
    lk = pd.DataFrame({"key": row_keys(left, columns).to_numpy(),
                       left_id: left[left_id].to_numpy()}).sort_values(left_id, kind="stable")
    rk = pd.DataFrame({"key": row_keys(right, columns).to_numpy(),
                       right_id: right[right_id].to_numpy()}).sort_values(right_id,
                                                                          kind="stable")
    lk["copy"] = lk.groupby("key").cumcount()
    rk["copy"] = rk.groupby("key").cumcount()
    pairs = lk.merge(rk, on=["key", "copy"], how="inner")
    return pairs[[left_id, right_id]].reset_index(drop=True)


def greedy_one_to_one(pairs: pd.DataFrame, left: str, right: str,
                      score: str = "match_probability") -> pd.DataFrame:
    """Each left and each right value in at most one pair, taken greedily by score (highest
    first; ties by ids, so the result does not depend on row order). Greedy is not the
    optimal assignment, but with clear matches (a score near 1 against near 0) it is the
    same, and it runs in one pass over the sorted pairs."""
    ordered = pairs.sort_values([score, left, right], ascending=[False, True, True],
                                kind="stable")
    used_left: set[object] = set()
    used_right: set[object] = set()
    keep: list[int] = []
    for pos, (a, b) in enumerate(zip(ordered[left].to_numpy(), ordered[right].to_numpy(),
                                     strict=True)):
        if a in used_left or b in used_right:
            continue
        used_left.add(a)
        used_right.add(b)
        keep.append(pos)
    return ordered.iloc[keep].reset_index(drop=True)
