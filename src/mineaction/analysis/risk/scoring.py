# SPDX-License-Identifier: GPL-3.0-or-later
"""Scores for any number of cells or points with a trained model, in chunks: features,
raw score, calibrated probability and the top contributions of each, a chunk at a time, so
a nationwide grid never holds its whole feature table (or LightGBM's contribution matrix,
one float per feature and cell) in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from mineaction.analysis.risk import features
from mineaction.analysis.risk.grid import Floats
from mineaction.analysis.risk.model import Model


def top_contributions(contrib: pd.DataFrame, k: int) -> list[str]:
    """Per row, a JSON object of the `k` features with the largest absolute contribution
    (log-odds), largest first; the `bias` column is not a feature and is left out."""
    values = contrib.drop(columns="bias", errors="ignore")
    names = np.asarray(values.columns)
    arr = values.to_numpy(float)
    k = min(k, arr.shape[1])
    if k == 0 or len(arr) == 0:
        return ["{}"] * len(arr)
    part = np.argpartition(-np.abs(arr), k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(arr, part, axis=1)
    order = np.argsort(-np.abs(picked), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(picked, order, axis=1)
    return [json.dumps({str(names[j]): round(float(v), 6) for j, v in zip(row, vrow,
                                                                           strict=True)})
            for row, vrow in zip(idx, vals, strict=True)]


def score_cells(model: Model, ctx: features.Context, x: Floats, y: Floats,
                cutoff: float, *, chunk_cells: int = 200_000, explain: int = 5,
                progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Scores of the points (x, y) (the model's projection) with features at `cutoff`:
    columns probability (calibrated), raw (the booster's uncalibrated output) and, with
    `explain` > 0, why (JSON, the top `explain` contributions). `progress` is called with
    the number of points each chunk finished."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(x)
    prob = np.empty(n)
    raw = np.empty(n)
    why: list[str] = []
    cell_area_all = ctx.admin.locate(x, y) if ctx.admin is not None and n else None
    for s in range(0, n, max(1, int(chunk_cells))):
        e = min(n, s + chunk_cells)
        area = None if cell_area_all is None else cell_area_all[s:e]
        F = features.compute(ctx, x[s:e], y[s:e], cutoff, area)
        missing = [c for c in model.features if c not in F.columns]
        if missing:
            raise ValueError("the feature configuration does not make the model's features "
                             f"{', '.join(missing)}")
        r = model.raw(F)
        raw[s:e] = r
        prob[s:e] = model.calibrator(r) if model.calibrator is not None else r
        if explain:
            why += top_contributions(model.contributions(F), explain)
        if progress is not None:
            progress(e - s)
    out = pd.DataFrame({"probability": prob, "raw": raw})
    if explain:
        out["why"] = why
    return out


def percentile(score: Floats) -> Floats:
    """0-100: the share of the scores strictly lower than each one."""
    s = np.asarray(score, float)
    if len(s) == 0:
        return np.empty(0)
    ordered = np.sort(s)
    return np.asarray(np.searchsorted(ordered, s, side="left") / len(s) * 100.0, float)
