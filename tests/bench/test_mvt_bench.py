# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/mvt_bench.py runs briefly and writes its figures: both encoders over the same
basemap tiles, equal output checked first (issue 23)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"


def test_mvt_benchmark_runs_quick(tmp_path: Path) -> None:
    out = tmp_path / "mvt.json"
    proc = subprocess.run([sys.executable, str(BENCH / "mvt_bench.py"), "--rounds", "1",
                           "--seconds", "0.2", "--json", str(out)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "mvt_bench" and figures["tiles"] >= 10
    assert figures["ours_tiles_per_s"] > 0 and figures["library_tiles_per_s"] > 0
    assert figures["verdict"] in ("keep ours", "replace ours with the library")
    assert "ours x faster" in proc.stdout
