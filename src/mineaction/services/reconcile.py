# SPDX-License-Identifier: GPL-3.0-or-later
"""One person counted once (issue 17): linking the victims and accidents that several
sources (datasets) report, the review queue where a person confirms, rejects, merges or
splits, and the canonical entities statistics count.

The linkage itself is mineaction.linkage (Splink on DuckDB); the links, decisions and
entities are kept by store/links.py. Here: who may do what, the records each side shows
(through access/, like every other read), and the frames the linkage reads.

Who: running a linkage and deciding are for those who review records (approvers and
administrators, `may_review`); each decision is written to the audit trail and can be
undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mineaction.access.roles import Policy, Principal, may_review
from mineaction.access.visibility import Access, personal_fields
from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.services.errors import Conflict, Forbidden, Invalid, NotFoundError
from mineaction.services.records import Records, log_personal_read
from mineaction.store import links as linkstore
from mineaction.store.base import Store, WriteEvent
from mineaction.store.errors import NotFound
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, entity_table

KINDS = ("victim", "accident")
ACTIONS = {"confirm": "confirmed", "reject": "rejected"}
# What each side of a pair shows in the queue: the fields the linkage compares.
SHOWN = {
    "victim": ("dataset", "external_id", "accident_date", "date_precision",
               "admin_area_pcode", "place_name", "outcome", "sex", "age", "age_band", "role",
               "activity"),
    "accident": ("dataset", "external_id", "accident_date", "date_precision",
                 "admin_area_pcode", "place_name", "accident_kind", "device_category",
                 "narrative"),
}


@dataclass
class RunSummary:
    run_id: str
    kind: str
    datasets: list[str]
    counts: dict[str, int]
    entities: int
    notes: list[str] = field(default_factory=list)


class Reconciliation:
    def __init__(self, store: Store, policy: Policy, public_decimals: int = 1,
                 records: Records | None = None) -> None:
        self.store = store
        # Who sees what is the records service's (one policy for the whole server).
        self.records = records or Records(store, policy, public_decimals)

    def _access(self, p: Principal) -> Access:
        return self.records.access(p)

    def _reviewer(self, p: Principal) -> None:
        if not may_review(p):
            raise Forbidden("linking records and deciding on links is for approvers and "
                            "administrators")

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise Invalid(f"records of kind {kind!r} are not linked; choose "
                          f"{' or '.join(KINDS)}")
        return kind

    # -- frames the linkage reads ----------------------------------------------------------
    def frame(self, access: Access, kind: str, dataset: str) -> Any:
        """A dataset's current records of `kind` that `access` lets its principal read, as
        the linkage compares them: a victim with its accident's date, place and
        coordinates beside its own fields."""
        import pandas as pd

        records = self.store.read_frame(Query(kind=kind, dataset=dataset, limit=None,
                                              visible=access.rows(kind)))
        if kind == "victim" and len(records):
            accidents = self.store.read_frame(Query(
                kind="accident", ids=tuple({str(a) for a in records["accident_id"]
                                            if a is not None}), limit=None,
                visible=access.rows("accident")))
            keep = ["id", "accident_date", "date_precision", "admin_area_pcode",
                    "place_name", "geometry"]
            accidents = accidents[[c for c in keep if c in accidents.columns]].rename(
                columns={"id": "accident_id"})
            records = records.merge(accidents, on="accident_id", how="left")
        geom = geometry_column(ENTITIES["accident"])
        name = geom.name if geom is not None else "geometry"
        if name in records.columns:
            points = records[name]
            records["longitude"] = [g.x if g is not None and not g.is_empty else None
                                    for g in points]
            records["latitude"] = [g.y if g is not None and not g.is_empty else None
                                   for g in points]
            records = records.drop(columns=[name])
        return pd.DataFrame(records)

    # -- linking sources -----------------------------------------------------------------
    def run(self, p: Principal, kind: str, datasets: list[str], *, upper: float = 0.95,
            lower: float = 0.6, rule: str = "newest", reliability: list[str] | None = None
            ) -> RunSummary:
        """Link the records of `kind` across `datasets` (two or more): accepted links above
        `upper`, the review queue between `lower` and `upper`. The run's thresholds and
        model are saved with it; earlier decisions on a pair stand."""
        from mineaction.linkage.sources import link_sources

        self._reviewer(p)
        self._kind(kind)
        if len(set(datasets)) < 2:
            raise Invalid("link at least two datasets (sources)")
        if not 0 <= lower <= upper <= 1:
            raise Invalid(f"thresholds: 0 <= lower <= upper <= 1, not {lower}, {upper}")
        access = self._access(p)
        frames = {d: self.frame(access, kind, d) for d in dict.fromkeys(datasets)}
        empty = [d for d, f in frames.items() if not len(f)]
        if empty:
            raise Invalid(f"no {kind} records in dataset(s) {', '.join(empty)}")
        # The linkage names its working tables after the sources: plain names there
        # ("aicma-victims" is no SQL identifier), the datasets' own names here.
        plain = {f"s{i}": d for i, d in enumerate(frames)}
        links = link_sources({k: frames[d] for k, d in plain.items()}, kind, upper=upper,
                             lower=lower)
        rows: list[dict[str, Any]] = []
        for r in links.links.itertuples(index=False):
            rows.append({"kind": kind, "scope": "sources", "a_id": str(r.id_l),
                         "b_id": str(r.id_r), "a_dataset": plain[str(r.source_l)],
                         "b_dataset": plain[str(r.source_r)],
                         "probability": float(r.probability), "status": str(r.status)})
        counts: dict[str, int] = {}
        for r in rows:
            counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
        rank = {d: i for i, d in enumerate(reliability or [])}
        with self.store.transaction() as conn:
            run_id = linkstore.record_run(
                conn, kind=kind, scope="sources", datasets=list(frames), upper=upper,
                lower=lower, rule=rule, model=links.model, counts=counts, by=p.username)
            for r in rows:
                r["run_id"] = run_id
            linkstore.add_links(conn, rows)
            entities = linkstore.rebuild(self.store, conn, kind, rank)
            self.store.notify(conn, WriteEvent("link", kind, None, None, p.username, summary={
                "run_id": run_id, "datasets": list(frames), "counts": counts,
                "upper": upper, "lower": lower}))
        return RunSummary(run_id, kind, list(frames), counts, entities, list(links.notes))

    # -- the review queue ----------------------------------------------------------------
    def queue(self, p: Principal, kind: str | None = None, status: str = "review",
              limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Links of `status`, most doubtful first, each with both records as `p` may see
        them (fields the linkage compares)."""
        self._reviewer(p)
        table = METADATA.tables["record_links"]
        cond = [table.c.status == status]
        if kind is not None:
            cond.append(table.c.kind == self._kind(kind))
        with self.store.engine.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                     .where(*cond)).scalar() or 0)
            rows = [dict(r) for r in conn.execute(
                sa.select(table).where(*cond)
                .order_by(sa.func.abs(table.c.probability - 0.5), table.c.fid)
                .limit(limit).offset(offset)).mappings()]
        return [self._shown(p, r) for r in rows], total

    def link(self, p: Principal, link_id: str) -> dict[str, Any]:
        self._reviewer(p)
        return self._shown(p, self._row(link_id))

    def _row(self, link_id: str) -> dict[str, Any]:
        table = METADATA.tables["record_links"]
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == link_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no link {link_id}")
        return dict(row)

    def _shown(self, p: Principal, row: dict[str, Any]) -> dict[str, Any]:
        kind = str(row["kind"])
        access = self._access(p)
        sides = {}
        for side in ("a", "b"):
            sides[side] = self._record(access, kind, str(row[f"{side}_id"]))
        return {"id": row["id"], "kind": kind, "scope": row["scope"],
                "probability": row["probability"], "status": row["status"],
                "decided_by": row["decided_by"],
                "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
                "detail": json.loads(row["detail"]) if row["detail"] else None,
                "a": sides["a"], "b": sides["b"], "shown": list(SHOWN[kind])}

    def _record(self, access: Access, kind: str, record_id: str) -> dict[str, Any] | None:
        """One side of a pair, as the reviewer may see it; None if deleted or not theirs."""
        # Only what is shown is read: a personal field read is a logged read of it.
        unshown = personal_fields(kind) - set(SHOWN[kind])
        rows, _ = self.store.query_rows(Query(kind=kind, ids=(record_id,), limit=1,
                                              visible=access.rows(kind)),
                                        omit=access.hidden(kind) | unshown)
        if not rows:
            return None
        row = rows[0]
        if kind == "victim" and row.get("accident_id"):
            acc, _ = self.store.query_rows(Query(kind="accident", ids=(str(row["accident_id"]),),
                                                 limit=1, visible=access.rows("accident")),
                                           omit=access.hidden("accident"))
            if acc:
                for name in ("accident_date", "date_precision", "admin_area_pcode",
                             "place_name"):
                    row[name] = acc[0].get(name)
        log_personal_read(self.store, access, kind, [row])
        shown = access.present(kind, row)
        return {"id": record_id, **{k: shown.get(k) for k in SHOWN[kind]}}

    # -- decisions -----------------------------------------------------------------------
    def decide(self, p: Principal, link_id: str, action: str, note: str | None = None
               ) -> dict[str, Any]:
        """confirm (the same person or accident) or reject (not the same)."""
        self._reviewer(p)
        if action not in ACTIONS:
            raise Invalid(f"action {action!r}: choose {' or '.join(ACTIONS)}")
        row = self._row(link_id)
        with self.store.transaction() as conn:
            linkstore.decide(conn, link_id, action, ACTIONS[action], p.username, note)
            self._after_decision(conn, p, row, action)
        if action == "confirm" and row["scope"] == "release":
            self._revise(p, str(row["kind"]), str(row["a_id"]), str(row["b_id"]))
        return self.link(p, link_id)

    def _revise(self, p: Principal, kind: str, old_id: str, new_id: str) -> None:
        """A release's row confirmed as the revision of a stored record: the record takes
        the row's content (one more version in its history, its id kept) and the row's own
        record is deleted (its history says why). The link stays, confirmed."""
        model = ENTITIES[kind]
        try:
            old = self.store.get(kind, old_id)
            new = self.store.get(kind, new_id)
        except NotFound:
            return  # one side already gone (deleted or revised meanwhile): nothing to fold
        kept = {"id", "version", "created_at", "created_by", "status"}
        content = {name: getattr(new, name) for name in model.model_fields if name not in kept}
        # The row's record goes first: the two share (dataset, external_id) once revised.
        self.store.delete(kind, new_id, by=p.username)
        self.store.update(old.model_copy(update=content), expected_version=old.version,
                          by=p.username)
        with self.store.transaction() as conn:
            linkstore.rebuild(self.store, conn, kind)

    def merge(self, p: Principal, kind: str, a_id: str, b_id: str, note: str | None = None
              ) -> dict[str, Any]:
        """Say that two records the model did not pair are the same: a confirmed link."""
        self._reviewer(p)
        self._kind(kind)
        if a_id == b_id:
            raise Invalid("a record is already itself")
        access = self._access(p)
        datasets = {}
        for rid in (a_id, b_id):
            shown = self._record(access, kind, rid)
            if shown is None:
                raise NotFoundError(f"no {kind} with id {rid}")
            datasets[rid] = shown["dataset"]
        with self.store.transaction() as conn:
            ids = linkstore.add_links(conn, [{
                "kind": kind, "scope": "manual", "a_id": a_id, "b_id": b_id,
                "a_dataset": datasets[a_id], "b_dataset": datasets[b_id], "probability": None,
                "status": "review"}])
            if not ids:  # the pair is linked already: confirm that link
                ids = [self._pair_link(conn, kind, a_id, b_id)]
            linkstore.decide(conn, ids[0], "merge", "confirmed", p.username, note)
            self._after_decision(conn, p, {"id": ids[0], "kind": kind, "a_id": a_id,
                                           "b_id": b_id}, "merge")
        return self.link(p, ids[0])

    def split(self, p: Principal, kind: str, record_id: str, note: str | None = None
              ) -> list[str]:
        """Take a record out of its entity: every link that joins it is rejected (each an
        undoable decision). Returns the links rejected."""
        self._reviewer(p)
        self._kind(kind)
        table = METADATA.tables["record_links"]
        with self.store.transaction() as conn:
            ids = [str(r[0]) for r in conn.execute(sa.select(table.c.id).where(
                table.c.kind == kind, table.c.status.in_(linkstore.JOINING),
                sa.or_(table.c.a_id == record_id, table.c.b_id == record_id)))]
            if not ids:
                raise Conflict(f"{kind} {record_id} is in no entity of several records")
            for link_id in ids:
                linkstore.decide(conn, link_id, "split", "rejected", p.username, note)
            self._after_decision(conn, p, {"id": ",".join(ids), "kind": kind,
                                           "a_id": record_id, "b_id": None}, "split")
        return ids

    def undo(self, p: Principal, link_id: str, note: str | None = None) -> dict[str, Any]:
        self._reviewer(p)
        row = self._row(link_id)
        with self.store.transaction() as conn:
            try:
                linkstore.undo(conn, link_id, p.username, note)
            except LookupError as exc:
                raise Conflict(str(exc)) from None
            self._after_decision(conn, p, row, "undo")
        return self.link(p, link_id)

    @staticmethod
    def _pair_link(conn: sa.Connection, kind: str, a_id: str, b_id: str) -> str:
        table = METADATA.tables["record_links"]
        found = conn.execute(sa.select(table.c.id).where(table.c.kind == kind, sa.or_(
            sa.and_(table.c.a_id == a_id, table.c.b_id == b_id),
            sa.and_(table.c.a_id == b_id, table.c.b_id == a_id)))).scalar()
        return str(found)

    def _after_decision(self, conn: sa.Connection, p: Principal, row: dict[str, Any],
                        action: str) -> None:
        kind = str(row["kind"])
        linkstore.rebuild(self.store, conn, kind)
        self.store.notify(conn, WriteEvent("link", kind, None, None, p.username, summary={
            "action": action, "link": row["id"], "a": row.get("a_id"), "b": row.get("b_id")}))

    # -- entities ------------------------------------------------------------------------
    def entity(self, p: Principal, kind: str, record_id: str) -> list[dict[str, Any]]:
        """The records of the entity `record_id` belongs to (itself alone if none), the
        representative first."""
        self._reviewer(p)
        members = METADATA.tables["canonical_members"]
        with self.store.engine.connect() as conn:
            canonical = conn.execute(sa.select(members.c.canonical_id).where(
                members.c.kind == self._kind(kind), members.c.record_id == record_id)).scalar()
            rows = [(str(r[0]), bool(r[1])) for r in conn.execute(
                sa.select(members.c.record_id, members.c.representative).where(
                    members.c.canonical_id == canonical))] if canonical else [(record_id, True)]
        access = self._access(p)
        out = []
        for rid, representative in sorted(rows, key=lambda r: not r[1]):
            shown = self._record(access, kind, rid)
            if shown is not None:
                out.append({**shown, "representative": representative})
        return out

    def canonical(self, p: Principal, kind: str, record_id: str) -> dict[str, Any]:
        """The entity as one record, field by field, each with the record it comes from:
        the representative's value (the most reliable source's, else the newest record's),
        else the first other record that gives one. The rule is stated in the answer."""
        members = self.entity(p, kind, record_id)
        fields: dict[str, Any] = {}
        for name in SHOWN[kind]:
            if name == "dataset":
                continue
            for m in members:
                if m.get(name) is not None:
                    fields[name] = {"value": m[name], "record": m["id"],
                                    "dataset": m["dataset"]}
                    break
        return {"kind": kind, "records": members, "fields": fields,
                "rule": "each field from the representative (the most reliable source's "
                        "record, else the most recently updated), else from the first "
                        "other record that gives it"}


def canonical_counts(store: Store, kind: str = "victim") -> dict[str, int]:
    """Records, and entities they make once linked (what statistics count)."""
    table = entity_table(kind)
    members = METADATA.tables["canonical_members"]
    with store.engine.connect() as conn:
        records = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
        hidden = int(conn.execute(sa.select(sa.func.count()).select_from(members).where(
            members.c.kind == kind, members.c.representative.is_(False))).scalar() or 0)
    return {"records": records, "entities": records - hidden}
