# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction claims` (issue 22): import (all or nothing, a re-import adding nothing),
list with filters, check a store or a file, --strict, --json, and the records check
against the store's own victims."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from shapely.geometry import Point
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Accident, AdminArea, Victim
from mineaction.store import open_store

runner = CliRunner()
AZERBAIJAN = Path(__file__).resolve().parents[1] / "data" / "azerbaijan" / "claims_2020-2025.csv"


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_import_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    store = str(tmp_path / "s.gpkg")
    code, out = cli("claims", "import", str(AZERBAIJAN), "--store", store)
    assert code == 0, out
    assert "96 claims read, 96 added, 0 unchanged" in out
    code, out = cli("claims", "import", str(AZERBAIJAN), "--store", store, "--json")
    assert code == 0 and json.loads(out) == {"file_name": AZERBAIJAN.name, "rows": 96,
                                             "added": 0, "unchanged": 96}


def test_a_bad_file_is_refused_whole(tmp_path: Path) -> None:
    store = str(tmp_path / "s.gpkg")
    bad = tmp_path / "bad.csv"
    bad.write_text("as_of,metric,value,unit,area,stated_by\n"
                   "2024-01-01,victims_total,3,persons,Azerbaijan,PGO\n"
                   "2024-01-01,victims_total,x,persons,Azerbaijan,PGO\n", encoding="utf-8")
    code, out = cli("claims", "import", str(bad), "--store", store)
    assert code == 2
    assert "bad.csv: 1 problem(s), nothing imported" in out
    assert "row 3: value: 'x' is not a number" in out
    code, out = cli("claims", "list", "--store", store, "--format", "json")
    assert code == 0 and json.loads(out) == []


def test_list_filters_and_csv_reads_back(tmp_path: Path) -> None:
    store = str(tmp_path / "s.gpkg")
    cli("claims", "import", str(AZERBAIJAN), "--store", store)
    code, out = cli("claims", "list", "--store", store, "--metric", "victims_total",
                    "--stated-by", "prosecutor", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["value"] for r in rows] == [58, 342, 351, 41, 382]
    code, out = cli("claims", "list", "--store", store, "--area", "aghdam", "--format", "csv")
    assert code == 0
    again = tmp_path / "aghdam.csv"
    again.write_text(out, encoding="utf-8")
    other = str(tmp_path / "other.gpkg")
    code, out = cli("claims", "import", str(again), "--store", other)
    assert "1 claims read, 1 added" in out
    code, out = cli("claims", "list", "--store", store, "--metric", "victims_drowned")
    assert code == 2 and "unknown metric 'victims_drowned'" in out


def test_check_a_file_prints_findings_and_strict_fails(tmp_path: Path) -> None:
    code, out = cli("claims", "check", str(AZERBAIJAN))
    assert code == 0
    assert "342 to 2024-01-26 (Prosecutor General's Office via Trend) + 41" in out
    assert "65 victims_killed + 288 victims_injured = 353, but victims_total is 351" in out
    assert "reported as 341 by Report.az, 340 by SIA.az, 334 by AzVision" in out
    assert "299 to 2023-05-12" in out and "140,000 ha to 2025-10" in out
    code, _ = cli("claims", "check", str(AZERBAIJAN), "--strict")
    assert code == 1
    agree = tmp_path / "agree.csv"
    agree.write_text("as_of,metric,value,unit,area,stated_by\n"
                     "2024-01-01,victims_total,3,persons,Azerbaijan,PGO\n", encoding="utf-8")
    code, out = cli("claims", "check", str(agree), "--strict")
    assert code == 0 and "no disagreement found" in out
    code, out = cli("claims", "check", str(agree), "--tolerance", "2")
    assert code == 2 and "tolerance" in out


def test_check_the_store_against_its_own_victims(tmp_path: Path) -> None:
    """Three approved victims killed in 2024 in an area of Azerbaijan; a claim of 5 killed
    in 2024 disagrees, one of 3 agrees. A draft victim does not count; areas the store
    has no victims of (or does not know) are not compared."""
    path = tmp_path / "s.gpkg"
    with open_store(path) as s:
        s.add(AdminArea(pcode="AZ", name="Azerbaijan", level=0, status="approved"))
        s.add(AdminArea(pcode="AZ07", name="Qarabağ", level=1, status="approved"))
        s.add(AdminArea(pcode="AZ03", name="Bakı", level=1, status="approved"))
        accident = s.add(Accident(geometry=Point(46.9, 39.9), admin_area_pcode="AZ07",
                                  accident_date=date(2024, 5, 2), status="approved"))
        for _ in range(3):
            s.add(Victim(accident_id=accident.id, outcome="killed", status="approved"))
        s.add(Victim(accident_id=accident.id, outcome="killed", status="draft"))
    claims = tmp_path / "c.csv"
    claims.write_text(
        "as_of,period_start,period_end,metric,value,unit,area,stated_by,reported_by\n"
        "2025-01-15,2024-01-01,2024-12-31,victims_killed,5,persons,Azerbaijan,PGO,MENAFN\n"
        "2025-01-15,2024-01-01,2024-12-31,victims_killed,3,persons,Qarabağ,ANAMA,Trend\n"
        "2025-01-15,2024-01-01,2024-12-31,victims_killed,9,persons,Nowhere,ANAMA,Trend\n"
        # an area without any victim recorded: nothing to compare, not "0 recorded"
        "2025-01-15,2024-01-01,2024-12-31,victims_killed,2,persons,Bakı,ANAMA,Trend\n",
        encoding="utf-8")
    cli("claims", "import", str(claims), "--store", str(path))
    code, out = cli("claims", "check", "--store", str(path), "--json")
    assert code == 0, out
    records = [f for f in json.loads(out) if f["check"] == "records"]
    assert len(records) == 1
    assert records[0]["expected"] == 3
    assert [(c["area"], c["value"], c["stated_by"]) for c in records[0]["claims"]] == [
        ("Azerbaijan", 5, "PGO")]
    # The file alone has no records to compare with.
    code, out = cli("claims", "check", str(claims), "--json")
    assert [f for f in json.loads(out) if f["check"] == "records"] == []
