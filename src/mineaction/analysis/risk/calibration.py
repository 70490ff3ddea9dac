# SPDX-License-Identifier: GPL-3.0-or-later
"""Isotonic calibration (pool-adjacent-violators), fitted on a held-out part of the
training cells. Isotonic rather than Platt because the raw scores of a model trained on
subsampled negatives are far from a logistic shape; with thousands of held-out cells the
step function is stable. Platt (`platt`) remains for small held-out sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Isotonic:
    """Non-decreasing step map from raw score to probability, interpolated linearly."""

    x: Floats
    y: Floats

    def __call__(self, score: Floats) -> Floats:
        return np.asarray(np.interp(np.asarray(score, float), self.x, self.y), float)


def isotonic(score: Floats, label: Floats) -> Isotonic:
    order = np.argsort(score, kind="mergesort")
    s, lab = np.asarray(score, float)[order], np.asarray(label, float)[order]
    # pool equal scores first: one block per distinct score
    uniq, start = np.unique(s, return_index=True)
    sums = np.add.reduceat(lab, start)
    counts = np.diff(np.r_[start, len(s)]).astype(float)
    # pool adjacent violators with a stack of blocks (mean, weight, last x)
    means: list[float] = []
    weights: list[float] = []
    xs: list[float] = []
    for m, w, x in zip(sums / counts, counts, uniq, strict=True):
        means.append(float(m))
        weights.append(float(w))
        xs.append(float(x))
        while len(means) > 1 and means[-2] >= means[-1]:
            w2 = weights[-2] + weights[-1]
            m2 = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w2
            means[-2:] = [m2]
            weights[-2:] = [w2]
            xs[-2:] = [xs[-1]]
    return Isotonic(np.asarray(xs), np.asarray(means))


def platt(score: Floats, label: Floats) -> Isotonic:
    """Platt scaling, a logistic curve of the raw score, tabulated as a monotone map."""
    import statsmodels.api as sm

    X = sm.add_constant(np.asarray(score, float))
    fit = sm.Logit(np.asarray(label, float), X).fit(disp=0)
    grid = np.linspace(float(np.min(score)), float(np.max(score)), 512)
    a, b = fit.params
    return Isotonic(grid, 1.0 / (1.0 + np.exp(-(a + b * grid))))
