"""Schema versions: recorded in the store, migrated forward on open, in one transaction;
a store written by a newer mineaction is refused rather than damaged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

import mineaction.store.base as base
from mineaction.store import Store, open_store
from mineaction.store.errors import SchemaTooNew


@contextmanager
def _reopened_as(store: Store, version: int) -> Iterator[Store]:
    """Mark `store` as schema `version` (its tables already taken back there), close it,
    and open it again: the migrations run on that open. Yields the migrated store."""
    with store.transaction() as conn:
        conn.exec_driver_sql(f"UPDATE mineaction_meta SET value = '{int(version)}' "
                             "WHERE key = 'schema_version'")
    location = store.location
    store.close()
    migrated = open_store(location)
    try:
        assert migrated.schema_version() == base.SCHEMA_VERSION
        yield migrated
    finally:
        migrated.close()


def _columns(store: Store, table: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.exec_driver_sql(f"SELECT * FROM {table} WHERE 1 = 0").keys())


def test_store_is_migrated_forward_on_open(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.schema_version() == base.SCHEMA_VERSION
    location = store.location
    store.close()

    def add_injury_code(s: Store, conn: sa.Connection) -> None:
        conn.exec_driver_sql("ALTER TABLE victims ADD COLUMN injury_code TEXT")

    monkeypatch.setattr(base, "SCHEMA_VERSION", base.SCHEMA_VERSION + 1)
    monkeypatch.setitem(base.MIGRATIONS, base.SCHEMA_VERSION, add_injury_code)
    migrated = open_store(location)
    try:
        assert migrated.schema_version() == base.SCHEMA_VERSION
        assert "injury_code" in _columns(migrated, "victims")
    finally:
        migrated.close()


def test_failed_migration_leaves_the_store_as_it_was(store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = store.schema_version()
    location = store.location
    store.close()

    def half_done(s: Store, conn: sa.Connection) -> None:
        conn.exec_driver_sql("ALTER TABLE victims ADD COLUMN injury_code TEXT")
        raise RuntimeError("disk full")

    monkeypatch.setattr(base, "SCHEMA_VERSION", before + 1)
    monkeypatch.setitem(base.MIGRATIONS, before + 1, half_done)
    with pytest.raises(RuntimeError, match="disk full"):
        open_store(location)
    monkeypatch.setattr(base, "SCHEMA_VERSION", before)
    again = open_store(location)
    try:
        assert again.schema_version() == before
        assert "injury_code" not in _columns(again, "victims")
    finally:
        again.close()


def test_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.gpkg"
    with open_store(path) as s, s.transaction() as conn:
        conn.exec_driver_sql("UPDATE mineaction_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        open_store(path)


def _drop_casualty_facts(store: Store, conn: sa.Connection) -> None:
    """Take a store back to before schema version 3 (no casualty_facts, no triggers)."""
    from mineaction.store import facts

    if store.dialect == "gpkg":
        facts.drop_sqlite_triggers(conn)
    else:
        for name in facts.POSTGRES_FUNCTIONS:
            conn.exec_driver_sql(f"DROP FUNCTION {facts.TABLE}_{name}() CASCADE")
    conn.exec_driver_sql(f"DROP TABLE {facts.TABLE}")


def test_version_2_store_gains_casualty_facts(store: Store) -> None:
    """A version-2 store with victims: on open, casualty_facts is created and filled, and
    its triggers keep it up to date from then on."""
    from shapely.geometry import Point

    from mineaction.analysis.casualties import casualties
    from mineaction.domain.models import Accident, Victim

    a = store.add(Accident(geometry=Point(-75.1, 6.2), admin_area_pcode="05001",
                           accident_date="2019-04-02", status="approved"))
    store.add(Victim(accident_id=a.id, outcome="killed", status="approved"))
    with store.transaction() as conn:
        _drop_casualty_facts(store, conn)
    with _reopened_as(store, 2) as migrated:
        assert casualties(migrated, ["year", "admin-area"]).rows == [
            {"year": "2019", "admin-area": "05001", "casualties": 1, "killed": 1,
             "injured": 0, "unknown_outcome": 0}]
        migrated.add(Victim(accident_id=a.id, outcome="injured", status="approved"))
        assert casualties(migrated).total()["injured"] == 1


def test_version_1_store_gains_soft_delete_and_history(store: Store, gdal_validator) -> None:
    """Rebuild a version-1 store (no deleted_at, no record_history), reopen: migrated."""
    from shapely.geometry import Point

    from mineaction.domain.models import ENTITIES, Accident

    a = store.add(Accident(geometry=Point(-75.1, 6.2)))
    with store.transaction() as conn:
        _drop_casualty_facts(store, conn)
        for model in ENTITIES.values():
            for name in ("deleted_at", "deleted_by"):
                conn.exec_driver_sql(f"ALTER TABLE {model.table} DROP COLUMN {name}")
        conn.exec_driver_sql("DROP TABLE record_history")
        if store.dialect == "gpkg":
            conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = 'record_history'")
    location = store.location
    with _reopened_as(store, 1) as migrated:
        migrated.delete("accident", a.id, by="ana")
        assert [v["action"] for v in migrated.history("accident", a.id)] == ["delete", "current"]
    if location.endswith(".gpkg"):
        gdal_validator(location)


def test_version_3_store_gains_the_record_sources_index(store: Store) -> None:
    """Lists read each record's sources by record_id: without an index of its own that
    was a scan of record_sources for every row listed."""
    with store.transaction() as conn:
        conn.exec_driver_sql("DROP INDEX ix_record_sources_record_id")
    with _reopened_as(store, 3) as migrated, migrated.engine.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes("record_sources")}
        assert "ix_record_sources_record_id" in names
        if migrated.dialect == "gpkg":
            plan = " ".join(r[3] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT source_id FROM record_sources WHERE record_id = 'x'"))
            assert "ix_record_sources_record_id" in plan
