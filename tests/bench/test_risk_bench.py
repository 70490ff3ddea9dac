# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/risk_bench.py's feature sets: every column the YAML makes reaches the full set."""

from __future__ import annotations

import sys
from pathlib import Path

from mineaction.analysis.risk import features

BENCH = Path(__file__).parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import risk_bench  # noqa: E402


def test_a_layer_added_by_configuration_reaches_the_full_set() -> None:
    cfg = features.load_config(risk_bench.CONFIG)
    cols = (features.history_names(cfg) + features.kde_names(cfg)
            + ["admin_code", "admin_wdensity", "admin_recent_density", "admin_trend"]
            + [f"cov_{c.name}_km" for c in cfg.covariates])
    sets = risk_bench.feature_sets(cols)
    full = list(sets.values())[-1]
    assert sorted(full) == sorted(cols)  # nothing the configuration makes is left out
    assert not any(name.endswith("other layers") for name in sets)
    # a new layer (say the coast, `measure: boundary`) joins last, in its own step
    more = risk_bench.feature_sets([*cols, "cov_coast_km", "cov_place_count_50km"])
    last = list(more)[-1]
    assert last.endswith(" + other layers")
    assert more[last][-2:] == ["cov_coast_km", "cov_place_count_50km"]
    assert list(more.values())[-2] == full
