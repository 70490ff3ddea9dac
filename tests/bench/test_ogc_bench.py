# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/ogc_bench.py runs in its quick mode (issue 23): both servers answer every
list-by-bbox request on the same PostGIS table, and the ratio and its verdict are
printed and written. Needs a PostGIS (MINEACTION_TEST_DATABASE_URL) and the pygeoapi
virtualenv bench/api_bench.py builds (/tmp/pygeoapi-venv); skipped without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
PYGEOAPI = Path("/tmp/pygeoapi-venv/bin/python")


def test_ogc_benchmark_runs_quick(tmp_path: Path) -> None:
    url = os.environ.get("MINEACTION_TEST_DATABASE_URL", "").strip()
    if not url:
        pytest.skip("needs MINEACTION_TEST_DATABASE_URL (scripts/test starts a cluster)")
    if not PYGEOAPI.exists():
        pytest.skip(f"needs pygeoapi's virtualenv at {PYGEOAPI} "
                    "(python bench/ogc_bench.py --pygeoapi auto builds it)")
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "ogc_bench.py"), "--quick",
                           "--postgis", url, "--pygeoapi", "auto", "--json", str(out)],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "ogc_bench" and figures["rows"] == 20_000
    for server in ("mineaction", "pygeoapi"):
        r = figures["results"][server]
        assert r["requests"] > 0 and r["errors"] == 0, (server, r)
    assert figures["ratio"] > 0 and figures["verdict"] in ("PASS", "MISS")
    assert "x pygeoapi's requests/s" in proc.stdout
