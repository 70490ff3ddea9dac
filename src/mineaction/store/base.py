"""The Store: everything both stores share, over SQLAlchemy Core.

Subclasses supply only what truly differs between SQLite/GeoPackage and PostGIS (after
pygeoapi's GenericSQLProvider, which overrides the driver and the spatial filter): how to
open the engine, set up the schema's spatial metadata, filter by bounding box or distance,
encode geometries for bulk writes, and insert many rows fast.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    pass
from mineaction.domain.codes import PREFIXES, record_code
from mineaction.domain.models import ENTITIES, Record
from mineaction.geo.countries import alpha2
from mineaction.store import codec, facts, prepared
from mineaction.store import rows as rowplan
from mineaction.store.errors import DuplicateKey, NotFound, SchemaTooNew, VersionConflict
from mineaction.store.held import HeldConnections
from mineaction.store.migrations import MIGRATIONS
from mineaction.store.query import Query
from mineaction.store.reading import Reading
from mineaction.store.schema import (
    METADATA,
    SCHEMA_VERSION,
    entity_table,
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

# How often a store whose country is unknown looks it up again (Store.code_country).
CODE_COUNTRY_RECHECK_S = 10.0


class Store(Reading):
    """One interface over both stores. Reads use short connections; writes go through
    `transaction()`, which is atomic: everything in it lands or nothing does."""

    dialect: str = ""
    # Whether `read_dicts_together` sends its reads together (PostGIS: one round trip for
    # them all) rather than one after another. Code that would gather its reads for it
    # asks this: gathering costs a little where it gains nothing (a site check on a
    # GeoPackage: 2-4% more CPU, issue 20).
    reads_go_together: bool = False

    def __init__(self, engine: sa.Engine, location: str) -> None:
        self.engine = engine
        self.location = location
        self.write_listeners: list[WriteListener] = []
        self._row_columns_cache: dict[tuple[str, rowplan.RowPlan], list[Any]] = {}
        self._table_marks_sql: dict[str, str] = {}
        self._prepared = prepared.PreparedCache(engine.dialect)
        # For quick prepared reads (store/held.py).
        self._held = HeldConnections(engine, self._held_session)
        # The country of record codes (`code_country`), and when to look for it again.
        self._code_country: str | None = None
        self._code_country_next_check = 0.0

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

    # -- the country of record codes (domain/codes.py) ------------------------------------
    @property
    def code_country(self) -> str | None:
        """ISO 3166-1 alpha-2 code of the store's country, for the record codes of P-codes
        that do not name theirs: set by the first import whose mapping names a country, or
        by `set_country`. Once known it is kept; while unknown it is looked up again
        at most every CODE_COUNTRY_RECHECK_S, so a server's workers all see the country
        an import in one of them has just set."""
        now = time.monotonic()
        if self._code_country is None and now >= self._code_country_next_check:
            self._code_country_next_check = now + CODE_COUNTRY_RECHECK_S
            meta = METADATA.tables["mineaction_meta"]
            with self.engine.connect() as conn:
                value = conn.execute(sa.select(meta.c.value).where(
                    meta.c.key == "country")).scalar_one_or_none()
            try:
                self._code_country = alpha2(value) if value else None
            except KeyError:  # edited by hand into no country: codes go without one
                self._code_country = None
        return self._code_country

    def record_code(self, kind: str, record_id: str | uuid.UUID) -> str | None:
        """The code of one stored record (domain/codes.py), or None (no such record, or a
        kind without codes): what a write's answer shows, as a read's rows do."""
        if kind not in PREFIXES:
            return None
        table = entity_table(kind)
        cols = [table.c.fid]
        if "admin_area_pcode" in table.c:
            cols.append(table.c.admin_area_pcode)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*cols).where(table.c.id == str(record_id))).first()
        if row is None:
            return None
        return record_code(kind, int(row[0]), row[1] if len(row) > 1 else None,
                           self.code_country)

    def set_country(self, code: str, *, only_if_unset: bool = False) -> None:
        """Record the store's country (ISO alpha-2 or alpha-3; KeyError for a code no
        country has)."""
        two = alpha2(code)
        meta = METADATA.tables["mineaction_meta"]
        with self.transaction() as conn:
            if only_if_unset and conn.execute(sa.select(meta.c.value).where(
                    meta.c.key == "country")).scalar_one_or_none():
                return
            self._set_meta(conn, "country", two)
        self._code_country = two

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
                .where(table.c.id == str(record.id), table.c.version == expected_version)
                .values(**row)
            )
            if done.rowcount != 1:
                current = before.version if before else None
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
        """The record leaves its table (and so queries, statistics and GIS clients); its
        last version stays in the history and a tombstone in deleted_records, whose version
        is one more (so a stale editor's save is refused, not resurrecting it)."""
        with self.transaction() as conn:
            before = self._current(conn, kind, str(record_id))
            if before is None:
                raise NotFound(f"no {kind} with id {record_id}")
            if expected_version is not None and before.version != expected_version:
                raise VersionConflict(kind, str(record_id), expected_version, before.version)
            self.delete_ids(conn, kind, [str(record_id)], by=by, reason="edit")
            self.notify(conn, WriteEvent("delete", kind, str(record_id), before.version + 1,
                                         by, before=before.model_dump(mode="json")))

    def history(self, kind: str, record_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """Every version of a record, oldest first, each {version, data, at, by, action};
        the last is the current state ("current"), or, for a deleted record, its deletion
        ("deleted": the last version's data with who deleted it and when)."""
        hist = METADATA.tables["record_history"]
        gone = METADATA.tables["deleted_records"]
        with self.engine.connect() as conn:
            past = conn.execute(
                sa.select(hist).where(hist.c.record_id == str(record_id),
                                      hist.c.record_kind == kind).order_by(hist.c.version)
            ).mappings().all()
            current = self._current(conn, kind, str(record_id))
            tombstone = None if current is not None else conn.execute(
                sa.select(gone).where(gone.c.record_id == str(record_id),
                                      gone.c.record_kind == kind)).mappings().first()
        if current is None and (tombstone is None or not past):
            raise NotFound(f"no {kind} with id {record_id}")
        versions = [{"version": r["version"], "data": json.loads(r["data"]),
                     "superseded_at": r["superseded_at"], "superseded_by": r["superseded_by"],
                     "action": r["action"]} for r in past]
        if current is not None:
            versions.append({"version": current.version, "data": current.model_dump(mode="json"),
                             "superseded_at": None, "superseded_by": None,
                             "action": "current"})
        else:
            assert tombstone is not None
            deleted_at = tombstone["deleted_at"]
            versions.append({"version": tombstone["version"], "data": {
                **versions[-1]["data"], "version": tombstone["version"],
                "deleted_at": deleted_at.isoformat(), "deleted_by": tombstone["deleted_by"]},
                "superseded_at": None, "superseded_by": None, "action": "deleted"})
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

    # -- where a dataset comes from -------------------------------------------------------
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

    # -- bulk writes (the import pipeline) ------------------------------------------------
    def existing_keys(
        self, conn: sa.Connection, kind: str, dataset: str
    ) -> dict[str, tuple[str, int, str, str | None]]:
        """external_id -> (id, version, content digest, deletion) of every record of a
        dataset: the current ones with deletion None, then the deleted ones (tombstones, no
        digest) with their deletion's reason, "edit" or "import", so that a re-import
        keeps a person's deletion and brings back what only an earlier release lacked.

        Read raw (no type processing) so the cells are exactly what bulk writes put in."""
        model = ENTITIES[kind]
        content = codec.content_columns(model)
        cols = ", ".join(self._quote(c) for c in ["external_id", "id", "version", *content])
        mark = self._param_marks(entity_table(kind), ["dataset"])[0]
        rows = conn.exec_driver_sql(
            f"SELECT {cols} FROM {self._quote(model.table)} WHERE dataset = {mark}", (dataset,)
        )
        keys: dict[str, tuple[str, int, str, str | None]] = {
            r[0]: (r[1], r[2], codec.content_digest(r[3:]), None) for r in rows}
        gone = METADATA.tables["deleted_records"]
        for ext, rid, version, reason in conn.execute(
                sa.select(gone.c.external_id, gone.c.record_id, gone.c.version, gone.c.reason)
                .where(gone.c.record_kind == kind, gone.c.dataset == dataset,
                       gone.c.external_id.is_not(None))):
            keys.setdefault(str(ext), (str(rid), int(str(version)), "", str(reason or "edit")))
        return keys

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

    def bulk_rekey(self, conn: sa.Connection, kind: str, rows: Sequence[Sequence[Any]]
                   ) -> None:
        """Give records a new external id (rows: (external_id, id)): a later release's
        content key for a record whose content it repeats. Not a change of the record:
        no new version."""
        if not rows:
            return
        table = entity_table(kind)
        key, rid = self._param_marks(table, ["external_id", "id"])
        conn.exec_driver_sql(
            f"UPDATE {self._quote(table.name)} SET external_id = {key} WHERE id = {rid}",
            [tuple(r) for r in rows])

    def delete_ids(self, conn: sa.Connection, kind: str, ids: Sequence[str],
                   by: str | None = None, reason: str = "import") -> None:
        """Delete many records (e.g. gone from a newer release): each one's current version
        goes to the history, a tombstone to deleted_records, and its row and source links
        leave the tables. `reason`: "import" or "edit" (see deleted_records)."""
        table = entity_table(kind)
        gone = METADATA.tables["deleted_records"]
        links = METADATA.tables["record_sources"]
        self.keep_versions(conn, kind, ids, "delete", by)
        stamp = now_utc()
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            rows = conn.execute(sa.select(table.c.id, table.c.dataset, table.c.external_id,
                                          table.c.version).where(table.c.id.in_(part))).all()
            if not rows:
                continue
            conn.execute(gone.insert(), [
                {"record_kind": kind, "record_id": r[0], "dataset": r[1], "external_id": r[2],
                 "version": r[3] + 1, "deleted_at": stamp, "deleted_by": by,
                 "reason": reason} for r in rows])
            conn.execute(links.delete().where(links.c.record_id.in_(part)))
            conn.execute(table.delete().where(table.c.id.in_(part)))

    def forget_deletions(self, conn: sa.Connection, ids: Sequence[str]) -> None:
        """Drop the tombstones of records being brought back (a later release has them);
        each deletion becomes a version in the history, so it reads on without a gap."""
        gone = METADATA.tables["deleted_records"]
        hist = METADATA.tables["record_history"]
        stamp = now_utc()
        for start in range(0, len(ids), 500):
            part = list(ids[start:start + 500])
            tombs = conn.execute(sa.select(gone).where(gone.c.record_id.in_(part))).mappings().all()
            last = {r.record_id: r.data for r in conn.execute(
                sa.select(hist.c.record_id, hist.c.data).where(
                    hist.c.record_id.in_(part), hist.c.action == "delete")
                .order_by(hist.c.version))}  # the latest deletion's, if deleted twice
            conn.execute(hist.insert(), [
                {"record_kind": t["record_kind"], "record_id": t["record_id"],
                 "version": t["version"], "superseded_at": stamp, "superseded_by": None,
                 "action": "deleted", "data": json.dumps({
                     **json.loads(last.get(t["record_id"], "{}")), "version": t["version"],
                     "deleted_at": t["deleted_at"].isoformat(),
                     "deleted_by": t["deleted_by"]})} for t in tombs])
            conn.execute(gone.delete().where(gone.c.record_id.in_(part)))

    def deletions(self, conn: sa.Connection | None = None) -> dict[str, dict[str, int]]:
        """Deleted records per kind and reason (they are in no feature table)."""
        gone = METADATA.tables["deleted_records"]
        stmt = sa.select(gone.c.record_kind, gone.c.reason, sa.func.count()).group_by(
            gone.c.record_kind, gone.c.reason)
        out: dict[str, dict[str, int]] = {}
        with (self.engine.connect() if conn is None else nullcontext(conn)) as c:
            for kind, reason, n in c.execute(stmt):
                out.setdefault(str(kind), {})[str(reason or "edit")] = int(str(n))
        return out

    def represented_ids(self, kind: str, ids: Sequence[str]) -> set[str]:
        """Those of `ids` that another record represents (record linkage: one accident or
        victim several sources report is counted by its representative only)."""
        if self._represented_sql and ids:
            # On the driver's cursor, one statement for any number of ids: SQLAlchemy's
            # expanding IN was rendered afresh for each list, most of the query's cost in
            # a public site check, which asks of a few hundred accidents (issue 20).
            sql, as_value = self._represented_sql
            rows = self._fetch_pooled(sql, (kind, as_value(list(ids))))
            if rows is not None:  # None on a driver error: the general path raises it
                return {str(r[0]) for r in rows}
        out: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                part = list(ids[start:start + 500])
                out.update(str(r[0]) for r in conn.execute(
                    _represented_statement(), {"kind": kind, "ids": part}))
        return out

    def without_represented(self, kind: str, rows: list[dict[str, Any]],
                            represented: set[str] | None = None) -> list[dict[str, Any]]:
        """`rows` (dicts with an `id`) without the records another record represents: what
        counts each accident or victim once, however many sources report it.
        `represented`: `represented_ids` of ids among which the rows' are, when the
        caller asked already (a batch of site checks asks once for a chunk of sites)."""
        if not rows:
            return rows
        if represented is None:
            represented = self.represented_ids(kind, [str(r["id"]) for r in rows])
        return [r for r in rows if str(r["id"]) not in represented]

    # represented_ids' SQL on the driver's cursor, with the parameters (kind, the ids
    # as `as_value` turns them into one value), or None for the general path
    _represented_sql: tuple[str, Callable[[list[str]], Any]] | None = None

    def _quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    # -- what differs per store -----------------------------------------------------------
    def _param_marks(self, table: sa.Table, names: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def encode_geometry(self, geom: Any) -> Any:
        raise NotImplementedError

    def decode_geometry(self, cell: Any) -> Any:
        """A geometry from what encode_geometry/encode_points made (shapely)."""
        raise NotImplementedError

    def encode_points(self, lons: Any, lats: Any) -> list[Any]:
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

    def register_entity_table(self, conn: sa.Connection, model: Any) -> None:
        """Make an entity's table, added after creation, what the store's own are: listed
        for GIS clients with its spatial index (GeoPackage), or spatially indexed (PostGIS)."""

    def register_table(self, conn: sa.Connection, table: sa.Table) -> None:
        """Make a table added after creation known where the store keeps such lists
        (GeoPackage: gpkg_contents). Nothing to do on PostGIS."""

    def unlist_tables(self, tables: Sequence[sa.Table]) -> None:
        """Keep `tables` out of the lists GIS clients read (GeoPackage: gpkg_contents, so
        that QGIS and ogrinfo do not show them), for tables marked `info={"unlisted":
        True}` by the layer that defines them. Idempotent; nothing to do on PostGIS."""

    def refresh_spatial_metadata(self, conn: sa.Connection, kinds: Sequence[str]) -> None:
        """After bulk writes: update what the store keeps about layers (extents)."""


@cache
def _represented_statement() -> sa.Select[Any]:
    """`represented_ids`' query, built once: building a select per call was a tenth of a
    site check's time over the API (issue 20); SQLAlchemy caches its compiled form."""
    members = METADATA.tables["canonical_members"]
    return sa.select(members.c.record_id).where(
        members.c.kind == sa.bindparam("kind"), members.c.representative.is_(False),
        members.c.record_id.in_(sa.bindparam("ids", expanding=True)))
