"""The records core of the API: list, get, create, update, delete, workflow, history and
diff of any entity, with the permission rules applied. Plain Python over the store: routers
parse HTTP into these calls and shape what comes back (docs/style.md 1), and tests can call it
without HTTP.
"""

from __future__ import annotations

import builtins  # `list` is also a method of Records
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from shapely.geometry import Point

from mineaction.access.roles import (
    Policy,
    Principal,
    may_create,
    may_edit,
    may_review,
    may_see_history,
    may_submit,
    may_write,
)
from mineaction.access.visibility import RULE_FIELDS, Access, personal_fields
from mineaction.audit.log import log_event, log_read
from mineaction.audit.schema import REVIEWS
from mineaction.domain.columns import geometry_column
from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.models import ENTITIES, Record
from mineaction.domain.registry import REGISTRY
from mineaction.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFoundError,
    PreconditionFailed,
    Unauthorized,
    etag,
)
from mineaction.store.base import Store
from mineaction.store.errors import NotFound, VersionConflict
from mineaction.store.query import Near, Query

# Fields the store keeps and clients never set directly.
BOOKKEEPING = ("status", "version", "created_at", "updated_at", "created_by", "updated_by")
# The request field by which an approver overrides the residual-risk block on releasing a
# hazard (issue 18, services/minefields.py check_release).
RELEASE_OVERRIDE = "release_override_reason"
# Largest bbox (square degrees) a list may run on the event loop with: ~0.5 x 0.5 degrees,
# a few thousand R-tree candidates where 1,000,000 accidents are densest (a few ms).
QUICK_BBOX_DEG2 = 0.25
TRANSITIONS = {"submit": (("draft", "rejected"), "submitted"),
               "approve": (("submitted",), "approved"),
               "reject": (("submitted",), "rejected")}


@dataclass(frozen=True)
class ListParams:
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float, float] | None = None
    admin_area: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: tuple[str, ...] | None = None
    kind: str | None = None
    dataset: str | None = None
    limit: int = 100
    after_fid: int | None = None
    mine: bool = False


def without_read_only(body: dict[str, Any]) -> dict[str, Any]:
    """A write's body without what the store makes and no writer sets: the record code
    (domain/codes.py). A client that sends back what it read (GET, change, PUT) is not
    refused for it; a code it changed is not taken either."""
    return {k: v for k, v in body.items() if k != "code"}


