# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/linkage_bench.py runs at a tiny scale and prints its four figures (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"


def test_linkage_benchmark_runs_small(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "linkage_bench.py"), "--rows", "3000",
                           "--workdir", str(tmp_path), "--json", str(out),
                           "--mse-seeds", "7", "--mse-bootstrap", "40"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for heading in ("(1) revised release", "(2) three sources", "(3) scale",
                    "exact key (peer)", "rule: pcode", "oracle", "oracle frontier",
                    "definitions: strict",
                    "twin-aware = ", "with record noise", "with accident coverage",
                    "(4) multiple-systems estimate",
                    "first-come marking: ", "ties (more victims", "true matching",
                    "accident model: ", "covered: "):
        assert heading in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "linkage_bench"
    release = figures["revised_release"]
    assert all(release["within_1_percent_of_release"].values()), release
    sources = figures["three_sources"]
    assert abs(sources["splink"]["count_error_percent"]) <= 1, sources["splink"]
    # The two-stage linker joins victims of one accident.
    assert sources["splink"]["same_accident_share"] >= 0.98, sources["splink"]
    assert 0.8 < sources["oracle_ceiling"]["precision"] < 1
    frontier = sources["oracle_frontier"]
    assert frontier["recall_at_precision_0_98"] <= 1
    assert frontier["precision_at_recall_0_95"] >= sources["oracle_ceiling"]["precision"]
    assert sources["record_noise"]["noise"] == "record"
    assert sources["accident_coverage"]["coverage"] == "accident"
    # A source lists all of an accident's victims or none: no twin is ever in doubt.
    assert sources["accident_coverage"]["oracle_frontier"]["recall_at_precision_0_98"] == 1.0
    scale = figures["scale"]
    assert scale["rows"] == 3000
    assert scale["splink"]["counts"]["unchanged"] > 0.9 * 3000
    assert scale["exact_key_peer"]["seconds"] >= 0
    estimate = figures["multiple_systems_estimate"]
    assert "press only" in estimate["derivation"]
    run = estimate["seeds"]["7"]
    assert run["true_total"] > run["true_observed"]
    for key in ("splink", "exact_key_peer", "true_victims_press_counts", "true_matching"):
        row = run[key]
        assert row["interval"][0] <= row["estimate"] <= row["interval"][1], (key, row)
        assert row["covers_true_total"] == (
            row["interval"][0] <= run["true_total"] <= row["interval"][1])
        assert sum(row["patterns"].values()) == row["observed"]
    # With the true matching the estimate covers the true total (tests/analysis/test_mse.py).
    assert run["true_matching"]["covers_true_total"], run["true_matching"]
    # Every press count is placed: on a canonical victim or as a press-only person.
    # The accident model (analysis/mse_counts.py) beside it, on our clusters and the true.
    for key in ("splink_accident_model", "true_victims_accident_model"):
        row = run[key]
        assert row["interval"][0] <= row["estimate"] <= row["interval"][1], (key, row)
        assert 0.15 < row["capture"]["press"] < 0.35, row  # the generator's press: 25%
    ours = run["splink"]
    assert ours["press_marked"] + ours["press_only"] == run["exact_key_peer"]["press_marked"] \
        + run["exact_key_peer"]["press_only"]


def _bench_module() -> object:
    sys.path.insert(0, str(BENCH))
    import linkage_bench

    return linkage_bench


def test_the_release_oracle_counts_what_the_fields_can_tell() -> None:
    import pandas as pd

    oracle = _bench_module().release_oracle  # type: ignore[attr-defined]

    def rows(*keys: str) -> pd.DataFrame:
        return pd.DataFrame({"sex": [k[0] for k in keys], "age_band": [k[1:] for k in keys]})

    # The register: twins A, A, then B and D; the release keeps one A, corrects B to B'
    # (told to the oracle: one changed row), drops D and brings E.
    counts = oracle(rows("mA", "mA", "fB", "fD"), rows("mA", "fC", "mE"), 1)
    assert counts == {"unchanged": 1, "changed": 1, "new": 1, "no_longer_present": 2}
    # One twin gone and an identical one come: nothing tells it from no change.
    assert oracle(rows("mA", "mA"), rows("mA", "mA"), 0) == {
        "unchanged": 2, "changed": 0, "new": 0, "no_longer_present": 0}


def test_only_release_rewrites_the_release_figures_alone(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCH / "linkage_bench.py"), "--only-release",
                           "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    committed = json.loads((BENCH / "results" / "linkage_bench.json").read_text())
    release = figures["revised_release"]
    # Against each kind's own count even the oracle misses where twins come and go; ours
    # finds its unchanged count.
    assert release["oracle"]["unchanged"] == release["ours"]["unchanged"]
    assert not all(release["oracle_within_1_percent_of_count"].values())
    assert "oracle % of count" in proc.stdout
    assert figures["three_sources"] == committed["three_sources"]


def test_the_oracle_frontier_reads_the_chance_each_twin_link_is_right() -> None:
    """Class X: one person in the register, listed by both sources (a sure link). Class
    Y: two identical persons, each source lists one, and they are not the same: the link
    is right with chance 1/2 (hypergeometric), and here it is wrong."""
    import pandas as pd

    frontier = _bench_module().oracle_frontier  # type: ignore[attr-defined]
    frames = {"centre": pd.DataFrame({"id": ["c1", "c2"]}),
              "ngo": pd.DataFrame({"id": ["n1", "n2"]})}
    twin_of = {"c1": "X", "n1": "X", "c2": "Y", "n2": "Y"}
    out = frontier(frames, {("c1", "n1")}, twin_of, {"X": 1, "Y": 2})
    # Expected: links right with chance 1 then 1/2; 1.5 true pairs expected.
    assert out["recall_at_precision_0_98"] == round(1 / 1.5, 4)
    assert out["precision_at_recall_0_95"] == 0.75
    # Realised: the second link is wrong, the one true pair found by the first.
    assert out["realised_recall_at_precision_0_98"] == 1.0
    assert out["certain_share"] == 1.0
    assert out["both_targets_reachable"] is False
    # Had the two Y persons been one (a true pair there too), both would be found.
    both = frontier(frames, {("c1", "n1"), ("c2", "n2")}, twin_of, {"X": 1, "Y": 1})
    assert both["recall_at_precision_0_98"] == 1.0 and both["both_targets_reachable"]
