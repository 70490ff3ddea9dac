"""casualty_facts (store/facts.py) is derived data kept by database triggers. After every
kind of write (single records, edits, soft and hard deletes, accident changes, bulk loads
into empty and non-empty tables, a write straight to the file as QGIS would make) it must
equal what a fresh join of victims to accidents gives, on both stores."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from mineaction.domain.enums import Outcome, WorkflowStatus
from mineaction.domain.models import Accident, Victim
from mineaction.store import Store, facts

JOIN = f"""SELECT {', '.join(facts.COLUMNS.values())} FROM victims AS v
LEFT JOIN accidents AS a ON a.id = v.accident_id"""


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return sorted(tuple(str(c) for c in r) for r in conn.exec_driver_sql(sql))


def assert_facts_current(store: Store) -> list[tuple[Any, ...]]:
    stored = _rows(store, f"SELECT {', '.join(facts.COLUMNS)} FROM {facts.TABLE}")
    assert stored == _rows(store, JOIN)
    return stored


def test_single_writes_keep_facts_current(store: Store) -> None:
    a = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(2018, 5, 1),
                           admin_area_pcode="05001", device_category="ap_mine"))
    v1 = store.add(Victim(accident_id=a.id, outcome="killed", role="civilian"))
    v2 = store.add(Victim(accident_id=a.id, outcome="injured", age=12))
    rows = assert_facts_current(store)
    assert len(rows) == 2 and {r[10] for r in rows} == {"2018-05-01"}

    # The victim edited: outcome and status follow.
    store.update(v2.model_copy(update={"outcome": Outcome.killed,
                                       "status": WorkflowStatus.approved}),
                 expected_version=1)
    assert_facts_current(store)
    # The accident moved in time and place: every victim's facts follow.
    store.update(a.model_copy(update={"accident_date": date(2019, 2, 3),
                                      "admin_area_pcode": "05002"}), expected_version=1)
    rows = assert_facts_current(store)
    assert {(r[11], r[13]) for r in rows} == {("2019", "05002")}
    # A soft-deleted victim no longer counts.
    store.delete("victim", v1.id)
    rows = assert_facts_current(store)
    assert [r[1] for r in rows] == [str(v2.id)]


def test_victim_written_before_its_accident(store: Store) -> None:
    """An import writes rows in the file's order: the accident may come second."""
    a = Accident(geometry=Point(-74.1, 4.6), accident_date=date(2007, 1, 9),
                 admin_area_pcode="11001")
    store.add(Victim(accident_id=a.id, outcome="injured"))
    store.add(a)
    rows = assert_facts_current(store)
    assert rows[0][11] == "2007"


def test_direct_sql_edits_are_followed(store: Store) -> None:
    """An officer editing the tables in QGIS goes around our Python: the triggers still
    fire (hard deletes included)."""
    a = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(2010, 3, 3)))
    v = store.add(Victim(accident_id=a.id))
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE accidents SET admin_area_pcode = '05615'")
        conn.exec_driver_sql("UPDATE victims SET sex = 'female'")
    rows = assert_facts_current(store)
    assert rows[0][13] == "05615" and rows[0][7] == "female"
    with store.transaction() as conn:
        conn.exec_driver_sql(f"DELETE FROM victims WHERE id = '{v.id}'")
    assert assert_facts_current(store) == []


@pytest.mark.parametrize("rows", [50, 12_000])
def test_bulk_loads_keep_facts_current(store: Store, rows: int) -> None:
    """Small loads go through the triggers; large loads into empty tables (the GeoPackage
    drops indexes and triggers then) rebuild the table at commit. A second load into the
    now non-empty tables goes through the triggers again."""
    def load(offset: int) -> None:
        accident_ids = [f"acc-{offset + i}" for i in range(rows // 2)]
        with store.transaction() as conn:
            # Victims first: their accidents arrive later in the same transaction.
            store.bulk_insert(conn, "victim", ["id", "external_id", "accident_id", "outcome"],
                              [(f"vic-{offset + i}", f"v{offset + i}", accident_ids[i // 2],
                                "killed" if i % 3 == 0 else "injured") for i in range(rows)],
                              {"dataset": "bulk", "status": "approved", "version": 1,
                               "role": "civilian", "sex": "unknown", "age_band": "unknown",
                               "activity": "unknown"})
            store.bulk_insert(
                conn, "accident",
                ["id", "external_id", "accident_date", "admin_area_pcode", "geometry"],
                [(aid, aid, f"{2000 + i % 20}-06-01", f"{5000 + i % 40:05d}",
                  store.encode_geometry(Point(-75 + i * 1e-5, 6.0)))
                 for i, aid in enumerate(accident_ids)],
                {"dataset": "bulk", "status": "approved", "version": 1,
                 "accident_kind": "other", "device_category": "unknown",
                 "date_precision": "day", "location_precision": "unknown",
                 "area_type": "unknown"})

    load(0)
    assert len(assert_facts_current(store)) == rows
    load(rows)
    assert len(assert_facts_current(store)) == 2 * rows
    with store.engine.connect() as conn:
        missing = conn.execute(sa.text(
            f"SELECT count(*) FROM {facts.TABLE} WHERE year IS NULL")).scalar()
    assert missing == 0


def test_failed_bulk_load_leaves_facts_and_triggers(store: Store) -> None:
    """The rebuild is part of the import's transaction: a failure rolls back to the facts
    and triggers the store had."""
    a = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(2012, 1, 1)))
    store.delete("accident", a.id)  # leaves the victims table empty, so the load is bulk
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.bulk_insert(conn, "victim", ["id", "external_id"],
                          [(f"v-{i}", f"v-{i}") for i in range(12_000)],
                          {"dataset": "x", "status": "approved", "version": 1})
        raise RuntimeError("import failed")
    store.add(Victim(accident_id=a.id, outcome="killed"))
    assert len(assert_facts_current(store)) == 1


def test_an_older_facts_table_is_brought_in_line_on_open(store_location: str) -> None:
    """A column added to facts.COLUMNS (a new statistics dimension) needs no migration:
    a store whose facts table lacks it is rebuilt on open, triggers included."""
    from mineaction.store import open_store

    with open_store(store_location) as store:
        acc = store.add(Accident(geometry=Point(-75.2, 6.1), accident_date=date(2006, 1, 2),
                                 area_type="rural"))
        store.add(Victim(accident_id=acc.id, outcome="killed", activity="agriculture"))
        with store.transaction() as conn:  # as a store made before the column existed
            if store.dialect == "gpkg":
                facts.drop_sqlite_triggers(conn)
            conn.exec_driver_sql(f"ALTER TABLE {facts.TABLE} DROP COLUMN activity")
    with open_store(store_location) as store:
        with store.engine.connect() as conn:
            cols = {c["name"] for c in sa.inspect(conn).get_columns(facts.TABLE)}
            assert cols == set(facts.COLUMNS)
            assert conn.exec_driver_sql(f"SELECT activity FROM {facts.TABLE}").all() == [
                ("agriculture",)]
        # ...and kept current again by its triggers.
        store.add(Victim(accident_id=acc.id, outcome="injured", activity="herding"))
        with store.engine.connect() as conn:
            assert sorted(conn.exec_driver_sql(
                f"SELECT activity FROM {facts.TABLE}").scalars()) == ["agriculture", "herding"]
