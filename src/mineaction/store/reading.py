"""Reading records, for both stores: the SELECT a `Query` makes (`Query.visible` among
its filters, run as SQL by `visible_sql`), records, JSON-ready rows (by SQL prepared once
per query shape, store/prepared.py), tables and counts, and the few reading hooks each
store implements its own way (bounding boxes, distances, geometry bytes, text joins).

`Store` (store/base.py) inherits it; the writes, the life cycle and the bulk loads are
there."""

from __future__ import annotations

import contextvars
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from mineaction.domain.codes import PREFIXES, record_code
from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.store import codec, prepared
from mineaction.store import links as linkage
from mineaction.store import rows as rowplan
from mineaction.store.held import HeldConnections
from mineaction.store.query import Bbox, Near, Page, Query, Visible, snap_box
from mineaction.store.schema import METADATA, Timestamp, entity_table, primary_date_field

if TYPE_CHECKING:
    import pandas as pd

# True while the prepared read path checks out a connection: it recovers from a dropped
# connection itself (Store._prepared_rows), so a store that tests connections before
# lending them (PostGIS) may skip that round trip for it.
SELF_HEALING_CHECKOUT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "self_healing_checkout", default=False)
# The connection `Reading.one_connection` lends the prepared reads of the calling context:
# [store, DBAPI cursor, what drops its connection when it is found lost]; the store is
# taken out when it is.
_ONE_CONNECTION: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "one_connection", default=None)
T = TypeVar("T")


def _fetched(cursor: Any, sql: str, parameters: Any) -> list[Any]:
    cursor.execute(sql, parameters)
    return list(cursor.fetchall())


def _preparable(q: Query) -> bool:
    """Whether read_dicts may read `q` by prepared SQL: no exact distance, limit, offset
    or rounded places, which the general path handles."""
    return q.near is None and q.limit is None and not q.offset and q.place_decimals is None


