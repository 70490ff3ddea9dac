"""Trends: year-on-year change, rolling 12-month counts and the labelled projection."""

from __future__ import annotations

import pandas as pd
import pytest

from mineaction.analysis.trends import (
    PROJECTION_LABEL,
    project,
    rolling_12_months,
    trends,
    year_on_year,
    yearly_counts,
)
from mineaction.store import Store


def test_year_on_year_change() -> None:
    rows = year_on_year(pd.Series([10, 15, 0, 3], index=[2000, 2001, 2002, 2003]))
    assert [(r["change"], r["pct_change"]) for r in rows] == [
        (None, None), (5, 50.0), (-15, -100.0), (3, None)]


def test_rolling_12_months_on_the_register(colombia: Store) -> None:
    rows = rolling_12_months(colombia)
    months = pd.Series({r["month"]: r["casualties"] for r in rows})
    # Months are contiguous (empty months present as 0) and the window is 12 of them.
    assert len(rows) == len(pd.period_range(rows[0]["month"], rows[-1]["month"], freq="M"))
    assert rows[10]["rolling_12"] is None and rows[11]["rolling_12"] == months.iloc[:12].sum()
    yearly = yearly_counts(colombia)
    december_2006 = next(r for r in rows if r["month"] == "2006-12")
    assert december_2006["rolling_12"] == yearly[2006] == 1224


def test_projection_is_labelled_with_a_band(colombia: Store) -> None:
    result = trends(colombia, until=2020)
    p = result["projection"]
    assert p["label"] == PROJECTION_LABEL and "not a prediction" in p["label"]
    assert p["years"] == [2021, 2022, 2023]
    for lo, mid, hi in zip(p["lower"], p["mean"], p["upper"], strict=True):
        assert 0 <= lo <= mid <= hi
    # The band widens with the horizon.
    widths = [hi - lo for lo, hi in zip(p["lower"], p["upper"], strict=True)]
    assert widths == sorted(widths)
    assert result["year_on_year"][-1]["year"] == 2020


def test_too_short_a_series_gets_no_projection() -> None:
    p = project(pd.Series([3, 4, 5], index=[2018, 2019, 2020]))
    assert "reason" in p and "mean" not in p


@pytest.mark.parametrize("n", [8, 15])
def test_projection_of_a_flat_series_stays_near_it(n: int) -> None:
    series = pd.Series([100 + (i % 2) * 4 for i in range(n)], index=range(2000, 2000 + n))
    p = project(series, horizon=2)
    assert all(80 < m < 125 for m in p["mean"])
