# SPDX-License-Identifier: GPL-3.0-or-later
"""Priorities among open hazards (issue 20): criteria after the GICHD's priority-setting
guidance (A Guide to Mine Action, 5th ed. 2014, ch. on priority setting; IMAS 07.11 on
land release): casualties and accidents near the hazard, the assets and land it blocks,
the people who would benefit, reconstruction planned over it, the modelled risk, and the
cost of clearing it.

Each criterion is built from 2 to 5 indicators (CRITERIA below: the one definition the
command line, the API, the docs and the tests read). An indicator is a measured number
with a direction: `benefit` (more of it, more priority) or `cost` (more of it, less). A
criterion's value for a hazard is the mean of its indicators rescaled to 0..1 across the
hazards compared, oriented the criterion's way; the criteria are then aggregated by a
weighted sum or PROMETHEE II, both from pymcdm (not re-implemented here), with weights
the user sets or takes from a preset.

Pure computation: numbers in, ranks out. Reading the hazards and measuring the
indicators is services/priorities.py.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Direction = Literal["benefit", "cost"]
METHODS = ("promethee", "weighted-sum")
SENSITIVITY_STEP = 0.20  # each weight moved by ±20%, the others rescaled to sum to 1


@dataclass(frozen=True)
class Indicator:
    name: str
    meaning: str
    direction: Direction
    unit: str
    how: str


@dataclass(frozen=True)
class Criterion:
    name: str
    meaning: str
    direction: Direction
    indicators: tuple[Indicator, ...]


CRITERIA: tuple[Criterion, ...] = (
    Criterion("casualties", "Accidents and casualties near the hazard: the danger it has "
              "shown to people (GICHD: casualty data as the first humanitarian criterion).",
              "benefit", (
                  Indicator("accidents_5km", "accidents recorded within 5 km of the hazard",
                            "benefit", "accidents", "accidents (one per event, however many "
                            "sources report it) whose point lies within 5 km of the hazard's "
                            "edge, geodesic"),
                  Indicator("casualties_5km", "people killed or injured in those accidents",
                            "benefit", "people", "victim records of the accidents counted "
                            "in accidents_5km (0 where the reader may not list victims)"),
                  Indicator("accidents_in_hazard", "accidents recorded as in this hazard",
                            "benefit", "accidents", "accidents whose hazard_id is the hazard"),
                  Indicator("years_since_accident", "years since the latest accident "
                            "within 5 km", "cost", "years",
                            "the list's reference date (the day it is built) minus the "
                            "newest accident_date within 5 km; 50 when there is none"),
              )),
    Criterion("blockages", "Assets and land use the hazard blocks (Hazard.blockages): "
              "housing, water, farmland, grazing, roads, infrastructure, services.",
              "benefit", (
                  Indicator("blocked_kinds", "kinds of asset or land use blocked", "benefit",
                            "kinds", "number of values in Hazard.blockages (0..7)"),
                  Indicator("blocks_basic_needs", "blocks housing or water", "benefit",
                            "0/1", "1 when blockages include housing or water"),
                  Indicator("blocks_livelihood", "blocks farmland or grazing", "benefit",
                            "0/1", "1 when blockages include agriculture or grazing"),
                  Indicator("blocks_access", "blocks roads, infrastructure or services",
                            "benefit", "0/1", "1 when blockages include roads, "
                            "infrastructure or services"),
              )),
    Criterion("population", "People who would benefit: beneficiaries recorded on the "
              "hazard, and settlements and returnee sites near it (a user point layer "
              "`settlements` with a `population` column, optional `returnees`).",
              "benefit", (
                  Indicator("beneficiaries", "direct beneficiaries recorded on the hazard",
                            "benefit", "people", "Hazard.beneficiaries (0 when not recorded)"),
                  Indicator("population_5km", "population of settlements within 5 km",
                            "benefit", "people", "sum of the `population` of the settlements "
                            "layer's points within 5 km of the hazard's edge"),
                  Indicator("returnees_5km", "returnees at sites within 5 km", "benefit",
                            "people", "sum of the settlements layer's `returnees` column "
                            "within 5 km (0 without that column)"),
              )),
    Criterion("reconstruction", "Reconstruction and development plans over or near the "
              "hazard (user layers whose names start with `reconstruction`).",
              "benefit", (
                  Indicator("plan_overlap", "a planned project covers part of the hazard",
                            "benefit", "0/1", "1 when the hazard intersects a feature of a "
                            "reconstruction layer"),
                  Indicator("plans_1km", "planned projects within 1 km", "benefit",
                            "projects", "features of the reconstruction layers within 1 km "
                            "of the hazard's edge"),
                  Indicator("plan_distance_km", "distance to the nearest planned project",
                            "cost", "km", "geodesic distance from the hazard's edge to the "
                            "nearest reconstruction feature; 50 when there is none"),
              )),
    Criterion("risk", "How likely the hazard is to hold explosive ordnance: the risk "
              "layer's modelled probability (optional) and the evidence behind the hazard.",
              "benefit", (
                  Indicator("risk_probability", "modelled probability of contamination at "
                            "the hazard", "benefit", "0..1", "the risk layer's probability "
                            "for the cell holding the hazard's representative point "
                            "(services/risk_layer.py); left out when no layer is shown"),
                  Indicator("confirmed", "confirmed (CHA) rather than suspected (SHA)",
                            "benefit", "0/1", "1 for a confirmed hazardous area (IMAS 04.10)"),
                  Indicator("direct_evidence", "direct evidence of contamination", "benefit",
                            "0/1", "1 when Hazard.evidence_kind is direct"),
              )),
    Criterion("cost", "What releasing the hazard costs: its area and the team-days it "
              "takes at the given productivity.", "cost", (
                  Indicator("area_m2", "area to release", "cost", "m²", "Hazard.area_m2, "
                            "else the geodesic area of its polygon (0 for a point)"),
                  Indicator("team_days", "team-days of clearance", "cost", "days",
                            "area_m2 divided by the team productivity (m² a day)"),
              )),
)
CRITERION = {c.name: c for c in CRITERIA}
INDICATORS = {i.name: (c, i) for c in CRITERIA for i in c.indicators}

PRESETS: dict[str, dict[str, float]] = {
    # Humanitarian: people first, as the GICHD guide's "reducing casualties" objective.
    "humanitarian": {"casualties": 0.30, "population": 0.30, "blockages": 0.15,
                     "reconstruction": 0.05, "risk": 0.10, "cost": 0.10},
    # Development: what clearance unlocks (land, roads, reconstruction).
    "development": {"casualties": 0.10, "population": 0.10, "blockages": 0.30,
                    "reconstruction": 0.30, "risk": 0.05, "cost": 0.15},
    "equal": {c.name: 1.0 / len(CRITERIA) for c in CRITERIA},
}


class PriorityError(ValueError):
    """Weights, a method or values that cannot be used; the message says which."""


def weights_from(preset: str | None = "humanitarian",
                 overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The preset's weights with `overrides` put in, scaled to sum to 1."""
    if preset is not None and preset not in PRESETS:
        raise PriorityError(f"no preset {preset!r}; one of {', '.join(PRESETS)}")
    weights = dict(PRESETS[preset]) if preset else {c.name: 0.0 for c in CRITERIA}
    for name, value in (overrides or {}).items():
        if name not in CRITERION:
            raise PriorityError(f"no criterion {name!r}; one of {', '.join(CRITERION)}")
        if not math.isfinite(value) or value < 0:
            raise PriorityError(f"weight of {name} must be a number >= 0, not {value}")
        weights[name] = float(value)
    total = sum(weights.values())
    if total <= 0:
        raise PriorityError("the weights add up to 0: give at least one criterion weight")
    return {name: weights.get(name, 0.0) / total for name in CRITERION}


