# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/risk_scale_bench.py runs in its quick mode (a 100 km country, 10,000 and
40,000 cells) and prints and writes its three figures with their peers (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"


def test_risk_scale_benchmark_runs_quick(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "risk_scale_bench.py"), "--quick",
                           "--workdir", str(tmp_path), "--json", str(out)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in ("1M features + scores, Dask (ours)", "1M plain, all at once (peer)",
                 "1M training, LightGBM (ours)", "1M training, logistic (peer)",
                 "10M scores -> GeoTIFF, Dask (ours)", "10M chunks in one process (peer)",
                 "results equal to the peer's: 1M True, 10M GeoTIFF True"):
        assert line in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "risk_scale_bench"
    assert figures["contenders_in_separate_processes"] is False
    scores = figures["scores_1m"]
    assert scores["equal"] and scores["dask"]["cells"] == 10_000
    assert scores["verdict"] == "PASS"
    training = figures["training_1m"]
    assert training["lightgbm"]["rows_fitted"] + training["lightgbm"]["rows_calibration"] \
        == 10_000
    assert training["logistic_peer"]["rows_fitted"] == 10_000
    big = figures["grid_10m"]
    assert big["equal"] and big["dask"]["written"] == big["dask"]["cells"] == 40_000
    assert big["dask"]["peak_largest_worker_mib"] > 0
    for section in ("scores_1m", "training_1m", "grid_10m"):
        assert figures[section]["time_ratio_to_peer"] > 0
        assert figures[section]["memory_ratio_to_peer"] > 0
    assert not (BENCH / "results" / "risk_scale_bench.json").is_relative_to(tmp_path)
