# SPDX-License-Identifier: GPL-3.0-or-later
"""One-to-one assignment: exact matches of identical rows, and greedy assignment of scored
pairs. Both are used by the release matcher and by the cross-source linker."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
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


def optimal_one_to_one(pairs: pd.DataFrame, left: str, right: str, score: str
                       ) -> pd.DataFrame:
    """Each left and each right value in at most one pair, the pairs chosen to maximise the
    total score (every score must be positive: a pair is only taken when it adds). Solved
    exactly (Hungarian method) within each connected group of candidates, which blocking
    keeps small (the victims of one municipality); greedy would let a record whose fields
    are missing take the partner of one that fits only that partner."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if pairs.empty:
        return pairs.reset_index(drop=True)
    lcodes, luniq = pd.factorize(pairs[left])
    rcodes, runiq = pd.factorize(pairs[right])
    nl = len(luniq)
    size = nl + len(runiq)
    graph = coo_matrix((np.ones(len(pairs)), (lcodes, rcodes + nl)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    comp = component[lcodes]
    scores = pairs[score].to_numpy(dtype=float)
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    keep: list[int] = []
    for idx in np.split(order, bounds):
        if len(idx) == 1:
            keep.append(int(idx[0]))
            continue
        lu, li = np.unique(lcodes[idx], return_inverse=True)
        ru, ri = np.unique(rcodes[idx], return_inverse=True)
        matrix = np.zeros((len(lu), len(ru)))
        matrix[li, ri] = scores[idx]
        where = {(int(a), int(b)): int(k) for a, b, k in zip(li, ri, idx, strict=True)}
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        keep += [where[(int(a), int(b))] for a, b in zip(rows, cols, strict=True)
                 if (int(a), int(b)) in where]
    return pairs.iloc[np.sort(keep)].reset_index(drop=True)
