# SPDX-License-Identifier: GPL-3.0-or-later
"""Multiple systems estimation: how many casualties no source recorded (issue 17).

Capture-recapture with log-linear models, as human-rights statisticians publish it (Bishop,
Fienberg & Holland 1975; Lum, Price & Banks 2013; Bird & King 2018; HRDAG). Each canonical
entity (a victim, after record linkage) has a capture history: which of k >= 3 sources
listed it. The 2^k - 1 observed patterns' counts are fitted with Poisson log-linear models
having every source's main effect and a subset of the pairwise interactions (all subsets
are fitted; the k-way term is not identifiable, and higher-order terms are left out so that
every model is hierarchical and estimable). The model's prediction for the pattern "in no
source" (the intercept: exp(b0)) is the estimate of the unobserved; N = observed + that.

Model choice: by BIC by default (AIC on request), because BIC approximates each model's
posterior probability, the quantity Madigan & York's Bayesian model averaging (HRDAG's
`dga`) weights by. The result also carries the estimate averaged over all identifiable
models with weights exp(-delta/2) of the same criterion, for comparison.

Interval: a parametric bootstrap (see `_bootstrap_totals` for why not profile likelihood).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

Criterion = Literal["aic", "bic"]
FloatArray = npt.NDArray[np.float64]
COUNT = "count"
MAX_SOURCES = 5  # 5 sources already make 2^10 = 1024 models

ASSUMPTIONS = (
    "This estimate of the number of casualties that no source recorded rests on "
    "assumptions that cannot all be checked from the data. (1) Closed population: the same "
    "set of casualties could have been recorded by every source over the same period and "
    "area. (2) Perfect matching: every record was linked to the right person, with no "
    "missed links (which inflate the estimate) and no false ones (which deflate it). "
    "(3) Heterogeneity and dependence between sources are captured only through the "
    "pairwise interactions of the chosen log-linear model; casualties that every source is "
    "less likely to record (remote areas, combatants, deaths with no hospital visit) bias "
    "the estimate downwards unless such dependence shows in the overlaps. (4) No three-way "
    "or higher interaction. (5) Every source's records refer to real, in-scope casualties. "
    "The interval reflects sampling error and the choice of model, not the failure of these "
    "assumptions; it is wider in truth when they do not hold."
)


class MSEError(ValueError):
    """The capture histories cannot give an estimate (too few sources, empty cells)."""


@dataclass(frozen=True)
class MSEResult:
    """estimate: N, casualties recorded and not; interval: (lower, upper) at `confidence`;
    model_terms: the chosen model's terms ("a", "b", "a:b"); models: one row per model
    (terms, parameters, log-likelihood, deviance, df, aic, bic, weight, unobserved, total,
    identifiable, note), best first."""

    estimate: float
    interval: tuple[float, float]
    confidence: float
    observed: int
    unobserved: float
    sources: tuple[str, ...]
    model_terms: tuple[str, ...]
    criterion: Criterion
    averaged_estimate: float
    models: pd.DataFrame
    interval_method: str
    assumptions: str
    # The bootstrap totals the interval is read from (analysis/mse_linkage.py pools them
    # over linkage draws).
    replicates: FloatArray = field(default_factory=lambda: np.empty(0), compare=False,
                                   repr=False)


# ------------------------------------------------------------------------- histories


def capture_histories(membership: pd.DataFrame, *, entity: str = "canonical_id",
                      source: str = "source",
                      sources: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts per capture pattern from a membership table (one row per entity and source
    that listed it): one 0/1 column per source and `count`, every pattern but "in none"
    listed (zeros included), sources in the given or sorted order."""
    names = list(sources) if sources is not None else sorted(membership[source].unique())
    wide = pd.crosstab(membership[entity], membership[source]).reindex(columns=names,
                                                                       fill_value=0)
    return pattern_counts((wide > 0).astype(int))


