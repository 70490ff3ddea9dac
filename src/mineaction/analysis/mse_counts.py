# SPDX-License-Identifier: GPL-3.0-or-later
"""Multiple systems estimation when one source gives counts, not people (issue 17).

A press monitor often lists accidents with "2 killed, 1 injured" and no names. Linked to
an accident the other sources list victim by victim, its count says how many of that
accident's casualties it recorded, but not which. Marking the first k listed victims as
"in the press" (as if the press had recorded only people the others had) pushes every
press casualty into the overlaps whenever it can: the press-only cell shrinks, the
overlaps grow, and the estimate of the unrecorded falls (by 6-7% on the linkage bench's
sources). Sharing the count by the log-linear model's own probabilities does not help
either: the overlap is then whatever the model started with (every sharing is a fixed
point), so the estimate drifts.

What does identify the overlap is the accident: a one-victim accident that a list and the
press both report is one person in both. So the model here is of accidents, with their
size as the unknown (a latent-class model fitted by expectation-maximisation, Dempster,
Laird & Rubin 1977):

- an accident has n casualties, n drawn from a distribution f estimated from the data;
- each casualty is recorded by the list sources with history h (e.g. centre only, NGO
  only, both, neither) with probabilities lambda_h, whatever the dependence between the
  lists (the lists' joint table is saturated);
- the count source records each casualty with probability pi, independently of the
  lists (the one assumption the count source needs, and the estimate's main caveat);
- so an accident's list counts m_h and press count k are, given n, a multinomial and a
  binomial draw; accidents no source saw (no list victim, no press count) are estimated
  from P(unseen | n) = (lambda_none * (1 - pi))^n.

The estimate is the expected total of n over seen and unseen accidents. Its interval is
a bootstrap over accidents (seen accidents resampled with replacement, the model fitted
again), so it carries the uncertainty of the unknown sizes and of which casualties the
count source recorded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import gammaln

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ASSUMPTIONS = (
    "The count source (casualties per accident, no names) is assumed to record each "
    "casualty independently of the list sources, with one probability for all; the list "
    "sources may depend on each other in any way. Accident sizes follow one distribution "
    "estimated from the data. Accidents are assumed linked correctly between the count "
    "source and the lists, and victims within the lists by the record linkage. The "
    "interval is a bootstrap over accidents: it reflects sampling and the unknown sizes, "
    "not the failure of these assumptions.")


@dataclass
class CountsEstimate:
    estimate: float
    interval: tuple[float, float]
    confidence: float
    observed_listed: int  # casualties the lists recorded (canonical victims)
    count_recorded: int  # casualties the count source counted
    accidents_seen: int
    accidents_unseen: float
    capture: dict[str, float]  # probability of each list history, and of the count source
    size_distribution: dict[int, float]
    iterations: int
    patterns: dict[str, float]  # expected casualties per capture pattern (lists + count)
    notes: list[str] = field(default_factory=list)
    assumptions: str = ASSUMPTIONS
    # The bootstrap totals the interval is read from (analysis/mse_linkage.py pools them
    # over linkage draws).
    replicates: FloatArray = field(default_factory=lambda: np.empty(0), compare=False,
                                   repr=False)


@dataclass
class _Fit:
    total: float
    unseen_accidents: float
    lam: FloatArray  # list-history probabilities, "none" first
    pi: float
    f: FloatArray  # f[n - 1]
    iterations: int
    expected_n: FloatArray  # per seen accident


def _fit(m: IntArray, k: IntArray, weight: FloatArray, *, max_iterations: int = 500,
         tolerance: float = 1e-7) -> _Fit:
    """EM on seen accidents: m[a, h] victims with list history h (h = 1.. , "none"
    excluded), k[a] the count source's casualties; accidents alike are one row with its
    `weight` (how many), so a fit costs the number of distinct accidents, not of all."""
    n_acc = float(weight.sum())
    m_obs = m.sum(axis=1)
    lower = np.maximum(m_obs, k)
    n_max = int(max(2 * lower.max() + 10, 20))
    sizes = np.arange(1, n_max + 1, dtype=float)
    # Start: sizes as the larger of the two counts, a fifth of casualties unlisted.
    f = np.bincount(lower, weights=weight, minlength=n_max + 1)[1:].astype(float) + 0.5
    f /= f.sum()
    m_total = weight @ m
    k_total = float(weight @ k)
    listed_share = m_total / max(m_total.sum(), 1)
    lam = np.concatenate([[0.2], 0.8 * listed_share])
    pi = float(np.clip(k_total / max(float(weight @ lower), 1) * 0.8, 0.01, 0.99))
    valid = sizes[None, :] >= lower[:, None]
    const = -gammaln(m + 1).sum(axis=1)[:, None] - gammaln(k + 1)[:, None]
    unlisted = sizes[None, :] - m_obs[:, None]
    not_k = sizes[None, :] - k[:, None]
    previous = np.inf
    total = float(lower.sum())
    unseen = 0.0
    expected_n = lower.astype(float)
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 -- reported
        with np.errstate(divide="ignore", invalid="ignore"):
            log_lam = np.log(lam)
            logw = (np.log(f)[None, :] + 2 * gammaln(sizes + 1)[None, :] + const
                    - gammaln(np.where(valid, unlisted, 0) + 1)
                    - gammaln(np.where(valid, not_k, 0) + 1)
                    + (m * log_lam[1:][None, :]).sum(axis=1)[:, None]
                    + unlisted * log_lam[0]
                    + k[:, None] * math.log(pi) + not_k * math.log1p(-pi))
        logw = np.where(valid, logw, -np.inf)
        logw -= logw.max(axis=1, keepdims=True)
        post = np.exp(logw)
        post /= post.sum(axis=1, keepdims=True)
        expected_n = post @ sizes
        # Accidents nobody saw: P(unseen | n) = (lambda_none * (1 - pi))^n.
        q = lam[0] * (1.0 - pi)
        p_unseen_n = q ** sizes
        p_unseen = float(f @ p_unseen_n)
        unseen = n_acc * p_unseen / max(1.0 - p_unseen, 1e-12)
        post_unseen = f * p_unseen_n / max(p_unseen, 1e-300)
        total = float(weight @ expected_n + unseen * (post_unseen @ sizes))
        lam_listed = m_total / total
        lam = np.concatenate([[max(1.0 - lam_listed.sum(), 1e-9)], lam_listed])
        pi = float(np.clip(k_total / total, 1e-9, 1 - 1e-9))
        f = (weight @ post + unseen * post_unseen) / (n_acc + unseen)
        f = np.maximum(f, 1e-12)
        f /= f.sum()
        if abs(total - previous) < tolerance * max(total, 1.0):
            break
        previous = total
    return _Fit(total, unseen, lam, pi, f, iteration, expected_n)


def accident_table(victims: pd.DataFrame, counts: pd.Series, *,
                   list_sources: Sequence[str], unlinked: Sequence[int] = ()
                   ) -> tuple[IntArray, IntArray, list[str]]:
    """The per-accident table the model reads. `victims`: one row per canonical victim
    with a column per list source holding how many of that source's records the victim
    joins (0/1, or more when the linkage joined two records of one source), and
    `accident` (its accident's key); `counts`: the count source's casualties per accident
    key, for the accidents it reported and that were linked to the lists' accidents;
    `unlinked`: its counts for accidents it alone reported. Returns m (accidents x list
    histories), k, and the history labels.

    A source lists a person once, so a canonical victim holding two records of one source
    is two persons that the linkage joined (twins of one accident, whom no field tells
    apart): it counts as max(records of any source) persons, the i-th of them in each
    source with more than i records. Joined twins would otherwise make an accident's
    listed victims too few, and the model read the count source's casualties as unseen
    by the lists."""
    histories = list(itertools.product([0, 1], repeat=len(list_sources)))[1:]
    labels = ["".join(map(str, h)) for h in histories]
    code = {h: i for i, h in enumerate(histories)}
    records = victims[list(list_sources)].astype(int).to_numpy()
    persons = records.max(axis=1)
    row_of = np.repeat(np.arange(len(records)), persons)
    rank = np.arange(len(row_of)) - np.repeat(np.cumsum(persons) - persons, persons)
    flags = (records[row_of] > rank[:, None]).astype(int)
    accident = victims["accident"].astype(str).to_numpy()[row_of]
    keep = flags.sum(axis=1) > 0
    keys, acc_index = np.unique(accident[keep], return_inverse=True)
    hist = np.array([code[tuple(r)] for r in flags[keep]], dtype=np.int64)
    m = np.zeros((len(keys), len(histories)), dtype=np.int64)
    np.add.at(m, (acc_index, hist), 1)
    by_key = {str(a): int(v) for a, v in counts.items()}
    k = np.array([by_key.get(str(a), 0) for a in keys], dtype=np.int64)
    extra = np.asarray([int(v) for v in unlinked if int(v) > 0], dtype=np.int64)
    if len(extra):
        m = np.vstack([m, np.zeros((len(extra), len(histories)), dtype=np.int64)])
        k = np.concatenate([k, extra])
    return m, k, labels


def estimate_with_counts(m: IntArray, k: IntArray, *, labels: Sequence[str],
                         list_sources: Sequence[str], count_source: str = "press",
                         confidence: float = 0.95, bootstrap: int = 500,
                         seed: int = 0) -> CountsEstimate:
    """The total number of casualties, those no source recorded included, from the
    per-accident table (see `accident_table`)."""
    m = np.asarray(m, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    if len(m) == 0:
        raise ValueError("no accident to estimate from")
    rows, weight = np.unique(np.column_stack([m, k]), axis=0, return_counts=True)
    um, uk = rows[:, :-1], rows[:, -1]
    weight = weight.astype(float)
    fit = _fit(um, uk, weight)
    rng = np.random.default_rng(seed)
    totals = []
    for _ in range(bootstrap):  # accidents resampled with replacement
        again = rng.multinomial(len(m), weight / weight.sum()).astype(float)
        totals.append(_fit(um, uk, again, max_iterations=300, tolerance=1e-6).total)
    tail = (1.0 - confidence) / 2.0
    lo, hi = (np.quantile(totals, [tail, 1 - tail]) if totals else (fit.total, fit.total))
    listed = int(m.sum())
    # Expected casualties per pattern: list history x in the count source or not.
    patterns: dict[str, float] = {}
    for i, label in enumerate(labels):
        patterns[f"{label}1"] = float(m[:, i].sum() * fit.pi)
        patterns[f"{label}0"] = float(m[:, i].sum() * (1 - fit.pi))
    none = "0" * len(list_sources)
    unlisted = fit.total - listed
    patterns[f"{none}1"] = float(unlisted * fit.pi)
    patterns[f"{none}0"] = float(unlisted * (1 - fit.pi))
    capture = {f"lists {none}": float(fit.lam[0])}
    capture.update({f"lists {lab}": float(p) for lab, p in zip(labels, fit.lam[1:],
                                                                strict=True)})
    capture[count_source] = fit.pi
    notes = []
    if fit.iterations >= 500:
        notes.append("the fit had not fully converged after 500 iterations")
    return CountsEstimate(
        estimate=fit.total, interval=(max(float(lo), float(listed)), float(hi)),
        confidence=confidence, observed_listed=listed, count_recorded=int(k.sum()),
        accidents_seen=len(m), accidents_unseen=fit.unseen_accidents, capture=capture,
        size_distribution={int(n): float(p) for n, p in enumerate(fit.f, start=1)
                           if p > 1e-4},
        iterations=fit.iterations, patterns=patterns, notes=notes,
        replicates=np.asarray(totals, dtype=float))
