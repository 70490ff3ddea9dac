"""A revised release of a register without ids (issue 17, item 2a and "Must show (a)"): the
2021-06 AICMA register, then bench/reconcile_data.py's seeded revision of it (numbers with
thousands separators, columns reordered, 2% of victims corrected, 1% removed, 3% added).

Before, every corrected victim was reported removed and added, counted twice without
--delete-missing and recreated under a new id, its history lost, with it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from mineaction.analysis.casualties import casualties
from mineaction.io.mapping import load_mapping
from mineaction.io.pipeline import import_file
from mineaction.store import Query, Store, open_store

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from reconcile_data import load_register, revised_release  # noqa: E402

REGISTER = REPO / "data/colombia/aicma_victims_register_2021-06.csv"


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The store after the original and then the revised release, with what it reported."""
    d = tmp_path_factory.mktemp("release")
    frame, truth = revised_release(load_register(), 7)
    frame.to_csv(d / "revised.csv", index=False)
    store = open_store(d / "store.gpkg")
    mapping = load_mapping("aicma-victims")
    import_file(store, REGISTER, mapping=mapping)
    before = store.read_frame(Query(kind="victim", limit=None))
    report = import_file(store, d / "revised.csv", mapping=mapping, delete_missing=True)
    yield {"store": store, "truth": truth, "report": report, "before": before,
           "release": frame, "path": d / "revised.csv", "mapping": mapping}
    store.close()


def _within(got: int, want: int, of: int) -> bool:
    return abs(got - want) <= 0.01 * of


def test_counts_are_within_one_percent_of_the_truth(revised: dict[str, Any]) -> None:
    rows = revised["truth"].rows
    n = len(revised["release"])
    victims = revised["report"].kinds["victim"]
    truth = {"unchanged": int((rows.original_row.notna() & rows.corrected_field.isna()).sum()),
             "changed": int(rows.corrected_field.notna().sum()),
             "added": int(rows.original_row.isna().sum()),
             "removed": len(revised["truth"].removed)}
    got = {"unchanged": victims.unchanged, "changed": victims.changed,
           "added": victims.added, "removed": victims.removed}
    for name, want in truth.items():
        assert _within(got[name], want, n), (name, got, truth)
    # Nothing is both: the pairs left for review are few and kept whole.
    assert victims.review <= 0.01 * n
    assert victims.unchanged + victims.changed + victims.added + victims.review == n


def test_the_store_counts_the_revised_release_exactly(revised: dict[str, Any]) -> None:
    store: Store = revised["store"]
    assert casualties(store).total()["casualties"] == len(revised["release"])
    # Every record the release still has is there; the pairs in review keep both records
    # (counted once), until a person decides.
    review = revised["report"].kinds["victim"].review
    assert store.count(Query(kind="victim")) == len(revised["release"]) + review


def test_changed_victims_keep_their_id_and_their_history_shows_the_change(
        revised: dict[str, Any]) -> None:
    store: Store = revised["store"]
    before = revised["before"]
    after = store.read_frame(Query(kind="victim", limit=None))
    kept = set(before["id"]) & set(after["id"])
    victims = revised["report"].kinds["victim"]
    assert len(kept) == victims.unchanged + victims.changed + victims.review
    changed = after[after["version"] > 1]
    assert len(changed) == victims.changed
    corrected = set(revised["truth"].rows.corrected_field.dropna())
    domain = {"rangoedad": {"age_band"}, "estado": {"outcome"}, "condicion": {"role"},
              "Actividad": {"activity", "activity_text"}}
    allowed = set().union(*(domain[c] for c in corrected)) | {"accident_id"}
    right = 0
    for rid in changed["id"]:
        history = store.history("victim", rid)
        assert [v["action"] for v in history] == ["import", "current"]
        old, new = history[0]["data"], history[-1]["data"]
        differs = {k for k in new if old.get(k) != new.get(k)} - {
            "version", "updated_at", "external_id"}
        assert differs, rid
        right += differs <= allowed
    # A victim identical to another of its accident but for the corrected field can be
    # paired with its twin: rare, and the count is the same either way.
    assert right >= 0.95 * len(changed), (right, len(changed))


def test_importing_the_same_release_again_changes_nothing(revised: dict[str, Any]) -> None:
    store: Store = revised["store"]
    report = import_file(store, revised["path"], mapping=revised["mapping"],
                         delete_missing=True)
    victims = report.kinds["victim"]
    assert (victims.added, victims.changed, victims.removed, victims.review) == (0, 0, 0, 0)
    assert victims.unchanged == len(revised["release"])
    # The records a pending review pair holds were not deleted as "no longer in the file".
    review = revised["report"].kinds["victim"].review
    assert store.count(Query(kind="victim")) == len(revised["release"]) + review


def test_a_confirmed_review_pair_folds_the_row_into_the_record_it_revises(
        revised: dict[str, Any]) -> None:
    from mineaction.access.roles import Policy, Principal, Role
    from mineaction.services.reconcile import Reconciliation

    store: Store = revised["store"]
    rec = Reconciliation(store, Policy())
    approver = Principal(username="abel", role=Role.approver, user_id="abel")
    items, total = rec.queue(approver, "victim")
    assert total == revised["report"].kinds["victim"].review and items
    pair = items[0]
    old, new = pair["a"]["id"], pair["b"]["id"]
    new_record = store.get("victim", new)
    count = store.count(Query(kind="victim"))
    rec.decide(approver, pair["id"], "confirm")
    folded = store.get("victim", old)
    assert folded.external_id == new_record.external_id
    assert (folded.outcome, folded.age_band, folded.role) == (
        new_record.outcome, new_record.age_band, new_record.role)
    assert store.count(Query(kind="victim")) == count - 1
    assert casualties(store).total()["casualties"] == len(revised["release"])
    assert [v["action"] for v in store.history("victim", old)][-2:] == ["update", "current"]
    # The release imported again: the folded record is its row, unchanged.
    report = import_file(store, revised["path"], mapping=revised["mapping"])
    assert report.kinds["victim"].unchanged == len(revised["release"])
