# SPDX-License-Identifier: GPL-3.0-or-later
"""A source that counts casualties per accident and names no one (issue 17), stored and
read back: its accidents carry `reported_killed` / `reported_injured` and no victims; the
by-source view shows it apart, and with two list sources the estimate of what no source
recorded is the accident model's, which covers the true total. Too few sources, and small
counts for the public, give no estimate."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from mineaction.analysis import by_source as bs
from mineaction.analysis import by_source_counts as bsc
from mineaction.store import Store, open_store

_spec = importlib.util.spec_from_file_location(
    "mineaction_tests_sources", Path(__file__).with_name("sources_fixture.py"))
assert _spec and _spec.loader
sources_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources_fixture)


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
