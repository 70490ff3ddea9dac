"""Schema versions: recorded in the store, migrated forward on open, in one transaction;
a store written by a newer mineaction is refused rather than damaged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

import mineaction.store.base as base
from mineaction.store import Query, Store, open_store
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

    from mineaction.domain.models import Accident

    a = store.add(Accident(geometry=Point(-75.1, 6.2)))
    with store.transaction() as conn:
        _drop_casualty_facts(store, conn)
        for name in ("record_history", "deleted_records"):
            conn.exec_driver_sql(f"DROP TABLE {name}")
            if store.dialect == "gpkg":
                conn.exec_driver_sql(f"DELETE FROM gpkg_contents WHERE table_name = '{name}'")
    location = store.location
    with _reopened_as(store, 1) as migrated:
        assert not {"deleted_at", "deleted_by"} & _columns(migrated, "accidents")
        migrated.delete("accident", a.id, by="ana")
        assert [v["action"] for v in migrated.history("accident", a.id)] == ["delete", "deleted"]
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


def test_version_4_store_moves_its_deleted_records_out_of_the_feature_tables(
        store: Store, gdal_validator) -> None:  # type: ignore[no-untyped-def]
    """Before version 5 a deleted record stayed in its table with deleted_at set, and QGIS,
    ogrinfo and `info` counted it (24,452 victims where 12,390 were current)."""
    from shapely.geometry import Point

    from mineaction.domain.models import Accident, Victim
    from mineaction.store import facts

    kept = store.add(Accident(geometry=Point(-75.1, 6.2), status="approved"))
    gone = store.add(Accident(geometry=Point(-75.2, 6.3), status="approved"))
    victim = store.add(Victim(accident_id=kept.id, outcome="killed", status="approved"))
    ghost = store.add(Victim(accident_id=gone.id, outcome="injured", status="approved"))
    with store.transaction() as conn:
        # Version 4: soft-deleted rows in place, their last version in the history.
        for name in ("deleted_at", "deleted_by"):
            for table in ("accidents", "victims"):
                kind = "DATETIME" if store.dialect == "gpkg" else "timestamptz"
                kind = "TEXT" if name == "deleted_by" else kind
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        for kind, record in (("accident", gone), ("victim", ghost)):
            store.keep_versions(conn, kind, [str(record.id)], "delete", "ana")
        stamp = "2025-01-02T03:04:05.000Z" if store.dialect == "gpkg" else "2025-01-02 03:04:05Z"
        for table, record in (("accidents", gone), ("victims", ghost)):
            conn.exec_driver_sql(f"UPDATE {table} SET deleted_at = '{stamp}', deleted_by = "
                                 f"'ana', version = 2 WHERE id = '{record.id}'")
        conn.exec_driver_sql(f"DELETE FROM {facts.TABLE} WHERE victim_id = '{ghost.id}'")
        conn.exec_driver_sql("DROP TABLE deleted_records")
        if store.dialect == "gpkg":
            conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = 'deleted_records'")
    location = store.location
    with _reopened_as(store, 4) as migrated:
        with migrated.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT id FROM accidents").scalars().all() == [
                str(kept.id)]
            assert conn.exec_driver_sql("SELECT id FROM victims").scalars().all() == [
                str(victim.id)]
            assert sorted(conn.exec_driver_sql(
                "SELECT record_kind, record_id, version, deleted_by, reason "
                "FROM deleted_records").all()) == sorted([
                    ("accident", str(gone.id), 2, "ana", "edit"),
                    ("victim", str(ghost.id), 2, "ana", "edit")])
        assert not {"deleted_at", "deleted_by"} & _columns(migrated, "victims")
        assert [v["action"] for v in migrated.history("victim", ghost.id)] == [
            "delete", "deleted"]
        # The facts triggers were made again without the dropped column.
        migrated.add(Victim(accident_id=kept.id, outcome="injured", status="approved"))
        with migrated.engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {facts.TABLE}").scalar() == 2
    if location.endswith(".gpkg"):
        gdal_validator(location)


def test_version_6_store_gains_minefield_records(store: Store, gdal_validator) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: three new entities (feature tables with their R-trees on GeoPackage,
    GIST indexes on PostGIS) and the attachments table."""
    from shapely.geometry import LineString, Point, Polygon

    from mineaction.domain.models import MinefieldPoint, MinefieldRecord, MineRow

    names = ("minefield_records", "minefield_points", "mine_rows", "attachments")
    with store.transaction() as conn:
        for name in names:
            conn.exec_driver_sql(f"DROP TABLE {name}")
            if store.dialect == "gpkg":
                for meta in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions"):
                    conn.exec_driver_sql(f"DELETE FROM {meta} WHERE table_name = '{name}'")
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS rtree_{name}_geometry")
    location = store.location
    with _reopened_as(store, 6) as migrated:
        record = migrated.add(MinefieldRecord(name="MF-1", geometry=Polygon(
            [(46.932, 39.993), (46.934, 39.9946), (46.9365, 39.9927), (46.932, 39.993)])))
        migrated.add(MinefieldPoint(record_id=record.id, name="BM", role="benchmark",
                                    geometry=Point(46.932, 39.993)))
        migrated.add(MineRow(record_id=record.id, label="A", mines=10, spacing_m=5,
                             geometry=LineString([(46.9321, 39.9931), (46.9325, 39.9933)])))
        assert migrated.count(Query(kind="mine_row", bbox=(46.93, 39.99, 46.94, 40.0))) == 1
    if location.endswith(".gpkg"):
        gdal_validator(location)
