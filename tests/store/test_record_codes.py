"""Record codes in the store (issue 21, 5), on both stores: every read carries them, the
number is the record's for good (an edit, a deletion of another or a bulk load after a
deletion never gives it to another record), and the store's country fills the codes of
P-codes that do not name theirs."""

from __future__ import annotations

import uuid

import pytest
from shapely.geometry import Point

from mineaction.domain.codes import parse_code
from mineaction.domain.models import Accident, Hazard, Victim
from mineaction.store import Store
from mineaction.store.query import Query


def _codes(store: Store, kind: str) -> dict[str, str]:
    rows, _ = store.query_rows(Query(kind=kind, limit=None))
    return {r["id"]: r["code"] for r in rows}


def test_reads_carry_codes_from_the_pcode_and_the_store_country(store: Store) -> None:
    a = store.add(Accident.model_validate({"accident_date": "2020-01-01",
                                           "admin_area_pcode": "05790"}))
    b = store.add(Accident.model_validate({"accident_date": "2020-01-02",
                                           "admin_area_pcode": "AZ0102"}))
    v = store.add(Victim.model_validate({"accident_id": str(a.id), "outcome": "injured"}))
    assert _codes(store, "accident") == {str(a.id): "ACC-05-000001", str(b.id): "ACC-AZ-01-000002"}
    store.set_country("COL")
    assert store.code_country == "CO"
    assert _codes(store, "accident")[str(a.id)] == "ACC-CO-05-000001"
    assert _codes(store, "victim") == {str(v.id): "VIC-CO-000001"}  # placed by its accident
    assert store.record_code("accident", a.id) == "ACC-CO-05-000001"
    assert store.record_code("accident", uuid.uuid4()) is None
    # Set once: a later import naming another country does not renumber the codes.
    store.set_country("AZE", only_if_unset=True)
    assert store.code_country == "CO"
    with pytest.raises(KeyError):
        store.set_country("ZZZ")


def test_an_edit_keeps_the_number_and_a_deletion_frees_none(store: Store) -> None:
    h = [store.add(Hazard(hazard_kind="SHA", name=f"H{i}")) for i in range(3)]
    before = _codes(store, "hazard")
    edited = store.update(h[1].model_copy(update={"name": "renamed"}), expected_version=1)
    assert _codes(store, "hazard")[str(edited.id)] == before[str(h[1].id)]
    store.delete("hazard", h[2].id)
    fresh = store.add(Hazard(hazard_kind="SHA", name="after"))
    numbers = {parse_code(c)[1] for c in _codes(store, "hazard").values()}  # type: ignore[index]
    assert numbers == {1, 2, 4}, "the deleted record's number 3 went to another record"
    assert parse_code(_codes(store, "hazard")[str(fresh.id)]) == ("hazard", 4)


def test_a_bulk_load_after_a_deletion_reuses_no_number(store: Store) -> None:
    """The GeoPackage numbers bulk loads itself (store/gpkg.py): after the highest number
    ever given, not the highest left."""
    first = [store.add(Hazard(hazard_kind="SHA", name=f"H{i}", geometry=Point(-75, 6 + i / 100)))
             for i in range(2)]
    store.delete("hazard", first[1].id)
    ids = [str(uuid.uuid4()) for _ in range(150)]  # enough for the numbered bulk path
    blobs = store.encode_points([-75.0 + i / 1000 for i in range(150)], [6.0] * 150)
    with store.transaction() as conn:
        store.bulk_insert(conn, "hazard", ["id", "hazard_kind", "geometry"],
                          [(i, "SHA", b) for i, b in zip(ids, blobs, strict=True)],
                          {"version": 1, "status": "draft"})
    numbers = sorted(parse_code(c)[1] for c in _codes(store, "hazard").values())  # type: ignore[index]
    assert numbers == [1, *range(3, 153)]
    # And a code finds its record: the list's search reads the number back.
    rows, _ = store.query_rows(Query(kind="hazard", ids=(ids[-1],), limit=1))
    assert parse_code(rows[0]["code"]) == ("hazard", 152)
