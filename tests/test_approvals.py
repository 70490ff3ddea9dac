# SPDX-License-Identifier: GPL-3.0-or-later
"""The approval queue (issue 21, 4), through services/approvals.py on a real GeoPackage
store: what waits, bulk decisions one record at a time (a stale one refused, the rest
done), who may decide, likely duplicates, and the submitter told what came back and why.
Also what a viewer in another organisation cannot see does not reach its queue."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box

from mineaction.access.roles import Policy, Principal, Role
from mineaction.services.approvals import Approvals, Item
from mineaction.services.errors import Forbidden, Invalid
from mineaction.services.records import Records
from mineaction.store import open_store
from mineaction.store.schema import METADATA

EDITOR = Principal("eve", Role.editor, organisation_id=None)
OTHER_EDITOR = Principal("otto", Role.editor, organisation_id=None)
APPROVER = Principal("ann", Role.approver)


@pytest.fixture
def records(tmp_path: Path) -> Any:
    with open_store(tmp_path / "store.gpkg") as store:
        yield Records(store, Policy())


def _submitted(records: Records, who: Principal, kind: str, data: dict[str, Any]) -> str:
    created, _ = records.create(who, kind, data)
    rid = uuid.UUID(created["id"])
    records.transition(who, kind, rid, "submit", None, 1)
    return str(rid)


def _seed(records: Records) -> dict[str, str]:
    ids = {
        "school": _submitted(records, EDITOR, "hazard", {
            "name": "Near the school", "hazard_kind": "SHA",
            "geometry": box(-75.0, 6.0, -74.999, 6.001).__geo_interface__}),
        "bridge": _submitted(records, EDITOR, "hazard", {
            "name": "Bridge", "hazard_kind": "CHA",
            "geometry": box(-75.1, 6.0, -75.099, 6.001).__geo_interface__}),
        "accident": _submitted(records, OTHER_EDITOR, "accident", {
            "accident_date": date(2024, 5, 1).isoformat(), "accident_kind": "mine",
            "geometry": Point(-75.0, 6.0).__geo_interface__}),
    }
    records.create(EDITOR, "hazard", {"name": "Still a draft", "hazard_kind": "SHA"})
    return ids


def test_the_queue_lists_submitted_records_of_every_kind_with_filters(records) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(records)
    approvals = Approvals(records)
    queue = approvals.queue(APPROVER)
    assert {q["id"] for q in queue} == set(ids.values())  # no draft
    school = next(q for q in queue if q["id"] == ids["school"])
    # Its code first (domain/codes.py): the first hazard created, number 1.
    assert (school["title"], school["kind"], school["version"]) == (
        "HAZ-000001 · Near the school", "hazard", 2)
    assert school["submitted_by"] == "eve"
    assert {q["id"] for q in approvals.queue(APPROVER, kind="accident")} == {ids["accident"]}
    assert {q["id"] for q in approvals.queue(APPROVER, submitted_by="otto")} == \
        {ids["accident"]}
    with pytest.raises(Invalid, match="no queue for 'organisation'"):
        approvals.queue(APPROVER, kind="organisation")
    for who in (EDITOR, Principal("vic", Role.viewer)):
        with pytest.raises(Forbidden):
            approvals.queue(who)


def test_a_bulk_decision_is_each_record_alone_and_a_stale_one_does_not_stop_the_rest(
        records) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(records)
    approvals = Approvals(records)
    # someone edits the bridge after the approver loaded the queue: its version moves on
    bridge = uuid.UUID(ids["bridge"])
    records.update(EDITOR, "hazard", bridge, {"name": "Old bridge"}, 2, partial=True)
    outcomes = approvals.decide(APPROVER, [
        Item("hazard", uuid.UUID(ids["school"]), 2), Item("hazard", bridge, 2),
        Item("accident", uuid.UUID(ids["accident"]), 2)], "approve")
    done = {o.id: o for o in outcomes}
    assert done[ids["school"]].done and done[ids["accident"]].done
    assert not done[ids["bridge"]].done and "version" in done[ids["bridge"]].message
    assert records.load(APPROVER, "hazard", uuid.UUID(ids["school"])).status == "approved"
    assert records.load(APPROVER, "hazard", bridge).status != "approved"
    # approving again: no longer submitted, said so
    again = approvals.decide(APPROVER, [Item("hazard", uuid.UUID(ids["school"]), 3)],
                             "approve")
    assert not again[0].done and "cannot approve a approved" in again[0].message
    with pytest.raises(Forbidden):
        approvals.decide(EDITOR, [Item("hazard", bridge, 3)], "approve")
    with pytest.raises(Invalid, match="needs a reason"):
        approvals.decide(APPROVER, [Item("hazard", bridge, 3)], "reject", "  ")
    with pytest.raises(Invalid, match="approve or reject"):
        approvals.decide(APPROVER, [Item("hazard", bridge, 3)], "delete")
    with pytest.raises(Invalid, match="at least one"):
        approvals.decide(APPROVER, [], "approve")


def test_the_submitter_is_told_what_came_back_and_why_until_they_resubmit(records) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(records)
    approvals = Approvals(records)
    outcomes = approvals.decide(APPROVER, [Item("hazard", uuid.UUID(ids["school"]), 2),
                                           Item("accident", uuid.UUID(ids["accident"]), 2)],
                                "reject", "The polygon crosses the river; survey again.")
    assert all(o.done for o in outcomes)
    returned = approvals.returned(EDITOR)
    assert [(r["id"], r["reason"], r["by"]) for r in returned] == [
        (ids["school"], "The polygon crosses the river; survey again.", "ann")]
    assert [r["id"] for r in approvals.returned(OTHER_EDITOR)] == [ids["accident"]]
    assert approvals.returned(Principal("anonymous", Role.public)) == []
    # corrected and submitted again: no longer returned
    records.transition(EDITOR, "hazard", uuid.UUID(ids["school"]), "submit", None, 3)
    assert approvals.returned(EDITOR) == []


def test_likely_duplicates_pending_review_are_counted(records) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(records)
    links = METADATA.tables["record_links"]
    with records.store.transaction() as conn:
        for status, other in (("review", uuid.uuid4()), ("review", uuid.uuid4()),
                              ("rejected", uuid.uuid4())):
            conn.execute(links.insert().values(
                id=str(uuid.uuid4()), kind="hazard", scope="sources", a_id=str(other),
                b_id=ids["school"], probability=0.6, status=status,
                created_at=datetime.now(UTC)))
    queue = {q["id"]: q for q in Approvals(records).queue(APPROVER)}
    assert queue[ids["school"]]["likely_duplicates"] == 2
    assert queue[ids["bridge"]]["likely_duplicates"] == 0
    with records.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(links)).scalar() == 3
