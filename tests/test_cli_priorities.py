# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction priorities build|show|sensitivity` and `mineaction season-plan [replan]`
(issue 20): a list built with a preset, weights and layers, saved, shown and analysed; a
season planned over it with its Gantt chart and map; a re-plan from a progress file; and
usage errors with exit status 2."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Accident, Hazard
from mineaction.store import open_store

runner = CliRunner()
LON, LAT = -75.0, 6.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        def key(n: int) -> dict[str, str]:
            return {"dataset": "t", "external_id": f"c{n}", "status": "approved"}

        store.add(Hazard(name="School", hazard_kind="CHA",
                         geometry=box(LON, LAT, LON + 0.001, LAT + 0.001),
                         blockages={"housing"}, beneficiaries=200, **key(1)))
        store.add(Hazard(name="Road", hazard_kind="SHA",
                         geometry=box(LON + 0.1, LAT, LON + 0.101, LAT + 0.001),
                         blockages={"roads"}, **key(2)))
        store.add(Hazard(name="Hill", hazard_kind="SHA",
                         geometry=box(LON + 0.3, LAT, LON + 0.305, LAT + 0.005), **key(3)))
        store.add(Accident(accident_date=date(2023, 1, 1), accident_kind="mine",
                           geometry=Point(LON + 0.002, LAT), **key(4)))
    return path


def cli(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--store", str(path)], env={"COLUMNS": "160"})
    return result.exit_code, result.output


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_build_save_show_and_sensitivity(store_path: Path, tmp_path: Path) -> None:
    plans = _write(tmp_path / "plans.csv", [{"lon": LON + 0.1005, "lat": LAT + 0.0005,
                                             "project": "bridge"}])
    code, out = cli(store_path, "priorities", "build", "--preset", "development",
                    "--weight", "cost=0", "--weight", "reconstruction=0.6", "--layer",
                    f"reconstruction={plans}", "--json", "--save")
    assert code == 0, out
    body = json.loads(out)
    assert body["method"] == "promethee" and body["preset"] == "development"
    assert body["weights"]["cost"] == 0
    assert [h["name"] for h in body["hazards"]][0] == "Road"  # the bridge over it
    road = body["hazards"][0]["indicators"]
    assert road["plan_overlap"] == 1 and road["plans_1km"] == 1

    code, out = cli(store_path, "priorities", "show", body["id"])
    assert code == 0, out
    assert "Road" in out and "School" in out and "development" in out

    code, out = cli(store_path, "priorities", "sensitivity", body["id"], "--json")
    assert code == 0, out
    result = json.loads(out)
    assert "cost" not in {c["criterion"] for c in result["criteria"]}  # weight 0
    assert all(c["max_rank_change"] >= 0 for c in result["criteria"])


def test_weighted_sum_without_saving(store_path: Path) -> None:
    code, out = cli(store_path, "priorities", "build", "--method", "weighted-sum",
                    "--preset", "humanitarian")
    assert code == 0, out
    assert "weighted-sum (humanitarian)" in out
    assert "saved as" not in out
    assert out.index("School") < out.index("Hill")


def test_usage_errors(store_path: Path, tmp_path: Path) -> None:
    code, out = cli(store_path, "priorities", "build", "--weight", "speed=1")
    assert code == 2 and "no criterion" in out
    code, out = cli(store_path, "priorities", "build", "--weight", "cost")
    assert code == 2 and "name=value" in out
    code, out = cli(store_path, "priorities", "build", "--layer", "roads=x.geojson")
    assert code == 2
    code, out = cli(store_path, "priorities", "show", "no-such-list")
    assert code == 1 and "no priority list" in out
    code, out = cli(store_path, "season-plan", "--teams", "t.csv")
    assert code == 2 and "--priorities" in out


def test_season_plan_gantt_map_and_replan(store_path: Path, tmp_path: Path) -> None:
    code, out = cli(store_path, "priorities", "build", "--save", "--json")
    assert code == 0, out
    list_id = json.loads(out)["id"]
    teams = _write(tmp_path / "teams.csv", [
        {"team": "Alpha", "productivity_m2_day": 1500, "cost_per_day": 200,
         "base_lon": LON, "base_lat": LAT},
        {"team": "Bravo", "productivity_m2_day": 800, "cost_per_day": 120,
         "base_lon": LON + 0.3, "base_lat": LAT}])
    gantt, plan_map = tmp_path / "gantt.png", tmp_path / "plan.svg"
    code, out = cli(store_path, "season-plan", "--priorities", list_id, "--teams",
                    str(teams), "--start", "2027-01-10", "--end", "2027-06-30",
                    "--budget", "50000", "--gantt", str(gantt), "--map", str(plan_map),
                    "--json")
    assert code == 0, out
    plan = json.loads(out)
    assert plan["plan"]["status"] == "Optimal"
    assert plan["plan"]["totals"]["cost"] <= 50000
    assert gantt.read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in plan_map.read_bytes()
    tasks = plan["plan"]["tasks"]
    assert tasks and all(t["end_date"] <= "2027-06-30" for t in tasks)

    progress = _write(tmp_path / "progress.csv", [
        {"hazard_id": tasks[0]["hazard_id"], "status": "done", "cleared_m2": "",
         "days_worked": 2}])
    code, out = cli(store_path, "season-plan", "replan", plan["id"], "--progress",
                    str(progress), "--as-of", "2027-02-01")
    assert code == 0, out
    assert "done" in out and "saved as" in out

    code, out = cli(store_path, "season-plan", "replan", plan["id"])
    assert code == 2 and "--progress" in out
    bad = _write(tmp_path / "bad.csv", [{"hazard_id": "x", "status": "finished"}])
    code, out = cli(store_path, "season-plan", "replan", plan["id"], "--progress",
                    str(bad))
    assert code == 2 and "status" in out
