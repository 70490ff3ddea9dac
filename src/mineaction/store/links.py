# SPDX-License-Identifier: GPL-3.0-or-later
"""Record linkage kept in the store (issue 17): which records are the same victim or
accident, how sure the model was, what a person decided, and the canonical entities that
follow.

- record_links: one row per candidate pair (a, b) of one kind. `scope` "release" pairs a
  stored record with a row of a later release of its dataset; "sources" pairs records of
  two datasets. `status`: accepted (the model was sure), review (between the thresholds:
  a person decides), confirmed or rejected (a person decided), split (refused because it
  would put two records of one source in one entity).
- link_decisions: every decision, with the status before and after, so that each one is
  audited and can be undone.
- canonical_members: for every record in an entity of two or more records, the entity's id
  and whether the record represents it. Statistics count a victim once by counting only
  representatives (records in no entity represent themselves). Derived: `rebuild` makes it
  again from the links, as facts.rebuild does for casualty_facts.
- linkage_runs: the thresholds and the model's parameters of each run, saved with the
  datasets they linked, so that a run can be repeated and explained.

Links that are accepted, confirmed or still in review join records into one entity: a pair
a person has not yet looked at is neither counted twice nor lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from mineaction.store.base import Store

TABLES = ("record_links", "link_decisions", "canonical_members", "linkage_runs")
JOINING = ("accepted", "review", "confirmed")  # statuses that make two records one entity
STATUSES = ("accepted", "review", "confirmed", "rejected", "split")


def define(metadata: sa.MetaData) -> None:
    from mineaction.store.schema import Timestamp  # schema builds its tables from here

    sa.Table(
        "record_links", metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),  # release, sources, manual
        sa.Column("a_id", sa.Text, nullable=False, index=True),
        sa.Column("b_id", sa.Text, nullable=False, index=True),
        sa.Column("a_dataset", sa.Text),
        sa.Column("b_dataset", sa.Text),
        sa.Column("probability", sa.Double),
        sa.Column("status", sa.Text, nullable=False, index=True),
        sa.Column("run_id", sa.Text),  # the import or linkage run that proposed it
        sa.Column("detail", sa.Text),  # JSON: fields that differ, the model's reasons
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", Timestamp()),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "link_decisions", metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("link_id", sa.Text, nullable=False, index=True),
        sa.Column("action", sa.Text, nullable=False),  # confirm, reject, merge, split, undo
        sa.Column("before_status", sa.Text),
        sa.Column("after_status", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", Timestamp(), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("undone", sa.Boolean, nullable=False, default=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "canonical_members", metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False, unique=True),
        sa.Column("canonical_id", sa.Text, nullable=False, index=True),
        sa.Column("dataset", sa.Text),
        sa.Column("representative", sa.Boolean, nullable=False),
        sa.Column("representative_dataset", sa.Text),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "linkage_runs", metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("datasets", sa.Text, nullable=False),  # JSON list
        sa.Column("upper", sa.Double, nullable=False),
        sa.Column("lower", sa.Double, nullable=False),
        sa.Column("rule", sa.Text),  # how a representative is chosen: newest, reliability
        sa.Column("model", sa.Text),  # JSON: the model's parameters
        sa.Column("counts", sa.Text),  # JSON: links per status
        sa.Column("started_at", Timestamp(), nullable=False),
        sa.Column("run_by", sa.Text),
        sqlite_autoincrement=True,
    )


def _table(name: str) -> sa.Table:
    from mineaction.store.schema import METADATA

    return METADATA.tables[name]


def now() -> datetime:
    return datetime.now(UTC)


def add_links(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Insert candidate links (kind, scope, a_id, b_id, a_dataset, b_dataset, probability,
    status, run_id, detail); returns their ids. A pair already linked keeps its row (and
    a person's decision on it): the model proposing it again changes nothing."""
    table = _table("record_links")
    out: list[str] = []
    stamp = now()
    batch: list[dict[str, Any]] = []
    for r in rows:
        link_id = str(uuid.uuid4())
        out.append(link_id)
        detail = r.get("detail")
        batch.append({**r, "id": link_id, "created_at": stamp,
                      "detail": json.dumps(detail) if detail is not None else None})
    if not batch:
        return out
    known = _known_pairs(conn, {(b["kind"], b["a_id"], b["b_id"]) for b in batch})
    fresh = [b for b in batch if (b["kind"], b["a_id"], b["b_id"]) not in known
             and (b["kind"], b["b_id"], b["a_id"]) not in known]
    if fresh:
        conn.execute(table.insert(), fresh)
    return [b["id"] for b in fresh]


def _known_pairs(conn: sa.Connection, pairs: set[tuple[str, str, str]]
                 ) -> set[tuple[str, str, str]]:
    table = _table("record_links")
    ids = sorted({p[1] for p in pairs} | {p[2] for p in pairs})
    known: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for kind, a, b in conn.execute(sa.select(table.c.kind, table.c.a_id, table.c.b_id)
                                       .where(table.c.a_id.in_(part))):
            known.add((str(kind), str(a), str(b)))
    return known


def decide(conn: sa.Connection, link_id: str, action: str, status: str, by: str | None,
           note: str | None = None) -> dict[str, Any]:
    """Set a link's status as a person decided, and record the decision (undoable)."""
    links = _table("record_links")
    row = conn.execute(sa.select(links).where(links.c.id == link_id)).mappings().first()
    if row is None:
        raise KeyError(link_id)
    stamp = now()
    conn.execute(links.update().where(links.c.id == link_id).values(
        status=status, decided_by=by, decided_at=stamp))
    conn.execute(_table("link_decisions").insert().values(
        link_id=link_id, action=action, before_status=row["status"], after_status=status,
        decided_by=by, decided_at=stamp, note=note, undone=False))
    return dict(row)


