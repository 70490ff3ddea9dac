# SPDX-License-Identifier: GPL-3.0-or-later
"""The Splink settings: comparisons (with the default m and u they start from) and blocking
rules, as plain dicts in Splink's own settings format, so that they are JSON as they are.

The Spark backend runs the same settings; the SQL functions used here are DuckDB's
(`date_diff`, `jaro_winkler_similarity`, `asin`...), for which Spark SQL has `datediff`, a
Jaro-Winkler UDF (splink's Spark jar) and the same trigonometry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from mineaction.linkage.fields import field_set

UID = "uid"
SOURCE = "source_dataset"


def _level(sql: str, label: str, m: float, u: float) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label,
            "m_probability": m, "u_probability": u}


def _null(sql: str) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": "missing on either side",
            "is_null_level": True}


def _exact(column: str, u_agree: float, m_differ: float) -> dict[str, Any]:
    """Equality with null handling: a source that does not say neither agrees nor disagrees.
    `m_differ`: how often two reports of one person give different values (recording
    errors): small, so that a disagreement weighs against a match."""
    return {"output_column_name": column, "comparison_levels": [
        _null(f"{column}_l IS NULL OR {column}_r IS NULL"),
        _level(f"{column}_l = {column}_r", "equal", 1 - m_differ, u_agree),
        _level("ELSE", "different", m_differ, 1 - u_agree),
    ]}


def _date(graded: bool = False) -> dict[str, Any]:
    """Dates as day ranges (a month-precision date is any day of that month): overlapping
    ranges agree; otherwise the gap in days between them. `graded` (between sources) adds
    3 and 10 days below 31: a report a few days off (the day of the report, not of the
    accident) is likelier the same accident than one weeks off; its default m state that
    most reports give the day and a wrong one is off by up to a month about evenly, and
    training replaces the u. A release against its own dataset (month precision, the same
    register) keeps the coarser levels."""
    gap = ("date_diff('day', least(date_end_l, date_end_r), "
           "greatest(date_start_l, date_start_r))")
    close = [_level(f"{gap} <= 3", "within 3 days", 0.02, 0.0006),
             _level(f"{gap} <= 10", "within 10 days", 0.03, 0.0014),
             _level(f"{gap} <= 31", "within 31 days", 0.07, 0.004)] if graded else [
             _level(f"{gap} <= 31", "within 31 days", 0.12, 0.006)]
    return {"output_column_name": "date", "comparison_levels": [
        _null("date_start_l IS NULL OR date_start_r IS NULL"),
        _level("greatest(date_start_l, date_start_r) <= least(date_end_l, date_end_r)",
               "ranges overlap", 0.85, 0.004),
        *close,
        _level(f"{gap} <= 92", "within 92 days", 0.02, 0.015),
        _level("ELSE", "further apart", 0.01, 0.975),
    ]}


def _haversine_km() -> str:
    return ("2 * 6371 * asin(sqrt(pow(sin(radians(latitude_r - latitude_l) / 2), 2) + "
            "cos(radians(latitude_l)) * cos(radians(latitude_r)) * "
            "pow(sin(radians(longitude_r - longitude_l) / 2), 2)))")


def _place(with_coordinates: bool) -> dict[str, Any]:
    """Distance when both give coordinates, else the admin area (municipality, then
    department) when only that is known. Without coordinates in the data, the distance
    levels are left out (a level never seen has no m to train: EM underflows on it)."""
    coords = ("latitude_l IS NOT NULL AND latitude_r IS NOT NULL AND "
              "longitude_l IS NOT NULL AND longitude_r IS NOT NULL")
    if not with_coordinates:
        return {"output_column_name": "place", "comparison_levels": [
            _null("admin_area_pcode_l IS NULL OR admin_area_pcode_r IS NULL"),
            _level("admin_area_pcode_l = admin_area_pcode_r", "same municipality", 0.97,
                   0.003),
            _level("department_l = department_r", "same department", 0.02, 0.05),
            _level("ELSE", "elsewhere", 0.01, 0.947),
        ]}
    return {"output_column_name": "place", "comparison_levels": [
        _null(f"(admin_area_pcode_l IS NULL OR admin_area_pcode_r IS NULL) AND NOT ({coords})"),
        _level(f"{coords} AND {_haversine_km()} <= 1", "within 1 km", 0.6, 0.0005),
        _level("admin_area_pcode_l = admin_area_pcode_r", "same municipality", 0.37, 0.003),
        _level(f"{coords} AND {_haversine_km()} <= 25", "within 25 km", 0.015, 0.01),
        _level("department_l = department_r", "same department", 0.01, 0.05),
        _level("ELSE", "elsewhere", 0.005, 0.9365),
    ]}


def _age(with_years: bool) -> dict[str, Any]:
    """Age in years when both give it (a year apart agrees: birthdays), else the band. The
    band level's m is high: a source giving years and one giving a band agree on the band
    for nearly every true match, so agreeing is (weak) evidence for, not against."""
    years = [_level("abs(age_l - age_r) <= 1", "age within a year", 0.3, 0.02)]
    return {"output_column_name": "age", "comparison_levels": [
        _null("(age_l IS NULL OR age_r IS NULL) AND (age_band_l IS NULL OR age_band_r IS NULL)"),
        *(years if with_years else []),
        _level("(age_l IS NULL OR age_r IS NULL OR abs(age_l - age_r) <= 1)"
               " AND age_band_l = age_band_r", "same band", 0.68 if with_years else 0.98,
               0.73),
        _level("ELSE", "different", 0.02, 0.25),
    ]}


def _text(column: str) -> dict[str, Any]:
    sim = f"jaro_winkler_similarity({column}_l, {column}_r)"
    return {"output_column_name": column, "comparison_levels": [
        _null(f"{column}_l IS NULL OR {column}_r IS NULL"),
        _level(f"{column}_l = {column}_r", "equal", 0.7, 0.02),
        _level(f"{sim} >= 0.9", "similar", 0.2, 0.05),
        _level("ELSE", "different", 0.1, 0.93),
    ]}


# How often two unrelated records agree on each category, by default (the Monitor's shares:
# mostly men, mostly injured, a few activities); training by random sampling replaces these.
_CATEGORY_U = {"sex": 0.75, "outcome": 0.65, "role": 0.5, "activity": 0.2,
               "accident_kind": 0.8, "device_category": 0.8}
# How often two reports of one victim differ on it: a person's own fields rarely (a recording
# error), the activity more often (one source's "travelling" is another's "other").
_CATEGORY_M_DIFFER = {"sex": 0.02, "outcome": 0.02, "role": 0.02, "activity": 0.05,
                      "accident_kind": 0.05, "device_category": 0.05}
# The comparisons of the accident (when and where), which EM may train: the victims of one
# accident share them, so EM on the victims' own fields learns 'same accident', not 'same
# person' (their m keep the defaults above, noted in the model).
ACCIDENT_COMPARISONS = ("date", "place", "place_name", "accident_kind", "device_category")


def comparisons(kind: str, given: set[str] | None = None, *, graded_dates: bool = False
                ) -> list[dict[str, Any]]:
    """The comparisons for `kind`, limited to the fields `given` (those at least two inputs
    fill somewhere; None: all): a field no two sources give is not compared.
    `graded_dates`: see _date."""
    fs = field_set(kind)

    def has(name: str) -> bool:
        return given is None or name in given

    out = [_date(graded_dates), _place(has("longitude") and has("latitude"))]
    if fs.has_age and (has("age") or has("age_band")):
        out.append(_age(has("age")))
    out += [_exact(c, _CATEGORY_U.get(c, 0.3), _CATEGORY_M_DIFFER.get(c, 0.05))
            for c in fs.categorical if has(c)]
    out += [_text(c) for c in fs.text if has(c)]
    return out


def given_fields(frames: Sequence[pd.DataFrame]) -> set[str]:
    """The columns that at least two of the frames fill in some row."""
    counts: dict[str, int] = {}
    for frame in frames:
        for column in frame.columns:
            if frame[column].notna().any():
                counts[column] = counts.get(column, 0) + 1
    return {c for c, n in counts.items() if n >= 2}


def blocking_rules(kind: str) -> list[str]:
    """Candidates share a municipality, or (for a record whose municipality is unknown or
    wrong) the start of their date range and, for victims, sex and outcome. A pair that
    differs in both municipality and date is never compared: the price of not comparing
    every pair."""
    second = ("l.date_start = r.date_start AND l.sex = r.sex AND l.outcome = r.outcome"
              if field_set(kind).has_age else
              "l.date_start = r.date_start AND l.accident_kind = r.accident_kind")
    return ["l.admin_area_pcode = r.admin_area_pcode", second]


def default_settings(kind: str, given: set[str] | None = None, *,
                     graded_dates: bool = False) -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "unique_id_column_name": UID,
        "source_dataset_column_name": SOURCE,
        "comparisons": comparisons(kind, given, graded_dates=graded_dates),
        "blocking_rules_to_generate_predictions": blocking_rules(kind),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "probability_two_random_records_match": 1e-4,
    }
