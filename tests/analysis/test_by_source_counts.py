# SPDX-License-Identifier: GPL-3.0-or-later
"""A source that counts casualties per accident and names no one (issue 17), stored and
read back: its accidents carry `reported_killed` / `reported_injured` and no victims; the
by-source view shows it apart, and with two list sources the estimate of what no source
recorded is the accident model's, which covers the true total. Too few sources, and small
counts for the public, give no estimate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pytest

from mineaction.analysis import by_source as bs
from mineaction.analysis import by_source_counts as bsc
from mineaction.domain.models import Accident, Victim
from mineaction.store import Store, links, open_store

LISTS = {"centre": 0.7, "ngo": 0.5}
PRESS = 0.4


def _load(store: Store, accidents: int = 300, seed: int = 3, *, store_press: bool = True
          ) -> dict:
    """Accidents of known sizes over three years and 40 municipalities; the centre and the
    NGO list each casualty with their chances, the press counts each with its own, all
    independently (the model's assumptions); the press's dates are a few days off. The
    same person's records of the two lists are joined by confirmed links. The press's
    accidents are also returned (`press`), for a caller that imports them itself."""
    rng = np.random.default_rng(seed)
    truth: dict = {"total": 0, "press_killed": 0, "press_injured": 0, "press_accidents": 0,
                   "press": []}
    link_rows = []
    for a in range(accidents):
        when = date(2004, 1, 1) + timedelta(days=int(rng.integers(0, 3 * 365)))
        pcode = f"05{int(rng.integers(0, 40)):03d}"
        size = 1 + int(rng.poisson(0.8))
        truth["total"] += size
        outcomes = ["killed" if rng.random() < 0.4 else "injured" for _ in range(size)]
        listed: dict[int, list[tuple[str, str]]] = {}
        for source, chance in LISTS.items():
            persons = [p for p in range(size) if rng.random() < chance]
            if not persons:
                continue
            acc = store.add(Accident(dataset=source, external_id=f"{source}-{a}",
                                     status="approved", accident_date=when,
                                     admin_area_pcode=pcode, accident_kind="mine"))
            for p in persons:
                v = store.add(Victim(dataset=source, external_id=f"{source}-{a}-{p}",
                                     status="approved",
                                     accident_id=acc.id, outcome=outcomes[p]))
                listed.setdefault(p, []).append((source, str(v.id)))
        counted = [outcomes[p] for p in range(size) if rng.random() < PRESS]
        if counted:
            killed, injured = counted.count("killed"), counted.count("injured")
            said = when + timedelta(days=int(rng.integers(-3, 4)))
            truth["press"].append((said, pcode, killed, injured))
            if store_press:
                store.add(Accident(dataset="press", external_id=f"press-{a}",
                                   status="approved", accident_date=said,
                                   admin_area_pcode=pcode, accident_kind="mine",
                                   reported_killed=killed, reported_injured=injured))
            truth["press_killed"] += killed
            truth["press_injured"] += injured
            truth["press_accidents"] += 1
        for records in listed.values():
            if len(records) == 2:
                (da, ia), (db, ib) = records
                link_rows.append({"kind": "victim", "scope": "sources", "a_id": ia,
                                  "b_id": ib, "a_dataset": da, "b_dataset": db,
                                  "probability": 0.99, "status": "confirmed"})
    with store.engine.begin() as conn:
        links.add_links(conn, link_rows)
        links.rebuild(store, conn, "victim")
    return truth


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    store = open_store(tmp_path_factory.mktemp("counts") / "s.gpkg")
    truth = _load(store)
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
