# SPDX-License-Identifier: GPL-3.0-or-later
"""One-to-one matching of found devices to expected mine positions within a tolerance.

Why an optimal assignment and not "nearest expected mine": two finds near one expected
mine must not both count as that mine, and a greedy pass lets the first find take a mine
that a later find fits better, leaving that one unmatched. The assignment takes as many
pairs as the tolerance allows, then the shortest total distance among those.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def type_codes(types: tuple[str | None, ...] | list[str | None],
               vocabulary: dict[str, int]) -> IntArray:
    """Integer codes of normalised device types, -1 for unknown; `vocabulary` grows."""
    return np.array([-1 if t is None else vocabulary.setdefault(t, len(vocabulary))
                     for t in types], dtype=np.intp)


def compatibility(find_codes: IntArray, expected_codes: IntArray) -> BoolArray:
    """compatible[j, i]: find j may be expected mine i. Types must agree when both are
    known; an unknown type (a find not yet identified, a row without a type) fits any."""
    f = find_codes[:, None]
    e = expected_codes[None, :]
    result: BoolArray = (f < 0) | (e < 0) | (f == e)
    return result


def match_one_to_one(expected: Array, finds: Array, tolerance_m: float,
                     compatible: BoolArray) -> tuple[IntArray, IntArray]:
    """Pairs (expected index, find index), each index at most once, every pair within
    tolerance_m and of compatible device types. Solved exactly (Hungarian method) within
    each connected group of candidate pairs, which keeps the matrices small."""
    empty = np.zeros(0, dtype=np.intp)
    if len(expected) == 0 or len(finds) == 0:
        return empty, empty
    tree = cKDTree(expected)
    near = tree.query_ball_point(finds, r=tolerance_m)
    edges = [(j, i) for j, cands in enumerate(near) for i in cands if compatible[j, i]]
    if not edges:
        return empty, empty
    fj = np.array([e[0] for e in edges], dtype=np.intp)
    ei = np.array([e[1] for e in edges], dtype=np.intp)
    dist = np.hypot(*(expected[ei] - finds[fj]).T)
    n_exp = len(expected)
    size = n_exp + len(finds)
    graph = coo_matrix((np.ones(len(edges)), (ei, fj + n_exp)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    comp = component[ei]
    out_e: list[int] = []
    out_f: list[int] = []
    for c in np.unique(comp):
        sel = np.flatnonzero(comp == c)
        eu, e_local = np.unique(ei[sel], return_inverse=True)
        fu, f_local = np.unique(fj[sel], return_inverse=True)
        # A forbidden pair costs more than any set of allowed pairs, so the solver first
        # takes as many allowed pairs as it can, then the shortest among them.
        forbidden = tolerance_m * (min(len(eu), len(fu)) + 1) + 1.0
        cost = np.full((len(eu), len(fu)), forbidden)
        cost[e_local, f_local] = dist[sel]
        rows, cols = linear_sum_assignment(cost)
        for a, b in zip(rows, cols, strict=True):
            if cost[a, b] < forbidden:
                out_e.append(int(eu[a]))
                out_f.append(int(fu[b]))
    order = np.argsort(out_e, kind="stable")
    return (np.asarray(out_e, dtype=np.intp)[order], np.asarray(out_f, dtype=np.intp)[order])
