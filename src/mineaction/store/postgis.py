"""The server store: PostgreSQL with PostGIS, for a national database many workers share.

Geometry columns are geometry(TYPE, 4326) with GiST indexes. Distances are decided on the
geography type (metres on the ellipsoid), with a bounding-box test in front so the GiST
index on the geometry column does the narrowing.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy import event

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.geo import wkb_json
from mineaction.store import facts
from mineaction.store.base import Store
from mineaction.store.query import Bbox, Near, Query
from mineaction.store.reading import SELF_HEALING_CHECKOUT
from mineaction.store.schema import METADATA, entity_table, ewkb_hex


def _geodesic() -> Any:
    """geo.geodesic, imported when a distance is measured: it loads pyproj, which opening
    a store (`mineaction info`) never needs (issue 16, item 12)."""
    from mineaction.geo import geodesic

    return geodesic


def engine_url(url: str) -> str:
    """postgresql://... as users write it, with the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# A database that stops answering must not hold a caller for minutes: quick API reads run
# on a worker's event loop (api/routers/records.py), where a hung connect or a read on a
# connection whose packets vanish would stall every request of that worker. libpq waits
# forever to connect and the kernel retransmits for ~15 minutes by default. A URL that
# sets these itself keeps its own values.
# DateStyle ISO (PostgreSQL's default, which a database may override): psycopg parses
# timestamps only in it, and list pages read them as its text (`_timestamp_text`).
CONNECTION_DEFAULTS: dict[str, int | str] = {
    "connect_timeout": 10, "tcp_user_timeout": 15_000, "keepalives_idle": 60,
    "options": "-c DateStyle=ISO"}


def _connection_defaults(url: str) -> dict[str, int | str]:
    given = set(sa.engine.make_url(engine_url(url)).query)
    return {k: v for k, v in CONNECTION_DEFAULTS.items() if k not in given}


def ping_on_checkout(engine: sa.Engine) -> None:
    """Test a pooled connection with `SELECT 1` before lending it, and replace a dead
    one (SQLAlchemy's pessimistic disconnect handling, with custom events), so that a
    database restart fails no request.

    SQLAlchemy's pool_pre_ping does the same for every checkout. The prepared reads of
    lists and GET by id skip it (`SELF_HEALING_CHECKOUT`): they recover from a dropped
    connection by themselves, and the ping's round trip cost a fifth of a list page's
    CPU, on the server and the database together (issue 3's benchmark)."""

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if SELF_HEALING_CHECKOUT.get():
            return
        try:
            engine.dialect.do_ping(dbapi_conn)  # outside any transaction, as pre-ping does
        except Exception as exc:  # any failure: the pool reconnects and tries again
            raise sa.exc.DisconnectionError(str(exc)) from exc


# Cursors kept on each connection for the reads of a pipeline, one a read: a new cursor
# costs psycopg about 46 µs (store/held.py), a tenth of a site check's reads.
_PIPELINE_CURSORS: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def _pipelined(cursor: Any, statements: Sequence[tuple[str, Any]]) -> list[list[Any]]:
    """The rows of each prepared statement, all sent to the server in one pipeline
    (libpq's pipeline mode, through psycopg) and read back together: one round trip,
    where one a statement cost the server and the database their CPU in waking each
    other (issue 20, a check's five reads on one connection: 0.20 against 0.28-0.33 ms
    of Python, 0.35 against 0.43-0.56 ms of the database). A statement that fails
    raises, after the pipeline has ended: the connection is left as it was."""
    conn = cursor.connection
    spare = _PIPELINE_CURSORS.setdefault(conn, [])
    while len(spare) < len(statements):
        spare.append(conn.cursor())
    cursors = spare[:len(statements)]
    with conn.pipeline():
        for cur, (sql, parameters) in zip(cursors, statements, strict=True):
            cur.execute(sql, parameters)
    return [list(cur.fetchall()) for cur in cursors]


