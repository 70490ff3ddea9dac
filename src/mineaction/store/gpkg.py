"""The embedded store: one file that is a valid OGC GeoPackage 1.3.

QGIS and GDAL open the live file directly: every spatial entity is a feature table in
gpkg_contents and gpkg_geometry_columns with an R-tree index (extension gpkg_rtree_index);
other tables are registered as attribute tables. This Python cannot load SpatiaLite, so the
SQL functions the R-tree triggers call (ST_MinX ... ST_IsEmpty) are registered on every
connection, reading the envelope from the GeoPackage binary header (geo/gpkg_binary.py).

Writes run in WAL mode inside BEGIN IMMEDIATE transactions: readers (QGIS, the API) keep
reading while an import runs, and a crash mid-import leaves the file as before the import.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.geo import gpkg_binary, wkb_json
from mineaction.store import facts
from mineaction.store.base import Store, now_utc
from mineaction.store.query import Bbox, Near
from mineaction.store.schema import METADATA, entity_table

if TYPE_CHECKING:
    import numpy as np
# numpy (bulk R-tree loads, point blobs) loads on first write, not when a store is opened
# to be read (issue 16, start-up of `mineaction info`).

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
MMAP_BYTES = 1 << 30  # address space, not memory: only pages read are resident

WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

CORE_DDL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (
        table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
        definition TEXT NOT NULL, scope TEXT NOT NULL,
        CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
]

SRS_ROWS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
     "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
     "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, WGS84_WKT,
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]  # fmt: skip

# GeoPackage 1.3 Annex F.3: the R-tree is kept up to date by these triggers.
RTREE_TRIGGERS = {
    "insert": """AFTER INSERT ON "{t}" WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN INSERT OR REPLACE INTO "{r}" VALUES (NEW."fid", ST_MinX(NEW."{c}"),
        ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}")); END""",
    "update1": """AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."fid" = NEW."fid" AND
        (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN INSERT OR REPLACE INTO "{r}" VALUES (NEW."fid", ST_MinX(NEW."{c}"),
        ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}")); END""",
    "update2": """AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."fid" = NEW."fid" AND
        (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END""",
    "update3": """AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND
        (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "{r}" VALUES
        (NEW."fid", ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"),
        ST_MaxY(NEW."{c}")); END""",
    "update4": """AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND
        (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "{r}" WHERE id IN (OLD."fid", NEW."fid"); END""",
    "delete": """AFTER DELETE ON "{t}" WHEN old."{c}" NOT NULL
        BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END""",
}


def _geodesic() -> Any:
    """geo.geodesic, imported when a distance is measured: it loads pyproj, which opening
    a store (`mineaction info`) never needs (issue 16, item 12)."""
    from mineaction.geo import geodesic

    return geodesic


def register_functions(dbapi_conn: sqlite3.Connection) -> None:
    """The SQL functions GeoPackage's R-tree triggers need (no SpatiaLite here)."""
    for name, fn in (
        ("ST_MinX", gpkg_binary.st_minx),
        ("ST_MaxX", gpkg_binary.st_maxx),
        ("ST_MinY", gpkg_binary.st_miny),
        ("ST_MaxY", gpkg_binary.st_maxy),
        ("ST_IsEmpty", gpkg_binary.st_isempty),
    ):
        dbapi_conn.create_function(name, 1, fn, deterministic=True)
    dbapi_conn.create_function("mineaction_envelope_intersects", 5, _envelope_intersects,
                               deterministic=True)


def _envelope_intersects(blob: bytes | None, minx: float, miny: float, maxx: float,
                         maxy: float) -> int:
    """One call per R-tree candidate instead of four ST_Min/Max calls."""
    env = gpkg_binary.envelope(blob) if blob is not None else None
    if env is None:
        return 0
    return int(env[0] <= maxx and env[1] >= minx and env[2] <= maxy and env[3] >= miny)


# Tables whose rows casualty_facts is derived from (store/facts.py).
FACT_SOURCES = ("victims", "accidents")


def _rtree_name(table: str, column: str) -> str:
    return f"rtree_{table}_{column}"


