# SPDX-License-Identifier: GPL-3.0-or-later
"""Multiple systems estimation (issue 17) on populations of known size: simulated capture
histories, exact tables, and the seeded three sources made from the AICMA register."""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mineaction.analysis.mse import (
    MSEError,
    capture_histories,
    multiple_systems_estimate,
    pattern_counts,
)

BENCH = Path(__file__).parents[2] / "bench"
REPLICATES = 40
N = 2000


def simulate(n: int, shares: list[float], rng: np.random.Generator,
             dependence: tuple[int, int, float] | None = None) -> pd.DataFrame:
    """One row per entity recorded by at least one source. With `dependence` (a, b, q),
    an entity source a recorded is recorded by b with probability q instead of shares[b]
    (as when a hospital passes its cases to an NGO)."""
    captured = rng.random((n, len(shares))) < np.array(shares)
    if dependence:
        a, b, q = dependence
        captured[:, b] = np.where(captured[:, a], rng.random(n) < q, captured[:, b])
    frame = pd.DataFrame(captured.astype(int), columns=list("abcde")[:len(shares)])
    return frame[frame.sum(axis=1) > 0].reset_index(drop=True)


def exact_table(n: float, shares: list[float], ab: float = 1.0) -> pd.DataFrame:
    """Expected counts of every pattern with no sampling error; `ab` multiplies the
    patterns with both a and b (an a:b interaction of log(ab)), then rescaled to n."""
    rows = []
    for pattern in itertools.product([0, 1], repeat=len(shares)):
        p = math.prod(s if x else 1 - s for s, x in zip(shares, pattern, strict=True))
        rows.append((*pattern, p * (ab if pattern[0] and pattern[1] else 1.0)))
    table = pd.DataFrame(rows, columns=[*"abcde"[:len(shares)], "count"])
    table["count"] = table["count"] / table["count"].sum() * n
    unobserved = float(table["count"].iloc[0])
    table = table.iloc[1:].copy()
    table["count"] = table["count"].round().astype(int)
    return table, unobserved


def _replicates(shares: list[float], dependence: tuple[int, int, float] | None) -> list:
    results = []
    for replicate in range(REPLICATES):
        rng = np.random.default_rng(1000 + replicate)
        results.append(multiple_systems_estimate(simulate(N, shares, rng, dependence),
                                                 bootstrap=300, seed=replicate))
    return results


@pytest.fixture(scope="module")
def independent() -> list:
    return _replicates([0.3, 0.4, 0.2], None)


@pytest.fixture(scope="module")
def dependent() -> list:
    # b records 75% of a's cases but 30% of the others: a strong positive a:b dependence,
    # which the independence model would answer with a far too small N.
    return _replicates([0.3, 0.3, 0.25], (0, 1, 0.75))


@pytest.mark.parametrize("scenario", ["independent", "dependent"])
def test_interval_covers_the_true_total_in_most_replicates(
        scenario: str, request: pytest.FixtureRequest) -> None:
    results = request.getfixturevalue(scenario)
    coverage = np.mean([r.interval[0] <= N <= r.interval[1] for r in results])
    assert coverage >= 0.85, coverage
    estimates = np.array([r.estimate for r in results])
    assert abs(estimates.mean() / N - 1) < 0.03  # unbiased-ish
    assert all(r.observed <= r.interval[0] <= r.estimate <= r.interval[1] for r in results)


def test_selection_finds_a_strong_interaction_and_no_spurious_one(independent: list,
                                                                  dependent: list) -> None:
    assert np.mean(["a:b" in r.model_terms for r in dependent]) >= 0.9
    assert np.mean([r.model_terms == ("a", "b", "c") for r in independent]) >= 0.8
    # Ignoring the dependence would have been badly wrong: the independence model's total.
    independence = [r.models.set_index("terms").loc["a + b + c", "total"] for r in dependent]
    assert np.mean(independence) < 0.9 * N


def test_exact_tables_give_back_the_total() -> None:
    table, unobserved = exact_table(1_000_000, [0.3, 0.4, 0.2])
    result = multiple_systems_estimate(table, bootstrap=200)
    assert result.model_terms == ("a", "b", "c")
    assert result.estimate == pytest.approx(1_000_000, rel=1e-4)
    assert result.unobserved == pytest.approx(unobserved, rel=1e-3)
    assert result.interval[0] < 1_000_000 < result.interval[1]

    table, _ = exact_table(1_000_000, [0.3, 0.3, 0.25], ab=3.0)
    result = multiple_systems_estimate(table, bootstrap=200)
    assert result.model_terms == ("a", "b", "c", "a:b")
    assert result.estimate == pytest.approx(1_000_000, rel=1e-4)


def test_saturated_model_is_the_closed_form() -> None:
    table = pd.DataFrame(list(itertools.product([0, 1], repeat=3))[1:], columns=list("abc"))
    table["count"] = [40, 30, 10, 50, 15, 20, 8]
    m = dict(zip(map(tuple, table[list("abc")].to_numpy()), table["count"], strict=True))
    closed = (m[1, 1, 1] * m[1, 0, 0] * m[0, 1, 0] * m[0, 0, 1]
              / (m[1, 1, 0] * m[1, 0, 1] * m[0, 1, 1]))
    result = multiple_systems_estimate(table, bootstrap=100)
    models = result.models.set_index("terms")
    saturated = models.loc["a + b + c + a:b + a:c + b:c"]
    assert saturated["unobserved"] == pytest.approx(closed, rel=1e-6)
    assert saturated["df"] == 0
    assert len(result.models) == 8
    assert result.models["weight"].sum() == pytest.approx(1.0)
    assert result.models.iloc[0]["terms"] == " + ".join(result.model_terms)
    assert min(models["total"]) <= result.averaged_estimate <= max(models["total"])


