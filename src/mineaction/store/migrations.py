# SPDX-License-Identifier: GPL-3.0-or-later
"""Schema migrations of both stores: from version N-1 to N, applied in order when a store
is opened (`Store.initialise`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mineaction.domain.models import ENTITIES
from mineaction.store import facts
from mineaction.store.schema import METADATA, entity_table

if TYPE_CHECKING:
    from mineaction.store.base import Store

# Migrations from version N-1 to N, applied in order on open. Each takes the store and a
# connection in a write transaction; a failed migration rolls back and leaves the store as
# it was.
Migration = Callable[["Store", sa.Connection], None]


def _soft_delete_and_history(store: Store, conn: sa.Connection) -> None:
    for model in ENTITIES.values():
        table = entity_table(model)
        # Column names from an empty SELECT: the inspector would warn about PostGIS types.
        present = set(conn.exec_driver_sql(
            f"SELECT * FROM {store._quote(table.name)} WHERE 1 = 0").keys())
        for name in ("deleted_at", "deleted_by"):
            if name not in present:
                column_type = table.c[name].type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(
                    f"ALTER TABLE {store._quote(table.name)} ADD COLUMN {name} {column_type}"
                )
    history = METADATA.tables["record_history"]
    history.create(conn, checkfirst=True)
    store.register_table(conn, history)


def _casualty_facts(store: Store, conn: sa.Connection) -> None:
    METADATA.tables[facts.TABLE].create(conn, checkfirst=True)
    facts.install(store, conn)


def _record_sources_index(store: Store, conn: sa.Connection) -> None:
    for index in METADATA.tables["record_sources"].indexes:
        index.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Migration] = {2: _soft_delete_and_history, 3: _casualty_facts,
                                    4: _record_sources_index}
