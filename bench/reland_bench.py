# SPDX-License-Identifier: GPL-3.0-or-later
"""Leave-one-municipality-out on the RELand Antioquia grid (issue 19's "Must show").

    python bench/reland_bench.py [--rounds 200] [--quick]

The RELand grid (data/colombia/reland_grid_antioquia.csv; Dulce Rubio et al. 2024): about
1 km cells in 19 municipalities of eastern Antioquia, ~60 covariates, label `mines_outcome`
(1 = mine event, hazardous area or cleared area with finds; 0 = inside a finished demining
sector declared mine-free; unlabelled cells dropped). LightGBM (analysis/risk/model.train)
is trained once per held-out municipality on the other eighteen
(validate.cross_validate with municipality groups), scores pooled over the folds and per
fold, beside two distance-only baselines scored on the same cells:

- distance to the nearest *positive cell of the training municipalities* (what the labels
  known elsewhere say; fitted per fold like the model, so it never sees the test labels);
- distance to the nearest AICMA event of 1990-2014 (data/colombia/aicma_events_1990-2014),
  the "distance to the last known event" of the AICMA bench. The grid's own labels include
  mine events from the same authority, so this baseline may be flattered, never the model.

The same model and baselines on random folds (5 folds of cells at random) and on 10 km
spatial blocks show how much a split that leaves neighbours in training flatters.
Figures: bench/results/reland_bench.json. `--quick`: 6 municipalities, 60 rounds (< 30 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from mineaction.analysis.risk import events, model, reland, validate  # noqa: E402

NAME = "reland_bench"
GRID = common.REPO / "data" / "colombia" / "reland_grid_antioquia.csv"
EVENTS = common.REPO / "data" / "colombia" / "aicma_events_1990-2014.geojson"
QUICK = ["COCORNA", "GRANADA", "SAN CARLOS", "SAN LUIS", "SAN RAFAEL", "ARGELIA"]
TRAIN_POS = "baseline: distance to nearest positive cell in training"
AICMA = "baseline: distance to nearest AICMA event (1990-2014)"


def nearest_training_positive(Xtr: pd.DataFrame, ytr: np.ndarray, Xte: pd.DataFrame
                              ) -> np.ndarray:
    """Minus the distance (km) from each test cell to the nearest positive training cell."""
    pos = Xtr.loc[np.asarray(ytr, bool), ["_x", "_y"]].to_numpy()
    if len(pos) == 0:
        return np.zeros(len(Xte))
    d, _ = cKDTree(pos).query(Xte[["_x", "_y"]].to_numpy(), k=1)
    return np.asarray(-d / 1000.0, float)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--num-leaves", type=int, default=15)
    ap.add_argument("--min-child", type=int, default=20)
    ap.add_argument("--random-folds", type=int, default=5)
    ap.add_argument("--block-km", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help=f"{len(QUICK)} municipalities and 60 rounds: a smoke run")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = min(args.rounds, 60)
    started = time.perf_counter()

    g = reland.load(GRID, QUICK if args.quick else None)
    feats = list(g.features.columns)
    ev = events.aicma_events(str(EVENTS))
    ex, ey = g.projection.forward(ev["lon"].to_numpy(), ev["lat"].to_numpy())
    aicma_km = cKDTree(np.c_[ex, ey]).query(np.c_[g.x, g.y], k=1)[0] / 1000.0
    X = g.features.assign(_x=g.x, _y=g.y, _aicma_km=aicma_km)
    label = g.label
    cell_events = label.astype(float)  # one event per positive cell: capture = positive cells

    params = {"num_leaves": args.num_leaves, "min_child_samples": args.min_child}
    fits: list[dict[str, Any]] = []

    def fit_score(Xtr: pd.DataFrame, ytr: np.ndarray, Xte: pd.DataFrame) -> np.ndarray:
        m = model.train(Xtr[feats], ytr, rounds=args.rounds, seed=args.seed, params=params)
        fits.append({"train_rows": len(Xtr), "test_rows": len(Xte)})
        return m.raw(Xte[feats])

    base = {AICMA: lambda F: -F["_aicma_km"].to_numpy(float)}
    fitted = {TRAIN_POS: nearest_training_positive}
    groups = g.group
    # the municipalities each fold trains on: none may be the held-out one
    split_check = {str(m): sorted(set(groups[tr]))
                   for m, tr, _ in validate.folds(groups)}
    assert all(m not in trs for m, trs in split_check.items())

    runs: dict[str, Any] = {}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    lomo = validate.cross_validate(X, label, cell_events, groups, fit_score, baselines=base,
                                   per_group=True, fitted_baselines=fitted)
    timings["leave-one-municipality-out"] = round(time.perf_counter() - t0, 2)
    runs["leave-one-municipality-out"] = lomo
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    runs[f"random folds ({args.random_folds})"] = validate.cross_validate(
        X, label, cell_events, rng.integers(0, args.random_folds, len(X)), fit_score,
        baselines=base, per_group=True, fitted_baselines=fitted)
    timings["random folds"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    runs[f"spatial blocks ({args.block_km:g} km, 5 folds)"] = validate.cross_validate(
        X, label, cell_events,
        validate.spatial_blocks(g.x, g.y, args.block_km * 1000.0, 5, seed=args.seed),
        fit_score, baselines=base, per_group=True, fitted_baselines=fitted)
    timings["spatial blocks"] = round(time.perf_counter() - t0, 2)

    contenders = ["model", TRAIN_POS, AICMA]
    summary: dict[str, Any] = {}
    rows = []
    for split, res in runs.items():
        summary[split] = {}
        for c in contenders:
            r = res[c]
            per = [f[c]["roc_auc"] for f in res["folds"].values()]
            per_ap = [f[c]["average_precision"] for f in res["folds"].values()]
            mean_auc = float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")
            mean_ap = float(np.nanmean(per_ap)) if np.isfinite(per_ap).any() else float("nan")
            summary[split][c] = {"pooled_roc_auc": r["roc_auc"],
                                 "mean_fold_roc_auc": mean_auc,
                                 "pooled_average_precision": r["average_precision"],
                                 "mean_fold_average_precision": mean_ap,
                                 "top_1pct": r["top_1pct_events"],
                                 "top_5pct": r["top_5pct_events"],
                                 "top_10pct": r["top_10pct_events"]}
            name = "LightGBM (RELand covariates)" if c == "model" else c
            rows.append([split, name, common.fmt(r["roc_auc"]), common.fmt(mean_auc),
                         common.fmt(r["average_precision"]),
                         common.fmt(r["top_1pct_events"]), common.fmt(r["top_5pct_events"]),
                         common.fmt(r["top_10pct_events"])])
    print(common.table(["split", "contender", "ROC-AUC pooled", "ROC-AUC mean of folds",
                        "AP", "top 1%", "top 5%", "top 10%"], rows))
    print("leave-one-municipality-out, per municipality (model / distance to training "
          "positive ROC-AUC):")
    for m, f in lomo["folds"].items():
        print(f"  {m}: {f['cells']} cells, {f['positives']} positive: "
              f"{common.fmt(f['model']['roc_auc'])} / {common.fmt(f[TRAIN_POS]['roc_auc'])}")
    total = round(time.perf_counter() - started, 2)
    print(f"total {total} s, peak memory {common.peak_rss_mib():.0f} MiB")

    data = {
        "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
        "setup": {"grid": str(GRID.relative_to(common.REPO)),
                  "labelled_cells": int(len(X)), "positive_cells": int(label.sum()),
                  "unlabelled_cells_dropped": g.unlabelled,
                  "municipalities": sorted(set(groups)), "features": feats,
                  "not_features": [reland.LABEL, reland.GROUP, *reland.POSITION],
                  "rounds": args.rounds, "num_leaves": args.num_leaves,
                  "min_child_samples": args.min_child, "seed": args.seed,
                  "quick": args.quick, "random_folds": args.random_folds,
                  "block_km": args.block_km,
                  "fold_training_municipalities": split_check},
        "summary": summary, "runs": runs, "timings_s": timings, "total_s": total,
        "cpu_s": round(common.cpu_seconds(), 2), "peak_rss_mib": round(common.peak_rss_mib(), 1),
    }
    common.write_results(common.results_path(NAME, args.json, not args.quick, None), data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
