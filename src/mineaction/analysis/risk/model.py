# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk model: LightGBM on the feature table, negatives subsampled, probabilities
calibrated on a held-out part, and per-prediction contributions (why this cell scores high).

The model `risk train` makes is a rank mix (`train_mix`, `RankMix`): the same LightGBM
settings fitted twice, on every feature and on the event history alone, each score turned
into its rank among the training cells' scores, the two ranks averaged, then calibrated. On
the inner out-of-time splits the layers beyond the history helped in some periods and hurt
in others; the mix keeps most of the help and little of the harm (docs/risk-model.md).

Logistic regression (statsmodels) is the plain baseline model: features log-scaled, no
interactions; it says how much the trees add over a straight line on the same features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mineaction.analysis.risk import calibration

Floats = NDArray[np.float64]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 100,  # a leaf must hold many cells: one grid square is noise
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "verbose": -1,
    "num_threads": 2,  # the machines this runs on are small and shared
    "deterministic": True,
    "force_row_wise": True,
}


@dataclass
class RiskModel:
    booster: Any  # lightgbm.Booster
    features: list[str]
    categorical: list[str]
    calibrator: calibration.Isotonic | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def raw(self, X: pd.DataFrame, threads: int | None = None) -> Floats:
        """Uncalibrated score (a ranking; higher = riskier). `threads`: LightGBM's thread
        count for this call (one per worker process when several score at once)."""
        extra = {} if threads is None else {"num_threads": threads}
        return np.asarray(self.booster.predict(X[self.features], **extra), float)

    def predict(self, X: pd.DataFrame, threads: int | None = None) -> Floats:
        """Calibrated probability that the cell has an event in the horizon."""
        raw = self.raw(X, threads)
        return self.calibrator(raw) if self.calibrator is not None else raw

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-prediction contributions in log-odds (LightGBM pred_contrib, SHAP values of
        the trees): one column per feature plus `bias`; each row sums to the raw margin."""
        c = self.booster.predict(X[self.features], pred_contrib=True)
        return pd.DataFrame(np.asarray(c), columns=[*self.features, "bias"], index=X.index)


def monotone_constraints(features: list[str]) -> list[int]:
    """LightGBM monotone constraints from the registry's meaning of each feature: risk may
    only fall with distance to past events and time since the last one, and only rise with
    counts and densities of them. The trees then cannot learn a bump that held in the
    training years only; covariates and codes stay free."""
    out = []
    for name in features:
        if name.startswith(("dist_", "years_since_")):
            out.append(-1)
        elif name.startswith(("count_", "wcount_", "recent_", "admin_wdensity",
                              "admin_recent_density", "kde_", "active_", "decay_",
                              "years_with_events_")):
            out.append(1)
        else:
            out.append(0)
    return out


def sample_negatives(label: NDArray[np.bool_], ratio: float, seed: int,
                     hard: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
    """Indices of all positives, all `hard` negatives (cells in released land, known to
    have been searched, as Desk-AId does) and a random `ratio` share of the other
    negatives: most cells are far from anything and teach little."""
    rng = np.random.default_rng(seed)
    label = np.asarray(label, bool)
    keep = label.copy()
    if hard is not None:
        keep |= np.asarray(hard, bool)
    keep |= rng.random(len(label)) < ratio
    return np.flatnonzero(keep).astype(np.int64)


def train(X: pd.DataFrame, label: NDArray[Any], *, categorical: tuple[str, ...] = (),
          calibrate: NDArray[np.bool_] | None = None, negative_ratio: float = 1.0,
          hard: NDArray[np.bool_] | None = None, rounds: int = 400, seed: int = 0,
          params: dict[str, Any] | None = None,
          callbacks: list[Any] | None = None,
          weight: NDArray[np.float64] | None = None) -> RiskModel:
    """Fit on the rows where `calibrate` is False, then fit the isotonic map on the rows
    where it is True (held out: calibrating on training rows would be overconfident).
    `label` is 0/1 (objective binary) or an event count (objective poisson); the
    calibrated output is always P(at least one event). `callbacks`: LightGBM callbacks, e.g.
    `distributed.training_progress(rounds)` for a progress bar. `weight`: a weight per
    row (say, a positive cell's number of events, when what counts is events captured)."""
    import lightgbm as lgb

    target = np.asarray(label, float)
    positive = target > 0
    held = np.zeros(len(target), bool) if calibrate is None else np.asarray(calibrate, bool)
    fit_rows = np.flatnonzero(~held)
    sub = sample_negatives(positive[fit_rows], negative_ratio, seed,
                           None if hard is None else np.asarray(hard, bool)[fit_rows])
    rows = fit_rows[sub]
    feats = list(X.columns)
    cats = [c for c in categorical if c in feats]
    p = {**DEFAULT_PARAMS, **(params or {}), "seed": seed}
    data = lgb.Dataset(X.iloc[rows], label=target[rows],
                       weight=None if weight is None else np.asarray(weight, float)[rows],
                       categorical_feature=cats or "auto", free_raw_data=True)
    booster = lgb.train(p, data, num_boost_round=rounds, callbacks=callbacks)
    model = RiskModel(booster, feats, cats, info={
        "rows_fitted": int(len(rows)), "positives_fitted": int(positive[rows].sum()),
        "rows_calibration": int(held.sum()), "rounds": rounds, "params": p})
    if held.any() and positive[held].any():
        model.calibrator = calibration.isotonic(model.raw(X.iloc[np.flatnonzero(held)]),
                                                positive[held].astype(float))
    return model


@dataclass
class LogisticModel:
    params: Floats
    features: list[str]
    mean: Floats
    std: Floats

    def _design(self, X: pd.DataFrame) -> Floats:
        z = (np.log1p(np.clip(X[self.features].to_numpy(float), 0, None)) - self.mean) \
            / self.std
        return np.asarray(np.c_[np.ones(len(z)), z], float)

    def predict(self, X: pd.DataFrame) -> Floats:
        return np.asarray(1.0 / (1.0 + np.exp(-self._design(X) @ self.params)), float)


def train_logistic(X: pd.DataFrame, label: NDArray[np.bool_], features: list[str] | None = None
                   ) -> LogisticModel:
    """Logistic regression on log(1 + feature), standardised; categorical codes excluded.
    Fitted by L-BFGS with a bounded number of iterations: a baseline, not a tuned model,
    so a convergence warning on nearly collinear counts is expected and silenced."""
    import warnings

    import statsmodels.api as sm

    feats = features or [c for c in X.columns if c != "admin_code"]
    z = np.log1p(np.clip(X[feats].to_numpy(float), 0, None))
    mean, std = z.mean(axis=0), z.std(axis=0)
    std[std == 0] = 1.0
    design = np.c_[np.ones(len(z)), (z - mean) / std]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(np.asarray(label, float), design).fit(method="lbfgs", maxiter=200,
                                                             disp=0)
    return LogisticModel(np.asarray(fit.params, float), feats, mean, std)


# At most this many (score, rank) knots of a member's training scores are kept: a rank read
# from them is off by less than 1/REFERENCE_KNOTS of the grid, far below what moves a cell.
REFERENCE_KNOTS = 4097


@dataclass(frozen=True)
class RankReference:
    """A member's raw scores on its training cells as knots (score, share of the training
    cells below it, ties counted half): a new score's rank among them by interpolation, so
    a cell is ranked the same whether it is scored alone or in a nationwide grid."""

    score: Floats
    share: Floats

    @staticmethod
    def of(raw: Floats) -> RankReference:
        s = np.sort(np.asarray(raw, float))
        if len(s) == 0:
            raise ValueError("a rank reference needs training scores")
        uniq, first = np.unique(s, return_index=True)
        count = np.diff(np.r_[first, len(s)])
        share = (first + count / 2.0) / len(s)  # mid-rank, as scipy's rankdata "average"
        if len(uniq) > REFERENCE_KNOTS:
            keep = np.unique(np.linspace(0, len(uniq) - 1, REFERENCE_KNOTS).round()
                             .astype(int))
            uniq, share = uniq[keep], share[keep]
        return RankReference(np.asarray(uniq, float), np.asarray(share, float))

    def __call__(self, raw: Floats) -> Floats:
        # below the lowest training score 0, above the highest 1
        return np.asarray(np.interp(np.asarray(raw, float), self.score, self.share,
                                    left=0.0, right=1.0), float)


@dataclass
class RankMix:
    """Members' scores mixed by their mean rank among the training cells (`RankReference`),
    calibrated on the held-out cells as a single model is. Same interface as RiskModel."""

    members: list[RiskModel]
    references: list[RankReference]
    calibrator: calibration.Isotonic | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(dict.fromkeys(f for m in self.members for f in m.features))

    @property
    def categorical(self) -> list[str]:
        return list(dict.fromkeys(c for m in self.members for c in m.categorical))

    def raw(self, X: pd.DataFrame, threads: int | None = None) -> Floats:
        """Mean rank (0-1) of the members' scores among their training cells'."""
        ranks = [ref(m.raw(X, threads)) for m, ref in zip(self.members, self.references,
                                                         strict=True)]
        return np.asarray(np.mean(ranks, axis=0), float)

    def predict(self, X: pd.DataFrame, threads: int | None = None) -> Floats:
        raw = self.raw(X, threads)
        return self.calibrator(raw) if self.calibrator is not None else raw

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """The members' contributions (log-odds) averaged, a feature a member does not use
        counting 0 there: what drives the mix, in the units each member explains itself."""
        columns = [*self.features, "bias"]
        frames = [m.contributions(X).reindex(columns=columns, fill_value=0.0)
                  for m in self.members]
        return sum(frames[1:], frames[0]) / len(frames)


def train_mix(X: pd.DataFrame, label: NDArray[Any], members: list[list[str]], *,
              categorical: tuple[str, ...] = (), calibrate: NDArray[np.bool_] | None = None,
              monotone: bool = True, params: dict[str, Any] | None = None,
              **settings: Any) -> RankMix:
    """One LightGBM per column list of `members`, each with `train`'s `settings` (same
    rows, negatives, weights and seed), mixed by mean rank (`RankMix`): each member's rank
    reference is its scores on the fitted (not held-out) cells, and the mix is calibrated
    on the held-out ones. `monotone`: each member gets `monotone_constraints` of its own
    columns."""
    if not members or any(not cols for cols in members):
        raise ValueError("a rank mix needs at least one member, each with columns")
    target = np.asarray(label, float)
    held = np.zeros(len(target), bool) if calibrate is None else np.asarray(calibrate, bool)
    fitted, references = [], []
    for cols in members:
        p = {**(params or {}),
             **({"monotone_constraints": monotone_constraints(cols)} if monotone else {})}
        m = train(X[cols], target, categorical=categorical, calibrate=held, params=p,
                  **settings)
        m.calibrator = None  # the mix is calibrated as a whole
        fitted.append(m)
        references.append(RankReference.of(m.raw(X.iloc[np.flatnonzero(~held)])))
    mix = RankMix(fitted, references, info={
        "members": [len(cols) for cols in members],
        "rows_fitted": fitted[0].info["rows_fitted"],
        "positives_fitted": fitted[0].info["positives_fitted"],
        "rows_calibration": int(held.sum()), "rounds": fitted[0].info["rounds"],
        "params": fitted[0].info["params"]})
    positive = target > 0
    if held.any() and positive[held].any():
        mix.calibrator = calibration.isotonic(mix.raw(X.iloc[np.flatnonzero(held)]),
                                              positive[held].astype(float))
    return mix


# What `risk train` writes and every scorer takes (artifact.load gives either).
Model = RiskModel | RankMix