def criterion_matrix(indicators: Sequence[Mapping[str, float | None]]
                     ) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Criterion values (hazards x criteria, each 0..1, higher = more of the criterion)
    from each hazard's indicator values, and the criteria that had any data.

    Each indicator is min-max rescaled across the hazards, turned the criterion's way (an
    indicator whose direction differs from its criterion's counts reversed), and the
    criterion is the mean of its indicators. A value missing for one hazard counts as the
    least of the criterion; an indicator missing for all is left out; a criterion with no
    indicator left is reported missing and left out of the decision."""
    n = len(indicators)
    columns: list[npt.NDArray[np.float64]] = []
    present: list[str] = []
    for crit in CRITERIA:
        parts = []
        for ind in crit.indicators:
            raw = [row.get(ind.name) for row in indicators]
            if all(v is None for v in raw):
                continue
            same = ind.direction == crit.direction
            x = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
            lo, hi = np.nanmin(x), np.nanmax(x)
            scaled = (x - lo) / (hi - lo) if hi > lo else np.zeros(n)
            if not same:
                scaled = 1.0 - scaled if hi > lo else scaled
            parts.append(np.where(np.isnan(x), 0.0, scaled))
        if parts:
            columns.append(np.mean(parts, axis=0))
            present.append(crit.name)
    matrix = np.column_stack(columns) if columns else np.zeros((n, 0))
    return matrix.astype(np.float64), present


def _types(names: Sequence[str]) -> npt.NDArray[np.float64]:
    return np.array([1.0 if CRITERION[c].direction == "benefit" else -1.0 for c in names])


def promethee_ii(matrix: npt.ArrayLike, weights: npt.ArrayLike, types: npt.ArrayLike, *,
                 preference: str = "vshape", p: Sequence[float] | None = None
                 ) -> npt.NDArray[np.float64]:
    """PROMETHEE II net flows (Brans & Vincke 1985), by pymcdm's PROMETHEE_II. With the
    V-shape function and p = each criterion's range, preference grows linearly with the
    difference (the "linear" generalised criterion with q = 0)."""
    from pymcdm.methods import PROMETHEE_II

    m = np.asarray(matrix, dtype=np.float64)
    if preference == "usual":
        method = PROMETHEE_II("usual")
    else:
        if p is None:
            spread = m.max(axis=0) - m.min(axis=0) if len(m) else np.ones(m.shape[1])
            p = [float(s) if s > 0 else 1.0 for s in spread]
        method = PROMETHEE_II(preference, p=list(p))
    with _quiet():
        return np.asarray(method(m, np.asarray(weights, dtype=np.float64),
                                 np.asarray(types, dtype=np.float64)), dtype=np.float64)


def weighted_sum(matrix: npt.ArrayLike, weights: npt.ArrayLike, types: npt.ArrayLike
                 ) -> npt.NDArray[np.float64]:
    """The weighted sum of min-max normalised criteria (cost criteria reversed), by
    pymcdm's WSM with its minmax_normalization."""
    from pymcdm.methods import WSM
    from pymcdm.normalizations import minmax_normalization

    with _quiet():
        return np.asarray(WSM(minmax_normalization)(
            np.asarray(matrix, dtype=np.float64), np.asarray(weights, dtype=np.float64),
            np.asarray(types, dtype=np.float64)), dtype=np.float64)


