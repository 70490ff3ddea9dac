"""What the chain covers besides the records (issue 15): record history, review notes and
users, whoever writes them.

Hooked on the store's engine (`install`), so every write to these tables made through
SQLAlchemy is chained inside its own transaction, whatever module made it:

- `record_history` and `record_reviews` are append-only: the rows a transaction adds are
  *sealed* (their fids and a SHA-256 of their content, `sealed` in an entry's detail) by
  the next entry it appends (log.append), or by a "seal" entry at commit if it appends
  none after them. `verify` recomputes every seal; a row edited, removed or added outside
  a sealed transaction shows.
- `users`: each statement that changes it appends a "users" entry with the changed users
  before and after (username, role, organisation, disabled and a digest of the whole row,
  password hash included). `verify` replays them and compares with the table.

Rows that existed before the chain covered them are sealed once by an "audit_coverage"
baseline (`ensure_coverage`), which is never repeated: a log without it while the store
holds users, history or reviews was emptied.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import Insert, UpdateBase

from mineaction.audit.anchor import Checkpoint, read_checkpoint_file, write_anchor
from mineaction.audit.log import (
    ADVISORY_KEY,
    HEAD_KEY,
    MARKS_KEY,
    append,
    canonical,
    row_digest,
    seal_rows,
)
from mineaction.audit.schema import AUDIT_LOG
from mineaction.store.base import Store
from mineaction.store.schema import METADATA

SEALED_TABLES = ("record_history", "record_reviews")
USERS_TABLE = "users"  # auth/schema.py's USERS, found by name: audit sits below auth
USER_FIELDS = ("username", "role", "organisation_id", "disabled")
COVERAGE = "audit_coverage"
_USERS_BEFORE = "mineaction_audit_users"  # conn.info: users before the running statement

Problem = Callable[[str], None]


def _table(name: str) -> sa.Table | None:
    return METADATA.tables.get(name)


def _has_table(conn: sa.Connection, name: str) -> bool:
    return _table(name) is not None and sa.inspect(conn).has_table(name)


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_KEY})")


# -- users -----------------------------------------------------------------------------------
def users_state(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Each user by id: the fields that matter, and a digest of the whole row."""
    table = METADATA.tables[USERS_TABLE]
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(table).order_by(table.c.fid)).mappings():
        state = {k: row[k] for k in USER_FIELDS}
        state["disabled"] = bool(state["disabled"])
        state["digest"] = hashlib.sha256(canonical(dict(row)).encode()).hexdigest()
        out[str(row["id"])] = state
    return out


def users_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {uid: {"before": before.get(uid), "after": after.get(uid)}
            for uid in sorted(set(before) | set(after)) if before.get(uid) != after.get(uid)}


# -- the hooks -------------------------------------------------------------------------------
def _dml_table(clause: Any) -> str | None:
    if isinstance(clause, UpdateBase):
        return getattr(clause.table, "name", None)
    return None


def install(store: Store, anchor: Path | None) -> None:
    """Hook the engine of `store` (once per store object)."""
    engine = store.engine

    def before_execute(conn: sa.Connection, clause: Any, *args: Any) -> None:
        name = _dml_table(clause)
        if name in SEALED_TABLES and isinstance(clause, Insert):
            marks = conn.info.setdefault(MARKS_KEY, {})
            if name not in marks:
                table = METADATA.tables[name]
                marks[name] = conn.execute(sa.select(sa.func.max(table.c.fid))).scalar() or 0
        elif name == USERS_TABLE:
            _lock(conn)  # users' writes serialised: a snapshot sees no one else's change
            conn.info[_USERS_BEFORE] = users_state(conn)

    def after_execute(conn: sa.Connection, clause: Any, *args: Any) -> None:
        if _dml_table(clause) == USERS_TABLE:
            before = conn.info.pop(_USERS_BEFORE, {})
            changes = users_changes(before, users_state(conn))
            if changes:
                append(conn, actor=None, action="users", kind="user",
                       detail={"users": changes})

    def on_commit(conn: sa.Connection) -> None:
        if conn.info.get(MARKS_KEY):  # rows added after the transaction's last entry
            append(conn, actor=None, action="seal")
        head = conn.info.pop(HEAD_KEY, None)
        if head is not None and anchor is not None:
            write_anchor(anchor, Checkpoint(*head))

    def forget(conn: sa.Connection) -> None:
        for key in (MARKS_KEY, _USERS_BEFORE, HEAD_KEY):
            conn.info.pop(key, None)

    sa.event.listen(engine, "before_execute", before_execute)
    sa.event.listen(engine, "after_execute", after_execute)
    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", forget)
    sa.event.listen(engine, "begin", forget)