def test_result_states_its_method_and_assumptions() -> None:
    rng = np.random.default_rng(3)
    result = multiple_systems_estimate(simulate(N, [0.3, 0.4, 0.2], rng), bootstrap=100)
    for words in ("Closed population", "matching", "interactions"):
        assert words in result.assumptions
    assert "bootstrap" in result.interval_method and "BIC" in result.interval_method
    assert result.criterion == "bic" and result.confidence == 0.95
    aic = multiple_systems_estimate(simulate(N, [0.3, 0.4, 0.2], rng), criterion="aic",
                                    bootstrap=100)
    assert aic.criterion == "aic" and "AIC" in aic.interval_method


def test_per_entity_rows_and_pattern_counts_agree_and_are_seeded() -> None:
    rng = np.random.default_rng(5)
    entities = simulate(N, [0.3, 0.4, 0.2], rng)
    counts = pattern_counts(entities)
    assert len(counts) == 7 and counts["count"].sum() == len(entities)
    a = multiple_systems_estimate(entities, bootstrap=200, seed=1)
    b = multiple_systems_estimate(counts, bootstrap=200, seed=1)
    assert a.estimate == pytest.approx(b.estimate) and a.interval == b.interval
    bools = entities.astype(bool)
    assert multiple_systems_estimate(bools, bootstrap=200, seed=1).interval == a.interval


def test_capture_histories_from_a_membership_table() -> None:
    membership = pd.DataFrame({
        "canonical_id": [1, 1, 2, 3, 3, 3, 4, 4],
        "source": ["a", "b", "b", "a", "b", "c", "c", "c"],  # 4 listed twice by c
    })
    histories = capture_histories(membership).set_index(["a", "b", "c"])["count"]
    assert histories[1, 1, 0] == 1 and histories[0, 1, 0] == 1
    assert histories[1, 1, 1] == 1 and histories[0, 0, 1] == 1
    assert histories.sum() == 4 and len(histories) == 7


def test_bad_input_gets_clear_errors() -> None:
    two = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1]})
    with pytest.raises(MSEError, match="at least 3 sources; got 2"):
        multiple_systems_estimate(two)
    with pytest.raises(MSEError, match="no entity"):
        multiple_systems_estimate(pd.DataFrame({"a": [0], "b": [0], "c": [0], "count": [0]}))
    with pytest.raises(MSEError, match="in no source"):
        multiple_systems_estimate(pd.DataFrame({"a": [0, 1], "b": [0, 1], "c": [0, 1],
                                                "count": [5, 3]}))
    with pytest.raises(MSEError, match="0/1"):
        multiple_systems_estimate(pd.DataFrame({"a": [2], "b": [0], "c": [1]}))
    with pytest.raises(MSEError, match="criterion"):
        multiple_systems_estimate(pd.DataFrame({"a": [1], "b": [0], "c": [1]}),
                                  criterion="dic")  # type: ignore[arg-type]
    # Source a listed everyone: nothing says how many it missed.
    everyone = pd.DataFrame({"a": [1, 1, 1, 1], "b": [0, 1, 0, 1], "c": [0, 0, 1, 1],
                             "count": [30, 20, 10, 5]})
    with pytest.raises(MSEError, match="not identifiable: no entity is not a"):
        multiple_systems_estimate(everyone)


def test_an_empty_cell_rules_out_only_the_models_it_breaks() -> None:
    table = pd.DataFrame(list(itertools.product([0, 1], repeat=3))[1:], columns=list("abc"))
    table["count"] = [40, 30, 0, 50, 15, 20, 8]  # nobody in b and c but not in a
    result = multiple_systems_estimate(table, bootstrap=100)
    models = result.models.set_index("terms")
    # With a:b and a:c the cells without a are a sub-table the model fits exactly, so the
    # empty one is fitted as 0 and "in none" (m001 * m010 / m011) runs to infinity.
    for broken in ("a + b + c + a:b + a:c", "a + b + c + a:b + a:c + b:c"):
        assert not models.loc[broken, "identifiable"]
        assert "fitted as zero" in models.loc[broken, "note"]
        assert models.loc[broken, "weight"] == 0
    assert models["identifiable"].sum() == 6
    assert set(result.model_terms) != {"a:b", "a:c"} & set(result.model_terms)
    assert result.estimate < 10 * result.observed
    # An empty margin is named: nobody in c without a and b.
    table["count"] = [0, 30, 10, 50, 15, 20, 8]
    models = multiple_systems_estimate(table, bootstrap=100).models.set_index("terms")
    assert "not a and not b" in models.loc["a + b + c + a:b", "note"]


def _reconcile_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reconcile_data", BENCH / "reconcile_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reconcile_data", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_three_sources_interval_covers_the_true_total(seed: int) -> None:
    """With perfect matching (the generator's true person ids) the estimate from the three
    sources' overlaps covers the register's total, including the ~11% no source has."""
    rd = _reconcile_data()
    _, truth = rd.three_sources(rd.load_register(), seed)
    histories = capture_histories(truth.links.rename(columns={"person_id": "canonical_id"}))
    result = multiple_systems_estimate(histories, bootstrap=500, seed=seed)
    assert result.observed < truth.true_total
    assert result.interval[0] <= truth.true_total <= result.interval[1], (
        result.estimate, result.interval, truth.true_total)
    assert abs(result.estimate / truth.true_total - 1) < 0.02