def _spatial_index(table: str, column: str) -> str:
    """The name of a table's GiST index on its geometry column."""
    return f"gix_{table}_{column}"


def _point_ewkb_hex(lon: float, lat: float) -> str:
    # EWKB little-endian point with SRID flag: 01 | 01000020 | E6100000 | x | y
    return "0101000020E6100000" + np.array([lon, lat], "<f8").tobytes().hex().upper()


def _from_wkb_many(cells: Sequence[Any]) -> list[Any]:
    """`shapely.from_wkb` of each cell (None stays None), in one call: a call a row cost
    most of a site check's read of a few hundred accidents (issue 20)."""
    wkbs = np.empty(len(cells), dtype=object)
    wkbs[:] = list(cells)
    return list(shapely.from_wkb(wkbs))


def _box_condition(col: Any, minx: Any, miny: Any, maxx: Any, maxy: Any) -> Any:
    """The rows whose geometry's envelope meets the box (numbers, or columns of a list of
    boxes). && compares float4 boxes (a point 3e-7 degrees outside counts as inside): the
    index narrows, then the geometry's exact envelope decides, as on the GeoPackage. The
    envelope is compared by its bounds: ST_Intersects(ST_Envelope(...), box) gave the
    same rows at a fifth more time a page (issue 3's benchmark)."""
    return sa.and_(col.op("&&")(sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)),
                   sa.func.ST_XMin(col) <= maxx, sa.func.ST_XMax(col) >= minx,
                   sa.func.ST_YMin(col) <= maxy, sa.func.ST_YMax(col) >= miny)


