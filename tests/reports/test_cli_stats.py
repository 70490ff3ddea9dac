"""`mineaction stats casualties` on the real register: filters, percentages of the known,
and the drill-down to the victims behind a cell, checked against the CSV counted with
pandas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.store import Store

REGISTER = Path(__file__).parents[2] / "data/colombia/aicma_victims_register_2021-06.csv"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["stats", "casualties", *args])
    return result.exit_code, result.stdout, result.stderr


def test_filters_and_percentages(colombia_gpkg: Store) -> None:
    code, out, _ = run("--by", "role", "--percent", "--from", "2006-01-01", "--to",
                       "2006-12-31", "--format", "csv", "--store", colombia_gpkg.location)
    assert code == 0, out
    rows = {r["role"]: r for r in csv.DictReader(io.StringIO(out))}
    frame = pd.read_csv(REGISTER, dtype=str)
    year = frame[frame["ano"] == "2006"]
    civilians = int((year["condicion"] == "Civil").sum())
    assert int(rows["civilian"]["casualties"]) == civilians
    assert float(rows["civilian"]["pct_of_known_role"]) == round(100 * civilians / len(year), 1)


def test_drill_down_lists_a_cells_victims(colombia_gpkg: Store) -> None:
    code, out, err = run("--records", "year=2006,admin-area=05001", "--format", "csv",
                         "--store", colombia_gpkg.location)
    assert code == 0, out
    frame = pd.read_csv(REGISTER, dtype=str)
    expected = frame[(frame["ano"] == "2006")
                     & (frame["codigodanemunicipio"].str.zfill(5) == "05001")]
    listed = list(csv.DictReader(io.StringIO(out)))
    assert len(listed) == len(expected) > 0
    assert "name" not in listed[0] and f"{len(expected):,} victims" in err


def test_bad_options_exit_2(colombia_gpkg: Store) -> None:
    store = colombia_gpkg.location
    assert run("--admin-level", "1", "--store", store)[0] == 2
    assert run("--records", "colour=red", "--store", store)[0] == 2
    assert run("--from", "2006-13-01", "--store", store)[0] == 2


def test_list_columns_chosen_and_personal_fields_refused(colombia_gpkg: Store) -> None:
    result = CliRunner().invoke(app, ["list", "accidents", "--columns",
                                      "accident_date,admin_area_pcode", "--admin-area",
                                      "05313", "--limit", "3", "--format", "csv", "--store",
                                      colombia_gpkg.location])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["accident_date", "admin_area_pcode"] and len(rows) == 3
    assert {r["admin_area_pcode"] for r in rows} == {"05313"}
    refused = CliRunner().invoke(app, ["list", "victims", "--columns", "name", "--store",
                                       colombia_gpkg.location])
    assert refused.exit_code == 2 and "no field name" in refused.output
