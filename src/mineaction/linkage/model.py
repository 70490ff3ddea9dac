# SPDX-License-Identifier: GPL-3.0-or-later
"""The Splink model: its settings (blocking rules and comparisons), its training (u by random
sampling; m of the accident's comparisons by expectation maximisation when asked, else the
defaults, which state recording error rates) and its predictions, on DuckDB.

The model's parameters are a plain JSON-able dict (Splink's own settings format), saved with a
dataset and given back to score the next release the same way. The same settings run on
Splink's Spark backend (`splink.SparkAPI(spark_session=...)` in place of `DuckDBAPI()`) for
national or regional volumes: nothing here is DuckDB-specific except the SQL functions
(`date_diff`, `jaro_winkler_similarity`), which Spark SQL has as `datediff` and a UDF."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mineaction.linkage.fields import field_set

UID = "uid"
SOURCE = "source_dataset"

# Below this many records on the smaller side, training is skipped and the default
# parameters below are used: EM on a few dozen pairs fits noise.
MIN_TRAINING_RECORDS = 1000


# -- comparisons ----------------------------------------------------------------------------
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


def _date() -> dict[str, Any]:
    """Dates as day ranges (a month-precision date is any day of that month): overlapping
    ranges agree; otherwise the gap in days between them."""
    gap = ("date_diff('day', least(date_end_l, date_end_r), "
           "greatest(date_start_l, date_start_r))")
    return {"output_column_name": "date", "comparison_levels": [
        _null("date_start_l IS NULL OR date_start_r IS NULL"),
        _level("greatest(date_start_l, date_start_r) <= least(date_end_l, date_end_r)",
               "ranges overlap", 0.85, 0.004),
        _level(f"{gap} <= 31", "within 31 days", 0.12, 0.006),
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


def comparisons(kind: str, given: set[str] | None = None) -> list[dict[str, Any]]:
    """The comparisons for `kind`, limited to the fields `given` (those at least two inputs
    fill somewhere; None: all): a field no two sources give is not compared."""
    fs = field_set(kind)

    def has(name: str) -> bool:
        return given is None or name in given

    out = [_date(), _place(has("longitude") and has("latitude"))]
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


def default_settings(kind: str, given: set[str] | None = None) -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "unique_id_column_name": UID,
        "source_dataset_column_name": SOURCE,
        "comparisons": comparisons(kind, given),
        "blocking_rules_to_generate_predictions": blocking_rules(kind),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "probability_two_random_records_match": 1e-4,
    }


# -- the model ------------------------------------------------------------------------------
@dataclass
class LinkageModel:
    """Splink settings with their parameters, and what training did."""

    kind: str
    settings: dict[str, Any]
    trained: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """What is saved with a dataset: Splink's settings dict plus our kind and notes."""
        return {"kind": self.kind, "trained": self.trained, "notes": list(self.notes),
                "splink": self.settings}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkageModel:
        return cls(kind=str(data["kind"]), settings=dict(data["splink"]),
                   trained=bool(data.get("trained")), notes=list(data.get("notes", [])))


def _linker(frames: Sequence[pd.DataFrame], names: Sequence[str], settings: dict[str, Any]
            ) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    tables = [db_api.register(f, dataset_display_name=n) for f, n in zip(frames, names,
                                                                             strict=True)]
    return Linker(tables, settings, log_level=logging.WARNING)


