"""casualty_facts: one narrow row per current (not deleted) victim, with its accident's date,
admin area, device and kind copied beside the victim's own outcome, role, sex, age band and
activity. Casualty statistics group this table instead of joining a million victims to
their accidents on text UUIDs (21 s on GeoPackage, 9 s on PostGIS for year x admin area
over 1M victims; see bench/stats_bench.py).

The table is derived data, kept by triggers in the database itself rather than by the
Python write path, so every writer keeps it right: the store's own writes, bulk imports,
PostgreSQL COPY, and an officer editing the GeoPackage in QGIS. The GeoPackage triggers
use core SQL only (QGIS and GDAL can fire them); PostgreSQL's are statement-level with
transition tables, so a COPY of a million victims costs one set-based INSERT, not a
million function calls. `rebuild()` recomputes the whole table from its sources; the
GeoPackage bulk loader calls it after loading empty tables without triggers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from mineaction.store.base import Store

TABLE = "casualty_facts"
# Facts column <- expression over the victim row (v) and its accident (a).
COLUMNS: dict[str, str] = {
    "victim_fid": "v.fid",
    "victim_id": "v.id",
    "accident_id": "v.accident_id",
    "status": "v.status",
    "dataset": "v.dataset",
    "outcome": "v.outcome",
    "role": "v.role",
    "sex": "v.sex",
    "age_band": "v.age_band",
    "activity": "v.activity",
    "accident_date": "a.accident_date",
    "year": "substr(CAST(a.accident_date AS TEXT), 1, 4)",
    "month": "substr(CAST(a.accident_date AS TEXT), 1, 7)",
    "admin_area_pcode": "a.admin_area_pcode",
    "device_category": "a.device_category",
    "accident_kind": "a.accident_kind",
    "area_type": "a.area_type",
}
# What a change to an accident rewrites in its victims' facts: the columns taken from it.
ACCIDENT_COLUMNS = tuple(c for c, expr in COLUMNS.items() if re.search(r"\ba\.", expr))
# The victim (v) and accident (a) columns the facts are made of: what the triggers copy and
# watch. Adding a facts column is one line in COLUMNS.
_SOURCE = {alias: sorted({name for expr in COLUMNS.values()
                          for name in re.findall(rf"\b{alias}\.(\w+)", expr)})
           for alias in ("v", "a")}
# The year x admin area grouping (the dashboard's and the annual report's) reads this index
# alone, in order, with no sort: status and outcome are in it for the filter and the counts.
INDEXES = {
    f"ix_{TABLE}_year_area": ("year", "admin_area_pcode", "status", "outcome"),
    f"ix_{TABLE}_accident": ("accident_id",),
}


def define(metadata: sa.MetaData) -> sa.Table:
    text_columns = [sa.Column(name, sa.Text) for name in COLUMNS
                    if name not in ("victim_fid", "accident_date")]
    table = sa.Table(
        TABLE, metadata,
        sa.Column("victim_fid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("accident_date", sa.Date),
        *text_columns,
    )
    for name, cols in INDEXES.items():
        sa.Index(name, *(table.c[c] for c in cols))
    return table


def _select_from(victims: str) -> str:
    """SELECT of facts rows for the victims in `victims` (a table or transition table)."""
    exprs = ", ".join(COLUMNS.values())
    return (f"SELECT {exprs} FROM {victims} AS v "
            "LEFT JOIN accidents AS a ON a.id = v.accident_id")


_INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
_ACCIDENT_SET = ", ".join(f"{c} = {COLUMNS[c].replace('a.', 'NEW.')}" for c in ACCIDENT_COLUMNS)

# The victim row a SQLite row trigger fired for, as a one-row table for _select_from.
_NEW_VICTIM = "(SELECT " + ", ".join(
    f"NEW.{c} AS {c}" for c in dict.fromkeys(_SOURCE["v"])) + ")"

SQLITE_TRIGGERS = {
    f"{TABLE}_victim_insert": (
        "AFTER INSERT ON victims BEGIN "
        + _INSERT.replace("INSERT", "INSERT OR REPLACE", 1)
        + _select_from(_NEW_VICTIM)
        + "; END"
    ),
    f"{TABLE}_victim_update": (
        f"AFTER UPDATE ON victims BEGIN DELETE FROM {TABLE} WHERE victim_fid = OLD.fid; "
        + _INSERT
        + _select_from(_NEW_VICTIM)
        + "; END"
    ),
    f"{TABLE}_victim_delete": (
        f"AFTER DELETE ON victims BEGIN DELETE FROM {TABLE} WHERE victim_fid = OLD.fid; END"
    ),
    # Victims may be written before their accident (an import's order is the file's).
    f"{TABLE}_accident_insert": (
        f"AFTER INSERT ON accidents BEGIN UPDATE {TABLE} SET {_ACCIDENT_SET} "
        "WHERE accident_id = NEW.id; END"
    ),
    f"{TABLE}_accident_update": (
        f"AFTER UPDATE OF {', '.join(dict.fromkeys(['id', *_SOURCE['a']]))} "
        f"ON accidents BEGIN UPDATE {TABLE} SET {_ACCIDENT_SET} "
        "WHERE accident_id = NEW.id; END"
    ),
}

_PG_ACCIDENT_SET = ", ".join(f"{c} = {COLUMNS[c]}" for c in ACCIDENT_COLUMNS)
# PostgreSQL: statement-level triggers over transition tables (new_rows / old_rows).
POSTGRES_FUNCTIONS = {
    "victim_insert": ("victims", "AFTER INSERT ON victims REFERENCING NEW TABLE AS new_rows",
                      _INSERT + _select_from("new_rows")),
    "victim_update": ("victims", "AFTER UPDATE ON victims REFERENCING OLD TABLE AS old_rows "
                      "NEW TABLE AS new_rows",
                      f"DELETE FROM {TABLE} WHERE victim_fid IN (SELECT fid FROM old_rows); "
                      + _INSERT + _select_from("new_rows")),
    "victim_delete": ("victims", "AFTER DELETE ON victims REFERENCING OLD TABLE AS old_rows",
                      f"DELETE FROM {TABLE} WHERE victim_fid IN (SELECT fid FROM old_rows)"),
    "accident_insert": ("accidents", "AFTER INSERT ON accidents REFERENCING NEW TABLE AS new_rows",
                        f"UPDATE {TABLE} SET {_PG_ACCIDENT_SET} FROM new_rows AS a "
                        f"WHERE {TABLE}.accident_id = a.id"),
    "accident_update": ("accidents", "AFTER UPDATE ON accidents REFERENCING NEW TABLE AS new_rows",
                        f"UPDATE {TABLE} SET {_PG_ACCIDENT_SET} FROM new_rows AS a "
                        f"WHERE {TABLE}.accident_id = a.id"),
}


def install(store: Store, conn: sa.Connection) -> None:
    """Create the triggers (the table comes with METADATA) and fill the table."""
    create_triggers(store, conn)
    rebuild(conn)


def create_triggers(store: Store, conn: sa.Connection) -> None:
    if store.engine.dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            conn.exec_driver_sql(f'CREATE TRIGGER IF NOT EXISTS "{name}" {body}')
        return
    for name, (table, when, body) in POSTGRES_FUNCTIONS.items():
        function = f"{TABLE}_{name}"
        conn.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {body}; RETURN NULL; END $$"
        )
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {function} {when} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def drop_sqlite_triggers(conn: sa.Connection) -> None:
    """For the GeoPackage bulk loader: no per-row upkeep while empty tables are loaded
    (their indexes are gone then, so each trigger's accident lookup would scan)."""
    for name in SQLITE_TRIGGERS:
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')


def rebuild(conn: sa.Connection) -> None:
    """Recompute every row from victims and accidents (in the caller's transaction). The
    indexes are built after the rows, from sorted keys, as for any bulk load."""
    for name in INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    conn.exec_driver_sql(f"DELETE FROM {TABLE}")
    conn.exec_driver_sql(_INSERT + _select_from("victims"))
    for name, cols in INDEXES.items():
        conn.exec_driver_sql(f"CREATE INDEX {name} ON {TABLE} ({', '.join(cols)})")


def align(store: Store, conn: sa.Connection) -> bool:
    """Bring an existing store's facts table in line with COLUMNS when they differ (a
    column added for a new statistics dimension): the table is derived, so it is made
    again from victims and accidents, with its triggers; no schema version is needed.
    Returns whether it was rebuilt. One look at the table's columns on every open."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(TABLE):
        return False  # made by the migration that introduces it
    have = {c["name"] for c in inspector.get_columns(TABLE)}
    if have == set(COLUMNS):
        return False
    if store.engine.dialect.name == "sqlite":
        drop_sqlite_triggers(conn)
    conn.exec_driver_sql(f"DROP TABLE {TABLE}")
    from mineaction.store.schema import METADATA  # schema builds its tables from here

    METADATA.tables[TABLE].create(conn)
    install(store, conn)
    return True
