"""Hash-chained audit log.

Each entry is hashed as sha256(previous hash + canonical JSON of the entry), the entry
including its sequence number, so editing, inserting or deleting any past entry breaks the
chain from that point on. Entries also carry a digest of the record before and after the
write; `verify` recomputes the digest of every record whose last change was a single
write and so also catches a record edited directly in the database (GeoPackage file or
PostGIS). A record a later import changed is checked up to that import through the
record's history, which the chain seals too.

The chain also covers record history, review notes and users (audit/coverage.py: written
through any module, they are chained in the same transaction), and its head is anchored
outside the table it protects (audit/anchor.py), so a log cut back or emptied shows.

Writes are serialised while appending: SQLite already holds the write lock (BEGIN
IMMEDIATE); on PostgreSQL a transaction-level advisory lock does it, so concurrent workers
never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mineaction.audit.schema import AUDIT_ACTION_INDEX, AUDIT_LOG, AUDIT_TABLES
from mineaction.domain.models import ENTITIES
from mineaction.store import codec
from mineaction.store.base import Store, WriteEvent
from mineaction.store.schema import METADATA, entity_table

GENESIS = "0" * 64
ADVISORY_KEY = 7461002
HEAD_KEY = "mineaction_audit_head"  # conn.info: (seq, hash) of the transaction's newest entry
MARKS_KEY = "mineaction_audit_marks"  # conn.info: sealed table -> its max fid before inserts
RECORD_ACTIONS = ("create", "update", "delete")


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (after RFC 8785 in spirit)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def record_digest(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    data = {**data, "source_ids": sorted(str(s) for s in data.get("source_ids") or [])}
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def _payload(row: Any) -> dict[str, Any]:
    return {"seq": row["fid"], "at": row["at"], "actor": row["actor"], "action": row["action"],
            "kind": row["record_kind"], "record_id": row["record_id"],
            "version": row["version"], "before": row["before_hash"],
            "after": row["after_hash"], "detail": row["detail"]}


def chain_hash(prev: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev + canonical(payload)).encode()).hexdigest()


def row_digest(h: Any, row: Any) -> None:
    """Feed one row of a sealed table to the running hash `h`."""
    h.update(canonical(list(row)).encode())
    h.update(b"\n")


def _runs(fids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for fid in fids:
        if runs and fid == runs[-1][1] + 1:
            runs[-1][1] = fid
        else:
            runs.append([fid, fid])
    return runs


def seal_rows(conn: sa.Connection, name: str, after_fid: int, *,
              own_only: bool = True) -> dict[str, Any] | None:
    """The seal of the rows of append-only table `name` with fid above `after_fid` (on
    PostgreSQL only those this transaction inserted: others' may interleave): their fids
    as runs, how many, and a SHA-256 of their content. None when there are none."""
    table = METADATA.tables[name]
    stmt = sa.select(table).where(table.c.fid > after_fid).order_by(table.c.fid)
    if own_only and conn.dialect.name == "postgresql":
        stmt = stmt.where(sa.text("xmin::text::bigint = (txid_current() & 4294967295)"))
    h = hashlib.sha256()
    fids: list[int] = []
    for row in conn.execute(stmt):
        fids.append(row.fid)
        row_digest(h, row)
    if not fids:
        return None
    return {"runs": _runs(fids), "rows": len(fids), "digest": h.hexdigest()}


def take_seals(conn: sa.Connection) -> dict[str, Any]:
    """Seals of the rows this transaction added to sealed tables since the last seal
    (audit/coverage.py marks where each table stood before its first insert)."""
    marks = conn.info.pop(MARKS_KEY, None) or {}
    seals = {name: seal_rows(conn, name, mark) for name, mark in sorted(marks.items())}
    return {name: found for name, found in seals.items() if found is not None}


def append(conn: sa.Connection, *, actor: str | None, action: str, kind: str | None = None,
           record_id: str | None = None, version: int | None = None,
           before_hash: str | None = None, after_hash: str | None = None,
           detail: dict[str, Any] | None = None) -> str:
    """Append one entry inside the caller's transaction; returns its hash. History or
    review rows the transaction added so far are sealed in it (`sealed` in its detail)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_KEY})")
    seals = take_seals(conn)
    if seals:
        detail = {**(detail or {}), "sealed": seals}
    last = conn.execute(
        sa.select(AUDIT_LOG.c.fid, AUDIT_LOG.c.hash).order_by(AUDIT_LOG.c.fid.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    row = {"fid": seq, "at": datetime.now(UTC).isoformat(timespec="microseconds"),
           "actor": actor, "action": action, "record_kind": kind, "record_id": record_id,
           "version": version, "before_hash": before_hash, "after_hash": after_hash,
           "detail": None if detail is None else canonical(detail)}
    row["prev_hash"] = prev
    row["hash"] = chain_hash(prev, _payload(row))
    conn.execute(AUDIT_LOG.insert().values(**row))
    conn.info[HEAD_KEY] = (seq, row["hash"])  # the anchor file gets it at commit
    return str(row["hash"])


def _stored_state(conn: sa.Connection, kind: str, ids: list[str]) -> dict[str, str | None]:
    """Digest of each record as stored now; of its tombstone when it was deleted."""
    model = ENTITIES[kind]
    table = entity_table(model)
    links = METADATA.tables["record_sources"]
    gone = METADATA.tables["deleted_records"]
    out: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        sources: dict[str, list[str]] = {}
        for rid, sid in conn.execute(sa.select(links.c.record_id, links.c.source_id)
                                     .where(links.c.record_id.in_(part))):
            sources.setdefault(str(rid), []).append(str(sid))
        for row in conn.execute(sa.select(table).where(table.c.id.in_(part))).mappings():
            try:
                record = codec.row_to_record(model, row, sources.get(row["id"], ()))
                out[row["id"]] = record_digest(record.model_dump(mode="json"))
            except ValueError:
                out[row["id"]] = "unreadable"  # a direct edit broke the row itself
        for t in conn.execute(sa.select(gone).where(gone.c.record_id.in_(part),
                                                    gone.c.record_kind == kind)).mappings():
            out.setdefault(t["record_id"], record_digest(tombstone_state(
                t["record_id"], t["version"], t["deleted_at"].isoformat(), t["deleted_by"])))
    return out


def tombstone_state(record_id: str, version: int, deleted_at: str, deleted_by: str | None
                    ) -> dict[str, Any]:
    """What a deleted record is, for the chain: its deletion (the record's last version
    is in its history, chained as such)."""
    return {"id": record_id, "version": version, "deleted_at": deleted_at,
            "deleted_by": deleted_by}


class AuditListener:
    """Store write listener: one chained entry per write, inside the write's transaction."""

    def __call__(self, conn: sa.Connection, event: WriteEvent) -> None:
        after = None
        if event.action in RECORD_ACTIONS and event.record_id is not None:
            after = _stored_state(conn, event.kind, [event.record_id]).get(event.record_id)
        append(conn, actor=event.by, action=event.action, kind=event.kind,
               record_id=event.record_id, version=event.version,
               before_hash=record_digest(event.before), after_hash=after,
               detail=event.summary)


def attach(store: Store) -> Store:
    """Audit every write made through `store` (idempotent); its audit tables are made
    if missing. Also chains every write to history, reviews and users, keeps the anchor
    file (audit/anchor.py) and, once per store, seals what predates that coverage."""
    from mineaction.audit.anchor import anchor_path
    from mineaction.audit.coverage import ensure_coverage, install

    store.ensure_tables(AUDIT_TABLES)
    if not any(isinstance(listener, AuditListener) for listener in store.write_listeners):
        with store.transaction() as conn:  # stores made before the index had none
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {AUDIT_ACTION_INDEX.name} "
                                 f"ON {AUDIT_LOG.name} (action)")
        anchor = anchor_path(store)
        install(store, anchor)
        store.write_listeners.append(AuditListener())
        ensure_coverage(store, anchor)
    return store


def log_read(store: Store, actor: str | None, kind: str, ids: Iterable[str],
             fields: Iterable[str]) -> None:
    """Record that `actor` received personal data (`fields`) of records `ids`."""
    ids = list(ids)
    if not ids:
        return
    store.ensure_tables(AUDIT_TABLES)
    with store.transaction() as conn:
        append(conn, actor=actor, action="read_personal", kind=kind,
               record_id=ids[0] if len(ids) == 1 else None,
               detail={"ids": ids, "fields": sorted(fields)})


def log_event(store: Store, actor: str | None, action: str,
              detail: dict[str, Any] | None = None, *, kind: str | None = None,
              record_id: str | None = None, version: int | None = None) -> None:
    """An entry for something that is not a record write (a review note, a user change)."""
    store.ensure_tables(AUDIT_TABLES)
    with store.transaction() as conn:
        append(conn, actor=actor, action=action, kind=kind, record_id=record_id,
               version=version, detail=detail)


@dataclass
class VerifyReport:
    entries: int = 0
    records_checked: int = 0
    head: str = GENESIS
    last_seq: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checkpoint(self) -> str:
        """`SEQ:HASH` of the newest entry: keep it elsewhere, check later with --against."""
        return f"{self.last_seq}:{self.head}"


@dataclass
class _Audited:
    """A record's newest audited write: entry, digest after it, version after it."""

    seq: int
    after: str | None
    version: int | None


def verify(store: Store, *, expected_head: str | None = None,
           against: Sequence[Any] = (), anchor: Path | bool | None = True,
           check_records: bool = True, max_problems: int = 100) -> VerifyReport:
    """Walk the chain and check every link, then what it covers: records' current states,
    history, reviews and users (audit/coverage.py); then that the log still reaches every
    checkpoint in `against` and in the anchor file (`anchor`: True for the store's own,
    audit/anchor.py; a path; None or False for none)."""
    from mineaction.audit.anchor import Checkpoint, anchor_path, read_checkpoint_file
    from mineaction.audit.coverage import CoverageCheck

    report = VerifyReport()
    latest: dict[tuple[str, str], _Audited] = {}
    last_import: dict[str, int] = {}
    # Writes whose "before" differs from the last audited state while an import ran in
    # between: fine only if that import superseded the audited state (record history).
    deferred: list[tuple[int, str, str, _Audited]] = []
    coverage = CoverageCheck()
    checkpoints: list[tuple[Checkpoint, str]] = [(c, "checkpoint") for c in against]
    path = anchor_path(store) if anchor is True else (anchor or None)
    if path is not None:
        kept = read_checkpoint_file(Path(path))
        if kept is None:
            report.notes.append(f"no anchor file {path} yet")
        else:
            checkpoints.append((kept, f"anchor {path}"))
    watched = {c.seq: c for c, _ in checkpoints}
    seen: dict[int, str] = {}

    def problem(text: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(text)

    prev, expected_seq = GENESIS, 1
    with store.engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(
            sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.fid)).mappings()
        for row in rows:
            seq = row["fid"]
            if seq != expected_seq:
                problem(f"entry {expected_seq}" + (f"..{seq - 1}" if seq - 1 > expected_seq
                        else "") + " missing: entries were deleted")
            if row["prev_hash"] != prev:
                problem(f"entry {seq}: does not follow entry {seq - 1} (chain broken)")
            if chain_hash(row["prev_hash"], _payload(row)) != row["hash"]:
                problem(f"entry {seq}: content does not match its hash (entry edited)")
            prev, expected_seq = row["hash"], seq + 1
            if seq in watched:
                seen[seq] = row["hash"]
            report.entries += 1
            report.last_seq = seq
            coverage.entry(row, problem)
            kind, rid = row["record_kind"], row["record_id"]
            if row["action"] == "import":
                for k in (kind or "").split(","):
                    last_import[k] = seq
            elif row["action"] in RECORD_ACTIONS and kind and rid:
                known = latest.get((kind, rid))
                if (row["action"] != "create" and known is not None
                        and row["before_hash"] != known.after):
                    if known.seq < last_import.get(kind, 0):
                        deferred.append((seq, kind, rid, known))
                    else:
                        problem(f"entry {seq}: {kind} {rid} was changed outside the audit "
                                "trail before this write")
                latest[(kind, rid)] = _Audited(seq, row["after_hash"], row["version"])
    report.head = prev
    if expected_head is not None and expected_head != prev:
        problem(f"head is {prev}, expected {expected_head}: entries cut off the end?")
    for cp, source in checkpoints:
        if cp.seq == 0:
            continue
        if cp.seq > report.last_seq:
            problem(f"the log ends at entry {report.last_seq}, but {source} ({cp.seq}:"
                    f"{cp.hash[:12]}...) shows entry {cp.seq} existed: entries were cut off "
                    "the end or the log was emptied")
        elif seen.get(cp.seq) != cp.hash:
            problem(f"entry {cp.seq} is not the one {source} recorded: the log was "
                    "rewritten")
    coverage.check(store, problem)
    superseded = _SupersededLookup(store)
    for seq, kind, rid, known in deferred:
        if not superseded.matches(kind, rid, known):
            problem(f"entry {seq}: {kind} {rid} was changed outside the audit trail before "
                    "this write")
    if check_records:
        _check_records(store, latest, last_import, superseded, report, problem)
    return report


class _SupersededLookup:
    """Whether a record's audited state was kept in its history by a later import (the
    history is sealed by the chain, so it can be trusted once verified)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def matches(self, kind: str, rid: str, audited: _Audited) -> bool:
        hist = METADATA.tables["record_history"]
        if audited.version is None or audited.after is None:
            return False
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(hist.c.data, hist.c.action).where(
                hist.c.record_id == rid, hist.c.record_kind == kind,
                hist.c.version == audited.version,
                hist.c.action.in_(("import", "delete", "deleted"))))
            for data, action in rows:
                try:
                    state = json.loads(str(data))
                    if action == "deleted":  # a deletion a later import undid
                        state = tombstone_state(state["id"], state["version"],
                                                state["deleted_at"], state["deleted_by"])
                    if record_digest(state) == audited.after:
                        return True
                except ValueError:
                    continue
        return False


def _check_records(store: Store, latest: dict[tuple[str, str], _Audited],
                   last_import: dict[str, int], superseded: _SupersededLookup,
                   report: VerifyReport, problem: Any) -> None:
    by_kind: dict[str, dict[str, _Audited]] = {}
    for (kind, rid), audited in latest.items():
        if kind in ENTITIES:
            by_kind.setdefault(kind, {})[rid] = audited
    with store.engine.connect() as conn:
        for kind, expected in by_kind.items():
            ids = list(expected)
            stored = _stored_state(conn, kind, ids)
            for rid in ids:
                audited = expected[rid]
                report.records_checked += 1
                now = stored.get(rid)
                if now == audited.after and now is not None:
                    continue
                # A later import may have changed it: then its history kept the audited
                # state (the import's own result is covered by the import's entry only).
                if (audited.seq < last_import.get(kind, 0)
                        and superseded.matches(kind, rid, audited)):
                    continue
                if now is None:
                    problem(f"{kind} {rid}: removed from the store outside the audit trail")
                else:
                    problem(f"{kind} {rid}: stored content differs from its last audited "
                            "write (edited outside the audit trail)")
