"""The multiple-systems estimate averaged over draws of the record linkage
(analysis/mse_linkage.py, issue 17): certain links give the plain estimate, uncertain ones
move it and widen the interval by as much as the overlap's spread says, alike persons'
overlap is drawn from its distribution, and the draws repeat with a seed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mineaction.analysis.mse import capture_histories, multiple_systems_estimate
from mineaction.analysis.mse_linkage import (
    draw_links,
    linkage_averaged,
    linkage_averaged_mse,
    list_odds,
    overlap_distribution,
    pool,
    with_alike_classes,
)


def three_lists(seed: int, persons: int = 3000) -> pd.DataFrame:
    """Records of three independent lists (a 0.5, b 0.4, c 0.3) of `persons` persons:
    source, id, person."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, share in (("a", 0.5), ("b", 0.4), ("c", 0.3)):
        listed = np.flatnonzero(rng.random(persons) < share)
        rows.append(pd.DataFrame({"source": name, "id": [f"{name}{p}" for p in listed],
                                  "person": listed}))
    return pd.concat(rows, ignore_index=True)


def true_links(records: pd.DataFrame, probability: float = 1.0) -> pd.DataFrame:
    """Every pair of records of one person in two sources, at `probability`."""
    parts = []
    for left, right in (("a", "b"), ("a", "c"), ("b", "c")):
        pair = records[records["source"] == left].merge(
            records[records["source"] == right], on="person", suffixes=("_l", "_r"))
        parts.append(pd.DataFrame({"source_l": left, "id_l": pair["id_l"], "source_r": right,
                                   "id_r": pair["id_r"], "probability": probability}))
    return pd.concat(parts, ignore_index=True)


def plain(records: pd.DataFrame, links: pd.DataFrame, bootstrap: int = 400,
          seed: int = 0) -> tuple[float, tuple[float, float]]:
    """The plain estimate from the clusters of the given links (all taken as right)."""
    from mineaction.linkage.clusters import cluster_links

    prepared = {n: pd.DataFrame({"id": records.loc[records["source"] == n, "id"].to_numpy()})
                for n in ("a", "b", "c")}
    clustered, _ = cluster_links(prepared, links.assign(status="accepted"))
    r = multiple_systems_estimate(capture_histories(clustered, entity="cluster"),
                                  bootstrap=bootstrap, seed=seed)
    return r.estimate, r.interval


def test_certain_links_give_the_plain_estimate() -> None:
    records = three_lists(1)
    links = true_links(records)
    wrong = links.iloc[:50].assign(id_r=links["id_r"].iloc[50:100].to_numpy(),
                                   probability=0.0)  # never drawn
    estimate, (lo, hi) = plain(records, links)
    averaged = linkage_averaged_mse(records, pd.concat([links, wrong], ignore_index=True),
                                    imputations=8, bootstrap=400, seed=3)
    assert averaged.draws == pytest.approx([estimate] * 8, rel=1e-12)
    assert averaged.estimate == pytest.approx(estimate, rel=1e-12)
    assert averaged.between == 0.0
    # The same bootstrap distribution, drawn with other random numbers.
    assert averaged.interval[0] == pytest.approx(lo, rel=0.01)
    assert averaged.interval[1] == pytest.approx(hi, rel=0.01)
    assert averaged.links_kept == len(links)


