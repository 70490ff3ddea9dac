# SPDX-License-Identifier: GPL-3.0-or-later
"""The approval queue (issue 21, 4): records submitted for approval, across kinds, for an
approver to approve or reject many at once; and what a submitter is told of the records
returned to them, with the reviewer's reason.

Every read goes through `Records` (and so through access/: an approver of one
organisation sees the records the policy lets them see, no more), and every decision is
`Records.transition`, one record at a time: a bulk decision is many single ones, each
checked for its version, role and status and audited as if made alone. They are not one
transaction on purpose: a record someone changed in the meantime (a stale version)
must not stop the others, and the approver is told which ones did not go through and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mineaction.access.roles import Principal, may_review
from mineaction.audit.schema import REVIEWS
from mineaction.domain.registry import REGISTRY
from mineaction.services.errors import Forbidden, Invalid, ServiceError
from mineaction.services.records import ListParams, Records
from mineaction.store.schema import METADATA

# The kinds that go through approval, in the order the queue shows them.
KINDS = ("hazard", "activity", "released_part", "accident", "victim", "find",
         "risk_education", "minefield_record")
ACTIONS = ("approve", "reject")
MAX_QUEUE = 500  # records a queue page lists
MAX_BULK = 500  # records one bulk decision takes
MAX_REASON = 2000
# A title for a record: the first of these fields it has.
TITLE_FIELDS = ("name", "title", "place_name", "external_id")


@dataclass(frozen=True)
class Item:
    """One record of a bulk decision, with the version the approver saw."""

    kind: str
    id: uuid.UUID
    version: int


@dataclass(frozen=True)
class Outcome:
    kind: str
    id: str
    done: bool
    message: str = ""


def title(kind: str, row: dict[str, Any]) -> str:
    """A record's title in the queue: its code (domain/codes.py), then its name or the
    like, else its kind's own kind and date; the start of its id when it has neither."""
    code = row.get("code")
    words = next((str(row[name]) for name in TITLE_FIELDS if row.get(name)), None)
    if words is None:
        info = REGISTRY[kind]
        words = " ".join(str(row[f]) for f in (info.kind_field, info.primary_date)
                         if f and row.get(f))
    if code:
        return f"{code} · {words}" if words else str(code)
    return words or str(row.get("id", ""))[:8]


