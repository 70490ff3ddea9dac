# SPDX-License-Identifier: GPL-3.0-or-later
"""Ranking and calibration metrics, written out here (scikit-learn is not a dependency):
ROC-AUC, average precision, the reliability curve, and the share of future events captured
in the top x% of the area. Ties are handled as a random order would on average, so a
baseline with many tied scores (a count of 0) is neither flattered nor punished."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

Floats = NDArray[np.float64]


def roc_auc(y: NDArray[np.int64] | NDArray[np.bool_], score: Floats) -> float:
    """Mann-Whitney: the chance a positive cell scores above a negative one (ties 1/2)."""
    y = np.asarray(y).astype(bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def average_precision(y: NDArray[np.int64] | NDArray[np.bool_], score: Floats) -> float:
    """Area under the precision-recall step curve, sum over thresholds of
    (recall gained) x (precision there); tied scores form one threshold, as in
    scikit-learn's average_precision_score."""
    y = np.asarray(y).astype(bool)
    npos = int(y.sum())
    if npos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(score, float), kind="mergesort")
    s, yy = np.asarray(score, float)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each tie group
    tp = np.cumsum(yy.astype(np.float64))[last]
    precision = tp / (last + 1)
    recall = tp / npos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def capture(score: Floats, events: Floats, fractions: tuple[float, ...] = (0.01, 0.05, 0.1),
            area: Floats | None = None) -> dict[float, float]:
    """Share of future events (counted per event, not per cell) in the highest-scoring x of
    the area. With equal-area cells `area` is None; the cell that straddles the cut takes its
    share of events pro rata, and tied scores are taken together, pro rata."""
    score = np.asarray(score, float)
    events = np.asarray(events, float)
    area = np.ones_like(score) if area is None else np.asarray(area, float)
    total_events, total_area = events.sum(), area.sum()
    out: dict[float, float] = {}
    if total_events == 0:
        return {f: float("nan") for f in fractions}
    # one row per tie group, highest score first: a tie group's area and events enter
    # together, so a partly-taken group gives events in proportion to area taken
    uniq, inv = np.unique(-score, return_inverse=True)
    g_area = np.bincount(inv, weights=area, minlength=len(uniq))
    g_ev = np.bincount(inv, weights=events, minlength=len(uniq))
    cum_area = np.r_[0.0, np.cumsum(g_area)]
    cum_ev = np.r_[0.0, np.cumsum(g_ev)]
    for f in fractions:
        budget = f * total_area
        i = int(np.searchsorted(cum_area, budget, side="right")) - 1
        i = min(i, len(g_area) - 1)
        taken = cum_ev[i] + g_ev[i] * (budget - cum_area[i]) / g_area[i] if g_area[i] else 0
        out[f] = float(min(taken, total_events) / total_events)
    return out


def reliability(y: NDArray[np.int64] | NDArray[np.bool_], prob: Floats, bins: int = 10
                ) -> list[dict[str, float]]:
    """Reliability curve on quantile bins (equal numbers of cells: with 1% positives,
    equal-width bins would leave all but the first almost empty): mean predicted
    probability beside the observed share of positives, per bin."""
    y = np.asarray(y).astype(float)
    prob = np.asarray(prob, float)
    order = np.argsort(prob, kind="mergesort")
    out = []
    for part in np.array_split(order, bins):
        if len(part):
            out.append({"predicted": float(prob[part].mean()),
                        "observed": float(y[part].mean()), "cells": float(len(part))})
    return out


def brier(y: NDArray[np.int64] | NDArray[np.bool_], prob: Floats) -> float:
    return float(np.mean((np.asarray(prob, float) - np.asarray(y, float)) ** 2))
