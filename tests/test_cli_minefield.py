# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction minefield` (issue 18): import the worked example (dry run, then for real),
show it, and assess it against planted finds (exit status 3: residual risk)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyproj import Geod
from shapely.geometry import Point
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Find, Hazard
from mineaction.store import open_store
from mineaction.store.query import Query

EXAMPLE = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "minefield"
           / "minefield-record.yaml")
runner = CliRunner()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        store.add(Hazard(hazard_kind="CHA", dataset="anama", external_id="HZ-AGH-0042"))
    return path


def cli(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--store", str(path)], env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_import_dry_run_prints_the_traverse_and_writes_nothing(store_path: Path) -> None:
    code, out = cli(store_path, "minefield", "import", str(EXAMPLE), "--dry-run")
    assert code == 0, out
    assert re.search(r"TP1 .* 39\.9945921 +46\.9340700", out)
    assert re.search(r"TP3 .* 39\.9910894 +46\.9344840", out)
    assert "closure error 0.0128 m" in out and "precision 1:85,600" in out
    assert "area 75,001.6 m²" in out
    assert "line 36: legs[1]: leg 2 (TP1 to TP2) is 300.0 m" in out
    assert "dry run: nothing written" in out
    with open_store(store_path) as store:
        assert not store.query(Query(kind="minefield_record", limit=None)).items


def test_import_show_assess(store_path: Path) -> None:
    code, out = cli(store_path, "minefield", "import", str(EXAMPLE), "--json")
    assert code == 0, out
    record = json.loads(out)["record"]["id"]
    code, out = cli(store_path, "minefield", "show", record)
    assert code == 0, out
    assert "MF-AGH-017" in out and "row A: RS-A → RE-A, 31 mines" in out
    assert "minefield-record-scan.png (image/png" in out
    # Every mine of row A found, none of row B: row B keeps the record at risk.
    with open_store(store_path) as store:
        hazard = store.query(Query(kind="hazard", limit=1)).items[0].id
        row = next(r for r in store.query(Query(kind="mine_row", limit=None)).items
                   if r.label == "A")
        (lon0, lat0), (lon1, lat1) = row.geometry.coords
        geod = Geod(ellps="WGS84")
        azimuth = geod.inv(lon0, lat0, lon1, lat1)[0]
        for k in range(31):
            lon, lat, _ = geod.fwd(lon0, lat0, azimuth, 5.0 * k)
            store.add(Find(hazard_id=hazard, device_category="ap_mine",
                           geometry=Point(lon, lat)))
    code, out = cli(store_path, "minefield", "assess", record, "--tolerance", "5")
    assert code == 3, out
    assert re.search(r"^A +31 +31 +0 +0 +0$", out, re.M)
    assert "found inside the perimeter (±5 m): 100% as drawn" in out
    assert "RESIDUAL RISK" in out and "row B:" in out and "rule: A record carries" in out


def test_errors(store_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("bearing: 225,", "bearing: 225, colour: red,"))
    code, out = cli(store_path, "minefield", "import", str(bad))
    assert code == 2
    assert f"{bad}, line 37: legs[2].colour: unknown key 'colour'" in out
    code, out = cli(store_path, "minefield", "show", "not-an-id")
    assert code == 2 and "not a record id" in out
    code, out = cli(store_path, "minefield", "assess", "00000000-0000-4000-8000-000000000000")
    assert code == 2 and "no minefield_record" in out
