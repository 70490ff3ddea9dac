# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/reland_bench.py --quick: leave-one-municipality-out on a subset of the RELand
grid, with honest folds and baselines scored on the model's own test cells (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from mineaction.analysis.risk import metrics, reland

REPO = Path(__file__).parents[2]
BENCH = REPO / "bench"
GRID = REPO / "data" / "colombia" / "reland_grid_antioquia.csv"
TRAIN_POS = "baseline: distance to nearest positive cell in training"


def test_reland_bench_quick_keeps_municipalities_apart(tmp_path: Path) -> None:
    out = tmp_path / "reland.json"
    proc = subprocess.run([sys.executable, str(BENCH / "reland_bench.py"), "--quick",
                           "--json", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "leave-one-municipality-out" in proc.stdout
    data = json.loads(out.read_text())
    setup = data["setup"]
    assert setup["quick"] and len(setup["municipalities"]) == 6
    # the label, the municipality and the position are never features
    assert not {"mines_outcome", "Municipio", "LATITUD_Y", "LONGITUD_X", "geometry"} \
        & set(setup["features"])
    # leave-one-municipality-out: one fold per municipality, never on both sides
    lomo = data["runs"]["leave-one-municipality-out"]
    assert set(lomo["folds"]) == set(setup["municipalities"])
    for held, trained in setup["fold_training_municipalities"].items():
        assert held not in trained
        assert set(trained) | {held} == set(setup["municipalities"])
    # every labelled cell tested once, the baselines on exactly the same cells
    assert lomo["cells_tested"] == setup["labelled_cells"] \
        == sum(f["cells"] for f in lomo["folds"].values())
    # the distance baseline recomputed here from the CSV, pooled over the same folds
    g = reland.load(GRID, setup["municipalities"])
    score = np.empty(len(g.label))
    for m in set(g.group):
        test, train = g.group == m, (g.group != m) & g.label
        d, _ = cKDTree(np.c_[g.x[train], g.y[train]]).query(np.c_[g.x[test], g.y[test]])
        score[test] = -d
    assert lomo[TRAIN_POS]["roc_auc"] == pytest.approx(metrics.roc_auc(g.label, score))
    assert lomo[TRAIN_POS]["average_precision"] == pytest.approx(
        metrics.average_precision(g.label, score))
    raw = pd.read_csv(GRID)
    keep = raw["Municipio"].isin(setup["municipalities"]) & raw["mines_outcome"].isin((0, 1))
    assert setup["labelled_cells"] == int(keep.sum())
    assert setup["positive_cells"] == int((raw.loc[keep, "mines_outcome"] == 1).sum())
    # random folds leave neighbours in training and flatter the model
    rand = next(v for k, v in data["runs"].items() if k.startswith("random folds"))
    assert rand["model"]["roc_auc"] > lomo["model"]["roc_auc"] + 0.05
