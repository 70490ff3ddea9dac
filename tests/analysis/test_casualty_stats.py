"""Casualty statistics on the real Colombia register, on both stores, checked against the
CSV counted independently with pandas (never against our own output)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from mineaction.analysis.casualties import (
    breakdown,
    casualties,
    casualty_stats,
    drilldown,
    drilldown_ids,
)
from mineaction.store import Store

REGISTER = Path(__file__).parents[2] / "data/colombia/aicma_victims_register_2021-06.csv"

OUTCOME = {"Herido": "injured", "Muerto": "killed"}
ROLE = {"Civil": "civilian", "Fuerza pública": "security_forces"}
AGE = {"Menor de 18 años": "child", "Mayor de 18 años": "adult"}


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    frame = pd.read_csv(REGISTER, dtype=str)
    frame["pcode"] = frame["codigodanemunicipio"].str.zfill(5)
    frame["department"] = frame["pcode"].str[:2]
    frame["outcome"] = frame["estado"].map(OUTCOME)
    frame["role"] = frame["condicion"].map(ROLE)
    frame["age_band"] = frame["rangoedad"].map(AGE).fillna("unknown")
    return frame


def as_dict(rows: list[dict], key: str) -> dict:
    return {r[key]: r["casualties"] for r in rows}


def test_by_year_equals_the_register(colombia: Store, register: pd.DataFrame) -> None:
    rows = casualties(colombia, ["year"]).rows
    assert as_dict(rows, "year") == register.groupby("ano").size().to_dict()
    row_2006 = next(r for r in rows if r["year"] == "2006")
    assert (row_2006["casualties"], row_2006["injured"], row_2006["killed"]) == (1224, 984, 240)


@pytest.mark.parametrize("dim,column", [("outcome", "outcome"), ("role", "role"),
                                        ("age-band", "age_band")])
def test_by_category_equals_the_register(colombia: Store, register: pd.DataFrame, dim: str,
                                         column: str) -> None:
    got = as_dict(casualties(colombia, [dim]).rows, dim)
    assert got == register[column].value_counts().to_dict()


def test_year_by_outcome_pair_equals_the_register(colombia: Store,
                                                  register: pd.DataFrame) -> None:
    got = {(r["year"], r["outcome"]): r["casualties"]
           for r in casualties(colombia, ["year", "outcome"]).rows}
    assert got == register.groupby(["ano", "outcome"]).size().to_dict()


def test_per_department_rolls_up_through_admin_areas(colombia: Store,
                                                     register: pd.DataFrame) -> None:
    got = as_dict(casualties(colombia, ["admin-area"], admin_level=1).rows, "admin-area")
    assert got == register["department"].value_counts().to_dict()
    municipalities = as_dict(casualties(colombia, ["admin-area"], admin_level=2).rows,
                             "admin-area")
    assert municipalities == register["pcode"].value_counts().to_dict()


def test_department_by_year_and_filters(colombia: Store, register: pd.DataFrame) -> None:
    got = {(r["admin-area"], r["year"]): r["casualties"]
           for r in casualties(colombia, ["admin-area", "year"], admin_level=1).rows}
    assert got == register.groupby(["department", "ano"]).size().to_dict()
    antioquia_2020 = casualties(colombia, admin_area="05", date_from=date(2020, 1, 1),
                                date_to=date(2020, 12, 31)).total()["casualties"]
    assert antioquia_2020 == ((register["department"] == "05") & (register["ano"] == "2020")).sum()


def test_percentages_are_of_the_known(colombia: Store, register: pd.DataFrame) -> None:
    stats = casualty_stats(colombia, ["sex"])
    json.dumps(stats)  # JSON-ready, as the API will return it
    rows = {r["sex"]: r for r in stats["rows"]}
    known = register["genero"].isin(["Masculino", "Femenino"])
    expected = round(100 * (register["genero"] == "Femenino").sum() / known.sum(), 1)
    assert rows["female"]["pct_of_known_sex"] == expected
    assert rows["unknown"]["pct_of_known_sex"] is None  # shown, not a share
    assert rows["unknown"]["casualties"] == (~known).sum() == 40
    # Within each year, role shares of the known add up to 100.
    for year_rows in pd.DataFrame(casualty_stats(colombia, ["year", "role"])["rows"]).groupby(
            "year"):
        assert year_rows[1]["pct_of_known_role"].sum() == pytest.approx(100, abs=0.3)
    total = stats["total"]
    assert total["pct_killed"] == round(100 * 2329 / (2329 + 9733), 1)


def test_breakdown_puts_unknowns_last(colombia: Store) -> None:
    rows = breakdown(colombia, "activity")
    assert rows[-1]["activity"] == "unknown"
    assert rows[0]["casualties"] >= rows[1]["casualties"]
    assert {r["device-group"] for r in breakdown(colombia, "device-group")} == {
        "antipersonnel_mine", "other_erw"}


def test_drilldown_lists_the_records_behind_each_cell(colombia: Store,
                                                      register: pd.DataFrame) -> None:
    table = casualties(colombia, ["year", "role"])
    for row in table.rows[::7]:
        cell = {"year": row["year"], "role": row["role"]}
        ids = drilldown_ids(colombia, cell)
        assert len(ids) == len(set(ids)) == row["casualties"]
    q = drilldown(colombia, {"year": "2006", "outcome": "killed"})
    victims = colombia.query(q).items
    assert len(victims) == 240 and {v.outcome for v in victims} == {"killed"}
    # A rolled-up department cell drills down to the victims of all its municipalities.
    antioquia = drilldown_ids(colombia, {"admin-area": "05"}, admin_level=1)
    assert len(antioquia) == (register["department"] == "05").sum()
    accidents = drilldown_ids(colombia, {"year": "2020"}, what="accident")
    assert len(accidents) == len(set(accidents)) < (register["ano"] == "2020").sum()


def test_unknown_dimension_is_refused(colombia: Store) -> None:
    with pytest.raises(ValueError, match="cannot group by colour"):
        casualties(colombia, ["colour"])