def pattern_counts(table: pd.DataFrame) -> pd.DataFrame:
    """The 2^k - 1 observed patterns with their counts, from either one row per entity
    (0/1 or bool columns, one per source) or counts per pattern (a `count` column)."""
    names = [c for c in table.columns if c != COUNT]
    if len(names) < 3:
        raise MSEError(f"multiple systems estimation needs at least 3 sources; got "
                       f"{len(names)} ({', '.join(map(str, names)) or 'none'})")
    if len(names) > MAX_SOURCES:
        raise MSEError(f"at most {MAX_SOURCES} sources (2^10 models already); got {len(names)}")
    flags = table[names].astype(int)
    if not flags.isin([0, 1]).all().all():
        raise MSEError("source columns must be 0/1 or true/false")
    weights = table[COUNT].astype(int) if COUNT in table else pd.Series(1, index=table.index)
    if (weights < 0).any():
        raise MSEError("counts must not be negative")
    listed = flags.sum(axis=1) > 0
    if (weights[~listed] > 0).any():
        raise MSEError('the pattern "in no source" cannot be observed; remove it')
    counts = weights[listed].groupby([flags.loc[listed, n] for n in names]).sum()
    patterns = pd.DataFrame(list(itertools.product([0, 1], repeat=len(names)))[1:],
                            columns=names)
    key = pd.MultiIndex.from_frame(patterns) if len(names) > 1 else patterns[names[0]]
    patterns[COUNT] = counts.reindex(key, fill_value=0).to_numpy()
    return patterns


# ------------------------------------------------------------------------- models


@dataclass(frozen=True)
class _Model:
    pairs: tuple[tuple[int, int], ...]

    def terms(self, names: Sequence[str]) -> tuple[str, ...]:
        return tuple(names) + tuple(f"{names[a]}:{names[b]}" for a, b in self.pairs)


def _all_models(k: int) -> list[_Model]:
    pairs = list(itertools.combinations(range(k), 2))
    return [_Model(tuple(chosen)) for size in range(len(pairs) + 1)
            for chosen in itertools.combinations(pairs, size)]


def _design(flags: npt.NDArray[np.int64], model: _Model) -> FloatArray:
    """Intercept, main effects, chosen pairwise products: the "in none" pattern (all zeros)
    is predicted by the intercept alone."""
    columns = [np.ones(len(flags)), *flags.T.astype(float)]
    columns += [(flags[:, a] * flags[:, b]).astype(float) for a, b in model.pairs]
    return np.column_stack(columns)


def _margin_conditions(flags: npt.NDArray[np.int64], model: _Model) -> FloatArray:
    """Indicator columns, one per margin the model fits, over the observed patterns. The
    maximum-likelihood estimate exists only if every one of these margins has a positive
    count (else a parameter runs to minus infinity): each source present and absent, and
    for each interaction, the four combinations of its two sources."""
    conditions = []
    for s in range(flags.shape[1]):
        conditions += [flags[:, s] == 1, flags[:, s] == 0]
    for a, b in model.pairs:
        for va, vb in itertools.product([0, 1], repeat=2):
            conditions.append((flags[:, a] == va) & (flags[:, b] == vb))
    return np.column_stack(conditions).astype(float)


def _empty_margins(flags: npt.NDArray[np.int64], model: _Model, counts: FloatArray,
                   names: Sequence[str]) -> list[str]:
    empty = []
    sums = counts @ _margin_conditions(flags, model)
    # In the order of _margin_conditions: each source present then absent, then each
    # pair's (0, 0), (0, 1), (1, 0), (1, 1).
    labels = [f"{'' if v else 'not '}{n}" for n in names for v in (1, 0)]
    for a, b in model.pairs:
        labels += [f"{'' if va else 'not '}{names[a]} and {'' if vb else 'not '}{names[b]}"
                   for va, vb in itertools.product([0, 1], repeat=2)]
    for label, total in zip(labels, sums, strict=True):
        if total <= 0:
            empty.append(label)
    return empty


def _fit_statsmodels(design: FloatArray, counts: FloatArray) -> tuple[FloatArray, float] | None:
    """Parameters and log-likelihood of the Poisson log-linear fit, or None if it did not
    converge."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # A saturated model predicts every cell exactly, which statsmodels flags as
        # "perfect prediction"; identifiability is checked on the margins beforehand.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fit = sm.GLM(counts, design, family=sm.families.Poisson()).fit()
        except (ConvergenceWarning, np.linalg.LinAlgError, ValueError):
            return None
    params = np.asarray(fit.params, dtype=float)
    if not np.all(np.isfinite(params)) or _on_the_boundary(design @ params, counts):
        return None
    return params, float(fit.llf)


# A fitted count this small for an empty cell means the fit is heading to log(0).
BOUNDARY = 1e-3


def _on_the_boundary(linear: FloatArray, counts: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether an empty cell is fitted as (nearly) zero: the maximum-likelihood estimate
    does not exist, a parameter runs to minus infinity and, when that parameter is part of
    the "in none" prediction, the estimate runs to infinity. The margin check catches the
    usual cases; this catches the rest (e.g. a pattern missing from a sub-table that the
    model fits exactly). Works on one table or a batch (rows)."""
    with np.errstate(over="ignore", under="ignore"):
        fitted = np.exp(np.clip(linear, -700, 700))
    result: npt.NDArray[np.bool_] = np.any((counts == 0) & (fitted < BOUNDARY), axis=-1)
    return result


