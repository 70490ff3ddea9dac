# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk model: LightGBM on the feature table, negatives subsampled, probabilities
calibrated on a held-out part, and per-prediction contributions (why this cell scores high).

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

    def raw(self, X: pd.DataFrame) -> Floats:
        """Uncalibrated score (a ranking; higher = riskier)."""
        return np.asarray(self.booster.predict(X[self.features]), float)

    def predict(self, X: pd.DataFrame) -> Floats:
        """Calibrated probability that the cell has an event in the horizon."""
        raw = self.raw(X)
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
