"""The benchmarks run (small) and print their figures, so they cannot rot unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.mark.parametrize(("script", "args", "peer"), [
    ("import_bench.py", ["--rows", "2000", "--postgis", "none"], "GDAL"),
    ("query_bench.py", ["--rows", "5000", "--queries", "20", "--postgis", "none"], "GDAL"),
    ("stats_bench.py", ["--victims", "3000", "--repeat", "1", "--postgis", "none"], "DuckDB"),
])
def test_benchmark_runs_small(tmp_path: Path, script: str, args: list[str], peer: str) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / script), *args, "--workdir",
                           str(tmp_path), "--json", str(out)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert peer in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == script.removesuffix(".py")