class GeoPackageStore(Store):
    dialect = "gpkg"

    def __init__(self, path: str | Path, *, pool_size: int = 5) -> None:
        self.path = Path(path)
        # pool_size: connections kept open. Connections beyond it (up to 10 more) are
        # closed when returned, and opening one (pragmas, functions) costs more than a
        # query: a server sizes the pool to its request threads (api/app.py).
        engine = sa.create_engine(f"sqlite:///{self.path}", pool_size=pool_size)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            # Autocommit at the driver; we issue BEGIN ourselves (SQLAlchemy's documented
            # recipe for pysqlite), so transactions mean what they say.
            dbapi_conn.isolation_level = None
            register_functions(dbapi_conn)
            dbapi_conn.execute("PRAGMA busy_timeout = 30000")
            # A 64 MiB page cache: bulk imports touch indexes on random UUIDs all over.
            dbapi_conn.execute("PRAGMA cache_size = -65536")
            # Reads through a memory map: pages come from the OS page cache that every
            # connection and worker process shares, without a copy into each
            # connection's own cache (issue 3: an API worker holds 15 connections).
            # Writes still go through the WAL; SQLite caps this at its compile-time limit.
            dbapi_conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is safe in WAL mode: a crash loses at most the last commits' durability,
            # never consistency.
            dbapi_conn.execute("PRAGMA synchronous = NORMAL")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue instead of
            # failing half-way with "database is locked".
            options = conn.get_execution_options()
            if options.get("single_statement"):
                # One SELECT is its own consistent snapshot in autocommit mode: a BEGIN
                # (and the ROLLBACK when the connection goes back) would be two more
                # driver calls per request for nothing (Store.query_rows).
                return
            mode = "IMMEDIATE" if options.get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        super().__init__(engine, str(self.path))
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()

    def change_marker(self) -> Any:
        # SQLite's data_version changes, on one connection, whenever another connection
        # commits: this store's own pool and every other process alike. The connection
        # is kept for that alone, never writes and holds no transaction between calls.
        with self._watch_lock:
            if self._watch is None:
                self._watch = sqlite3.connect(self.path, check_same_thread=False,
                                              isolation_level=None)
            return self._watch.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
        super().close()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            with conn.begin():
                # Set after BEGIN IMMEDIATE: only the writer holding the lock touches it.
                self._deferred_indexes: dict[str, list[str]] = {}
                # Per table: one (fid, minx, maxx, miny, maxy) array per chunk, packed at the end.
                self._deferred_rtrees: dict[str, list[np.ndarray]] = {}
                # Set when a bulk load dropped the casualty_facts triggers.
                self._rebuild_facts = False
                yield conn
                self._load_rtrees(conn)
                self._restore_indexes(conn)
                if self._rebuild_facts:
                    facts.rebuild(conn)
                    facts.create_triggers(self, conn)
                    self._rebuild_facts = False

    # -- bulk loading ---------------------------------------------------------------------
    # Loading a million rows row by row through indexes on random UUIDs and through the
    # R-tree triggers (five Python calls a row) costs 10-130 us a row. Instead, inside the
    # import's transaction: an empty table loses its secondary indexes until the end of the
    # transaction (SQLite builds an index from sorted keys far faster), and its R-tree is
    # packed in one go at the end (store/rtree_bulk.py); a table that already holds rows gets
    # its new R-tree entries inserted directly from envelopes we already know, without the
    # per-row trigger. All of it is transactional: a failed import rolls back to the
    # indexes and triggers it started with.
    BULK_THRESHOLD = 10_000

    def bulk_insert(
        self,
        conn: sa.Connection,
        kind: str,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: dict[str, Any] | None = None,
    ) -> None:
        if not rows:
            return
        table = entity_table(kind)
        geom = geometry_column(ENTITIES[kind])
        if table.name not in self._deferred_indexes:
            self._deferred_indexes[table.name] = []
            empty = conn.exec_driver_sql(
                f'SELECT NOT EXISTS (SELECT 1 FROM "{table.name}")'
            ).scalar()
            if empty and len(rows) >= self.BULK_THRESHOLD:
                if geom is not None:
                    self._deferred_rtrees[table.name] = []
                found = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                    " AND sql IS NOT NULL",
                    (table.name,),
                ).fetchall()
                for name, sql in found:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                    self._deferred_indexes[table.name].append(str(sql))
                if table.name in FACT_SOURCES:
                    facts.drop_sqlite_triggers(conn)
                    self._rebuild_facts = True
        deferred = self._deferred_rtrees.get(table.name)
        if geom is None or geom.name not in names or (len(rows) < 100 and deferred is None):
            super().bulk_insert(conn, kind, names, rows, constants)
            return
        rtree = _rtree_name(table.name, geom.name)
        # After the highest fid ever given, not the highest left: a deleted record's
        # number is never given again (it is its record code's, domain/codes.py), as
        # AUTOINCREMENT does for the inserts that let SQLite number them.
        start = conn.exec_driver_sql(
            f'SELECT max(coalesce((SELECT max(fid) FROM "{table.name}"), 0), coalesce(('
            f"SELECT seq FROM sqlite_sequence WHERE name = '{table.name}'), 0))").scalar()
        fids = range(int(start or 0) + 1, int(start or 0) + 1 + len(rows))
        conn.exec_driver_sql(f'DROP TRIGGER "{rtree}_insert"')
        super().bulk_insert(
            conn,
            kind,
            ["fid", *names],
            [(f, *r) for f, r in zip(fids, rows, strict=True)],
            constants,
        )
        g = list(names).index(geom.name)
        boxes = []
        for fid, row in zip(fids, rows, strict=True):
            blob = row[g]
            env = None if blob is None else gpkg_binary.envelope(blob)  # None when empty
            if env is not None:
                boxes.append((fid, *env))
        if deferred is not None:
            import numpy as np

            deferred.append(np.array(boxes, dtype=np.float64).reshape(-1, 5))
        else:
            conn.exec_driver_sql(f'INSERT INTO "{rtree}" VALUES (?, ?, ?, ?, ?)', boxes)
        conn.exec_driver_sql(
            f'CREATE TRIGGER "{rtree}_insert" '
            + RTREE_TRIGGERS["insert"].format(t=table.name, c=geom.name, r=rtree)
        )

    def _load_rtrees(self, conn: sa.Connection) -> None:
        if not any(self._deferred_rtrees.values()):
            self._deferred_rtrees = {}
            return
        import numpy as np

        from mineaction.store import rtree_bulk

        for table_name, boxes in self._deferred_rtrees.items():
            if not boxes:
                continue
            model = next(m for m in ENTITIES.values() if m.table == table_name)
            geom = geometry_column(model)
            assert geom is not None
            all_boxes = np.concatenate(boxes)
            fid, minx, maxx, miny, maxy = all_boxes.T
            rtree_bulk.bulk_load(conn, _rtree_name(table_name, geom.name), fid.astype(np.int64),
                                 minx, maxx, miny, maxy)
        self._deferred_rtrees = {}

    def _restore_indexes(self, conn: sa.Connection) -> None:
        for statements in self._deferred_indexes.values():
            for sql in statements:
                conn.exec_driver_sql(sql)
        self._deferred_indexes = {}

    def _create_schema(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version = {USER_VERSION}")
        for ddl in CORE_DDL:
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", SRS_ROWS
        )
        METADATA.create_all(conn)
        facts.create_triggers(self, conn)
        for table in METADATA.tables.values():
            if "fid" not in table.c or table.info.get("unlisted"):
                continue  # not a feature or attribute table (mineaction_meta), or hidden
            model = next((m for m in ENTITIES.values() if m.table == table.name), None)
            if model is None:
                self.register_table(conn, table)
            else:
                self.register_entity_table(conn, model)

    def register_entity_table(self, conn: sa.Connection, model: Any) -> None:
        """An entity's table in gpkg_contents: a feature table with its R-tree when the
        entity has a geometry, else an attribute table."""
        table = METADATA.tables[model.table]
        geom = geometry_column(model)
        doc = (model.__doc__ or "").strip().split("\n")[0]
        if geom is None:
            self.register_table(conn, table, doc)
            return
        assert geom.geometry is not None
        stamp = now_utc().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        rtree = _rtree_name(table.name, geom.name)
        conn.exec_driver_sql(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description,"
            " last_change, srs_id) VALUES (?, 'features', ?, ?, ?, 4326)",
            (table.name, table.name, doc, stamp),
        )
        conn.exec_driver_sql(
            "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, 4326, 0, 0)",
            (table.name, geom.name, geom.geometry.store_type),
        )
        conn.exec_driver_sql(
            "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (table.name, geom.name),
        )
        conn.exec_driver_sql(
            f'CREATE VIRTUAL TABLE "{rtree}" USING rtree(id, minx, maxx, miny, maxy)'
        )
        for suffix, body in RTREE_TRIGGERS.items():
            conn.exec_driver_sql(
                f'CREATE TRIGGER "{rtree}_{suffix}" '
                + body.format(t=table.name, c=geom.name, r=rtree)
            )

    def register_table(self, conn: sa.Connection, table: sa.Table, description: str = "") -> None:
        """An attribute table in gpkg_contents, so QGIS and GDAL list it."""
        stamp = now_utc().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES (?, 'attributes', ?, ?, ?)",
            (table.name, table.name, description, stamp),
        )

    def unlist_tables(self, tables: Sequence[sa.Table]) -> None:
        names = [t.name for t in tables]
        marks = ", ".join("?" * len(names))
        with self.engine.connect() as conn:
            listed = conn.exec_driver_sql(
                f"SELECT count(*) FROM gpkg_contents WHERE table_name IN ({marks})",
                tuple(names)).scalar()
        if not listed:
            return
        with self.transaction() as conn:
            conn.exec_driver_sql(
                f"DELETE FROM gpkg_contents WHERE table_name IN ({marks})", tuple(names))
            if sa.inspect(conn).has_table("gpkg_ogr_contents"):  # added by GDAL's writes
                conn.exec_driver_sql(
                    f"DELETE FROM gpkg_ogr_contents WHERE table_name IN ({marks})",
                    tuple(names))

    # -- dialect hooks --------------------------------------------------------------------
    def _param_marks(self, table: sa.Table, names: Sequence[str]) -> list[str]:
        return ["?"] * len(names)

    def _join_text(self, column: Any) -> Any:
        return sa.func.group_concat(column, ",")

    def encode_geometry(self, geom: Any) -> bytes:
        return gpkg_binary.encode(geom)

    def decode_geometry(self, cell: Any) -> Any:
        return gpkg_binary.decode(cell)

    def _geometry_wkb(self, column: Any) -> Any:
        # The BLOB (header, then WKB) as stored: no decoding by the column type.
        return sa.type_coerce(column, sa.types.NullType)

    # No BEGIN for it (see _on_begin); the driver is in autocommit mode already.
    _single_read_options = {"single_statement": True}
    # the ids as one JSON array, read back by json_each (SQLite's JSON1, built in)
    _represented_sql = (
        "SELECT record_id FROM canonical_members WHERE kind = ? AND representative = 0 "
        "AND record_id IN (SELECT value FROM json_each(?))", json.dumps)
    _geojson = staticmethod(wkb_json.gpkg_geojson)
    _shape = staticmethod(gpkg_binary.decode)
    _shapes = staticmethod(gpkg_binary.decode_many)

    def encode_points(self, lons: Any, lats: Any) -> list[Any]:
        import numpy as np

        return gpkg_binary.encode_points(np.asarray(lons, float), np.asarray(lats, float))

    def _rtree_subquery(self, table: sa.Table, bbox: Bbox) -> Any:
        """fids of the rows whose envelope intersects `bbox`, exactly.

        The R-tree holds float32 boxes rounded outwards (up to ~1 m too large), so its
        candidates are a superset; the exact envelope from the geometry header decides,
        as GDAL does. A candidate whose rounded box lies inside `bbox` intersects for
        sure, and only the others (those within float32 rounding of an edge: almost
        none) go through the Python function: calling it for every candidate cost a
        quarter of an API list, most of it waiting for the GIL among request threads."""
        geom = geometry_column(next(m for m in ENTITIES.values() if m.table == table.name))
        assert geom is not None
        minx, miny, maxx, maxy = bbox
        rtree = _rtree_name(table.name, geom.name)
        return sa.text(
            f'SELECT r.id FROM "{rtree}" AS r '
            "WHERE r.minx <= :b_maxx AND r.maxx >= :b_minx AND r.miny <= :b_maxy "
            "AND r.maxy >= :b_miny AND ((r.minx >= :b_minx AND r.maxx <= :b_maxx "
            "AND r.miny >= :b_miny AND r.maxy <= :b_maxy) OR "
            f'(SELECT mineaction_envelope_intersects(t."{geom.name}", :b_minx, :b_miny, '
            f':b_maxx, :b_maxy) FROM "{table.name}" AS t WHERE t.fid = r.id) = 1)'
        ).bindparams(b_minx=minx, b_miny=miny, b_maxx=maxx, b_maxy=maxy)

    def bbox_condition(self, table: sa.Table, bbox: Bbox) -> Any:
        # "Intersects the envelope" is what bbox means in OGC API Features too.
        return table.c.fid.in_(self._rtree_subquery(table, bbox))

    def _near_condition(self, table: sa.Table, near: Near) -> tuple[Any, Any]:
        # The R-tree narrows to a box sure to contain every candidate; the exact geodesic
        # distance is then checked in Python on those few rows.
        minx, miny, maxx, maxy = near.geometry.bounds
        dlon, dlat = _geodesic().degrees_buffer_for_distance(
            max(abs(miny), abs(maxy)), near.distance_m
        )
        bbox = (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)
        geom_name = geometry_column(
            next(m for m in ENTITIES.values() if m.table == table.name)
        ).name  # type: ignore[union-attr]
        target = near.geometry

        def keep(row: Any) -> bool:
            g = row[geom_name]
            if g is None:
                return False
            return _geodesic_gap(g, target) <= near.distance_m

        return self.bbox_condition(table, bbox), keep

    def optimise(self, done: Callable[[str, float], None] | None = None) -> list[str]:
        """The file rewritten compactly (VACUUM): the pages of each table and index
        together again, and the space of removed rows given back. Rows keep their
        fids, which are their rowids. No planner statistics: SQLite's choices for
        this schema are right without them, and statistics could only change them."""
        steps: list[str] = []
        with self._optimise_step("the file rewritten compactly", steps, done), \
                self.engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            dbapi.execute("VACUUM")  # in autocommit mode: outside any transaction
            dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return steps

    def refresh_spatial_metadata(self, conn: sa.Connection, kinds: Sequence[str]) -> None:
        """Extents in gpkg_contents (QGIS's "zoom to layer") from the R-tree, and the
        last_change stamp that tells readers the layer changed."""
        stamp = now_utc().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for kind in kinds:
            table = entity_table(kind)
            geom = geometry_column(ENTITIES[kind])
            if geom is None:
                conn.exec_driver_sql(
                    "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                    (stamp, table.name),
                )
                continue
            rtree = _rtree_name(table.name, geom.name)
            conn.exec_driver_sql(
                f"UPDATE gpkg_contents SET last_change = ?, "
                f'min_x = (SELECT min(minx) FROM "{rtree}"), '
                f'min_y = (SELECT min(miny) FROM "{rtree}"), '
                f'max_x = (SELECT max(maxx) FROM "{rtree}"), '
                f'max_y = (SELECT max(maxy) FROM "{rtree}") WHERE table_name = ?',
                (stamp, table.name),
            )


def _model_of(table: sa.Table) -> Any:
    return next(m for m in ENTITIES.values() if m.table == table.name)


def _geodesic_gap(geom: Any, target: Any) -> float:
    """Geodesic distance in metres between a stored geometry and the query geometry."""
    return float(_geodesic().gap_m(geom, target))