def test_uncertain_links_move_the_estimate_and_widen_the_interval_as_computed() -> None:
    """Half of the a-b links of persons c does not list (others are joined through c
    anyway) are right for sure; the other half each at 0.5. The number kept is then
    binomial (n, 0.5), so the draws' estimates spread by |dN/dm| sqrt(n/4), dN/dm read off
    the plain estimate at two overlaps; their mean is the plain estimate at the expected
    overlap."""
    records = three_lists(2)
    links = true_links(records)
    in_c = set(records.loc[records["source"] == "c", "id"].str[1:])
    ab = ((links["source_l"] == "a") & (links["source_r"] == "b")
          & ~links["id_l"].str[1:].isin(in_c))
    doubtful = links.index[ab][::2]
    n = len(doubtful)
    uncertain = links.assign(probability=lambda f: np.where(f.index.isin(doubtful), 0.5, 1.0))

    def with_kept(kept: int) -> float:
        drop = doubtful[kept:]
        return plain(records, links.drop(index=drop), bootstrap=50)[0]

    at_half = with_kept(n // 2)
    slope = (with_kept(n // 2 + 40) - with_kept(n // 2 - 40)) / 80
    assert slope < 0  # more overlap, fewer unrecorded
    certain_lo, certain_hi = plain(records, links)[1]
    averaged = linkage_averaged_mse(records, uncertain, imputations=40, bootstrap=2000,
                                    seed=5)
    expected_sd = abs(slope) * math.sqrt(n / 4)
    assert math.sqrt(averaged.between) == pytest.approx(expected_sd, rel=0.3)
    assert averaged.estimate == pytest.approx(at_half, abs=3 * expected_sd / math.sqrt(40)
                                              + 0.002 * at_half)
    assert averaged.links_kept == pytest.approx(len(links) - n / 2, abs=4 * math.sqrt(n / 4))
    # Wider than with every link certain, and centred on the estimate at half the links.
    width = averaged.interval[1] - averaged.interval[0]
    assert width > 1.1 * (certain_hi - certain_lo)
    assert averaged.interval[0] < at_half < averaged.interval[1]
    rubin_lo, rubin_hi = averaged.rubin_interval
    assert rubin_hi - rubin_lo == pytest.approx(width, rel=0.25)


def test_the_draws_repeat_with_a_seed() -> None:
    records = three_lists(3, persons=1500)
    links = true_links(records, probability=0.7)
    first = linkage_averaged_mse(records, links, imputations=4, bootstrap=100, seed=11)
    again = linkage_averaged_mse(records, links, imputations=4, bootstrap=100, seed=11)
    other = linkage_averaged_mse(records, links, imputations=4, bootstrap=100, seed=12)
    assert first == again
    assert first.draws != other.draws


def brute_force_overlap(a: int, b: int, lam: dict[str, float], largest: int = 400
                        ) -> np.ndarray:
    """P(o | a, b) summing the multinomial over every class size s (flat prior)."""
    weights = np.zeros(min(a, b) + 1)
    for o in range(min(a, b) + 1):
        for s in range(a + b - o, largest):
            none = s - a - b + o
            weights[o] += math.exp(
                math.lgamma(s + 1) - math.lgamma(o + 1) - math.lgamma(a - o + 1)
                - math.lgamma(b - o + 1) - math.lgamma(none + 1)
                + o * math.log(lam["11"]) + (a - o) * math.log(lam["10"])
                + (b - o) * math.log(lam["01"]) + none * math.log(lam["00"]))
    return weights / weights.sum()


@pytest.mark.parametrize(("a", "b", "lam"), [
    (3, 3, {"11": 0.35, "10": 0.35, "01": 0.15, "00": 0.15}),
    (2, 5, {"11": 0.5, "10": 0.2, "01": 0.1, "00": 0.2}),  # dependent lists
    (1, 1, {"11": 0.1, "10": 0.3, "01": 0.2, "00": 0.4}),
])
def test_the_overlap_of_alike_persons_is_the_multinomial_summed_over_class_sizes(
        a: int, b: int, lam: dict[str, float]) -> None:
    theta = list_odds(lam)
    assert overlap_distribution(a, b, min(a, b), theta) == pytest.approx(
        brute_force_overlap(a, b, lam), abs=1e-9)


def test_independent_lists_odds() -> None:
    pc, pn = 0.7, 0.5
    lam = {"lists 11": pc * pn, "lists 10": pc * (1 - pn), "lists 01": (1 - pc) * pn,
           "lists 00": (1 - pc) * (1 - pn)}
    assert list_odds(lam) == pytest.approx((1 - lam["lists 00"]) / lam["lists 00"])


def test_links_between_alike_persons_are_drawn_as_a_group() -> None:
    """Three alike soldiers in each source, three links between them (as the linker makes
    min(a, b)); a fourth link between persons told apart, at 0.8."""
    accident = {"admin_area_pcode": "05001", "date_start": pd.Timestamp("2005-01-02"),
                "date_end": pd.Timestamp("2005-01-02"), "place_name": "x",
                "accident_kind": "mine", "sex": "male",
                "outcome": ["injured"] * 3 + ["killed"]}
    prepared = {"centre": pd.DataFrame({"id": ["c1", "c2", "c3", "c4"], **accident}),
                "ngo": pd.DataFrame({"id": ["n1", "n2", "n3", "n4"], **accident})}
    links = pd.DataFrame({"source_l": "centre", "id_l": ["c1", "c2", "c3", "c4"],
                          "source_r": "ngo", "id_r": ["n1", "n2", "n3", "n4"],
                          "probability": [0.99, 0.99, 0.99, 0.8]})
    links = with_alike_classes(links, prepared, ["sex", "outcome"])
    assert links["size_l"].tolist() == [3, 3, 3, 1]
    theta = 4.0
    rng = np.random.default_rng(0)
    draws = np.array([draw_links(links, rng, theta) for _ in range(6000)])
    twins = draws[:, :3].sum(axis=1)
    expected = overlap_distribution(3, 3, 3, theta)
    observed = np.bincount(twins, minlength=4) / len(draws)
    assert observed == pytest.approx(expected, abs=0.02)
    assert draws[:, 3].mean() == pytest.approx(0.8, abs=0.02)
    # Without theta every link is its own Bernoulli draw.
    plain_draws = np.array([draw_links(links, rng) for _ in range(2000)])
    assert plain_draws[:, :3].mean() == pytest.approx(0.99, abs=0.01)


def test_pooling_reads_every_draws_replicates() -> None:
    rng = np.random.default_rng(0)
    replicates = [rng.normal(100, 5, 4000), rng.normal(120, 5, 4000)]
    result = pool([100.0, 120.0], replicates)
    assert result.estimate == 110.0
    assert result.between == pytest.approx(200.0)
    assert result.within == pytest.approx(25.0, rel=0.05)
    # The pooled sample is the half-and-half mixture of both: its 2.5% and 97.5% points.
    from scipy.optimize import brentq
    from scipy.stats import norm

    def mixture(x: float) -> float:
        return float(0.5 * norm.cdf(x, 100, 5) + 0.5 * norm.cdf(x, 120, 5))

    for got, level in zip(result.interval, (0.025, 0.975), strict=True):
        point = brentq(lambda x, at=level: mixture(x) - at, 50, 170)
        assert got == pytest.approx(point, abs=0.6)


def test_linkage_averaged_refuses_no_imputation() -> None:
    links = pd.DataFrame({"probability": [0.5]})
    with pytest.raises(ValueError):
        linkage_averaged(links, lambda d, s: (0.0, np.zeros(1)), imputations=0)


def test_the_accident_models_own_bias_is_measured_on_its_fitted_parameters() -> None:
    """Accidents drawn as the accident model assumes, fitted; populations drawn from that
    fit show as many seen accidents and counted casualties as the data, and the model's
    bias on them is a fraction of a percent, measured with its standard error."""
    from mineaction.analysis.mse_counts import estimate_with_counts
    from mineaction.analysis.mse_linkage import model_bias, simulated_accidents

    rng = np.random.default_rng(4)
    sizes = 1 + rng.poisson(0.8, 3000)
    lam = [0.2, 0.15, 0.3, 0.35]  # none, ngo only, centre only, both
    listed = np.array([rng.multinomial(n, lam) for n in sizes])[:, 1:]
    counted = rng.binomial(sizes, 0.25)
    seen = (listed.sum(axis=1) > 0) | (counted > 0)
    labels = ["01", "10", "11"]
    fitted = estimate_with_counts(listed[seen], counted[seen], labels=labels,
                                  list_sources=["centre", "ngo"], bootstrap=0)
    m, k, total = simulated_accidents(fitted, labels, np.random.default_rng(1))
    assert len(m) == pytest.approx(seen.sum(), rel=0.05)
    assert k.sum() == pytest.approx(counted.sum(), rel=0.06)
    assert total == pytest.approx(fitted.estimate, rel=0.05)
    bias, error = model_bias(fitted, labels=labels, list_sources=["centre", "ngo"],
                             simulations=40, seed=2)
    assert 0 < error < 0.01 * fitted.estimate
    assert abs(bias) < 0.015 * fitted.estimate
