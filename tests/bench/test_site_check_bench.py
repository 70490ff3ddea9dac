# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/site_check_bench.py runs in its quick mode (10,000 hazards, 1,000 batch sites,
2 s of wrk) and prints and writes its figures with their verdicts (issue 20): on the
GeoPackage store always, on PostGIS with the floor beside it when
MINEACTION_TEST_DATABASE_URL names a server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"


def test_site_check_benchmark_runs_quick(tmp_path: Path) -> None:
    url = os.environ.get("MINEACTION_TEST_DATABASE_URL", "").strip()
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "site_check_bench.py"), "--quick",
                           "--postgis", url or "none", "--workdir", str(tmp_path),
                           "--json", str(out)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "site_check_bench"
    assert figures["hazards"] == 10_000
    loaded = figures["loaded"]["gpkg"]["rows"]
    assert loaded["hazard"] == 10_000 and loaded["released_part"] == 3_000
    stores = ["gpkg", "postgis"] if url else ["gpkg"]
    for store in stores:
        batch = figures["batch"][store]
        assert batch["checked"] == 1_000 and batch["errors"] == 0
        assert batch["sites_with_hazards_within_buffer"] > 0
        assert f"batch {store}: 1,000 sites in" in proc.stdout
        assert figures["verdicts"][f"batch {store}"] in ("PASS", "MISS")
        if shutil.which("wrk"):
            for op in ("GET point", "POST plot"):
                r = figures["api"][f"{store} {op}"]
                assert r["requests"] > 0 and r["errors"] == 0, r
                assert r["server_cpu_ms_per_request"] > 0
                assert figures["verdicts"][f"api {store} {op}"] in ("PASS", "MISS")
    if url:
        assert figures["floor"]["requests"] > 0
        assert "floor: bare PostGIS query (psycopg)" in proc.stdout
        assert "x the floor's p99" in proc.stdout
    # the batch found the same things on both stores
    if url:
        assert {k: v for k, v in figures["batch"]["gpkg"].items() if k.startswith("sites_")
                and k != "sites_per_s"} == \
            {k: v for k, v in figures["batch"]["postgis"].items() if k.startswith("sites_")
             and k != "sites_per_s"}
