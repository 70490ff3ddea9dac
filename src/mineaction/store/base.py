"""The Store: everything both stores share, over SQLAlchemy Core.

Subclasses supply only what truly differs between SQLite/GeoPackage and PostGIS (after
pygeoapi's GenericSQLProvider, which overrides the driver and the spatial filter): how to
open the engine, set up the schema's spatial metadata, filter by bounding box or distance,
encode geometries for bulk writes, and insert many rows fast.
"""

from __future__ import annotations

import contextvars
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    import pandas as pd
from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES, Record
from mineaction.store import codec, facts, prepared
from mineaction.store import rows as rowplan
from mineaction.store.errors import DuplicateKey, NotFound, SchemaTooNew, VersionConflict
from mineaction.store.held import HeldConnections
from mineaction.store.migrations import MIGRATIONS
from mineaction.store.query import Bbox, Near, Page, Query, Visible
from mineaction.store.schema import (
    METADATA,
    SCHEMA_VERSION,
    Timestamp,
    entity_table,
    primary_date_field,
)


def sql_literal(value: Any) -> str:
    """A constant as an SQL literal (standard quoting, which both stores follow)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if "\x00" in text:
        raise ValueError("text with a NUL character cannot be stored")
    return "'" + text.replace("'", "''") + "'"


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WriteEvent:
    """A write, told to the store's listeners inside its transaction (the audit trail
    hashes these). `before`/`after` are the record as JSON-ready dicts; an import is one
    event with its counts in `summary`."""

    action: str  # create, update, delete, import
    kind: str
    record_id: str | None
    version: int | None
    by: str | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None


WriteListener = Callable[[sa.Connection, WriteEvent], None]

# True while the prepared read path checks out a connection: it recovers from a dropped
# connection itself (Store._prepared_rows), so a store that tests connections before
# lending them (PostGIS) may skip that round trip for it.
SELF_HEALING_CHECKOUT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "self_healing_checkout", default=False)


class Store:
    """One interface over both stores. Reads use short connections; writes go through
    `transaction()`, which is atomic: everything in it lands or nothing does."""

    dialect: str = ""

    def __init__(self, engine: sa.Engine, location: str) -> None:
        self.engine = engine
        self.location = location
        self.write_listeners: list[WriteListener] = []
        self._row_columns_cache: dict[tuple[str, rowplan.RowPlan], list[Any]] = {}
        self._prepared = prepared.PreparedCache(engine.dialect)
        # For quick prepared reads (store/held.py).
        self._held = HeldConnections(engine, self._held_session)

    def notify(self, conn: sa.Connection, event: WriteEvent) -> None:
        for listener in self.write_listeners:
            listener(conn, event)

    # -- life cycle -----------------------------------------------------------------------
    def initialise(self) -> None:
        """Create the schema in an empty store, or migrate an older one forward."""
        with self.transaction() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table("mineaction_meta"):
                self._create_schema(conn)
                conn.execute(
                    METADATA.tables["mineaction_meta"].insert(),
                    [
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "created_at", "value": now_utc().isoformat()},
                    ],
                )
                return
            version = self._schema_version(conn)
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.location} has schema version {version}; this mineaction knows "
                    f"up to {SCHEMA_VERSION}. Upgrade mineaction before opening it."
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](self, conn)
                self._set_meta(conn, "schema_version", str(target))
            facts.align(self, conn)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return self._schema_version(conn)

    def _schema_version(self, conn: sa.Connection) -> int:
        meta = METADATA.tables["mineaction_meta"]
        value = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar_one_or_none()
        return int(value) if value is not None else 0

    def _set_meta(self, conn: sa.Connection, key: str, value: str) -> None:
        meta = METADATA.tables["mineaction_meta"]
        updated = conn.execute(meta.update().where(meta.c.key == key).values(value=value))
        if updated.rowcount == 0:
            conn.execute(meta.insert().values(key=key, value=value))

    def _create_schema(self, conn: sa.Connection) -> None:
        METADATA.create_all(conn)

    def close(self) -> None:
        self._held.close()
        self.engine.dispose()

    def change_marker(self) -> Any:
        """A value that stays the same while nothing has been written to the store, by
        this process or any other (QGIS included), or None when the store cannot tell.
        It may also change without a change to the records (any write counts): callers
        use it to skip recounting what they cache, never as a version of their own.
        Read it before reading what it guards, so that a write in between is seen next
        time."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_tables(self, tables: Sequence[sa.Table]) -> None:
        """Create `tables` (registered on METADATA by a layer above the store: users,
        credentials, the audit trail) when missing (idempotent). The store knows nothing of
        them; who needs them asks for them (auth/schema.py, audit/log.py `attach`).

        On GeoPackage they are listed in gpkg_contents as attribute tables, as the store does
        for its own (GeoPackage 1.3, attributes extension)."""
        names = frozenset(t.name for t in tables)
        ensured: set[str] = self.__dict__.setdefault("_ensured_tables", set())
        if names <= ensured:
            return  # asked before by this store object: a set lookup, not a query
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            if all(inspector.has_table(t.name) for t in tables):
                ensured.update(names)
                return
        with self.transaction() as conn:
            if self.dialect == "postgis":
                # Several workers start at once: one creates, the others find it done.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7461001)")
            inspector = sa.inspect(conn)
            missing = [t for t in tables if not inspector.has_table(t.name)]
            METADATA.create_all(conn, tables=missing, checkfirst=True)
            if self.dialect == "gpkg":
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                for table in missing:
                    if table.info.get("unlisted"):
                        continue  # kept from GIS clients: see `unlist_tables`
                    conn.exec_driver_sql(
                        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier,"
                        " description, last_change) VALUES (?, 'attributes', ?, '', ?)",
                        (table.name, table.name, stamp),
                    )
        ensured.update(names)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- single records -------------------------------------------------------------------
    def add(self, record: Record, *, by: str | None = None) -> Record:
        stamp = now_utc()
        record = record.model_copy(
            update={"created_at": stamp, "updated_at": stamp, "created_by": by, "updated_by": by}
        )
        row = codec.record_to_row(record)
        table = entity_table(type(record))
        with self.transaction() as conn:
            try:
                conn.execute(table.insert().values(**row))
            except sa.exc.IntegrityError as exc:
                raise DuplicateKey(
                    f"{record.kind} with id {record.id} or key "
                    f"({record.dataset}, {record.external_id}) already exists"
                ) from exc
            self._link_sources(conn, record)
            self.notify(conn, WriteEvent("create", record.kind, str(record.id), 1, by,
                                         after=record.model_dump(mode="json")))
        return record

    def get(self, kind: str, record_id: str | uuid.UUID) -> Record:
        page = self.query(Query(kind=kind, ids=(str(record_id),), limit=1))
        if not page.items:
            raise NotFound(f"no {kind} with id {record_id}")
        return page.items[0]

    def update(self, record: Record, *, expected_version: int, by: str | None = None) -> Record:
        """Save `record` if the stored version is still `expected_version` (optimistic
        locking): of two editors who loaded version 3, the second to save gets
        VersionConflict instead of silently overwriting the first."""
        record = record.model_copy(
            update={"version": expected_version + 1, "updated_at": now_utc(), "updated_by": by}
        )
        row = codec.record_to_row(record)
        for frozen in ("id", "created_at", "created_by"):
            row.pop(frozen)
        table = entity_table(type(record))
        with self.transaction() as conn:
            before = self._current(conn, record.kind, str(record.id))
            done = conn.execute(
                table.update()
                .where(
                    table.c.id == str(record.id),
                    table.c.version == expected_version,
                    table.c.deleted_at.is_(None),
                )
                .values(**row)
            )
            if done.rowcount != 1:
                current = before.version if before and before.deleted_at is None else None
                raise VersionConflict(record.kind, str(record.id), expected_version, current)
            assert before is not None
            self._keep_version(conn, before, "update", by)
            self._link_sources(conn, record, replace=True)
            self.notify(conn, WriteEvent("update", record.kind, str(record.id), record.version,
                                         by, before=before.model_dump(mode="json"),
                                         after=record.model_dump(mode="json")))
        return self.get(record.kind, record.id)

    def delete(self, kind: str, record_id: str | uuid.UUID, *, by: str | None = None,
               expected_version: int | None = None) -> None:
        """Soft delete: the record leaves queries and statistics, keeps its history, and
        its version goes up (so a stale editor's save is refused, not resurrecting it)."""
        table = entity_table(kind)
        with self.transaction() as conn:
            before = self._current(conn, kind, str(record_id))
            if before is None or before.deleted_at is not None:
                raise NotFound(f"no {kind} with id {record_id}")
            if expected_version is not None and before.version != expected_version:
                raise VersionConflict(kind, str(record_id), expected_version, before.version)
            stamp = now_utc()
            conn.execute(
                table.update()
                .where(table.c.id == str(record_id), table.c.version == before.version)
                .values(deleted_at=stamp, deleted_by=by, version=before.version + 1,
                        updated_at=stamp, updated_by=by)
            )
            self._keep_version(conn, before, "delete", by)
            self.notify(conn, WriteEvent("delete", kind, str(record_id), before.version + 1,
                                         by, before=before.model_dump(mode="json")))

    def history(self, kind: str, record_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """Every version of a record, oldest first, each {version, data, at, by, action};
        the last is the current state."""
        hist = METADATA.tables["record_history"]
        with self.engine.connect() as conn:
            past = conn.execute(
                sa.select(hist).where(hist.c.record_id == str(record_id),
                                      hist.c.record_kind == kind).order_by(hist.c.version)
            ).mappings().all()
            current = self._current(conn, kind, str(record_id))
        if current is None:
            raise NotFound(f"no {kind} with id {record_id}")
        versions = [{"version": r["version"], "data": json.loads(r["data"]),
                     "superseded_at": r["superseded_at"], "superseded_by": r["superseded_by"],
                     "action": r["action"]} for r in past]
        versions.append({"version": current.version, "data": current.model_dump(mode="json"),
                         "superseded_at": None, "superseded_by": None, "action": "current"})
        return versions

    def _current(self, conn: sa.Connection, kind: str, record_id: str) -> Record | None:
        model = ENTITIES[kind]
        table = entity_table(model)
        row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
        if row is None:
            return None
        sources = self._sources_for(conn, [record_id])
        return codec.row_to_record(model, row, sources.get(record_id, ()))

    def _keep_version(self, conn: sa.Connection, record: Record, action: str,
                      by: str | None) -> None:
        hist = METADATA.tables["record_history"]
        conn.execute(hist.insert().values(
            record_kind=record.kind, record_id=str(record.id), version=record.version,
            data=record.model_dump_json(), superseded_at=now_utc(), superseded_by=by,
            action=action))

    def keep_versions(self, conn: sa.Connection, kind: str, ids: Sequence[str], action: str,
                      by: str | None) -> None:
        """Keep the current versions of many records before a bulk change (re-imports)."""
        model = ENTITIES[kind]
        table = entity_table(model)
        hist = METADATA.tables["record_history"]
        stamp = now_utc()
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            rows = conn.execute(sa.select(table).where(table.c.id.in_(part))).mappings().all()
            sources = self._sources_for(conn, part)
            conn.execute(hist.insert(), [
                {"record_kind": kind, "record_id": r["id"], "version": r["version"],
                 "data": codec.row_to_record(model, r, sources.get(r["id"], ()))
                 .model_dump_json(), "superseded_at": stamp, "superseded_by": by,
                 "action": action} for r in rows])

    def _link_sources(self, conn: sa.Connection, record: Record, replace: bool = False) -> None:
        links = METADATA.tables["record_sources"]
        if replace:
            conn.execute(links.delete().where(links.c.record_id == str(record.id)))
        if record.source_ids:
            conn.execute(
                links.insert(),
                [
                    {"record_kind": record.kind, "record_id": str(record.id), "source_id": str(s)}
                    for s in record.source_ids
                ],
            )

    # -- queries --------------------------------------------------------------------------
    def query(self, q: Query) -> Page:
        model = ENTITIES[q.kind]
        table = entity_table(model)
        stmt, post_filter = self._select(q)
        # Raw driver values for all but the geometry: pydantic reads ISO dates and times
        # itself, and SQLAlchemy's per-value result processing cost more than the query.
        geom = geometry_column(model)
        links = METADATA.tables["record_sources"]
        # The record's sources in the same query, comma-joined, rather than a second one.
        sources_col = (
            sa.select(self._join_text(links.c.source_id))
            .where(links.c.record_id == table.c.id)
            .scalar_subquery()
            .label("__source_ids")
        )
        stmt = stmt.with_only_columns(*[
            c if geom is not None and c.name == geom.name else sa.type_coerce(c, sa.types.NullType)
            .label(c.name) for c in table.c
        ], sources_col).order_by(table.c.fid)
        if post_filter is None:
            if q.limit is not None:
                stmt = stmt.limit(q.limit + 1)
            if q.offset:
                stmt = stmt.offset(q.offset)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            if post_filter is not None:
                rows = [r for r in rows if post_filter(r)]
                rows = rows[q.offset :]
                if q.limit is not None:
                    rows = rows[: q.limit + 1]
            more = q.limit is not None and len(rows) > q.limit
            rows = rows[: q.limit] if q.limit is not None else rows
        items = [
            codec.row_to_record(model, r, r["__source_ids"].split(",") if r["__source_ids"] else ())
            for r in rows
        ]
        fids = [r["fid"] for r in rows]
        return Page(items=items, next_after_fid=fids[-1] if more else None, fids=fids)

    def query_rows(self, q: Query, omit: frozenset[str] = frozenset()
                   ) -> tuple[list[dict[str, Any]], int | None]:
        """Like `query`, but records come as JSON-ready dicts (what
        `model_dump(mode="json")` gives) without the fields in `omit`, and without a
        pydantic record per row (store/rows.py says why); also the fid to page after
        (`Query.after_fid`), or None on the last page. `offset` is not supported: page by
        `after_fid`."""
        if q.offset:
            raise ValueError("query_rows pages by after_fid, not offset")
        model = ENTITIES[q.kind]
        geom = geometry_column(model)
        rows: list[Any] | None = None
        post_filter = None
        shown = omit
        if q.near is None:  # no post-filter: the prepared path does not do them
            plan = rowplan.row_plan(q.kind, frozenset(omit), self._geojson)
            rows = self._prepared_rows(q, plan)
        if rows is None:
            stmt, post_filter = self._select(q)
            # A post-filter (exact distance) reads the geometry even when it is not shown.
            shown = omit if post_filter is None or geom is None else omit - {geom.name}
            plan = rowplan.row_plan(q.kind, frozenset(shown), self._geojson)
            stmt = self._rows_statement(
                stmt, q.kind, plan,
                q.limit + 1 if post_filter is None and q.limit is not None else None)
            # One statement (sources come in it too) needs no transaction around it.
            with self.engine.connect().execution_options(**self._single_read_options) as conn:
                rows = list(conn.execute(stmt).all())
        if post_filter is not None:
            at = 1 + plan.names.index(plan.geometry) if plan.geometry else None
            rows = [r for r in rows if post_filter({plan.geometry: None if r[at] is None
                                                   else self._shape(r[at])})]
        more = q.limit is not None and len(rows) > q.limit
        rows = rows[: q.limit] if q.limit is not None else rows
        sources = None
        if plan.sources:
            sources = {r[1]: r[-1].split(",") for r in rows if r[-1]}
        out = rowplan.to_dicts(plan, rows, sources, start=1)  # after the fid
        if geom is not None and geom.name in omit and geom.name not in shown:
            for data in out:
                data.pop(geom.name, None)
        return out, (rows[-1][0] if more and rows else None)

    def _rows_statement(self, stmt: sa.Select[Any], kind: str, plan: rowplan.RowPlan,
                        limit: int | None) -> sa.Select[Any]:
        """`_select`'s statement reading the plan's columns, in fid order."""
        stmt = stmt.with_only_columns(*self._row_columns(kind, plan)).order_by(
            entity_table(kind).c.fid)
        return stmt if limit is None else stmt.limit(limit)

    def _prepared_rows(self, q: Query, plan: rowplan.RowPlan) -> list[Any] | None:
        """query_rows's rows by SQL compiled once per query shape (store/prepared.py says
        why), run on the driver's cursor; None when the shape is not one it covers.

        A driver error also gives None: the general path then runs the query again and
        raises the error as SQLAlchemy wraps it (sa.exc.DataError is a 422, api/errors.py).
        Errors are rare; the cost of the second run on them is not worth a copy of
        SQLAlchemy's error handling. A lost connection is the exception: the pool is
        renewed first, so the second run succeeds on a fresh connection."""
        found = self._prepared.lookup(
            q, plan, lambda fake, limit: self._rows_statement(
                self._select(fake)[0], fake.kind, plan, limit))
        if found is None:
            return None
        prepared, values = found
        parameters = prepared.parameters(values)
        held = self._held.cursor()
        if held is not None:  # a quick read (store/held.py)
            return self._fetch_or_none(held, prepared.sql, parameters,
                                       lost=self._held.discard)
        # The same connection handling as the general path (pool, execution options),
        # except the test before lending: only the statement skips SQLAlchemy.
        healing = SELF_HEALING_CHECKOUT.set(True)
        try:
            checked_out = self.engine.connect()
        finally:
            SELF_HEALING_CHECKOUT.reset(healing)
        with checked_out.execution_options(**self._single_read_options) as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                return self._fetch_or_none(cursor, prepared.sql, parameters,
                                           lost=conn.invalidate)
            finally:
                cursor.close()

    def _fetch_or_none(self, cursor: Any, sql: str, parameters: Any,
                       lost: Callable[[BaseException], None]) -> list[Any] | None:
        """The statement's rows from a DBAPI cursor, or None on a driver error (see
        `_prepared_rows`). When the database went away (a restart), `lost` drops the
        cursor's connection, and the pool, whose connections most likely died too, is
        renewed: the general path then runs on a fresh one instead of a stale one."""
        try:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())
        except self.engine.dialect.loaded_dbapi.Error as exc:
            if self.engine.dialect.is_disconnect(exc, cursor.connection, cursor):
                lost(exc)
                self.engine.dispose()
            return None

    def _row_columns(self, kind: str, plan: rowplan.RowPlan) -> list[Any]:
        """fid, the plan's fields raw (geometry as WKB), and comma-joined source ids."""
        key = (kind, plan)
        cols = self._row_columns_cache.get(key)
        if cols is None:
            table = entity_table(kind)
            cols = [table.c.fid]
            for name in plan.names:
                c = table.c[name]
                if name == plan.geometry:
                    cols.append(self._geometry_wkb(c).label(name))
                elif isinstance(c.type, Timestamp):
                    cols.append(self._timestamp_text(c).label(name))
                else:
                    cols.append(sa.type_coerce(c, sa.types.NullType).label(name))
            if plan.sources:
                links = METADATA.tables["record_sources"]
                lookup = (sa.select(self._join_text(links.c.source_id))
                          .where(links.c.record_id == table.c.id).scalar_subquery())
                # Asked once per query (it names no column of the row): when no record
                # of this kind has a source, no row looks its sources up. A bulk-loaded
                # register often has none, and the lookups were a fifth of a PostGIS
                # list page's database time (issue 3's benchmark).
                linked = sa.exists().where(links.c.record_kind == kind)
                cols.append(sa.case((linked, lookup), else_=None).label("__source_ids"))
            self._row_columns_cache[key] = cols
        return cols

    def read_frame(self, q: Query) -> pd.DataFrame:
        """Rows as a table (geometry as shapely objects): for exports and analysis, where
        building a pydantic record per row would cost more than the query."""
        import pandas as pd  # here, not at start: every command opens a store (issue 16, 12)

        model = ENTITIES[q.kind]
        stmt, post_filter = self._select(q)
        stmt = stmt.order_by(entity_table(model).c.fid)
        if post_filter is None and q.limit is not None:
            stmt = stmt.limit(q.limit).offset(q.offset)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            names = list(result.keys())
            rows = [r for r in result if post_filter is None or post_filter(r._mapping)]
        if post_filter is not None:
            rows = rows[q.offset :] if q.limit is None else rows[q.offset : q.offset + q.limit]
        frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=False)
        frame = frame.astype(object).where(frame.notna(), None)
        sources = self._all_sources(q.kind) if len(frame) else {}
        frame["source_ids"] = [",".join(sources.get(i, ())) or None for i in frame["id"]]
        return frame.drop(columns=["fid"])

    def _all_sources(self, kind: str) -> dict[str, list[str]]:
        links = METADATA.tables["record_sources"]
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for rid, sid in conn.execute(
                sa.select(links.c.record_id, links.c.source_id).where(links.c.record_kind == kind)
            ):
                out.setdefault(str(rid), []).append(str(sid))
        return out

    def count(self, q: Query) -> int:
        stmt, post_filter = self._select(q)
        with self.engine.connect() as conn:
            if post_filter is None:
                return int(
                    conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
                    or 0
                )
            return sum(1 for r in conn.execute(stmt).mappings() if post_filter(r))

    def link_dataset_source(self, conn: sa.Connection, dataset: str, source: Record) -> None:
        """Say that every record of `dataset` comes from `source` (kept once, not per
        record: a million imported rows share one provenance). The source record itself is
        added or updated by its (dataset, external_id) key."""
        sources = entity_table("source")
        links = METADATA.tables["record_sources"]
        row = codec.record_to_row(source)
        known = conn.execute(
            sa.select(sources.c.id).where(sources.c.dataset == source.dataset,
                                          sources.c.external_id == source.external_id)
        ).scalar_one_or_none()
        if known is None:
            stamp = now_utc()
            conn.execute(sources.insert().values(**{**row, "created_at": stamp,
                                                    "updated_at": stamp}))
            source_id = str(source.id)
        else:
            source_id = str(known)
            content = {k: v for k, v in row.items() if k in codec.content_columns(type(source))}
            conn.execute(sources.update().where(sources.c.id == source_id).values(**content))
        linked = conn.execute(
            sa.select(links.c.fid).where(links.c.record_kind == "dataset",
                                         links.c.record_id == dataset,
                                         links.c.source_id == source_id)
        ).first()
        if linked is None:
            conn.execute(links.insert().values(record_kind="dataset", record_id=dataset,
                                               source_id=source_id))

    def dataset_sources(self, dataset: str) -> list[Record]:
        """The sources every record of a dataset comes from."""
        links = METADATA.tables["record_sources"]
        with self.engine.connect() as conn:
            ids = [str(r[0]) for r in conn.execute(
                sa.select(links.c.source_id).where(links.c.record_kind == "dataset",
                                                   links.c.record_id == dataset))]
        return self.query(Query(kind="source", ids=tuple(ids), limit=None)).items if ids else []

    def _sources_for(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        links = METADATA.tables["record_sources"]
        out: dict[str, list[str]] = {}
        for rid, sid in conn.execute(
            sa.select(links.c.record_id, links.c.source_id).where(links.c.record_id.in_(ids))
        ):
            out.setdefault(str(rid), []).append(str(sid))
        return out

    def _select(self, q: Query) -> tuple[sa.Select[Any], Any]:
        """The SELECT for a query, and a Python post-filter for what SQL cannot decide
        exactly (geodesic distance on the GeoPackage store), or None."""
        model = ENTITIES[q.kind]
        table = entity_table(model)
        conditions: list[Any] = []
        post_filter = None
        if not q.include_deleted:
            conditions.append(table.c.deleted_at.is_(None))
        if q.ids is not None:
            conditions.append(table.c.id.in_(list(q.ids)))
        if q.status:
            conditions.append(table.c.status.in_(list(q.status)))
        if q.dataset is not None:
            conditions.append(table.c.dataset == q.dataset)
        if q.after_fid is not None:
            conditions.append(table.c.fid > q.after_fid)
        for name, value in q.where.items():
            if name not in table.c:
                raise ValueError(f"{q.kind} has no field {name!r}")
            if isinstance(value, list | tuple | set | frozenset):
                conditions.append(table.c[name].in_([codec.to_cell_plain(v) for v in value]))
            elif value is None:
                conditions.append(table.c[name].is_(None))
            else:
                conditions.append(table.c[name] == codec.to_cell_plain(value))
        conditions.extend(visible_sql(table, q.visible))
        # Place and time: victims take them from their accident.
        place_table, via = table, None
        if geometry_column(model) is None and model.kind == "victim":
            place_table, via = entity_table("accident"), "accident_id"
        place_conditions: list[Any] = []
        if q.admin_area:
            if "admin_area_pcode" in place_table.c:
                col = place_table.c.admin_area_pcode
                place_conditions.append(sa.or_(col == q.admin_area, col.startswith(q.admin_area)))
            elif "pcode" in place_table.c:
                col = place_table.c.pcode
                place_conditions.append(sa.or_(col == q.admin_area, col.startswith(q.admin_area)))
        date_field = primary_date_field(ENTITIES["accident"] if via else model)
        if (q.date_from or q.date_to) and date_field:
            if q.date_from:
                place_conditions.append(place_table.c[date_field] >= q.date_from)
            if q.date_to:
                place_conditions.append(place_table.c[date_field] <= q.date_to)
        if q.bbox is not None:
            place_conditions.append(self.bbox_condition(place_table, q.bbox))
        if q.near is not None:
            condition, near_filter = self._near_condition(place_table, q.near)
            place_conditions.append(condition)
            if via is None:
                post_filter = near_filter
            elif near_filter is not None:
                # Exact distance for victims: decided on their accident's point.
                accidents_ok = self._ids_passing(place_table, place_conditions, near_filter)
                place_conditions = [place_table.c.id.in_(accidents_ok)]
        if place_conditions:
            if via is None:
                conditions.extend(place_conditions)
            else:
                conditions.append(
                    table.c[via].in_(sa.select(place_table.c.id).where(*place_conditions))
                )
        return sa.select(table).where(*conditions), post_filter

    def _ids_passing(self, table: sa.Table, conditions: list[Any], keep: Any) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(*conditions)).mappings()
            return [r["id"] for r in rows if keep(r)]

    # -- bulk writes (the import pipeline) ------------------------------------------------
    def existing_keys(
        self, conn: sa.Connection, kind: str, dataset: str
    ) -> dict[str, tuple[str, int, str, bool]]:
        """external_id -> (id, version, content digest, deleted) of every record of a
        dataset, soft-deleted ones included (a deletion is kept across re-imports).

        Read raw (no type processing) so the cells are exactly what bulk writes put in."""
        model = ENTITIES[kind]
        content = codec.content_columns(model)
        cols = ", ".join(self._quote(c) for c in ["external_id", "id", "version", "deleted_at",
                                                  *content])
        mark = self._param_marks(entity_table(kind), ["dataset"])[0]
        rows = conn.exec_driver_sql(
            f"SELECT {cols} FROM {self._quote(model.table)} WHERE dataset = {mark}", (dataset,)
        )
        return {r[0]: (r[1], r[2], codec.content_digest(r[4:]), r[3] is not None) for r in rows}

    def bulk_insert(
        self,
        conn: sa.Connection,
        kind: str,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: dict[str, Any] | None = None,
    ) -> None:
        """Insert rows whose cells are already store-ready (geometry encoded with
        encode_geometry/encode_points, dates as ISO text or date, enums as codes).

        `constants` (same for every row: dataset, status, timestamps ...) go into the
        statement as literals: binding a parameter costs the driver about 0.4 us, which
        over twenty columns and a million rows is most of an import's time."""
        if not rows:
            return
        table = entity_table(kind)
        constants = constants or {}
        cols = ", ".join(self._quote(n) for n in [*names, *constants])
        marks = ", ".join(
            [*self._param_marks(table, names), *(sql_literal(v) for v in constants.values())]
        )
        conn.exec_driver_sql(
            f"INSERT INTO {self._quote(table.name)} ({cols}) VALUES ({marks})", list(rows)
        )

    def bulk_update(
        self, conn: sa.Connection, kind: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Update by id: each row holds the cells for `names`, then the id. The version
        goes up by one, as with any edit."""
        if not rows:
            return
        table = entity_table(kind)
        marks = self._param_marks(table, names)
        sets = ", ".join(f"{self._quote(n)} = {m}" for n, m in zip(names, marks, strict=True))
        conn.exec_driver_sql(
            f"UPDATE {self._quote(table.name)} SET {sets}, version = version + 1 "
            f"WHERE id = {self._param_marks(table, ['id'])[0]}",
            list(rows),
        )

    def delete_ids(self, conn: sa.Connection, kind: str, ids: Sequence[str],
                   by: str | None = None) -> None:
        """Soft-delete many records (e.g. gone from a newer release), keeping history."""
        table = entity_table(kind)
        self.keep_versions(conn, kind, ids, "delete", by)
        stamp = now_utc()
        for start in range(0, len(ids), 500):
            conn.execute(
                table.update()
                .where(table.c.id.in_(list(ids[start : start + 500])), table.c.deleted_at.is_(None))
                .values(deleted_at=stamp, deleted_by=by, version=table.c.version + 1,
                        updated_at=stamp, updated_by=by)
            )

    def _quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    # -- what differs per store -----------------------------------------------------------
    def _param_marks(self, table: sa.Table, names: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def encode_geometry(self, geom: Any) -> Any:
        raise NotImplementedError

    def encode_points(self, lons: Any, lats: Any) -> list[Any]:
        raise NotImplementedError

    def bbox_condition(self, table: sa.Table, bbox: Bbox) -> Any:
        raise NotImplementedError

    def _geometry_wkb(self, column: Any) -> Any:
        """A geometry column as the bytes `_geojson` and `_shape` read."""
        raise NotImplementedError

    def optimise(self, done: Callable[[str, float], None] | None = None) -> list[str]:
        """Reorganise the store for reads, after big imports (`mineaction optimise`):
        what each store needs is in its own implementation. Calls done(step, seconds)
        after each step and returns the steps."""
        raise NotImplementedError

    @staticmethod
    @contextmanager
    def _optimise_step(step: str, steps: list[str],
                       done: Callable[[str, float], None] | None) -> Iterator[None]:
        """One step of `optimise`: timed, reported to `done` and listed once it is over."""
        started = time.perf_counter()
        yield
        steps.append(step)
        if done is not None:
            done(step, time.perf_counter() - started)

    def _timestamp_text(self, column: Any) -> Any:
        """A timestamp column as ISO text (rows.py formats each distinct text once)."""
        return sa.type_coerce(column, sa.types.NullType)  # SQLite holds it as text

    # Execution options for a connection that runs one SELECT and nothing else.
    _single_read_options: dict[str, Any] = {}
    # Session set-up of the connection held for quick reads (store/held.py).
    _held_session: tuple[str, ...] = ()
    # The geometry bytes of `_geometry_wkb` as a GeoJSON dict, and as shapely. Plain
    # functions, not methods: they key row_plan's cache, which must not hold stores.
    _geojson: Callable[[Any], dict[str, Any]]
    _shape: Callable[[Any], Any]

    def _join_text(self, column: Any) -> Any:
        """An aggregate joining text values with commas."""
        raise NotImplementedError

    def _near_condition(self, table: sa.Table, near: Near) -> tuple[Any, Any]:
        raise NotImplementedError

    def register_table(self, conn: sa.Connection, table: sa.Table) -> None:
        """Make a table added after creation known where the store keeps such lists
        (GeoPackage: gpkg_contents). Nothing to do on PostGIS."""

    def unlist_tables(self, tables: Sequence[sa.Table]) -> None:
        """Keep `tables` out of the lists GIS clients read (GeoPackage: gpkg_contents, so
        that QGIS and ogrinfo do not show them), for tables marked `info={"unlisted":
        True}` by the layer that defines them. Idempotent; nothing to do on PostGIS."""

    def refresh_spatial_metadata(self, conn: sa.Connection, kinds: Sequence[str]) -> None:
        """After bulk writes: update what the store keeps about layers (extents)."""


def visible_sql(table: sa.Table, visible: Visible) -> list[Any]:
    """`Query.visible` as SQL conditions on `table` (`query.matches` is the same rule in
    Python). A condition on a column the table lacks cannot hold: the rule names a column
    (organisation_id) only for the kinds that have it (access/visibility.py)."""
    out: list[Any] = []
    for any_of in visible:
        alternatives = []
        for m in any_of.matches:
            if m.column not in table.c:
                raise ValueError(f"{table.name} has no column {m.column!r} to filter on")
            col = table.c[m.column]
            values = [codec.to_cell_plain(v) for v in m.values if v is not None]
            if None in m.values:
                alternatives.append(col.is_(None))
            if len(values) == 1:
                alternatives.append(col == values[0])
            elif values:
                alternatives.append(col.in_(values))
        out.append(sa.or_(*alternatives) if alternatives else sa.false())
    return out