class Reading:
    """The read side of `Store`: what it sets up in __init__ is declared here."""

    engine: sa.Engine
    _prepared: prepared.PreparedCache
    _held: HeldConnections
    _row_columns_cache: dict[tuple[str, rowplan.RowPlan], list[Any]]
    _table_marks_sql: dict[str, str]

    @property
    def code_country(self) -> str | None:  # Store reads it from its meta table
        return None

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
        if q.near is None and q.place_decimals is None:  # no post-filter: the prepared
            # path does not do them
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
        out = rowplan.to_dicts(plan, rows, sources, start=1,  # after the fid
                               country=self.code_country)
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
        return self._fetch_pooled(prepared.sql, parameters)

    @contextmanager
    def single_read(self) -> Iterator[sa.Connection]:
        """A pooled connection for one SELECT and nothing else, outside any transaction
        (autocommit on PostGIS): no BEGIN before it and no ROLLBACK when the connection
        goes back to the pool. For a lookup every request makes, a signed-in user's
        credential (auth/users.py): on PostGIS it then takes half the server's CPU and
        wall time it took in a transaction (0.41 -> 0.21 ms of CPU, 0.66 -> 0.28 ms)."""
        with self.engine.connect().execution_options(**self._single_read_options) as conn:
            yield conn

    @contextmanager
    def one_connection(self) -> Iterator[None]:
        """The prepared reads inside (`read_dicts` with columns, `represented_ids`) on one
        pooled connection, borrowed once for them all, each read still a statement of its
        own in autocommit mode (so each sees every write committed before it, as before).

        A site check makes six to eight such reads: borrowing a connection for each,
        switching it to autocommit and handing it back reset cost a sixth of the check's
        CPU (issue 20). Inside another `one_connection` of this store it lends that one;
        inside quick reads (store/held.py), the thread's held connection, with the
        session a store sets up for small reads. A read that finds the connection lost
        takes the general path, as `_fetch_pooled` does, and so do the reads after it."""
        pinned = _ONE_CONNECTION.get()
        if pinned is not None and pinned[0] is self:
            yield
            return
        held = self._held.cursor()
        if held is not None:
            token = _ONE_CONNECTION.set([self, held, self._held.discard])
            try:
                yield
            finally:
                _ONE_CONNECTION.reset(token)
            return
        with self._self_healing_read() as (conn, cursor):
            token = _ONE_CONNECTION.set([self, cursor, conn.invalidate])
            try:
                yield
            finally:
                _ONE_CONNECTION.reset(token)
                if not conn.invalidated:  # a lost one's cursor is gone with it
                    cursor.close()

    def _fetch_pooled(self, sql: str, parameters: Any) -> list[Any] | None:
        """Prepared SQL on a pooled connection's driver cursor (that of `one_connection`
        inside one). The same connection handling as the general path (pool, execution
        options), except the test before lending: only the statement skips SQLAlchemy."""
        return self._on_read_cursor(lambda cursor: _fetched(cursor, sql, parameters))

    def _on_read_cursor(self, run: Callable[[Any], T]) -> T | None:
        """`run(cursor)` on the driver cursor of `one_connection` inside one, else of a
        pooled connection borrowed for it; None on a driver error (`_run_or_none`)."""
        pinned = _ONE_CONNECTION.get()
        if pinned is not None and pinned[0] is self:
            cursor, drop = pinned[1], pinned[2]

            def lost(exc: BaseException) -> None:
                pinned[0] = None  # the reads after this one take the pool's connections
                drop(exc)

            out: T | None = self._run_or_none(cursor, run, lost=lost)
            return out
        with self._self_healing_read() as (conn, cursor):
            try:
                return self._run_or_none(cursor, run, lost=conn.invalidate)
            finally:
                cursor.close()

    @contextmanager
    def _self_healing_read(self) -> Iterator[tuple[sa.Connection, Any]]:
        """A pooled connection for single reads, checked out without the pool's test
        (its reads recover by themselves from a lost connection), and its driver cursor."""
        healing = SELF_HEALING_CHECKOUT.set(True)
        try:
            checked_out = self.engine.connect()
        finally:
            SELF_HEALING_CHECKOUT.reset(healing)
        with checked_out.execution_options(**self._single_read_options) as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            yield conn, dbapi.cursor()

    def _fetch_or_none(self, cursor: Any, sql: str, parameters: Any,
                       lost: Callable[[BaseException], None]) -> list[Any] | None:
        """The statement's rows from a DBAPI cursor, or None on a driver error
        (`_run_or_none`)."""
        return self._run_or_none(cursor, lambda c: _fetched(c, sql, parameters), lost)

    def _run_or_none(self, cursor: Any, run: Callable[[Any], T],
                     lost: Callable[[BaseException], None]) -> T | None:
        """`run(cursor)` on a DBAPI cursor, or None on a driver error (see
        `_prepared_rows`). When the database went away (a restart), `lost` drops the
        cursor's connection, and the pool, whose connections most likely died too, is
        renewed: the general path then runs on a fresh one instead of a stale one."""
        try:
            return run(cursor)
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

    def read_frame(self, q: Query, *, codes: bool = False) -> pd.DataFrame:
        """Rows as a table (geometry as shapely objects): for exports and analysis, where
        building a pydantic record per row would cost more than the query. `codes`: with
        each record's code (domain/codes.py) after its id, for what people read."""
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
        if codes and q.kind in PREFIXES:
            pcodes = (frame["admin_area_pcode"] if "admin_area_pcode" in frame.columns
                      else [None] * len(frame))
            country = self.code_country
            frame.insert(frame.columns.get_loc("id") + 1, "code", [
                record_code(q.kind, int(f), p, country)
                for f, p in zip(frame["fid"], pcodes, strict=True)])
        return frame.drop(columns=["fid"])

    def read_dicts(self, q: Query, columns: Sequence[str] | None = None
                   ) -> list[dict[str, Any]]:
        """Rows as dicts (geometry as shapely objects), without their sources: for reads of
        a few rows a request makes (a site check), where a table and the kind's whole
        source list (read_frame) would cost more than the query.

        With `columns`, only those fields, by SQL compiled once per query shape and run on
        the driver's cursor (store/prepared.py), as the driver gives them (dates and
        timestamps as ISO text on the GeoPackage, ids as UUIDs on PostGIS): a site check
        makes several such reads, and building each statement cost more than running it.
        A query with `near`, a limit or an offset takes the general path."""
        if columns is not None and _preparable(q):
            prepared_rows = self._prepared_dicts(q, tuple(columns))
            if prepared_rows is not None:
                return prepared_rows
        stmt, post_filter = self._select(q)
        table = entity_table(ENTITIES[q.kind])
        if columns is not None:
            stmt = stmt.with_only_columns(table.c.fid, *(table.c[c] for c in columns))
        stmt = stmt.order_by(table.c.fid)
        if post_filter is None and q.limit is not None:
            stmt = stmt.limit(q.limit).offset(q.offset)
        with self.engine.connect() as conn:
            rows = [r._mapping for r in conn.execute(stmt)]
            rows = [r for r in rows if post_filter is None or post_filter(r)]
        if post_filter is not None:
            rows = rows[q.offset :] if q.limit is None else rows[q.offset : q.offset + q.limit]
        return [{k: v for k, v in r.items() if k != "fid"} for r in rows]

    def read_dicts_together(self, reads: Sequence[tuple[Query, Sequence[str]]]
                            ) -> list[list[dict[str, Any]]]:
        """`read_dicts(query, columns)` of each read, in order, the same rows as the same
        dicts. A store that can sends them to its server together (`_fetch_together`:
        PostGIS, one round trip for them all); otherwise, and for a read the prepared
        path does not cover, one after another. A site check's reads of the kinds
        around a site do not depend on each other (issue 20)."""
        statements = []
        for q, columns in reads:
            found = self._prepared_read(q, tuple(columns)) if _preparable(q) else None
            if found is None:
                break
            statements.append(found)
        else:
            raws = self._fetch_together([(sql, params) for sql, params, _ in statements]) \
                if len(statements) > 1 else None
            if raws is not None:
                return [self._dicts_of(raw, tuple(columns), geom_name)
                        for raw, (_, columns), (_, _, geom_name)
                        in zip(raws, reads, statements, strict=True)]
        return [self.read_dicts(q, columns) for q, columns in reads]

    def _fetch_together(self, statements: Sequence[tuple[str, Any]]
                        ) -> list[list[Any]] | None:
        """The rows of each prepared statement, sent together; None where a store does not
        (or on a driver error: the general path then runs each read and raises it)."""
        return None

    def _prepared_read(self, q: Query, columns: tuple[str, ...]
                       ) -> tuple[str, Any, str | None] | None:
        """read_dicts's prepared SQL for the query, its parameters and the name of the
        kind's geometry; None when the shape is not one the prepared path covers."""
        model = ENTITIES[q.kind]
        table = entity_table(model)
        geom = geometry_column(model)
        geom_name = geom.name if geom is not None else None

        def build(fake: Query, limit: int | None) -> sa.Select[Any]:  # limit: None here
            cols = [table.c.fid, *self._dict_columns(table, columns, geom_name)]
            return self._select(fake)[0].with_only_columns(*cols).order_by(table.c.fid)

        found = self._prepared.lookup(q, ("read_dicts", columns), build)
        if found is None:
            return None
        prepared, values = found
        return prepared.sql, prepared.parameters(values), geom_name

    def _prepared_dicts(self, q: Query, columns: tuple[str, ...]
                        ) -> list[dict[str, Any]] | None:
        """read_dicts's rows by prepared SQL, or None when the shape is not one it covers
        (or on a driver error: the general path then runs and raises it)."""
        found = self._prepared_read(q, columns)
        if found is None:
            return None
        sql, parameters, geom_name = found
        raw = self._fetch_pooled(sql, parameters)
        return None if raw is None else self._dicts_of(raw, columns, geom_name)

    def _dicts_of(self, raw: list[Any], columns: tuple[str, ...], geom_name: str | None
                  ) -> list[dict[str, Any]]:
        """read_dicts's dicts of a prepared read's rows (fid first, then `columns`)."""
        out = [dict(zip(columns, r[1:], strict=True)) for r in raw]
        if geom_name in columns and out:
            # every row's geometry in one call (`_shapes`): a call a row was a third of
            # a public site check's read of a few hundred accidents (issue 20)
            at = columns.index(geom_name) + 1
            for d, g in zip(out, self._shapes([r[at] for r in raw]), strict=True):
                d[geom_name] = g
        return out

    def _dict_columns(self, table: sa.Table, columns: Sequence[str], geom_name: str | None
                      ) -> list[Any]:
        """read_dicts's columns as the driver gives them (the geometry as WKB)."""
        return [self._geometry_wkb(table.c[c]).label(c) if c == geom_name
                else sa.type_coerce(table.c[c], sa.types.NullType).label(c) for c in columns]

    def read_dicts_in_boxes(self, q: Query, boxes: Sequence[Bbox], columns: Sequence[str]
                            ) -> list[list[dict[str, Any]]]:
        """For each box, `read_dicts(q with the box as its bbox, columns)`: the same rows,
        as the same dicts. Here a read a box; the PostGIS store reads them all in one
        statement (a batch of site checks reads a chunk of sites' boxes at once)."""
        return [self.read_dicts(dataclasses.replace(q, bbox=box), columns) for box in boxes]

    def _all_sources(self, kind: str) -> dict[str, list[str]]:
        links = METADATA.tables["record_sources"]
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for rid, sid in conn.execute(
                sa.select(links.c.record_id, links.c.source_id).where(links.c.record_kind == kind)
            ):
                out.setdefault(str(rid), []).append(str(sid))
        return out

    def table_marks(self, kind: str) -> tuple[int, int, int]:
        """(records, sum of their versions, largest fid) of `kind`'s table: an insert
        raises the largest fid (never reused), an update a version, a delete lowers the
        count, so the three change with every write (services/maps.py `data_version`).
        Asked for each tile of the map's admin areas and each layer summary: its SQL is
        compiled once per kind and run on the driver's cursor, as `read_dicts` runs its
        reads (SQLAlchemy building the statement each time was nine tenths of an admin
        tile's server time, web/fast_paths.py)."""
        sql = self._table_marks_sql.get(kind)
        if sql is None:
            sql = str(self._table_marks_statement(kind).compile(
                dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
            self._table_marks_sql[kind] = sql
        rows = self._fetch_pooled(sql, ())
        if rows is None:  # a driver error: the general path raises it as SQLAlchemy wraps it
            with self.engine.connect() as conn:
                rows = [conn.execute(self._table_marks_statement(kind)).one()]
        n, total, top = rows[0]
        return int(n or 0), int(total or 0), int(top or 0)

    @staticmethod
    def _table_marks_statement(kind: str) -> sa.Select[Any]:
        table = entity_table(ENTITIES[kind])
        return sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(table.c.version), 0),
                         sa.func.max(table.c.fid))

    def count(self, q: Query) -> int:
        stmt, post_filter = self._select(q)
        with self.engine.connect() as conn:
            if post_filter is None:
                return int(
                    conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
                    or 0
                )
            return sum(1 for r in conn.execute(stmt).mappings() if post_filter(r))

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
        if q.unrepresented:
            conditions.append(linkage.not_representative(q.kind, table.c.id))
        if q.condition is not None:
            conditions.append(q.condition)
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
            # The asker's rounded places: the exact places that round into the box, still
            # a box in SQL (store/query.py snap_box).
            box = q.bbox if q.place_decimals is None else snap_box(q.bbox, q.place_decimals)
            place_conditions.append(self.bbox_condition(place_table, box))
        if q.near is not None:
            if q.place_decimals is None:
                condition, near_filter = self._near_condition(place_table, q.near)
            else:
                condition, near_filter = self._rounded_near_condition(
                    place_table, q.near, q.place_decimals)
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

    def _rounded_near_condition(self, table: sa.Table, near: Near, decimals: int
                                ) -> tuple[Any, Any]:
        """`near` for an asker who sees the places rounded to `decimals`: candidates
        within the distance plus a rounding step's diagonal (at most 0.71 steps away,
        ~111 km a degree), then the rounded point's geodesic distance decides."""
        from mineaction.geo.geodesic import gap_m

        lats = (abs(near.geometry.bounds[1]), abs(near.geometry.bounds[3]), 89.0)
        step_m = 0.71 * 10.0 ** -decimals * 111_320.0 / max(
            math.cos(math.radians(min(lats))), 0.01)
        condition, _ = self._near_condition(table, Near(near.geometry,
                                                        near.distance_m + step_m))
        spec = geometry_column(next(m for m in ENTITIES.values() if m.table == table.name))
        assert spec is not None, "rounded places of a kind without a geometry"
        name = spec.name

        def keep(row: Any) -> bool:
            g = row[name]
            return g is not None and bool(
                gap_m(_rounded(g, decimals), near.geometry) <= near.distance_m)

        return condition, keep

    def _ids_passing(self, table: sa.Table, conditions: list[Any], keep: Any) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(*conditions)).mappings()
            return [r["id"] for r in rows if keep(r)]

    # -- what each store does its own way -------------------------------------------
    # Execution options for a connection that runs one SELECT and nothing else.
    _single_read_options: dict[str, Any] = {}
    # Session set-up of the connection held for quick reads (store/held.py).
    _held_session: tuple[str, ...] = ()
    # The geometry bytes of `_geometry_wkb` as a GeoJSON dict, and as shapely. Plain
    # functions, not methods: they key row_plan's cache, which must not hold stores.
    _geojson: Callable[[Any], dict[str, Any]]
    _shape: Callable[[Any], Any]
    _shapes: Callable[[Sequence[Any]], list[Any]]  # `_shape` of many, None for None

    def bbox_condition(self, table: sa.Table, bbox: Bbox) -> Any:
        raise NotImplementedError

    def _near_condition(self, table: sa.Table, near: Near) -> tuple[Any, Any]:
        raise NotImplementedError

    def _geometry_wkb(self, column: Any) -> Any:
        """A geometry column as the bytes `_geojson` and `_shape` read."""
        raise NotImplementedError

    def _timestamp_text(self, column: Any) -> Any:
        """A timestamp column as ISO text (rows.py formats each distinct text once)."""
        return sa.type_coerce(column, sa.types.NullType)  # SQLite holds it as text

    def _join_text(self, column: Any) -> Any:
        """An aggregate joining text values with commas."""
        raise NotImplementedError


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


def _rounded(geom: Any, decimals: int) -> Any:
    """A point rounded as access/ rounds it for the asker (`generalise`); other shapes as
    they are (only points are shown rounded)."""
    if geom is None or geom.geom_type != "Point":
        return geom
    from shapely.geometry import Point

    return Point(round(geom.x, decimals), round(geom.y, decimals))