def undo(conn: sa.Connection, link_id: str, by: str | None, note: str | None = None) -> str:
    """Take back the latest decision on a link: its status returns to what it was before.
    Returns the status restored."""
    decisions = _table("link_decisions")
    last = conn.execute(
        sa.select(decisions).where(decisions.c.link_id == link_id,
                                   decisions.c.undone.is_(False),
                                   decisions.c.action != "undo")
        .order_by(decisions.c.fid.desc()).limit(1)).mappings().first()
    if last is None:
        raise LookupError(f"link {link_id} has no decision to undo")
    conn.execute(decisions.update().where(decisions.c.fid == last["fid"]).values(undone=True))
    before = str(last["before_status"])
    links = _table("record_links")
    stamp = now()
    conn.execute(links.update().where(links.c.id == link_id).values(
        status=before, decided_by=by, decided_at=stamp))
    conn.execute(decisions.insert().values(
        link_id=link_id, action="undo", before_status=last["after_status"],
        after_status=before, decided_by=by, decided_at=stamp, undone=False,
        note=f"undid {last['action']} of {last['decided_at']:%Y-%m-%d %H:%M}"
        + (f": {note}" if note else "")))
    return before


def rebuild(store: Store, conn: sa.Connection, kind: str,
            rank: dict[str, int] | None = None) -> int:
    """Make canonical_members of `kind` again from its joining links: connected components
    (union-find), each with one representative, the record of the best-ranked dataset
    (`rank`: dataset -> lower is better, e.g. by source reliability), then the most
    recently updated. Returns the number of entities of two or more records."""
    from mineaction.store.schema import entity_table

    links = _table("record_links")
    members = _table("canonical_members")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in conn.execute(sa.select(links.c.a_id, links.c.b_id).where(
            links.c.kind == kind, links.c.status.in_(JOINING))):
        parent.setdefault(str(a), str(a))
        parent.setdefault(str(b), str(b))
        ra, rb = find(str(a)), find(str(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    conn.execute(members.delete().where(members.c.kind == kind))
    if not parent:
        return 0
    groups: dict[str, list[str]] = {}
    for record in list(parent):
        groups.setdefault(find(record), []).append(record)
    table = entity_table(kind)
    info: dict[str, tuple[str | None, Any]] = {}
    ids = [r for g in groups.values() for r in g]
    for start in range(0, len(ids), 500):
        for rid, dataset, updated in conn.execute(
                sa.select(table.c.id, table.c.dataset, table.c.updated_at)
                .where(table.c.id.in_(ids[start:start + 500]))):
            info[str(rid)] = (None if dataset is None else str(dataset), updated)
    rank = rank or {}
    rows: list[dict[str, Any]] = []
    for group in groups.values():
        present = [r for r in group if r in info]  # deleted records drop out
        if len(present) < 2:
            continue
        best = min(present, key=lambda r: (
            rank.get(str(info[r][0]), 1_000), -_stamp(info[r][1]), r))
        canonical = min(present)
        for r in present:
            rows.append({"kind": kind, "record_id": r, "canonical_id": canonical,
                         "dataset": info[r][0], "representative": r == best,
                         "representative_dataset": info[best][0]})
    for start in range(0, len(rows), 5000):
        conn.execute(members.insert(), rows[start:start + 5000])
    return len({r["canonical_id"] for r in rows})


def _stamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


def pending_release_records(conn: sa.Connection, dataset: str) -> set[str]:
    """Stored records of `dataset` that a later release's row may revise, a person not yet
    having decided: no import deletes them meanwhile."""
    table = _table("record_links")
    return {str(r[0]) for r in conn.execute(sa.select(table.c.a_id).where(
        table.c.scope == "release", table.c.status == "review",
        table.c.a_dataset == dataset))}


def not_representative(kind: str, id_column: Any, dataset: str | None = None) -> Any:
    """SQL condition: `id_column` is no record that another record represents. With a
    dataset, only representatives within that dataset count against it (a source's own
    count keeps records another source also has)."""
    members = _table("canonical_members")
    # NOT EXISTS, not NOT IN: a few rows (a site check's) each look their id up in
    # record_id's unique index, where NOT IN built a hash of every member first; many
    # rows (statistics) get an anti-join (issue 20)
    hidden = sa.exists().where(members.c.record_id == id_column, members.c.kind == kind,
                               members.c.representative.is_(False))
    if dataset is not None:
        hidden = hidden.where(members.c.representative_dataset == dataset)
    return ~hidden


def record_run(conn: sa.Connection, *, kind: str, scope: str, datasets: Sequence[str],
               upper: float, lower: float, rule: str | None, model: dict[str, Any] | None,
               counts: dict[str, int], by: str | None, run_id: str | None = None) -> str:
    run_id = run_id or str(uuid.uuid4())
    conn.execute(_table("linkage_runs").insert().values(
        id=run_id, kind=kind, scope=scope, datasets=json.dumps(list(datasets)), upper=upper,
        lower=lower, rule=rule, model=json.dumps(model) if model is not None else None,
        counts=json.dumps(counts), started_at=now(), run_by=by))
    return run_id