def _criterion_value(loglik: float, n_params: int, observed: int,
                     criterion: Criterion) -> float:
    # BIC's sample size is the number of entities observed, as in Rcapture.
    penalty = 2.0 if criterion == "aic" else math.log(observed)
    return -2.0 * loglik + penalty * n_params


def _saturated_loglik(counts: FloatArray) -> float:
    positive = counts[counts > 0]
    return float(np.sum(positive * np.log(positive) - positive
                        - [math.lgamma(c + 1) for c in positive]))


def _model_table(flags: npt.NDArray[np.int64], counts: FloatArray, names: Sequence[str],
                 observed: int) -> tuple[pd.DataFrame, list[_Model]]:
    rows: list[dict[str, object]] = []
    models = _all_models(len(names))
    saturated = _saturated_loglik(counts)
    for model in models:
        design = _design(flags, model)
        row: dict[str, object] = {"terms": " + ".join(model.terms(names)),
                                  "parameters": design.shape[1],
                                  "df": len(counts) - design.shape[1]}
        empty = _empty_margins(flags, model, counts, names)
        fit = None if empty else _fit_statsmodels(design, counts)
        if fit is None:
            note = (f"not identifiable: no entity is {'; '.join(empty)}" if empty
                    else "not identifiable: an empty pattern is fitted as zero, or the fit "
                         "did not converge")
            row.update(identifiable=False, note=note, loglik=np.nan, deviance=np.nan,
                       aic=np.inf, bic=np.inf, unobserved=np.nan, total=np.nan)
        else:
            params, loglik = fit
            unobserved = float(np.exp(params[0]))
            row.update(identifiable=True, note="", loglik=loglik,
                       deviance=2.0 * (saturated - loglik),
                       aic=_criterion_value(loglik, design.shape[1], observed, "aic"),
                       bic=_criterion_value(loglik, design.shape[1], observed, "bic"),
                       unobserved=unobserved, total=observed + unobserved)
        rows.append(row)
    return pd.DataFrame(rows), models


def _weights(values: pd.Series) -> pd.Series:
    finite = np.isfinite(values)
    delta = values - values[finite].min()
    weights = np.where(finite, np.exp(-0.5 * delta.where(finite, 0.0)), 0.0)
    return pd.Series(weights / weights.sum(), index=values.index)


# ------------------------------------------------------------------------- bootstrap


