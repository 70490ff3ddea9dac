# SPDX-License-Identifier: GPL-3.0-or-later
"""An accident and its victims saved together (issue 21, 3), through
services/accident_entry.py on a real GeoPackage store with the audit trail attached:
all records or none, a bad victim named by number and field, the access rules of a
single create, and one audit entry per record written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mineaction.access.roles import Policy, Principal, Role
from mineaction.audit.log import attach
from mineaction.audit.schema import AUDIT_LOG
from mineaction.services.accident_entry import MAX_VICTIMS, create_accident_with_victims
from mineaction.services.errors import Conflict, Forbidden, Invalid, Unauthorized
from mineaction.services.records import Records
from mineaction.store import open_store
from mineaction.store.query import Query

FIELD = Principal("fatima", Role.field)
ACCIDENT = {"accident_date": "2023-04-02", "accident_kind": "mine",
            "device_category": "ap_mine", "place_name": "Vereda La Esperanza",
            "geometry": {"type": "Point", "coordinates": [-75.18, 6.14]}}


@pytest.fixture
def records(tmp_path: Path) -> Iterator[Records]:
    with open_store(tmp_path / "store.gpkg") as store:
        attach(store)
        yield Records(store, Policy())


def _count(records: Records, kind: str) -> int:
    return len(records.store.query(Query(kind=kind, limit=1000)).items)


def _audited(records: Records) -> list[tuple[str, str]]:
    with records.store.engine.connect() as conn:
        rows = conn.execute(sa.select(AUDIT_LOG.c.action, AUDIT_LOG.c.record_kind)
                            .order_by(AUDIT_LOG.c.fid)).all()
    return [(str(a), str(k)) for a, k in rows]


def test_the_accident_and_its_victims_are_saved_together(records: Records) -> None:
    saved = create_accident_with_victims(records, FIELD, ACCIDENT, [
        {"outcome": "killed", "sex": "male", "age": 34, "role": "civilian",
         "activity": "agriculture"},
        {"outcome": "injured", "sex": "female", "age_band": "child", "role": "civilian"},
    ])
    assert saved.version == 1 and saved.accident["status"] == "draft"
    accident = records.store.get("accident", saved.accident["id"])
    assert accident.place_name == "Vereda La Esperanza" and accident.created_by == "fatima"
    victims = [records.store.get("victim", v) for v in saved.victim_ids]
    assert [v.accident_id for v in victims] == [accident.id, accident.id]
    assert [v.outcome.value for v in victims] == ["killed", "injured"]
    assert victims[0].age == 34 and victims[1].age_band.value == "child"
    assert all(v.status.value == "draft" and v.created_by == "fatima" for v in victims)
    # One audit entry for each record created.
    assert _audited(records).count(("create", "victim")) == 2
    assert _audited(records).count(("create", "accident")) == 1


def test_a_bad_victim_refuses_the_whole_save_naming_it(records: Records) -> None:
    with pytest.raises(Invalid) as refused:
        create_accident_with_victims(records, FIELD, ACCIDENT, [
            {"outcome": "killed"},
            {"outcome": "injured", "age": 150},
            {"outcome": "drowned", "sex": "female"},
        ])
    fields = {fe.field: fe.message for fe in refused.value.field_errors}
    assert set(fields) == {"victims.2.age", "victims.3.outcome"}
    assert fields["victims.2.age"].startswith("victim 2, age: ")
    assert refused.value.message.startswith("victim 2, age:")
    assert "nothing was saved" in refused.value.message
    assert _count(records, "accident") == 0 and _count(records, "victim") == 0
    assert [a for a in _audited(records) if a[0] == "create"] == []


def test_a_bad_accident_saves_no_victim(records: Records) -> None:
    with pytest.raises(Invalid) as refused:
        create_accident_with_victims(records, FIELD, {**ACCIDENT, "accident_date": "someday"},
                                     [{"outcome": "killed"}])
    assert [fe.field for fe in refused.value.field_errors] == ["accident_date"]
    assert _count(records, "accident") == 0 and _count(records, "victim") == 0


def test_a_victim_cannot_be_linked_to_another_accident(records: Records) -> None:
    other = create_accident_with_victims(records, FIELD, ACCIDENT, [])
    saved = create_accident_with_victims(records, FIELD, ACCIDENT, [
        {"outcome": "injured", "accident_id": other.accident["id"], "status": "approved"}])
    victim = records.store.get("victim", saved.victim_ids[0])
    assert str(victim.accident_id) == saved.accident["id"] and victim.status.value == "draft"


def test_who_may_enter_them(records: Records) -> None:
    with pytest.raises(Forbidden):
        create_accident_with_victims(records, Principal("vera", Role.viewer), ACCIDENT, [])
    with pytest.raises(Unauthorized):
        create_accident_with_victims(records, Principal("anon", Role.public), ACCIDENT, [])
    with pytest.raises(Invalid, match=f"at most {MAX_VICTIMS} victims"):
        create_accident_with_victims(records, FIELD, ACCIDENT,
                                     [{"outcome": "injured"}] * (MAX_VICTIMS + 1))
    assert _count(records, "accident") == 0


def test_an_accident_sent_twice_is_refused_whole(records: Records) -> None:
    first = create_accident_with_victims(records, FIELD, ACCIDENT, [{"outcome": "killed"}])
    with pytest.raises(Conflict, match="nothing was saved"):
        create_accident_with_victims(records, FIELD, {**ACCIDENT, "id": first.accident["id"]},
                                     [{"outcome": "injured"}])
    assert _count(records, "accident") == 1 and _count(records, "victim") == 1
