# SPDX-License-Identifier: GPL-3.0-or-later
"""Schema migrations of both stores: from version N-1 to N, applied in order when a store
is opened (`Store.initialise`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mineaction.domain.models import ENTITIES
from mineaction.store import claims, facts, links
from mineaction.store.schema import METADATA, Timestamp, entity_table

if TYPE_CHECKING:
    from mineaction.store.base import Store

# Migrations from version N-1 to N, applied in order on open. Each takes the store and a
# connection in a write transaction; a failed migration rolls back and leaves the store as
# it was.
Migration = Callable[["Store", sa.Connection], None]


def _add_missing_columns(store: Store, conn: sa.Connection, table: sa.Table,
                         columns: Sequence[tuple[str, Any]]) -> None:
    """ALTER TABLE `table` ADD COLUMN for each (name, SQLAlchemy type) it lacks."""
    # Column names from an empty SELECT: the inspector would warn about PostGIS types.
    present = set(conn.exec_driver_sql(
        f"SELECT * FROM {store._quote(table.name)} WHERE 1 = 0").keys())
    for name, column_type in columns:
        if name not in present:
            sql_type = column_type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {store._quote(table.name)} ADD COLUMN {name} {sql_type}")


def _soft_delete_and_history(store: Store, conn: sa.Connection) -> None:
    for model in ENTITIES.values():
        _add_missing_columns(store, conn, entity_table(model),
                             (("deleted_at", Timestamp()), ("deleted_by", sa.Text())))
    history = METADATA.tables["record_history"]
    history.create(conn, checkfirst=True)
    store.register_table(conn, history)


def _casualty_facts(store: Store, conn: sa.Connection) -> None:
    METADATA.tables[facts.TABLE].create(conn, checkfirst=True)
    facts.install(store, conn)


def _record_sources_index(store: Store, conn: sa.Connection) -> None:
    for index in METADATA.tables["record_sources"].indexes:
        index.create(conn, checkfirst=True)


def _deleted_out_of_feature_tables(store: Store, conn: sa.Connection) -> None:
    """Soft-deleted rows leave the feature tables for a tombstone in deleted_records (their
    last version is in record_history already), and the deleted_* columns go: QGIS and
    ogrinfo count a table's rows, and counted deleted victims as current ones. Which
    deletions came from `import --delete-missing` cannot be told afterwards: all are kept
    as edits, which a re-import leaves deleted, as before."""
    tombstones = METADATA.tables["deleted_records"]
    tombstones.create(conn, checkfirst=True)
    store.register_table(conn, tombstones)
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # SQLite cannot drop a column that a trigger names
        facts.drop_sqlite_triggers(conn)
    links = METADATA.tables["record_sources"]
    for model in ENTITIES.values():
        table = store._quote(model.table)
        present = set(conn.exec_driver_sql(f"SELECT * FROM {table} WHERE 1 = 0").keys())
        if "deleted_at" not in present:
            continue
        gone = conn.exec_driver_sql(
            f"SELECT id, dataset, external_id, version, deleted_at, deleted_by FROM {table} "
            "WHERE deleted_at IS NOT NULL").all()
        if gone:
            conn.execute(tombstones.insert(), [
                {"record_kind": model.kind, "record_id": r[0], "dataset": r[1],
                 "external_id": r[2], "version": r[3], "deleted_at": _as_time(r[4]),
                 "deleted_by": r[5], "reason": "edit"} for r in gone])
            ids = [r[0] for r in gone]
            for start in range(0, len(ids), 500):
                conn.execute(links.delete().where(links.c.record_id.in_(ids[start:start + 500])))
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE deleted_at IS NOT NULL")
        for name in ("deleted_at", "deleted_by"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {name}")
    facts.create_triggers(store, conn)


def _as_time(value: object) -> datetime:
    """A deleted_at cell as read raw: a datetime from PostGIS, ISO text from SQLite."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _record_linkage(store: Store, conn: sa.Connection) -> None:
    for name in links.TABLES:
        table = METADATA.tables[name]
        table.create(conn, checkfirst=True)
        store.register_table(conn, table)


def _minefield_records(store: Store, conn: sa.Connection) -> None:
    """New entities (issue 18) and the attachments table: created with their indexes, and
    made what the store's own tables are (feature tables with an R-tree on GeoPackage)."""
    present = set(sa.inspect(conn).get_table_names())
    for name in ("minefield_record", "minefield_point", "mine_row"):
        model = ENTITIES[name]
        if model.table not in present:
            METADATA.tables[model.table].create(conn)
            store.register_entity_table(conn, model)
    attachments = METADATA.tables["attachments"]
    if attachments.name not in present:
        attachments.create(conn)
        store.register_table(conn, attachments)


def _claims(store: Store, conn: sa.Connection) -> None:
    """Published figures (issue 22): an attribute table of their own."""
    table = METADATA.tables[claims.TABLE]
    table.create(conn, checkfirst=True)
    store.register_table(conn, table)


def _location_accuracy(store: Store, conn: sa.Connection) -> None:
    """Located records keep their point's accuracy in metres (issue 21): the kinds whose
    model has the field (hazards, accidents, finds)."""
    for model in ENTITIES.values():
        if "location_accuracy_m" in model.model_fields:
            table = entity_table(model)
            _add_missing_columns(store, conn, table, (
                ("location_accuracy_m", table.c.location_accuracy_m.type),))


def _reported_casualties(store: Store, conn: sa.Connection) -> None:
    """Accidents keep the casualties a source counts without listing victims (issue 17)."""
    table = entity_table("accident")
    _add_missing_columns(store, conn, table, tuple(
        (name, table.c[name].type) for name in ("reported_killed", "reported_injured")))
    for index in table.indexes:
        if index.name == f"ix_{table.name}_reported":
            index.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Migration] = {2: _soft_delete_and_history, 3: _casualty_facts,
                                    4: _record_sources_index,
                                    5: _deleted_out_of_feature_tables, 6: _record_linkage,
                                    7: _minefield_records, 8: _claims,
                                    9: _location_accuracy, 10: _reported_casualties}