class Approvals:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store

    def _approver(self, p: Principal) -> None:
        if not may_review(p):
            raise Forbidden(f"role {p.role.value} cannot approve or reject records")

    def kinds(self, p: Principal) -> list[str]:
        """The kinds whose records `p` may list (and so review), in queue order."""
        access = self.records.access(p)
        return [k for k in KINDS if k in REGISTRY and access.may_list(k)]

    def queue(self, p: Principal, *, kind: str | None = None, dataset: str | None = None,
              submitted_by: str | None = None, limit: int = MAX_QUEUE
              ) -> list[dict[str, Any]]:
        """Submitted records `p` may review, oldest update first within each kind: kind,
        id, version, title, who submitted and when, and how many likely duplicates the
        record linkage holds for it pending review."""
        self._approver(p)
        kinds = self.kinds(p)
        if kind is not None:
            if kind not in kinds:
                raise Invalid(f"no queue for {kind!r}; one of {', '.join(kinds)}")
            kinds = [kind]
        out: list[dict[str, Any]] = []
        for k in kinds:
            if len(out) >= limit:
                break
            rows, _ = self.records.list(p, k, ListParams(status=("submitted",),
                                                          dataset=dataset,
                                                          limit=limit - len(out)))
            for r in rows:
                if submitted_by and r.get("updated_by", r.get("created_by")) != submitted_by:
                    continue
                out.append({"kind": k, "collection": REGISTRY[k].collection,
                            "id": str(r["id"]), "version": int(r["version"]),
                            "title": title(k, r), "dataset": r.get("dataset"),
                            "submitted_by": r.get("updated_by") or r.get("created_by"),
                            "submitted_at": r.get("updated_at")})
        duplicates = self._pending_links([(q["kind"], q["id"]) for q in out])
        for q in out:
            q["likely_duplicates"] = duplicates.get(q["id"], 0)
        return out

    def _pending_links(self, records: Sequence[tuple[str, str]]) -> dict[str, int]:
        """Per record id, the record linkage's pairs holding it that wait for review."""
        links = METADATA.tables["record_links"]
        counts: dict[str, int] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, rid in records:
            by_kind.setdefault(kind, []).append(rid)
        with self.store.engine.connect() as conn:
            for kind, ids in by_kind.items():
                for start in range(0, len(ids), 400):
                    part = ids[start:start + 400]
                    for side in (links.c.a_id, links.c.b_id):
                        stmt = (sa.select(side, sa.func.count()).where(
                            links.c.kind == kind, links.c.status == "review",
                            side.in_(part)).group_by(side))
                        for row in conn.execute(stmt):
                            rid = str(row[0])
                            counts[rid] = counts.get(rid, 0) + int(row[1])
        return counts

    def decide(self, p: Principal, items: Iterable[Item], action: str,
               reason: str | None = None) -> list[Outcome]:
        """Approve or reject each item, one by one (the module says why); a rejection
        needs a reason, the same for all. Each outcome says whether it went through and,
        if not, why (changed since, no longer submitted, not yours to see)."""
        self._approver(p)
        if action not in ACTIONS:
            raise Invalid(f"action must be approve or reject, not {action!r}")
        reason = (reason or "").strip() or None
        if action == "reject" and reason is None:
            raise Invalid("a rejection needs a reason", field_errors=[])
        if reason is not None and len(reason) > MAX_REASON:
            raise Invalid(f"the reason is longer than {MAX_REASON} characters")
        chosen = list(items)
        if not chosen:
            raise Invalid("choose at least one record")
        if len(chosen) > MAX_BULK:
            raise Invalid(f"at most {MAX_BULK} records at once, not {len(chosen)}")
        out: list[Outcome] = []
        for item in chosen:
            if item.kind not in KINDS:
                out.append(Outcome(item.kind, str(item.id), False, "not a reviewed kind"))
                continue
            try:
                self.records.transition(p, item.kind, item.id, action, reason, item.version)
            except ServiceError as exc:
                out.append(Outcome(item.kind, str(item.id), False, exc.message))
            else:
                out.append(Outcome(item.kind, str(item.id), True))
        return out

    def returned(self, p: Principal, limit: int = 50) -> list[dict[str, Any]]:
        """`p`'s own records that a reviewer rejected and that are still rejected, with
        the reason and who and when: what a submitter is told on their next visit, until
        they correct and submit them again."""
        if p.is_public:
            return []
        out: list[dict[str, Any]] = []
        for k in self.kinds(p):
            rows, _ = self.records.list(p, k, ListParams(status=("rejected",), mine=True,
                                                          limit=limit))
            if not rows:
                continue
            reasons = self._last_rejections(k, [str(r["id"]) for r in rows])
            for r in rows:
                why = reasons.get(str(r["id"]), {})
                out.append({"kind": k, "collection": REGISTRY[k].collection,
                            "id": str(r["id"]), "title": title(k, r),
                            "reason": why.get("reason"), "by": why.get("by"),
                            "at": why.get("at")})
        return out[:limit]

    def _last_rejections(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        stmt = (sa.select(REVIEWS.c.record_id, REVIEWS.c.reason, REVIEWS.c.by, REVIEWS.c.at)
                .where(REVIEWS.c.record_kind == kind, REVIEWS.c.action == "reject",
                       REVIEWS.c.record_id.in_(ids))
                .order_by(REVIEWS.c.fid))
        last: dict[str, dict[str, Any]] = {}
        with self.store.engine.connect() as conn:
            for row in conn.execute(stmt):
                at = row.at
                last[str(row.record_id)] = {"reason": row.reason, "by": row.by,
                                            "at": at.isoformat() if at is not None else None}
        return last