def _splink_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the columns the comparisons read, plus the id: less for DuckDB to copy."""
    keep = [c for c in frame.columns if c in _READ_COLUMNS or c == UID]
    return frame[keep]


_READ_COLUMNS = frozenset({"date_start", "date_end", "admin_area_pcode", "department",
                           "longitude", "latitude", "age", "age_band", "sex", "outcome",
                           "role", "activity", "accident_kind", "device_category",
                           "place_name", "narrative"})


def prior(sizes: Sequence[int]) -> float:
    """The chance that two records from different sides are the same: at most one match per
    record of the larger side, so 1 / the larger side (a property of the data, not the
    model: recomputed on every run)."""
    return min(0.5, 1 / max(2, *sizes))


# EM pairs records that agree on the victim's own fields, so that the accident's fields (its
# date and place) are what tells a match from a non-match there.
EM_BLOCKING_RULE = ("l.sex = r.sex AND l.outcome = r.outcome AND l.age_band = r.age_band"
                    " AND l.role = r.role AND l.activity = r.activity")


def train(model: LinkageModel, frames: Sequence[pd.DataFrame], names: Sequence[str], *,
          seed: int = 7, min_records: int = MIN_TRAINING_RECORDS, em: bool = False
          ) -> LinkageModel:
    """u of every comparison from random pairs; with `em`, m of the accident's comparisons
    (date, place, device) by EM on pairs that agree on the victim's own fields. The victims'
    own fields keep their default m (see ACCIDENT_COMPARISONS). Too few records, or a
    training that fails or ends implausibly, keeps the defaults, and says so in the notes.

    EM is off by default: on registers where an accident has several victims (AICMA: half the
    victims share every field with another), it converged on 'same area and season' rather
    than 'same person' (m of 'same day' 0.48 where the truth is about 0.8), and the default
    m, which state recording error rates, linked better (bench/linkage_bench.py)."""
    smallest = min(len(f) for f in frames)
    if smallest < min_records:
        model.notes.append(f"not trained: {smallest} records on the smaller side "
                           f"(< {min_records}); default parameters")
        return model
    settings = dict(model.settings)
    settings["probability_two_random_records_match"] = prior([len(f) for f in frames])
    inputs = [_splink_columns(f) for f in frames]
    linker = _linker(inputs, names, settings)
    try:
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    except Exception as exc:  # noqa: BLE001 - Splink raises many kinds; defaults work
        model.notes.append(f"u estimation failed ({type(exc).__name__}: {exc}); default u")
    trained = _without_matches_in_u(linker.misc.save_model_to_json(),
                                    settings["probability_two_random_records_match"])
    trained_m = _em_accident_m(trained, inputs, names, model.notes) if em else {}
    if not em:
        model.notes.append("u trained by random sampling; m: defaults (EM not asked for)")
    for comparison in trained["comparisons"]:
        if comparison["output_column_name"] in trained_m:
            comparison["comparison_levels"] = trained_m[comparison["output_column_name"]]
    model.settings = trained
    model.trained = True
    return model


def _without_matches_in_u(settings: dict[str, Any], prior_match: float) -> dict[str, Any]:
    """Random pairs between sources include the true matches (about `prior_match` of them),
    and for the rarest levels (same day, place and site) they are most of what sampling
    sees: u = P(level | non-match) = (observed - prior * m) / (1 - prior), kept at a tenth
    of the observed share at least (the subtraction is only as good as the prior and m)."""
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or "u_probability" not in level:
                continue
            observed = float(level["u_probability"])
            m = float(level.get("m_probability", 0.0))
            level["u_probability"] = max((observed - prior_match * m) / (1 - prior_match),
                                         observed / 10, 1e-9)
    return settings


def _em_accident_m(settings: dict[str, Any], inputs: Sequence[pd.DataFrame],
                   names: Sequence[str], notes: list[str]) -> dict[str, Any]:
    """The accident comparisons' levels with m trained by EM, or {} (noted) when EM fails or
    ends implausibly (a comparison's closest level no likelier among matches than among
    random pairs: EM found another latent class than 'same accident')."""
    needed = ("sex", "outcome", "age_band", "role", "activity")
    if not all(any(c in f.columns and f[c].notna().any() for f in inputs) for c in needed):
        notes.append("EM not run: the victims' own fields are missing; default m")
        return {}
    em_settings = dict(settings)
    em_settings["comparisons"] = [c for c in settings["comparisons"]
                                  if c["output_column_name"] in ACCIDENT_COMPARISONS]
    failure = ""
    # EM drives the m of a level true matches never reach towards 0, and Splink refuses an
    # m below 1e-300: fewer iterations stop it before that.
    for iterations in (25, 6, 3):
        em_settings["max_iterations"] = iterations
        linker = _linker(inputs, names, em_settings)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                EM_BLOCKING_RULE, max_pairs=1e6)
        except Exception as exc:  # noqa: BLE001 - Splink raises many kinds
            failure = f"{type(exc).__name__}: {exc}"
            continue
        result = linker.misc.save_model_to_json()
        levels = {c["output_column_name"]: c["comparison_levels"]
                  for c in result["comparisons"]}
        for name, comparison in levels.items():
            closest = next(lv for lv in comparison if not lv.get("is_null_level"))
            if closest.get("m_probability", 0) < 0.3 or (
                    closest.get("m_probability", 0) <= closest.get("u_probability", 1)):
                notes.append(f"EM ended implausibly on {name} (m of its closest level "
                             f"{closest.get('m_probability')}); default m")
                return {}
        notes.append(f"m of {', '.join(levels)} trained by EM ({iterations} iterations at "
                     "most)")
        return levels
    notes.append(f"EM failed ({failure}); default m")
    return {}


def predict(model: LinkageModel, frames: Sequence[pd.DataFrame], names: Sequence[str], *,
            threshold: float = 0.0) -> pd.DataFrame:
    """Scored candidate pairs between the frames (never within one): columns uid_l, uid_r,
    source_dataset_l, source_dataset_r, match_probability."""
    settings = dict(model.settings)
    settings["probability_two_random_records_match"] = prior([len(f) for f in frames])
    if any(len(f) == 0 for f in frames):
        return pd.DataFrame(columns=[f"{UID}_l", f"{UID}_r", f"{SOURCE}_l", f"{SOURCE}_r",
                                     "match_probability"])
    linker = _linker([_splink_columns(f) for f in frames], names, settings)
    scored = linker.inference.predict(threshold_match_probability=threshold or None,
                                      warning_mode="never")
    pairs = scored.as_pandas_dataframe()
    return pairs[[f"{UID}_l", f"{UID}_r", f"{SOURCE}_l", f"{SOURCE}_r", "match_probability"]]
