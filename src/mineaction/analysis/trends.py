"""Trends in casualty counts: year-on-year change, rolling 12-month counts and a clearly
labelled projection with a prediction interval.

The projection is statsmodels' exponential smoothing state-space model (ETS: additive
error, damped additive trend) fitted to log(1 + yearly casualties), so the interval stays
above zero and widens with the horizon; back-transformed, its mean is a median forecast.
It is a statistical extrapolation of past counts, not a prediction of what will happen:
casualty counts follow conflict, access and reporting, none of which the model knows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mineaction.analysis.casualties import casualties
from mineaction.store.base import Store

PROJECTION_LABEL = "Projection (exponential smoothing, damped trend; not a prediction)"
MIN_YEARS_FOR_PROJECTION = 6


def yearly_counts(store: Store, **filters: Any) -> pd.Series:
    """Casualties per calendar year as a Series indexed by int year, with years without
    casualties between the first and the last filled with 0."""
    rows = casualties(store, ["year"], **filters).rows
    counts = {int(r["year"]): r["casualties"] for r in rows if r["year"]}
    if not counts:
        return pd.Series(dtype="int64")
    years = range(min(counts), max(counts) + 1)
    return pd.Series([counts.get(y, 0) for y in years], index=list(years), dtype="int64")


def year_on_year(counts: pd.Series) -> list[dict[str, Any]]:
    """Each year's count with its change from the year before (absolute and per cent)."""
    out = []
    previous: int | None = None
    for year, n in counts.items():
        n = int(n)
        change = None if previous is None else n - previous
        pct = None if previous in (None, 0) else round(100 * (n - previous) / previous, 1)
        out.append({"year": int(year), "casualties": n, "change": change, "pct_change": pct})
        previous = n
    return out


def rolling_12_months(store: Store, **filters: Any) -> list[dict[str, Any]]:
    """Casualties per month and the sum of the 12 months ending with it (months without
    casualties count as 0; the first 11 months have no full window and get None)."""
    rows = casualties(store, ["month"], **filters).rows
    counts = {r["month"]: r["casualties"] for r in rows if r["month"]}
    if not counts:
        return []
    index = pd.period_range(min(counts), max(counts), freq="M")
    series = pd.Series([counts.get(str(p), 0) for p in index], index=index, dtype="int64")
    rolling = series.rolling(12, min_periods=12).sum()
    return [
        {"month": str(p), "casualties": int(n),
         "rolling_12": None if np.isnan(r) else int(r)}
        for p, n, r in zip(index, series, rolling, strict=True)
    ]


def project(counts: pd.Series, horizon: int = 3, alpha: float = 0.05) -> dict[str, Any]:
    """Project yearly counts `horizon` years ahead with a (1 - alpha) prediction interval.

    Returns {"label", "method", "years": [...], "mean": [...], "lower": [...],
    "upper": [...], "fitted_on": [first, last]}, or {"label", "reason"} with no figures when
    there are too few years (fewer than MIN_YEARS_FOR_PROJECTION) to fit a trend."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if len(counts) < MIN_YEARS_FOR_PROJECTION:
        return {"label": PROJECTION_LABEL,
                "reason": f"needs {MIN_YEARS_FOR_PROJECTION} years of data, has {len(counts)}"}
    first = int(counts.index[0])
    index = pd.period_range(str(first), periods=len(counts), freq="Y")
    y = pd.Series(np.log1p(counts.to_numpy(dtype=float)), index=index)
    model = ETSModel(y, error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings(record=True) as caught:
        # Short series often end the optimiser early; say so rather than fail or hide it.
        warnings.simplefilter("always", ConvergenceWarning)
        result = model.fit(disp=False)
    frame = result.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(
        alpha=alpha)
    back = np.expm1
    note = "optimiser did not converge" if any(
        issubclass(w.category, ConvergenceWarning) for w in caught) else None
    last = int(counts.index[-1])
    return {
        "label": PROJECTION_LABEL,
        "method": "statsmodels ETSModel(error='add', trend='add', damped_trend=True) on "
                  "log(1 + casualties per year)",
        "interval": f"{round(100 * (1 - alpha))}% prediction interval",
        "years": list(range(last + 1, last + 1 + horizon)),
        "mean": [round(float(v), 1) for v in back(frame["mean"])],
        "lower": [round(max(0.0, float(v)), 1) for v in back(frame["pi_lower"])],
        "upper": [round(float(v), 1) for v in back(frame["pi_upper"])],
        "fitted_on": [first, last],
        "note": note,
    }


def trends(store: Store, *, horizon: int = 3, until: int | None = None,
           **filters: Any) -> dict[str, Any]:
    """Year-on-year changes, rolling 12-month counts and the projection, JSON-ready.
    `until` drops later years (a report for 2020 projects from 2020, not from 2021)."""
    counts = yearly_counts(store, **filters)
    if until is not None:
        counts = counts[counts.index <= until]
    return {
        "year_on_year": year_on_year(counts),
        "rolling_12_months": rolling_12_months(store, **filters),
        "projection": project(counts, horizon),
    }


def change_between(counts: Sequence[dict[str, Any]], year: int) -> dict[str, Any] | None:
    """The year-on-year row for `year`, if any."""
    return next((r for r in counts if r["year"] == year), None)
