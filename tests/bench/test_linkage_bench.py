# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/linkage_bench.py runs at a tiny scale and prints its three figures (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"


def test_linkage_benchmark_runs_small(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "linkage_bench.py"), "--rows", "3000",
                           "--workdir", str(tmp_path), "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for heading in ("(1) revised release", "(2) three sources", "(3) scale",
                    "exact key (peer)", "rule: pcode", "oracle", "definitions: strict",
                    "twin-aware = ", "with record noise"):
        assert heading in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "linkage_bench"
    release = figures["revised_release"]
    assert all(release["within_1_percent_of_release"].values()), release
    sources = figures["three_sources"]
    assert abs(sources["splink"]["count_error_percent"]) <= 1, sources["splink"]
    # The two-stage linker joins victims of one accident.
    assert sources["splink"]["same_accident_share"] >= 0.98, sources["splink"]
    assert 0.8 < sources["oracle_ceiling"]["precision"] < 1
    assert sources["record_noise"]["noise"] == "record"
    scale = figures["scale"]
    assert scale["rows"] == 3000
    assert scale["splink"]["counts"]["unchanged"] > 0.9 * 3000
    assert scale["exact_key_peer"]["seconds"] >= 0