def ensure_coverage(store: Store, anchor: Path | None) -> None:
    """Seal what existed before the chain covered history, reviews and users: once. Not
    on a log that was emptied (it is empty while users, history or reviews exist) or cut
    back before its anchor: `verify` reports those instead of a new baseline hiding them."""
    with store.transaction() as conn:
        _lock(conn)
        done = conn.execute(sa.select(AUDIT_LOG.c.fid).where(AUDIT_LOG.c.action == COVERAGE)
                            .limit(1)).first()
        if done is not None:
            return
        last = conn.execute(sa.select(sa.func.max(AUDIT_LOG.c.fid))).scalar() or 0
        kept = read_checkpoint_file(anchor) if anchor is not None else None
        if kept is not None and kept.seq > last:
            return
        present = [n for n in (*SEALED_TABLES, USERS_TABLE) if _has_table(conn, n)]
        if last == 0 and any(
                conn.execute(sa.select(sa.literal(1)).select_from(METADATA.tables[n])
                             .limit(1)).first() for n in present):
            return
        if USERS_TABLE in present:
            changes = users_changes({}, users_state(conn))
            if changes:
                append(conn, actor=None, action="users", kind="user", detail={"users": changes})
        seals = {name: seal_rows(conn, name, 0, own_only=False)
                 for name in SEALED_TABLES if name in present}
        append(conn, actor=None, action=COVERAGE,
               detail={"covers": [*SEALED_TABLES, USERS_TABLE], "version": 1,
                       "sealed": {k: v for k, v in seals.items() if v is not None}})


# -- verification ----------------------------------------------------------------------------
@dataclass
class _Seal:
    seq: int
    runs: list[list[int]]
    rows: int
    digest: str
    seen: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)


@dataclass
class CoverageCheck:
    """Fed the chain's entries in order by `verify`, then checks the tables."""

    covered_from: int | None = None
    seals: dict[str, list[_Seal]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, row: Any, problem: Problem) -> None:
        action = row["action"]
        if row["detail"] and '"sealed":' in row["detail"]:
            for name, found in (_detail(row).get("sealed") or {}).items():
                if name in SEALED_TABLES and isinstance(found, dict):
                    self.seals.setdefault(name, []).append(
                        _Seal(row["fid"], found.get("runs") or [],
                              int(found.get("rows") or 0), str(found.get("digest"))))
        if action == COVERAGE:
            self.covered_from = self.covered_from or row["fid"]
        elif action == "users":
            for uid, change in (_detail(row).get("users") or {}).items():
                if self.users.get(uid) != change.get("before"):
                    who = (change.get("before") or change.get("after") or {}).get("username")
                    problem(f"entry {row['fid']}: user {who} was changed outside the audit "
                            "trail before this write")
                if change.get("after") is None:
                    self.users.pop(uid, None)
                else:
                    self.users[uid] = change["after"]

    def check(self, store: Store, problem: Problem) -> None:
        with store.engine.connect() as conn:
            present = {n: _has_table(conn, n) for n in (*SEALED_TABLES, USERS_TABLE)}
            if self.covered_from is None:
                held = {n: conn.execute(sa.select(sa.func.count()).select_from(
                    METADATA.tables[n])).scalar() or 0 for n in present if present[n]}
                if any(held.values()):
                    what = ", ".join(_rows(v) + f" in {k}" for k, v in held.items() if v)
                    problem(f"the audit trail has no coverage entry, yet the store holds {what}:"
                            " the audit log was emptied or replaced")
                return
            for name in SEALED_TABLES:
                if present[name]:
                    self._check_sealed(conn, name, problem)
            if present[USERS_TABLE]:
                self._check_users(conn, problem)

    def _check_sealed(self, conn: sa.Connection, name: str, problem: Problem) -> None:
        table = METADATA.tables[name]
        spans = sorted(((start, end, s) for s in self.seals.get(name, [])
                        for start, end in s.runs), key=lambda span: span[0])
        starts = [span[0] for span in spans]
        unsealed: list[int] = []
        rows = conn.execution_options(yield_per=5000).execute(
            sa.select(table).order_by(table.c.fid))
        for row in rows:
            i = bisect.bisect_right(starts, row.fid) - 1
            if i >= 0 and row.fid <= spans[i][1]:
                s = spans[i][2]
                s.seen += 1
                row_digest(s.hasher, row)
            else:
                unsealed.append(row.fid)
        if unsealed:
            shown = ", ".join(map(str, unsealed[:10])) + (" ..." if len(unsealed) > 10 else "")
            problem(f"{name}: {_rows(len(unsealed))} added outside the audit trail "
                    f"(fid {shown})")
        for s in self.seals.get(name, []):
            if s.seen != s.rows or s.hasher.hexdigest() != s.digest:
                problem(f"entry {s.seq}: {name} rows {_runs_text(s.runs)} were edited or "
                        "removed outside the audit trail")

    def _check_users(self, conn: sa.Connection, problem: Problem) -> None:
        now = users_state(conn)
        for uid in sorted(set(now) | set(self.users)):
            was, cur = self.users.get(uid), now.get(uid)
            if was == cur:
                continue
            if was is None:
                assert cur is not None
                problem(f"user {cur['username']} ({cur['role']}) was added outside the audit "
                        "trail")
            elif cur is None:
                problem(f"user {was['username']} was removed outside the audit trail")
            else:
                changed = [f"{k} {was[k]!r} -> {cur[k]!r}" for k in USER_FIELDS
                           if was[k] != cur[k]] or ["password hash or timestamps"]
                problem(f"user {was['username']} was changed outside the audit trail: "
                        + ", ".join(changed))


def _detail(row: Any) -> dict[str, Any]:
    import json

    try:
        value = json.loads(row["detail"] or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _runs_text(runs: list[list[int]]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in runs)
