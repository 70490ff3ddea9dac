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

from mineaction.linkage.comparisons import (
    ACCIDENT_COMPARISONS,
    SOURCE,
    UID,
)

# Below this many records on the smaller side, training is skipped and the default
# parameters below are used: EM on a few dozen pairs fits noise.
MIN_TRAINING_RECORDS = 1000


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
            threshold: float = 0.0, weights: bool = False) -> pd.DataFrame:
    """Scored candidate pairs between the frames (never within one): columns uid_l, uid_r,
    source_dataset_l, source_dataset_r, match_probability; with `weights`, also
    match_weight and each comparison's log2 Bayes factor `mw_<comparison>` (0 when either
    side is missing), from which the two-stage linker (hierarchy.py) separates the
    accident's evidence from the person's."""
    settings = dict(model.settings)
    settings["probability_two_random_records_match"] = prior([len(f) for f in frames])
    columns = [f"{UID}_l", f"{UID}_r", f"{SOURCE}_l", f"{SOURCE}_r", "match_probability"]
    if weights:
        settings["retain_intermediate_calculation_columns"] = True
        columns += ["match_weight", *(f"mw_{c['output_column_name']}"
                                      for c in settings["comparisons"])]
    if any(len(f) == 0 for f in frames):
        return pd.DataFrame(columns=columns)
    linker = _linker([_splink_columns(f) for f in frames], names, settings)
    scored = linker.inference.predict(threshold_match_probability=threshold or None,
                                      warning_mode="never")
    pairs = scored.as_pandas_dataframe()
    return pairs[columns]