@contextmanager
def _quiet() -> Iterator[None]:
    """pymcdm warns when a hazard dominates or is dominated by the others: common among
    hazards (a large, far, quiet one is dominated) and no fault of the data."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Alternatives with indices",
                                category=UserWarning)
        yield


def ranks(scores: npt.ArrayLike) -> list[int]:
    """1 for the highest score; ties broken by order given (stable)."""
    s = np.asarray(scores, dtype=np.float64)
    order = sorted(range(len(s)), key=lambda i: (-round(float(s[i]), 12), i))
    out = [0] * len(s)
    for r, i in enumerate(order, start=1):
        out[i] = r
    return out


def _score(method: str, matrix: npt.NDArray[np.float64], w: npt.NDArray[np.float64],
           types: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0)
    if n == 1 or matrix.shape[1] == 0:
        return np.zeros(n)
    if method == "promethee":
        return promethee_ii(matrix, w, types)
    if method == "weighted-sum":
        return weighted_sum(matrix, w, types)
    raise PriorityError(f"no method {method!r}; one of {', '.join(METHODS)}")


@dataclass
class Ranking:
    method: str
    weights: dict[str, float]  # as asked (all criteria, summing to 1)
    used: list[str]  # criteria with data, in the decision
    matrix: npt.NDArray[np.float64]  # hazards x used criteria, 0..1
    scores: list[float]
    ranks: list[int]
    missing: list[str] = field(default_factory=list)

    def used_weights(self) -> npt.NDArray[np.float64]:
        w = np.array([self.weights[c] for c in self.used], dtype=np.float64)
        return w / w.sum() if w.sum() > 0 else w


def rank(indicators: Sequence[Mapping[str, float | None]], weights: Mapping[str, float],
         method: str = "promethee") -> Ranking:
    """Rank hazards by their indicator values (one mapping per hazard)."""
    if method not in METHODS:
        raise PriorityError(f"no method {method!r}; one of {', '.join(METHODS)}")
    matrix, used = criterion_matrix(indicators)
    weighted = [c for c in used if weights.get(c, 0.0) > 0]
    keep = [used.index(c) for c in weighted]
    matrix = matrix[:, keep]
    r = Ranking(method, dict(weights), weighted, matrix, [], [],
                [c.name for c in CRITERIA if c.name not in used])
    scores = _score(method, matrix, r.used_weights(), _types(weighted))
    r.scores = [float(s) for s in scores]
    r.ranks = ranks(scores)
    return r


def sensitivity(ranking: Ranking, step: float = SENSITIVITY_STEP) -> list[dict[str, Any]]:
    """How the ranks move when each criterion's weight changes by ±`step` (the others
    rescaled so the weights still sum to 1): per criterion and direction, the largest
    change of any hazard's rank and Kendall's tau against the base ranking."""
    from scipy.stats import kendalltau

    base = np.array(ranking.ranks)
    out: list[dict[str, Any]] = []
    for name in ranking.used:
        row: dict[str, Any] = {"criterion": name, "weight": ranking.weights[name]}
        for label, factor in (("minus", 1.0 - step), ("plus", 1.0 + step)):
            w = {c: ranking.weights[c] * (factor if c == name else 1.0) for c in ranking.used}
            total = sum(w.values())
            wv = np.array([w[c] / total for c in ranking.used])
            new = np.array(ranks(_score(ranking.method, ranking.matrix, wv,
                                        _types(ranking.used))))
            tau = 1.0 if len(base) < 2 else float(kendalltau(base, new).statistic)
            row[label] = {"weight": w[name] / total,
                          "max_rank_change": int(np.abs(new - base).max()) if len(base) else 0,
                          "kendall_tau": 1.0 if math.isnan(tau) else round(tau, 6),
                          "ranks": [int(v) for v in new]}
        row["max_rank_change"] = max(row["minus"]["max_rank_change"],
                                     row["plus"]["max_rank_change"])
        row["kendall_tau"] = min(row["minus"]["kendall_tau"], row["plus"]["kendall_tau"])
        out.append(row)
    return out


def registry() -> list[dict[str, Any]]:
    """The criteria and indicators as data (docs, the API's GET, the tests)."""
    return [{"name": c.name, "meaning": c.meaning, "direction": c.direction,
             "indicators": [{"name": i.name, "meaning": i.meaning, "direction": i.direction,
                             "unit": i.unit, "how": i.how} for i in c.indicators]}
            for c in CRITERIA]
