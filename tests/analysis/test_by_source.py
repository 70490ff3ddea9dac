# SPDX-License-Identifier: GPL-3.0-or-later
"""The by-source view (issue 17): counts per source, only-this-source and every overlap
agree with brute force over the truth the fixture wrote; the estimate of what no source
recorded appears with three sources and not with two; the public gets small counts
suppressed so that no hidden count can be worked out from the shown ones."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mineaction.analysis import by_source as bs
from mineaction.analysis import by_source_counts as bsc
from mineaction.analysis.overlaps import overlaps
from mineaction.store import Store, open_store

_spec = importlib.util.spec_from_file_location(
    "mineaction_tests_sources", Path(__file__).with_name("sources_fixture.py"))
assert _spec and _spec.loader
sources_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources_fixture)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    store = open_store(tmp_path_factory.mktemp("bysource") / "s.gpkg")
    truth = sources_fixture.load(store)
    yield store, truth
    store.close()


def _patterns(truth: dict[str, set[int]], names: list[str]) -> dict[tuple[str, ...], int]:
    persons = set().union(*(truth[n] for n in names))
    out: dict[tuple[str, ...], int] = {}
    for p in persons:
        key = tuple(n for n in names if p in truth[n])
        out[key] = out.get(key, 0) + 1
    return out


def test_counts_agree_with_brute_force(linked: tuple[Store, dict]) -> None:
    store, truth = linked
    view = bs.by_source(store, bootstrap=200)
    names = view["sources"]
    assert sorted(names) == sorted(truth)
    assert names == sorted(truth, key=lambda s: -len(truth[s]))  # largest first
    # The rejected link keeps its two people apart: every person once.
    assert view["distinct"] == len(set().union(*truth.values()))
    for row in view["per_source"]:
        s = row["source"]
        others = set().union(*(truth[o] for o in truth if o != s))
        assert row["entities"] == len(truth[s])  # the draft is not approved
        assert row["only_this_source"] == len(truth[s] - others)
    expected = _patterns(truth, names)
    got = {tuple(r["sources"]): r["count"] for r in view["intersections"]}
    assert got == expected
    assert all(r["pattern"] == " & ".join(r["sources"]) for r in view["intersections"])
    # Every status: the draft police victim is one more entity, the police's alone.
    every = bs.by_source(store, statuses=None, with_estimate=False)
    assert every["distinct"] == view["distinct"] + 1 and every["estimate"] is None


def test_counted_in_sql_as_from_the_records(linked: tuple[Store, dict]) -> None:
    """by_source counts in SQL; membership reads every record: the same overlaps."""
    store, _ = linked
    for sources in (None, ["press", "police"]):
        chosen = bs.choose(store, "victim", ("approved",), sources)
        frame = bs.membership(store, sources=chosen)
        expected = overlaps(frame, sources=list(bs.compare(store, "victim", ("approved",),
                                                           chosen).sources))
        assert bs.compare(store, "victim", ("approved",), chosen).to_dict() == \
            expected.to_dict()


def test_membership_uses_the_entity_or_the_record(linked: tuple[Store, dict]) -> None:
    store, truth = linked
    frame = bs.membership(store)
    assert len(frame) == sum(len(v) for v in truth.values())
    assert frame["canonical_id"].nunique() == len(set().union(*truth.values()))
    assert set(bs.membership(store, sources=["press"])["source"]) == {"press"}
    assert len(bs.membership(store, date_from=sources_fixture.date(2007, 1, 1))) == 0


def test_estimate_with_three_sources_not_two(linked: tuple[Store, dict]) -> None:
    store, truth = linked
    three = bs.by_source(store, bootstrap=200)["estimate"]
    assert three["available"] is True
    low, high = three["interval"]
    assert three["observed"] == len(set().union(*truth.values()))
    assert low <= three["estimate"] <= high and three["estimate"] >= three["observed"]
    # 150 persons were written; the sources list fewer, the estimate should cover them.
    assert low <= 150 <= high, three
    assert three["criterion"] == "bic" and all(
        t.split(":")[0] in truth for t in three["model_terms"])
    assert "Closed population" in three["assumptions"]

    two = bs.by_source(store, sources=["police", "press"], bootstrap=200)
    assert two["sources"] == ["police", "press"]
    assert two["estimate"]["available"] is False
    assert "needs three or more sources" in two["estimate"]["reason"]
    assert two["distinct"] == len(truth["police"] | truth["press"])


def test_unknown_source_is_refused(linked: tuple[Store, dict]) -> None:
    with pytest.raises(ValueError, match="no victim records of source ngo"):
        bs.by_source(linked[0], sources=["police", "ngo"])


def test_accidents_by_source(linked: tuple[Store, dict]) -> None:
    view = bs.by_source(linked[0], kind="accident", with_estimate=False)
    # One accident per source, linked to nothing.
    assert view["distinct"] == 3 and all(r["entities"] == 1 for r in view["per_source"])


def _disclosed(public: dict, full: dict) -> list[str]:
    """Hidden figures a linear combination of the shown ones gives away (brute force over
    the published relations, independent of the module's own check)."""
    names = full["sources"]
    patterns = [p for p in itertools.product([0, 1], repeat=len(names)) if any(p)]
    counts = {tuple(int(n in r["sources"]) for n in names): r["count"]
              for r in public["intersections"]}
    rows, shown = [], []
    for p in patterns:
        rows.append(np.eye(len(patterns))[patterns.index(p)])
        shown.append(counts.get(p, 0) is not None)
    for j, row in enumerate(public["per_source"]):
        rows.append(np.array([p[j] for p in patterns], dtype=float))
        shown.append(row["entities"] is not None)
    rows.append(np.ones(len(patterns)))
    shown.append(public["distinct"] is not None)
    matrix = np.array(rows)
    base = matrix[np.array(shown)]
    rank = np.linalg.matrix_rank(base)
    return [str(i) for i, ok in enumerate(shown) if not ok
            and np.linalg.matrix_rank(np.vstack([base, matrix[i]])) == rank]


@pytest.mark.parametrize("threshold", [5, 12, 40])
def test_public_counts_are_suppressed(linked: tuple[Store, dict], threshold: int) -> None:
    full = bs.by_source(linked[0], bootstrap=200)
    public = bs.public_view(full, threshold)
    assert public["suppressed_below"] == threshold
    small = [r for r in full["intersections"] if r["count"] < threshold]
    shown = {r["pattern"]: r["count"] for r in public["intersections"]}
    for r in small:
        assert shown[r["pattern"]] is None
    for r in public["intersections"]:  # what is shown is true
        if r["count"] is not None:
            assert r["count"] >= threshold
            assert r["count"] == next(f["count"] for f in full["intersections"]
                                      if f["pattern"] == r["pattern"])
    assert _disclosed(public, full) == []
    if small:
        assert public["suppressed"] is True
        assert public["estimate"]["available"] is False
        assert "suppressed" in public["estimate"]["reason"]


def test_public_sees_everything_when_no_count_is_small(linked: tuple[Store, dict]) -> None:
    full = bs.by_source(linked[0], bootstrap=200)
    public = bs.public_view(full, 1)
    assert public["suppressed"] is False and public["estimate"] == full["estimate"]
    assert public["distinct"] == full["distinct"]
    assert {r["pattern"]: r["count"] for r in public["intersections"]} == {
        r["pattern"]: r["count"] for r in full["intersections"]}


def _full(counts: dict[tuple[str, ...], int]) -> dict:
    names = sorted({s for p in counts for s in p})
    return {"sources": names, "per_source": [], "distinct": 0, "estimate": {"x": 1},
            "intersections": [{"sources": list(p), "count": n} for p, n in counts.items()]}


def test_overlapping_sums_need_more_than_the_greedy() -> None:
    """a only = 2 is small; a's count, b's, c's and the total are published (and public on
    other routes), and each cell is in several of them: cells are hidden until no hidden
    one is a linear combination of the shown figures."""
    full = _full({("a",): 2, ("a", "b"): 20, ("a", "c"): 30, ("a", "b", "c"): 25,
                  ("b",): 40, ("c",): 35, ("b", "c"): 22})
    public = bs.public_view(full, 5)
    assert public["published"] is True and _disclosed(public, full) == []
    shown = {r["pattern"]: r["count"] for r in public["intersections"]}
    assert shown["a"] is None and sum(v is None for v in shown.values()) >= 3
    assert all(r["entities"] is not None for r in public["per_source"])  # public elsewhere
    assert public["estimate"]["available"] is False


def test_public_sums_that_give_a_small_overlap_away_refuse_the_view() -> None:
    """Two sources: a & b = a + b - distinct, each public on its own route."""
    full = _full({("a",): 30, ("a", "b"): 2, ("b",): 18})
    public = bs.public_view(full, 5)
    assert public["published"] is False and "would give away" in public["reason"]
    assert public["distinct"] is None and all(r["count"] is None
                                              for r in public["intersections"])
    assert all(r["entities"] is None for r in public["per_source"])


# ------------------------------------------------ a source that only counts (issue 17)
# Its accidents carry `reported_killed` / `reported_injured` and no victims; the view shows
# it apart, and with two list sources the estimate is the accident model's, which covers
# the true total. Too few sources, and small counts for the public, give no estimate.

@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    store = open_store(tmp_path_factory.mktemp("counts") / "s.gpkg")
    truth = sources_fixture.load_counts(store)
    yield store, truth
    store.close()


def test_a_source_of_counts_is_told_apart_from_the_lists(counted: tuple[Store, dict]) -> None:
    store, truth = counted
    assert bsc.count_datasets(store) == ["press"]
    view = bs.by_source(store, with_estimate=False)
    assert sorted(view["sources"]) == ["centre", "ngo"]  # the press has no overlaps
    assert view["counted"] == [{
        "source": "press", "accidents": truth["press_accidents"],
        "killed": truth["press_killed"], "injured": truth["press_injured"],
        "casualties": truth["press_killed"] + truth["press_injured"]}]


def test_the_accident_model_covers_the_true_total(counted: tuple[Store, dict]) -> None:
    store, truth = counted
    view = bs.by_source(store, bootstrap=200)
    e = view["estimate"]
    assert e["available"] and e["method"] == "accident_counts"
    assert e["list_sources"] == view["sources"] and e["count_source"] == "press"
    listed = view["distinct"]
    assert listed < e["observed"] < truth["total"]  # the press's extra casualties
    low, high = e["interval"]
    assert low <= truth["total"] <= high
    # Most of the press's accidents are found among the lists' (dates a few days off).
    assert e["counted_accidents"] == truth["press_accidents"]
    assert e["counted_accidents_linked"] >= 0.8 * truth["press_accidents"]
    # Named explicitly, the same sources give the same estimate.
    again = bs.by_source(store, sources=["centre", "ngo", "press"], bootstrap=200)
    assert again["estimate"] == e


def test_one_list_and_the_counts_are_too_few(counted: tuple[Store, dict]) -> None:
    store, _ = counted
    view = bs.by_source(store, sources=["centre", "press"], bootstrap=50)
    assert view["sources"] == ["centre"] and view["counted"][0]["source"] == "press"
    assert view["estimate"]["available"] is False
    assert view["estimate"]["sources_given"] == 2


def test_the_public_gets_no_small_count_and_then_no_estimate(
        counted: tuple[Store, dict]) -> None:
    store, truth = counted
    view = bs.by_source(store, bootstrap=50)
    public = bs.public_view(view, threshold=truth["press_killed"] + 1)
    row = public["counted"][0]
    # killed is small under this threshold: hidden, and injured with it (the sum would
    # give it back); the estimate, a function of every count, is withheld.
    assert row["killed"] is None and row["injured"] is None
    assert public["suppressed"] and public["estimate"]["available"] is False
    shown = bs.public_view(view, threshold=2)
    assert shown["counted"][0]["killed"] == truth["press_killed"]