class Records:
    def __init__(self, store: Store, policy: Policy, public_decimals: int = 1) -> None:
        self.store = store
        self.policy = policy
        self.public_decimals = public_decimals
        self._access: dict[tuple[Principal, Policy, int], Access] = {}

    def access(self, p: Principal) -> Access:
        """What `p` sees (access/visibility.py): the one rule every read here applies.
        Kept per principal and policy (a GET by id is a few tens of µs of Python)."""
        key = (p, self.policy, self.public_decimals)
        found = self._access.get(key)
        if found is None:
            if len(self._access) > 10_000:  # bounded: one entry per signed-in user
                self._access.clear()
            found = self._access[key] = Access(p, self.policy, self.public_decimals)
        return found

    # -- shaping --------------------------------------------------------------------------
    def hidden(self, p: Principal, kind: str) -> frozenset[str]:
        """The fields `p` never sees in a `kind` record."""
        return self.access(p).hidden(kind)

    def present(self, p: Principal, record: Record) -> dict[str, Any]:
        """The record as `p` may see it, JSON-ready: what a write's answer (create,
        update, workflow, 412) gives back, so the personal data in it is a logged read."""
        data = record.model_dump(mode="json")
        code = self.store.record_code(record.kind, record.id)
        if code is not None:
            data["code"] = code
        self._log_personal(p, record.kind, [data])
        return self.access(p).present(record.kind, data)

    def _log_personal(self, p: Principal, kind: str, rows: list[dict[str, Any]]) -> None:
        """Log a read of personal data (JSON-ready records, before shaping)."""
        log_personal_read(self.store, self.access(p), kind, rows)

    # -- reads ----------------------------------------------------------------------------
    def _check_readable_kind(self, p: Principal, kind: str) -> None:
        if not self.access(p).may_list(kind):
            raise Forbidden(f"the public sees {REGISTRY[kind].collection} only as "
                            "aggregates: see the statistics")

    def list(self, p: Principal, kind: str, params: ListParams
             ) -> tuple[list[dict[str, Any]], int | None]:
        self._check_readable_kind(p, kind)
        access = self.access(p)
        where: dict[str, Any] = {}
        if params.kind is not None:
            field = REGISTRY[kind].kind_field
            if field is None:
                raise Invalid(f"{kind} has no kind to filter on",
                              field_errors=[FieldError(field="kind", message="not available")])
            where[field] = params.kind
        if params.mine:
            where["created_by"] = p.username
        if (params.bbox is not None or params.near is not None) and kind != "victim" \
                and geometry_column(ENTITIES[kind]) is None:
            # victims are placed by their accident; these kinds have no place at all
            name = "bbox" if params.bbox is not None else "near"
            raise Invalid(f"{REGISTRY[kind].collection} have no place to select by",
                          field_errors=[FieldError(field=name, message="not available")])
        near = None
        if params.near is not None:
            lon, lat, metres = params.near
            near = Near(Point(lon, lat), metres)
        date_from, date_to = access.date_bounds(kind, params.date_from, params.date_to)
        # By the place and the year the asker sees (a box snapped, a distance measured
        # from the rounded point): never by values it is not shown.
        q = Query(kind=kind, bbox=access.select_box(kind, params.bbox), near=near,
                  admin_area=params.admin_area, date_from=date_from, date_to=date_to,
                  status=params.status, dataset=params.dataset, where=where,
                  limit=params.limit, after_fid=params.after_fid, visible=access.rows(kind),
                  place_decimals=access.place_decimals(kind) if near is not None else None)
        # Hidden fields are not even read; present_rows then generalises what needs it.
        rows, next_fid = self.store.query_rows(q, omit=access.hidden(kind))
        self._log_personal(p, kind, rows)
        return access.present_rows(kind, rows), next_fid

    def quick(self, p: Principal, kind: str, params: ListParams | None = None) -> bool:
        """Whether this read is small and bounded, and writes nothing: GET by id, or a
        list of at most 100 inside a small bbox (the R-tree bounds the rows looked at),
        without logging a read of personal data. Such reads run on the event loop rather
        than in the thread pool (routers/records.py says why); any other may be slow and
        must not hold up the other requests of the worker."""
        if self.access(p).sees_personal(kind):
            return False  # logs the read: a write, which may wait for the write lock
        if params is None:
            return True
        box = params.bbox
        return (box is not None and params.limit <= 100 and params.near is None
                and params.admin_area is None and params.date_from is None
                and params.date_to is None and geometry_column(ENTITIES[kind]) is not None
                and (box[2] - box[0]) * (box[3] - box[1]) <= QUICK_BBOX_DEG2)

    def load(self, p: Principal, kind: str, record_id: uuid.UUID) -> Record:
        """The stored record, if `p` may read it (404 otherwise: not even its existence)."""
        self._check_readable_kind(p, kind)
        try:
            record = self.store.get(kind, record_id)
        except NotFound:
            raise NotFoundError(f"no {kind} with id {record_id}") from None
        if not self.access(p).may_read(kind, record):
            raise NotFoundError(f"no {kind} with id {record_id}")
        return record

    def get(self, p: Principal, kind: str, record_id: uuid.UUID) -> tuple[dict[str, Any], int]:
        """The record as `p` may see it, and its version. Read as a JSON-ready row, as
        lists are (store/rows.py): the same dict a validated record would give, at a
        fraction of the cost; writes still load and validate records."""
        self._check_readable_kind(p, kind)
        access = self.access(p)
        omit = access.hidden(kind) - RULE_FIELDS
        rows, _ = self.store.query_rows(Query(kind=kind, ids=(str(record_id),), limit=1),
                                        omit=omit)
        if not rows or not access.may_read(kind, rows[0]):
            raise NotFoundError(f"no {kind} with id {record_id}")
        data = rows[0]
        self._log_personal(p, kind, rows)
        return access.present(kind, data), int(data["version"])

    # -- writes ---------------------------------------------------------------------------
    def create(self, p: Principal, kind: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        _signed_in(p)
        if not may_create(p):
            raise Forbidden(f"role {p.role.value} cannot create records")
        model = ENTITIES[kind]
        body = without_read_only(body)
        record = model.model_validate({**body, "status": "draft", "version": 1})
        if not may_edit(p, record.model_copy(update={"created_by": p.username}), self.policy):
            raise Forbidden("you may create records only for your own organisation")
        saved = self.store.add(record, by=p.username)
        return self.present(p, saved), saved.version

    def _current_for_write(self, p: Principal, kind: str, record_id: uuid.UUID) -> Record:
        _signed_in(p)
        record = self.load(p, kind, record_id)
        if not may_edit(p, record, self.policy):
            raise Forbidden(f"role {p.role.value} cannot change this {kind}")
        return record

    def _stale(self, p: Principal, kind: str, record_id: uuid.UUID, expected: int,
               exc: VersionConflict | None = None) -> PreconditionFailed:
        try:
            current = self.store.get(kind, record_id)
        except NotFound:
            return PreconditionFailed(f"{kind} {record_id} no longer exists")
        if not self.access(p).may_read(kind, current):
            # Changed into a record `p` may not see (another organisation's): the 412 says
            # no more than that it is gone for `p`.
            return PreconditionFailed(f"{kind} {record_id} no longer exists")
        return PreconditionFailed(
            f"{kind} {record_id} is at version {current.version}, not {expected}: "
            "reload it and re-apply your change",
            current=self.present(p, current), headers={"ETag": etag(current.version)})

    def update(self, p: Principal, kind: str, record_id: uuid.UUID, body: dict[str, Any],
               expected_version: int, *, partial: bool) -> tuple[dict[str, Any], int]:
        current = self._current_for_write(p, kind, record_id)
        if current.version != expected_version:
            raise self._stale(p, kind, record_id, expected_version)
        # An approver's reasoned override of the residual-risk block (issue 18): part of
        # the request, never of the record, so it leaves the body before validation.
        body = without_read_only(body)
        override = body.pop(RELEASE_OVERRIDE, None)
        stored = current.model_dump(mode="json")
        keep = {k: stored[k] for k in ("id", *BOOKKEEPING)}
        if partial:
            data = {**stored, **body, **keep}
        else:
            # A role that cannot see personal data cannot have meant to erase it.
            unseen = self.access(p).hidden(kind) & personal_fields(kind)
            hidden = {f: stored[f] for f in unseen if f not in body}
            data = {**body, **hidden, **keep}
        if current.status == "approved" and not may_review(p):
            data["status"] = "submitted"  # a change to approved data is approved again
        record = ENTITIES[kind].model_validate(data)
        if not may_write(p, current, record.model_copy(update={"status": current.status}),
                         self.policy):
            raise Forbidden("you may not move a record to another organisation")
        overridden: builtins.list[dict[str, Any]] = []
        if kind == "hazard":
            # Residual-risk block (issue 18, services/minefields.py): a hazard is not
            # marked released while a minefield record of it has unexplained missing
            # mines, unless an approver gives a reason; refused here, before any write.
            from mineaction.services.minefields import check_release

            overridden = check_release(self.store, self.policy, p, current, record, override)
        elif override is not None:
            raise Invalid(f"{RELEASE_OVERRIDE} applies to hazards only", field_errors=[
                FieldError(field=RELEASE_OVERRIDE, message="hazards only")])
        try:
            saved = self.store.update(record, expected_version=expected_version, by=p.username)
        except VersionConflict as exc:
            raise self._stale(p, kind, record_id, expected_version, exc) from None
        if overridden:
            # The override and its reason are kept in the audit trail beside the update.
            log_event(self.store, p.username, "release_override",
                      {"reason": str(override).strip(), "hazard_status":
                       str(getattr(record, "hazard_status", "")), "records": overridden},
                      kind=kind, record_id=str(record_id), version=saved.version)
        return self.present(p, saved), saved.version

    def delete(self, p: Principal, kind: str, record_id: uuid.UUID,
               expected_version: int | None) -> None:
        current = self._current_for_write(p, kind, record_id)
        if expected_version is not None and current.version != expected_version:
            raise self._stale(p, kind, record_id, expected_version)
        try:
            self.store.delete(kind, record_id, by=p.username,
                              expected_version=current.version)
        except VersionConflict as exc:
            raise self._stale(p, kind, record_id, current.version, exc) from None
        except NotFound:
            raise NotFoundError(f"no {kind} with id {record_id}") from None

    def transition(self, p: Principal, kind: str, record_id: uuid.UUID, action: str,
                   reason: str | None, expected_version: int | None
                   ) -> tuple[dict[str, Any], int]:
        """submit (draft|rejected -> submitted), approve or reject (submitted -> ...)."""
        _signed_in(p)
        current = self.load(p, kind, record_id)
        sources, target = TRANSITIONS[action]
        allowed = may_submit(p, current, self.policy) if action == "submit" else may_review(p)
        if not allowed:
            raise Forbidden(f"role {p.role.value} cannot {action} this {kind}")
        if expected_version is not None and current.version != expected_version:
            raise self._stale(p, kind, record_id, expected_version)
        if current.status not in sources:
            raise Conflict(f"cannot {action} a {current.status} {kind} (only "
                           f"{' or '.join(sources)})")
        if action == "reject" and not (reason and reason.strip()):
            raise Invalid("a rejection needs a reason",
                          field_errors=[FieldError(field="reason", message="required")])
        try:
            saved = self.store.update(current.model_copy(update={"status": WorkflowStatus(target)}),
                                      expected_version=current.version, by=p.username)
        except VersionConflict as exc:
            raise self._stale(p, kind, record_id, current.version, exc) from None
        with self.store.transaction() as conn:
            conn.execute(REVIEWS.insert().values(
                record_kind=kind, record_id=str(record_id), version=saved.version,
                action=action, reason=reason, by=p.username, at=datetime.now(UTC)))
        if reason:
            log_event(self.store, p.username, "review", {"action": action, "reason": reason},
                      kind=kind, record_id=str(record_id), version=saved.version)
        return self.present(p, saved), saved.version

    def reviews(self, p: Principal, kind: str, record_id: uuid.UUID
                ) -> builtins.list[dict[str, Any]]:
        import sqlalchemy as sa

        self.load(p, kind, record_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(REVIEWS).where(
                REVIEWS.c.record_id == str(record_id), REVIEWS.c.record_kind == kind)
                .order_by(REVIEWS.c.fid)).mappings().all()
        return [{"version": r["version"], "action": r["action"], "reason": r["reason"],
                 "by": None if p.is_public else r["by"], "at": r["at"].isoformat()}
                for r in rows]

    # -- history --------------------------------------------------------------------------
    def history(self, p: Principal, kind: str, record_id: uuid.UUID
                ) -> builtins.list[dict[str, Any]]:
        if not may_see_history(p):
            raise Forbidden("history is not public")
        self._check_readable_kind(p, kind)
        try:
            versions = self.store.history(kind, record_id)
        except NotFound:
            raise NotFoundError(f"no {kind} with id {record_id}") from None
        access = self.access(p)
        if not access.may_read(kind, versions[-1]["data"]):
            raise NotFoundError(f"no {kind} with id {record_id}")
        # Every version's personal data is a read of it: logged like any other.
        self._log_personal(p, kind, [dict(v["data"]) for v in versions])
        out = []
        for v in versions:
            at = v["superseded_at"]
            out.append({"version": v["version"], "action": v["action"],
                        "superseded_at": at.isoformat() if at else None,
                        "superseded_by": v["superseded_by"],
                        "data": access.present(kind, dict(v["data"]))})
        return out

    def diff(self, p: Principal, kind: str, record_id: uuid.UUID, a: int, b: int
             ) -> builtins.list[dict[str, Any]]:
        versions = {v["version"]: v["data"] for v in self.history(p, kind, record_id)}
        missing = [v for v in (a, b) if v not in versions]
        if missing:
            raise NotFoundError(f"{kind} {record_id} has no version {missing[0]} "
                                f"(it has {', '.join(map(str, sorted(versions)))})")
        old, new = versions[a], versions[b]
        return [{"field": k, "from": old.get(k), "to": new.get(k)}
                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def log_personal_read(store: Store, access: Access, kind: str,
                      rows: list[dict[str, Any]]) -> None:
    """Log, in the audit trail, a read of the personal data `access` lets through in
    `rows` (JSON-ready records before shaping): every such read is logged, whoever
    serves it (lists, record pages, history, diff, linked records, exports)."""
    personal = access.sees_personal(kind)
    if not personal:
        return
    seen = [r for r in rows if any(r.get(f) is not None for f in personal)]
    if seen:
        log_read(store, access.principal.username, kind, sorted({str(r["id"]) for r in seen}),
                 {f for r in seen for f in personal if r.get(f) is not None})


def _signed_in(p: Principal) -> None:
    if p.is_public:
        raise Unauthorized("sign in to change records", headers={"WWW-Authenticate": "Bearer"})