class PostGISStore(Store):
    dialect = "postgis"
    reads_go_together = True  # in one pipeline (`_fetch_together`)

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        # As on the GeoPackage store, a server sizes the pool to its request threads: a
        # connection opened per request beyond the pool costs milliseconds.
        engine = sa.create_engine(engine_url(url), pool_size=pool_size,
                                  connect_args=_connection_defaults(url))
        ping_on_checkout(engine)
        super().__init__(engine, url)

    def change_marker(self) -> Any:
        # Every change inserts WAL, so the WAL insert position stands still while
        # nothing is written (other databases of the cluster and VACUUM move it too,
        # which only costs a recount). A standby cannot tell: None.
        try:
            with self.engine.connect().execution_options(**self._single_read_options) as c:
                return c.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar()
        except sa.exc.DBAPIError:
            return None

    def _create_schema(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        METADATA.create_all(conn)
        facts.create_triggers(self, conn)
        for model in ENTITIES.values():
            self.register_entity_table(conn, model)

    def register_entity_table(self, conn: sa.Connection, model: Any) -> None:
        geom = geometry_column(model)
        if geom is not None:
            conn.exec_driver_sql(
                f'CREATE INDEX IF NOT EXISTS "{_spatial_index(model.table, geom.name)}" '
                f'ON "{model.table}" USING GIST ("{geom.name}")'
            )

    def _param_marks(self, table: sa.Table, names: Sequence[str]) -> list[str]:
        # psycopg sends str parameters untyped, so the server casts hex EWKB, ISO dates
        # and the like to the column's type on its own.
        return ["%s"] * len(names)

    def bulk_insert(
        self,
        conn: sa.Connection,
        kind: str,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: dict[str, Any] | None = None,
    ) -> None:
        """COPY instead of INSERT: about ten times faster for the thousands of rows an
        import writes at a time. Runs on the transaction's own connection, so it is part
        of the import's all-or-nothing."""
        if not rows:
            return
        table = entity_table(kind)
        constants = constants or {}
        cols = ", ".join(self._quote(n) for n in [*names, *constants])
        tail = tuple(constants.values())
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor: Any = dbapi.cursor()  # psycopg's, which has copy(); DBAPI types do not
        with cursor as cur, cur.copy(
            f"COPY {self._quote(table.name)} ({cols}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((*row, *tail))

    def _join_text(self, column: Any) -> Any:
        return sa.func.string_agg(column, ",")

    def encode_geometry(self, geom: Any) -> str:
        return ewkb_hex(geom)

    def decode_geometry(self, cell: Any) -> Any:
        return shapely.from_wkb(cell)

    def _geometry_wkb(self, column: Any) -> Any:
        return sa.func.ST_AsBinary(column)  # bytes; the text form would be hex

    def _timestamp_text(self, column: Any) -> Any:
        # ISO text (DateStyle ISO, PostgreSQL's default) in the session's time zone, as
        # psycopg's datetimes are. Records written together share a timestamp, so
        # rows.py formats each distinct text once; a datetime per cell cost the
        # driver and then the formatting a tenth of a list page's CPU (issue 3).
        return sa.cast(column, sa.Text)

    # Autocommit: psycopg would otherwise send BEGIN before the SELECT and the pool a
    # ROLLBACK after it, two round trips to the server for a one-statement read.
    _single_read_options = {"isolation_level": "AUTOCOMMIT"}
    # the ids as one JSON array: psycopg's text[] of a list of str cost a regex a value
    _represented_sql = (
        "SELECT record_id FROM canonical_members WHERE kind = %s AND NOT representative "
        "AND record_id IN (SELECT jsonb_array_elements_text(%s::jsonb))", json.dumps)
    # Quick reads are small boxes and single ids: one generic plan each (store/held.py).
    _held_session = ("SET plan_cache_mode = force_generic_plan",)
    _geojson = staticmethod(wkb_json.wkb_geojson)
    _shape = staticmethod(shapely.from_wkb)
    _shapes = staticmethod(_from_wkb_many)

    def encode_points(self, lons: Any, lats: Any) -> list[Any]:
        return [
            None if (np.isnan(x) or np.isnan(y)) else _point_ewkb_hex(x, y)
            for x, y in zip(np.asarray(lons, float), np.asarray(lats, float), strict=True)
        ]

    def _geom_col(self, table: sa.Table) -> Any:
        geom = geometry_column(next(m for m in ENTITIES.values() if m.table == table.name))
        assert geom is not None
        return table.c[geom.name]

    def bbox_condition(self, table: sa.Table, bbox: Bbox) -> Any:
        return _box_condition(self._geom_col(table), *bbox)

    def _fetch_together(self, statements: Sequence[tuple[str, Any]]
                        ) -> list[list[Any]] | None:
        return self._on_read_cursor(lambda cursor: _pipelined(cursor, statements))

    def read_dicts_in_boxes(self, q: Query, boxes: Sequence[Bbox], columns: Sequence[str]
                            ) -> list[list[dict[str, Any]]]:
        """`read_dicts` for each box, in one statement: the boxes as a VALUES list joined
        to the table by the bbox condition (the spatial index is searched once a box).
        A batch of site checks made one read a kind a site, each a round trip and a
        statement for the server: two fifths of a PostGIS batch's CPU (issue 20)."""
        if not boxes or q.bbox is not None or q.near is not None or q.limit is not None \
                or q.offset or q.place_decimals is not None:
            return super().read_dicts_in_boxes(q, boxes, columns)
        model = ENTITIES[q.kind]
        table = entity_table(model)
        geom = geometry_column(model)
        assert geom is not None, f"{q.kind} has no place to read boxes of"
        listed = sa.values(sa.column("i", sa.Integer), sa.column("minx", sa.Float),
                           sa.column("miny", sa.Float), sa.column("maxx", sa.Float),
                           sa.column("maxy", sa.Float), name="boxes").data(
            [(i, *(float(v) for v in box)) for i, box in enumerate(boxes)])
        b = listed.c
        stmt = (self._select(q)[0]
                .where(_box_condition(table.c[geom.name], b.minx, b.miny, b.maxx, b.maxy))
                .with_only_columns(b.i, *self._dict_columns(table, columns, geom.name))
                .order_by(b.i, table.c.fid))
        with self.engine.connect().execution_options(**self._single_read_options) as conn:
            raw = conn.execute(stmt).all()
        at = list(columns).index(geom.name) + 1 if geom.name in columns else None
        shapes = self._shapes([r[at] for r in raw]) if at is not None else None
        out: list[list[dict[str, Any]]] = [[] for _ in boxes]
        for n, r in enumerate(raw):
            d = dict(zip(columns, r[1:], strict=True))
            if shapes is not None:
                d[geom.name] = shapes[n]
            out[r[0]].append(d)
        return out

    def _near_condition(self, table: sa.Table, near: Near) -> tuple[Any, Any]:
        minx, miny, maxx, maxy = near.geometry.bounds
        dlon, dlat = _geodesic().degrees_buffer_for_distance(
            max(abs(miny), abs(maxy)), near.distance_m
        )
        col = self._geom_col(table)
        target = sa.func.ST_GeomFromEWKB(sa.func.decode(ewkb_hex(near.geometry), "hex"))
        box = sa.func.ST_MakeEnvelope(minx - dlon, miny - dlat, maxx + dlon, maxy + dlat, 4326)
        exact = sa.func.ST_DWithin(
            sa.func.geography(col), sa.func.geography(target), near.distance_m
        )
        return sa.and_(col.op("&&")(box), exact), None

    def refresh_spatial_metadata(self, conn: sa.Connection, kinds: Sequence[str]) -> None:
        """After a bulk load: fresh planner statistics for the tables written (and the
        casualty facts their triggers filled). Without them PostgreSQL plans a million
        new rows as a few thousand: a year x area grouping then sorts on disk, 5x slower
        than the hash aggregate it picks once it knows.

        record_sources too, which every list page reads a row's sources from: never
        analysed, PostgreSQL guesses it holds ten pages whatever it holds, and looks
        each row's sources up by bitmap scan, a fifth of a page's database time even
        when it is empty (issue 3's benchmark)."""
        tables = {ENTITIES[k].table for k in kinds} | {"record_sources"}
        if tables & {"victims", "accidents"}:
            tables.add(facts.TABLE)
        for name in sorted(tables):
            conn.exec_driver_sql(f"ANALYZE {self._quote(name)}")

    def optimise(self, done: Callable[[str, float], None] | None = None) -> list[str]:
        """Each table with a geometry rewritten in the order of its spatial index
        (CLUSTER), then every table vacuumed, with fresh planner statistics (VACUUM
        (ANALYZE)).

        Records are stored in the order they were written, so the hundred accidents
        in a small box lie on a hundred different pages, each read for one row. In
        spatial order they share a few: a bbox page then cost PostgreSQL 0.7 instead
        of 1.1 ms (issue 3's benchmark, a million accidents), and CLUSTER took 10 s.
        CLUSTER locks the table it rewrites against reads and writes until it is done,
        one table at a time; rows written later go to the end, hence a command to run
        after big imports rather than something every import does.

        The vacuum finishes what a big import leaves to autovacuum: a million new rows
        set it off on its own within half a minute, competing with the server for the
        CPU (issue 3's benchmark serves the database right after loading it). Done
        here, it also marks the pages all-visible and the rows committed, which
        readers would otherwise note page by page."""
        steps: list[str] = []
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = {m.table: geometry_column(m) for m in ENTITIES.values()}
            for name, geom in tables.items():
                if geom is None:
                    continue
                index = self._quote(_spatial_index(name, geom.name))
                with self._optimise_step(f"{name}: rows in the order of {geom.name}",
                                         steps, done):
                    conn.exec_driver_sql(f"CLUSTER {self._quote(name)} USING {index}")
            with self._optimise_step("every table vacuumed, with planner statistics",
                                     steps, done):
                conn.exec_driver_sql("VACUUM (ANALYZE)")
        return steps

