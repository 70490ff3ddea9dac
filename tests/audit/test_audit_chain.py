"""The audit trail is hash-chained: edits, deletions or insertions of entries, and records
edited directly in the database (not through mineaction), are all caught by verify."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from mineaction.audit.log import verify
from mineaction.audit.schema import AUDIT_LOG
from mineaction.domain.models import Accident
from mineaction.store import Store
from mineaction.store.gpkg import register_functions


def _raw(store: Store) -> Callable[[str, tuple[Any, ...]], None]:
    """Run SQL on the store's file or database directly, as someone bypassing mineaction."""
    if store.dialect == "gpkg":
        def run(sql: str, params: tuple[Any, ...] = ()) -> None:
            with sqlite3.connect(store.location) as conn:
                register_functions(conn)  # as GDAL/QGIS register theirs for the R-tree
                conn.execute(sql, params)
    else:
        def run(sql: str, params: tuple[Any, ...] = ()) -> None:
            with psycopg.connect(store.location, autocommit=True) as conn:
                conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
    return run


def _history(store: Store) -> Accident:
    rec = store.add(Accident(narrative="one"), by="alice")
    rec = store.update(rec.model_copy(update={"narrative": "two"}), expected_version=1,
                       by="bob")
    other = store.add(Accident(narrative="other"), by="alice")
    store.delete("accident", other.id, by="carol")
    return rec  # type: ignore[return-value]


def test_clean_chain_verifies(store: Store) -> None:
    _history(store)
    report = verify(store)
    assert report.ok, report.problems
    assert report.entries == 5 and report.records_checked == 2
    with store.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(sa.select(AUDIT_LOG.c.action)
                                              .order_by(AUDIT_LOG.c.fid))]
    # The coverage baseline first; an update or delete seals the history row it kept in
    # its own entry.
    assert actions == ["audit_coverage", "create", "update", "create", "delete"]


@pytest.mark.parametrize("tamper", ["edit_entry", "delete_entry", "edit_record",
                                    "delete_record", "reorder"])
def test_tampering_is_caught(store: Store, tamper: str) -> None:
    rec = _history(store)
    run = _raw(store)
    if tamper == "edit_entry":
        run("UPDATE audit_log SET actor = ? WHERE fid = ?", ("mallory", 3))
        expected = "entry 3: content does not match"
    elif tamper == "delete_entry":
        run("DELETE FROM audit_log WHERE fid = ?", (3,))
        expected = "entry 3 missing"
    elif tamper == "edit_record":
        run("UPDATE accidents SET narrative = ? WHERE id = ?", ("forged", str(rec.id)))
        expected = "edited outside the audit trail"
    elif tamper == "delete_record":
        run("DELETE FROM accidents WHERE id = ?", (str(rec.id),))
        expected = "removed from the store outside the audit trail"
    else:  # recompute one entry's hash to hide an edit: the next link breaks
        run("UPDATE audit_log SET hash = ? WHERE fid = ?", ("f" * 64, 1))
        expected = "entry 2: does not follow entry 1"
    report = verify(store)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_laundering_a_direct_edit_through_a_later_write_is_caught(store: Store) -> None:
    rec = _history(store)
    _raw(store)("UPDATE accidents SET narrative = ? WHERE id = ?", ("forged", str(rec.id)))
    current = store.get("accident", rec.id)
    store.update(current.model_copy(update={"narrative": "three"}), expected_version=2)
    report = verify(store)
    assert any("changed outside the audit trail before this write" in p
               for p in report.problems), report.problems


def test_cutting_the_tail_needs_the_kept_head(store: Store) -> None:
    _history(store)
    head = verify(store).head
    _raw(store)("DELETE FROM audit_log WHERE fid = ?", (5,))
    assert verify(store, expected_head=head, anchor=None).ok is False
