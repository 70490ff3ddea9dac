"""Multiple systems estimation with a source that gives counts per accident, not people
(analysis/mse_counts.py, issue 17): on simulated accidents whose truth is known, lists
that depend on each other and a press that counts a random quarter of the casualties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mineaction.analysis.mse_counts import accident_table, estimate_with_counts


def simulate(seed: int, accidents: int = 4000) -> tuple[pd.DataFrame, pd.Series, list[int], int]:
    """Victims the lists recorded (with their accident), the press's counts per accident
    it shares with the lists, its counts of accidents only it reported, the true total."""
    rng = np.random.default_rng(seed)
    large = (rng.random(accidents) < 0.05) * rng.poisson(4, accidents)
    sizes = 1 + rng.poisson(0.6, accidents) + large
    rows, counts, alone = [], {}, []
    for a, n in enumerate(sizes):
        centre = rng.random(n) < 0.6
        # the NGO records more often what the centre recorded: dependent lists
        ngo = rng.random(n) < np.where(centre, 0.6, 0.3)
        press = int((rng.random(n) < 0.25).sum())
        for c, g in zip(centre, ngo, strict=True):
            if c or g:
                rows.append({"accident": f"a{a}", "centre": int(c), "ngo": int(g)})
        if press:
            if (centre | ngo).any():
                counts[f"a{a}"] = press
            else:
                alone.append(press)
    return pd.DataFrame(rows), pd.Series(counts), alone, int(sizes.sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_estimate_covers_the_true_total(seed: int) -> None:
    victims, counts, alone, truth = simulate(seed)
    m, k, labels = accident_table(victims, counts, list_sources=["centre", "ngo"],
                                  unlinked=alone)
    result = estimate_with_counts(m, k, labels=labels, list_sources=["centre", "ngo"],
                                  bootstrap=60, seed=seed)
    lo, hi = result.interval
    assert lo <= truth <= hi, (result.estimate, result.interval, truth)
    assert abs(result.estimate - truth) / truth < 0.04
    assert result.capture["press"] == pytest.approx(0.25, abs=0.03)
    assert result.observed_listed == len(victims)


def test_first_come_marking_of_press_counts_would_undercount() -> None:
    """The derivation this replaces: the press's k casualties of an accident taken to be
    k of the people the lists recorded whenever there are that many. Two-list plus press
    log-linear estimate from such histories falls short of the truth; ours does not."""
    from mineaction.analysis.mse import multiple_systems_estimate

    victims, counts, alone, truth = simulate(4)
    hist = []
    for accident, group in victims.groupby("accident"):
        k = int(counts.get(accident, 0))
        for i, (_, v) in enumerate(group.iterrows()):
            hist.append({"centre": v["centre"], "ngo": v["ngo"], "press": int(i < k)})
        hist += [{"centre": 0, "ngo": 0, "press": 1}] * max(0, k - len(group))
    hist += [{"centre": 0, "ngo": 0, "press": 1}] * sum(alone)
    naive = multiple_systems_estimate(pd.DataFrame(hist), bootstrap=50)
    assert naive.interval[1] < truth
    m, k, labels = accident_table(victims, counts, list_sources=["centre", "ngo"],
                                  unlinked=alone)
    ours = estimate_with_counts(m, k, labels=labels, list_sources=["centre", "ngo"],
                                bootstrap=50)
    assert ours.interval[0] <= truth <= ours.interval[1]


def test_a_victim_joining_two_records_of_one_source_counts_as_two_persons() -> None:
    victims = pd.DataFrame({"accident": ["a", "a", "b"], "centre": [2, 1, 0],
                            "ngo": [1, 0, 1]})
    m, k, labels = accident_table(victims, pd.Series({"a": 2}),
                                  list_sources=["centre", "ngo"], unlinked=[3])
    assert labels == ["01", "10", "11"]
    # accident a: the joined pair is one person in both and one in the centre only, plus
    # the centre-only victim; accident b: one NGO-only victim; then the press-only accident
    assert m.tolist() == [[0, 2, 1], [1, 0, 0], [0, 0, 0]]
    assert k.tolist() == [2, 0, 3]