def _batched_poisson_fit(design: FloatArray, counts: FloatArray,
                         iterations: int = 50) -> tuple[FloatArray, FloatArray]:
    """Newton-Raphson for many Poisson log-linear fits sharing one design (one row of
    `counts` per bootstrap table). Returns (parameters, log-likelihood without the
    constant); rows that did not converge get NaN. statsmodels fits one table at a time,
    which is ~1,000 times slower over thousands of bootstrap tables of 7 to 31 cells."""
    start = np.log(counts + 0.5) @ np.linalg.pinv(design).T
    beta = start
    ridge = 1e-10 * np.eye(design.shape[1])
    converged = np.zeros(len(counts), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            mu = np.exp(np.clip(beta @ design.T, -700, 700))
            gradient = (counts - mu) @ design
            hessian = np.einsum("bc,ci,cj->bij", mu, design, design) + ridge
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
            beta = beta + step
            converged = np.all(np.abs(step) < 1e-8, axis=1)
            if converged.all():
                break
        eta = beta @ design.T
        loglik = np.sum(counts * eta - np.exp(eta), axis=1)
    bad = ~converged | ~np.all(np.isfinite(beta), axis=1)
    beta[bad] = np.nan
    loglik[bad] = np.nan
    return beta, loglik


def _bootstrap_totals(flags: npt.NDArray[np.int64], expected: FloatArray, unobserved: float,
                      models: list[_Model], criterion: Criterion, replicates: int,
                      rng: np.random.Generator) -> FloatArray:
    """Totals re-estimated from tables simulated from the chosen model, with the model
    chosen again in every replicate.

    Why a parametric bootstrap rather than the profile likelihood: the profile-likelihood
    interval (Cormack 1992) is conditional on the chosen model, and with 8 to 1,024
    candidate models the uncertainty of the choice is often as large as the sampling error
    within a model; re-selecting in every replicate carries it into the interval (Buckland,
    Burnham & Augustin 1997). It also respects N >= observed without a special case."""
    total = max(1, round(float(expected.sum()) + unobserved))
    probabilities = np.append(expected, unobserved) / (expected.sum() + unobserved)
    tables = rng.multinomial(total, probabilities, size=replicates)[:, :-1].astype(float)
    observed = tables.sum(axis=1)
    best_score = np.full(replicates, np.inf)
    best_total = np.full(replicates, np.nan)
    log_factorials = np.vectorize(math.lgamma)(tables + 1).sum(axis=1)
    for model in models:
        design = _design(flags, model)
        identifiable = np.all(tables @ _margin_conditions(flags, model) > 0, axis=1)
        beta, loglik = _batched_poisson_fit(design, tables)
        identifiable &= ~_on_the_boundary(beta @ design.T, tables)
        loglik = loglik - log_factorials
        penalty = 2.0 if criterion == "aic" else np.log(np.maximum(observed, 2))
        score = np.where(identifiable & np.isfinite(loglik),
                         -2.0 * loglik + penalty * design.shape[1], np.inf)
        better = score < best_score
        best_score = np.where(better, score, best_score)
        best_total = np.where(better, observed + np.exp(beta[:, 0]), best_total)
    kept: FloatArray = best_total[np.isfinite(best_total)]
    return kept


# ------------------------------------------------------------------------- estimate


def multiple_systems_estimate(histories: pd.DataFrame, *, criterion: Criterion = "bic",
                              confidence: float = 0.95, bootstrap: int = 1000,
                              seed: int = 0) -> MSEResult:
    """Estimate the total number of entities, those no source listed included.

    `histories`: one 0/1 column per source (3 to 5 sources), either one row per entity or
    one row per pattern with a `count` column (see `capture_histories`). The model is
    chosen by `criterion` among all identifiable models; the interval is the percentile
    interval of `bootstrap` parametric-bootstrap replicates, seeded by `seed`."""
    if criterion not in ("aic", "bic"):
        raise MSEError(f"criterion must be 'aic' or 'bic', not {criterion!r}")
    if not 0 < confidence < 1:
        raise MSEError(f"confidence must be between 0 and 1, not {confidence}")
    patterns = pattern_counts(histories)
    names = tuple(str(c) for c in patterns.columns if c != COUNT)
    flags = patterns[list(names)].to_numpy(dtype=np.int64)
    counts = patterns[COUNT].to_numpy(dtype=float)
    observed = int(counts.sum())
    if observed == 0:
        raise MSEError("no entity is listed by any source")

    table, models = _model_table(flags, counts, names, observed)
    if not table["identifiable"].any():
        raise MSEError("no log-linear model is identifiable from these overlaps: "
                       + str(table.loc[0, "note"]))
    table["weight"] = _weights(table[criterion])
    best = int(table[criterion].idxmin())
    chosen = models[best]
    averaged = float((table["weight"] * table["total"].fillna(0.0)).sum())

    params = _fit_statsmodels(_design(flags, chosen), counts)
    assert params is not None  # the table's fit of the same model succeeded
    expected = np.exp(_design(flags, chosen) @ params[0])
    unobserved = float(table.loc[best, "unobserved"])
    rng = np.random.default_rng(seed)
    totals = _bootstrap_totals(flags, expected, unobserved, models, criterion, bootstrap, rng)
    if len(totals) == 0:
        raise MSEError("no bootstrap replicate gave an identifiable model")
    tail = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(totals, [tail, 1.0 - tail])

    ordered = table.sort_values([criterion, "parameters"], kind="stable").reset_index(drop=True)
    method = (f"parametric bootstrap, {len(totals)} replicates simulated from the chosen "
              f"model with the model chosen again by {criterion.upper()} in each; "
              f"percentile interval")
    return MSEResult(
        estimate=observed + unobserved,
        interval=(max(float(lower), float(observed)), float(upper)),
        confidence=confidence, observed=observed, unobserved=unobserved, sources=names,
        model_terms=chosen.terms(names), criterion=criterion, averaged_estimate=averaged,
        models=ordered, interval_method=method, assumptions=ASSUMPTIONS, replicates=totals)
