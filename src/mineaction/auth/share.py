"""A copy of a GeoPackage store fit to give to someone (issue 15, 10): `mineaction share`.

The store file itself holds what no partner should receive: users with their password
hashes, session and token hashes, the audit trail (who read which victim), review notes,
past versions of records, import jobs and flags. The copy has the records, their links and
sources, the import runs and the statistics tables, with:

- every personal field of every kind (`personal_fields()` of the domain models: victims'
  names, birth dates, contacts, addresses, ethnic group) emptied;
- who created, changed or deleted each record (usernames) emptied;
- the tables of users, credentials, the audit trail, history, reviews and import jobs and
  flags dropped, with any trigger that names them;
- the file rewritten (VACUUM, secure_delete), so nothing removed is left in free pages.

The copy is made with SQLite's online backup (consistent while the server runs) into a
temporary file beside OUT, which replaces OUT only once complete.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from mineaction.audit.schema import AUDIT_TABLES
from mineaction.auth.schema import AUTH_TABLES
from mineaction.domain.models import ENTITIES
from mineaction.store.base import Store
from mineaction.store.gpkg import register_functions

# Store tables that hold personal data or who did what, beyond the auth and audit ones.
# The server's own working tables (services/: certificates issued, priority lists and season
# plans built) name who made them: left out too. tests/test_share_tables.py checks that
# every unlisted table with a who-column is in one of these lists.
STORE_TABLES_LEFT_OUT = ("record_history", "import_flags", "site_certificates",
                         "priority_lists", "season_plans", "saved_searches", "user_languages")
WHO_COLUMNS = ("created_by", "updated_by")


class ShareError(Exception):
    """A shareable copy that cannot be made (not a GeoPackage store, OUT is the store)."""


@dataclass
class ShareReport:
    dropped: list[str] = field(default_factory=list)
    emptied: dict[str, list[str]] = field(default_factory=dict)  # table -> columns


def left_out_tables() -> list[str]:
    return sorted({*(t.name for t in (*AUTH_TABLES, *AUDIT_TABLES)), *STORE_TABLES_LEFT_OUT})


def personal_columns() -> dict[str, list[str]]:
    """Per table, the columns emptied in the copy: personal fields and who wrote."""
    out: dict[str, list[str]] = {}
    for model in ENTITIES.values():
        cols = sorted(model.personal_fields() | set(WHO_COLUMNS))
        out.setdefault(model.table, [])
        out[model.table] = sorted({*out[model.table], *cols})
    out["deleted_records"] = ["deleted_by"]  # who deleted what
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def share_copy(store: Store, out: Path) -> ShareReport:
    if store.dialect != "gpkg":
        raise ShareError("share copies a GeoPackage store; from PostGIS, export what is "
                         "to be shared with `mineaction export`")
    source = Path(store.location).resolve()
    out = Path(out)
    if out.resolve() == source:
        raise ShareError("OUT is the store itself")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    report = ShareReport()
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        register_functions(dst)  # the R-tree triggers call ST_IsEmpty and friends
        try:
            src.backup(dst)
        finally:
            src.close()
        try:
            _scrub(dst, report)
        finally:
            dst.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return report


def _scrub(db: sqlite3.Connection, report: ShareReport) -> None:
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA secure_delete = ON")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    drop = [t for t in left_out_tables() if t in tables]
    with db:
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = "
                                    "'trigger'").fetchall():
            if any(re.search(rf"\b{re.escape(t)}\b", sql or "") for t in drop):
                db.execute(f"DROP TRIGGER {_quote(name)}")
        for t in drop:
            db.execute(f"DROP TABLE {_quote(t)}")
            for meta in ("gpkg_contents", "gpkg_ogr_contents", "gpkg_extensions",
                         "gpkg_geometry_columns"):
                if meta in tables:
                    db.execute(f"DELETE FROM {meta} WHERE table_name = ?", (t,))
        report.dropped = drop
        for table, wanted in personal_columns().items():
            if table not in tables:
                continue
            have = {r[1] for r in db.execute(f"PRAGMA table_info({_quote(table)})")}
            cols = [c for c in wanted if c in have]
            if cols:
                db.execute(f"UPDATE {_quote(table)} SET "
                           + ", ".join(f"{_quote(c)} = NULL" for c in cols))
                report.emptied[table] = cols
    db.execute("VACUUM")
