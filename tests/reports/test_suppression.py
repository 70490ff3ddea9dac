"""Complementary suppression: no hidden count can be recovered by subtraction, from a row's
total or from a group's total, in small hand-made tables and in the published package."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from mineaction.reports import publish as pub
from mineaction.reports.suppression import COUNT_COLUMNS, PARTS, TOTAL, suppress
from mineaction.store import Store


def recoverable(frame: pd.DataFrame, group_by: list[str],
                totals: pd.DataFrame | None = None) -> list[str]:
    """Sums with exactly one hidden term whose sum is shown: the hidden value is their
    difference. A group's sum is its year's row in `totals` (casualties_by_year); without
    `totals` it counts as shown."""
    found = []
    hidden = frame[[c for c in COUNT_COLUMNS if c in frame]].isna()
    for i, row in hidden.iterrows():
        if row[[TOTAL, *[p for p in PARTS if p in row]]].sum() == 1:
            found.append(f"row {i}")
    if group_by:
        by = group_by[0] if len(group_by) == 1 else group_by
        for key, idx in frame.groupby(by, dropna=False).groups.items():
            year = key[0] if isinstance(key, tuple) else key
            for c in hidden.columns:
                total_shown = (totals is None
                               or not pd.isna(totals.set_index("year").loc[year, c]))
                if hidden.loc[idx, c].sum() == 1 and total_shown:
                    found.append(f"group {key} column {c}")
    return found


def test_a_lone_small_part_takes_a_second_cell_with_it() -> None:
    frame = pd.DataFrame([
        {"year": "2020", "area": "A", "casualties": 20, "killed": 3, "injured": 17,
         "unknown_outcome": 0},
        {"year": "2020", "area": "B", "casualties": 30, "killed": 10, "injured": 20,
         "unknown_outcome": 0},
        {"year": "2021", "area": "A", "casualties": 9, "killed": 0, "injured": 9,
         "unknown_outcome": 0},
    ])
    out = suppress(frame, 5, [["year"]])
    # Primary: A's 3 killed. Row: A's injured (the only other non-zero part). Group 2020:
    # killed and injured are now hidden in one row only, so B's are hidden too.
    assert out.loc[0, "killed"] is None and out.loc[0, "injured"] is None
    assert out.loc[1, "killed"] is None and out.loc[1, "injured"] is None
    assert out.loc[0, "casualties"] == 20 and out.loc[1, "casualties"] == 30
    assert out["suppressed"].tolist() == [True, True, False]
    # Nothing in 2021 was small: untouched, zeros kept.
    assert out.loc[2, ["casualties", "killed", "injured"]].tolist() == [9, 0, 9]
    assert recoverable(out, ["year"]) == []
    # Without complementary suppression the 3 killed would be 20 - 17.
    assert recoverable(frame.assign(killed=[None, 10, 0]), ["year"]) != []


def test_threshold_one_hides_nothing() -> None:
    frame = pd.DataFrame([{"year": "2020", "casualties": 1, "killed": 1, "injured": 0,
                           "unknown_outcome": 0}])
    out = suppress(frame, 1)
    assert out.loc[0, "casualties"] == 1 and not out.loc[0, "suppressed"]


def _read(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[2:]  # second row: HXL hashtags
    frame = pd.DataFrame(data, columns=header)
    for c in COUNT_COLUMNS:
        frame[c] = pd.to_numeric(frame[c].replace("", None))
    return frame


def test_published_package_has_no_recoverable_cell(colombia_gpkg: Store,
                                                   tmp_path: Path) -> None:
    pub.publish(colombia_gpkg, tmp_path / "pkg", threshold=10)
    by_year = _read(tmp_path / "pkg" / "casualties_by_year.csv")
    by_admin = _read(tmp_path / "pkg" / "casualties_by_year_admin1.csv")
    by_category = _read(tmp_path / "pkg" / "casualties_by_year_category.csv")
    assert by_admin["casualties"].isna().any()  # the test data does have small cells
    assert recoverable(by_year, []) == []
    assert recoverable(by_admin, ["year"], by_year) == []
    assert recoverable(by_category, ["year", "dimension"], by_year) == []
    shown = by_admin[list(COUNT_COLUMNS)].stack().dropna()
    assert ((shown == 0) | (shown >= 10)).all()
