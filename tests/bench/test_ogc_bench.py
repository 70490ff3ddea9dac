# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/ogc_bench.py runs in its quick mode (issue 23), asking mineaction as the public
and as a signed-in viewer (`--as both`): both servers answer every list-by-bbox request
on the same PostGIS table; the signed-in viewer's answers carry every attribute
pygeoapi serves, the public's fewer; the ratios, answer sizes and verdict are printed
and written. Needs a PostGIS (MINEACTION_TEST_DATABASE_URL, which scripts/test starts);
the bench's `--pygeoapi auto` builds pygeoapi's pinned virtualenv (/tmp/pygeoapi-venv,
about 25 s from PyPI) when a fresh machine has none, so a clean CI runs this too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


def test_ogc_benchmark_runs_quick(tmp_path: Path) -> None:
    url = os.environ.get("MINEACTION_TEST_DATABASE_URL", "").strip()
    if not url:
        pytest.skip("needs MINEACTION_TEST_DATABASE_URL (scripts/test starts a cluster)")
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "ogc_bench.py"), "--quick",
                           "--postgis", url, "--pygeoapi", "auto", "--as", "both",
                           "--json", str(out)],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "ogc_bench" and figures["rows"] == 20_000
    results = figures["results"]
    for server in ("mineaction", "mineaction_signed_in", "pygeoapi"):
        r = results[server]
        assert r["requests"] > 0 and r["errors"] == 0, (server, r)
        assert r["answer_kib"] > 0 and r["features_per_answer"] > 0, (server, r)
    # Like for like when signed in: every column pygeoapi serves (less its own fid; ours
    # is `id`); the public gets a part of them (no narrative, no place name).
    public, signed_in, theirs = (set(results[s]["properties"]) for s in (
        "mineaction", "mineaction_signed_in", "pygeoapi"))
    assert theirs - {"fid"} <= signed_in, theirs - signed_in
    assert public < signed_in and "narrative" not in public
    assert set(figures["ratios"]) == {"public", "viewer"}
    assert figures["ratio"] == min(figures["ratios"].values()) > 0
    assert figures["verdict"] in ("PASS", "MISS")
    assert "ratio as viewer: mineaction" in proc.stdout and "x pygeoapi's size" in proc.stdout
