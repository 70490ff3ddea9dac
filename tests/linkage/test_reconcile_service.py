"""The reconciliation service (issue 17): two sources reporting the same victims are linked,
statistics count each victim once, and a reviewer's confirm, reject, merge, split and undo
change the count as they should, each recorded; other roles may not decide."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from mineaction.access.roles import Policy, Principal, Role
from mineaction.analysis.casualties import casualties
from mineaction.domain.models import Accident, Victim
from mineaction.services.errors import Forbidden
from mineaction.services.reconcile import Reconciliation, canonical_counts
from mineaction.store import Store, open_store

ADMIN = Principal(username="ana", role=Role.admin, user_id="ana")
APPROVER = Principal(username="abel", role=Role.approver, user_id="abel")
VIEWER = Principal(username="vic", role=Role.viewer, user_id="vic")
SHARED = 24  # persons both sources report
OWN = 6  # persons only the police reports

PCODES = ["05313", "18410", "50711", "13001", "76001", "52835"]
OUTCOMES = ["killed", "injured"]
ROLES = ["civilian", "security_forces"]
SEXES = ["male", "female"]
BANDS = ["adult", "child"]


def _person(i: int) -> dict[str, object]:
    return {"date": date(2006, 1, 1) + timedelta(days=37 * i), "pcode": PCODES[i % 6],
            "outcome": OUTCOMES[i % 2], "role": ROLES[(i // 2) % 2], "sex": SEXES[(i // 3) % 2],
            "age_band": BANDS[(i // 5) % 2], "lon": -75 + i * 0.05, "lat": 4 + i * 0.03}


def _report(store: Store, dataset: str, i: int, shift_days: int = 0) -> str:
    p = _person(i)
    acc = store.add(Accident(dataset=dataset, external_id=f"a{i}", status="approved",
                             accident_date=p["date"] + timedelta(days=shift_days),  # type: ignore[operator]
                             date_precision="day", admin_area_pcode=p["pcode"],
                             geometry=Point(p["lon"], p["lat"])))
    vic = store.add(Victim(dataset=dataset, external_id=f"v{i}", status="approved",
                           accident_id=acc.id, outcome=p["outcome"], role=p["role"],
                           sex=p["sex"], age_band=p["age_band"]))
    return str(vic.id)


@pytest.fixture
def two_sources(tmp_path: Path) -> tuple[Store, dict[str, dict[int, str]]]:
    store = open_store(tmp_path / "s.gpkg")
    ids: dict[str, dict[int, str]] = {"police": {}, "hospital": {}}
    for i in range(SHARED + OWN):
        ids["police"][i] = _report(store, "police", i)
    for i in range(SHARED):
        ids["hospital"][i] = _report(store, "hospital", i, shift_days=i % 3)
    yield store, ids
    store.close()


def test_linked_sources_count_each_victim_once_and_decisions_change_the_count(
        two_sources: tuple[Store, dict[str, dict[int, str]]]) -> None:
    store, ids = two_sources
    rec = Reconciliation(store, Policy())
    records = 2 * SHARED + OWN
    assert casualties(store).total()["casualties"] == records  # nothing linked yet
    summary = rec.run(ADMIN, "victim", ["police", "hospital"], upper=0.9, lower=0.5)
    joined = summary.counts.get("accepted", 0) + summary.counts.get("review", 0)
    assert joined == SHARED, summary.counts
    assert canonical_counts(store) == {"records": records, "entities": SHARED + OWN}
    assert casualties(store).total()["casualties"] == SHARED + OWN
    assert casualties(store, canonical=False).total()["casualties"] == records
    # A source's own count keeps the victims another source also has.
    assert casualties(store, dataset="hospital").total()["casualties"] == SHARED

    # Every link joins a police record to the hospital record of the same person.
    table = sa.table("record_links", sa.column("a_id"), sa.column("b_id"))
    with store.engine.connect() as conn:
        pairs = {frozenset(r) for r in conn.execute(sa.select(table.c.a_id, table.c.b_id))}
    assert pairs == {frozenset((ids["police"][i], ids["hospital"][i])) for i in range(SHARED)}

    # Split one victim out: counted twice again; undo: once.
    rejected = rec.split(APPROVER, "victim", ids["hospital"][3], note="different ages")
    assert len(rejected) == 1
    assert casualties(store).total()["casualties"] == SHARED + OWN + 1
    back = rec.undo(APPROVER, rejected[0])
    assert back["status"] in ("accepted", "review")
    assert casualties(store).total()["casualties"] == SHARED + OWN

    # Merge two records the model did not pair (a police-only person and a hospital one).
    link = rec.merge(APPROVER, "victim", ids["police"][SHARED], ids["hospital"][5])
    assert link["status"] == "confirmed" and link["scope"] == "manual"
    entity = rec.entity(APPROVER, "victim", ids["police"][SHARED])
    assert {e["id"] for e in entity} >= {ids["police"][SHARED], ids["hospital"][5]}
    assert sum(e["representative"] for e in entity) == 1
    assert casualties(store).total()["casualties"] == SHARED + OWN - 1

    # Reject that link: the merge is taken back; every decision is kept.
    rec.decide(APPROVER, link["id"], "reject")
    assert casualties(store).total()["casualties"] == SHARED + OWN
    with store.engine.connect() as conn:
        actions = [r[0] for r in conn.exec_driver_sql(
            "SELECT action FROM link_decisions ORDER BY fid")]
    assert actions == ["split", "undo", "merge", "reject"]


def test_the_queue_shows_both_records_and_only_reviewers_decide(
        two_sources: tuple[Store, dict[str, dict[int, str]]]) -> None:
    store, ids = two_sources
    rec = Reconciliation(store, Policy())
    rec.run(ADMIN, "victim", ["police", "hospital"], upper=1.0, lower=0.5)  # all to review
    items, total = rec.queue(APPROVER, "victim")
    assert total == SHARED and len(items) == SHARED
    first = items[0]
    assert first["a"]["dataset"] != first["b"]["dataset"]
    assert first["a"]["outcome"] == first["b"]["outcome"]
    assert "accident_date" in first["shown"]
    confirmed = rec.decide(APPROVER, first["id"], "confirm")
    assert confirmed["status"] == "confirmed" and confirmed["decided_by"] == "abel"
    assert rec.queue(APPROVER, "victim")[1] == SHARED - 1
    for attempt in (lambda: rec.queue(VIEWER, "victim"),
                    lambda: rec.decide(VIEWER, first["id"], "reject"),
                    lambda: rec.run(VIEWER, "victim", ["police", "hospital"])):
        with pytest.raises(Forbidden):
            attempt()
