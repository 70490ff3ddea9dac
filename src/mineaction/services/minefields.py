# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield records (issue 18): compute a traverse for a form, import a record file (its
record, points, rows, sources and attachments in one transaction), how accurate a record
was against what clearance found, its attachments, and the residual-risk block on
releasing a hazard.

Who: computing a traverse writes nothing and needs a signed-in user; importing is for those
who create records (`may_create`, held to their organisation as any create); attachments are
read by whoever may read the record and added by whoever may edit it. Minefield records are
never public (domain/registry.py): the public sees the hazard they document.

The residual-risk block: a hazard may not be marked closed or handed over (released) while
one of its minefield records carries residual risk (analysis/minefield_accuracy.py,
RESIDUAL_RISK_RULE), unless an approver or administrator gives a reasoned override, which
the audit trail keeps. services/records.py calls `check_release` on every hazard update.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mineaction.access.roles import (
    Policy,
    Principal,
    Role,
    may_create,
    may_edit,
    may_review,
)
from mineaction.analysis.jsonable import jsonable
from mineaction.domain.enums import HazardStatus, WorkflowStatus
from mineaction.domain.models import Record
from mineaction.geo.coordinates import CoordinateError, parse_coordinate
from mineaction.geo.traverse import Leg, TraverseError, compute_traverse
from mineaction.io.minefield import (
    MAX_ATTACHMENT_BYTES,
    AttachmentPlan,
    MinefieldFileError,
    MinefieldPlan,
    parse_minefield_text,
    traverse_json,
)
from mineaction.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFoundError,
    PayloadTooLarge,
    Unauthorized,
)
from mineaction.services.records import Records
from mineaction.store import codec
from mineaction.store.base import Store, WriteEvent
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, entity_table

if TYPE_CHECKING:
    from mineaction.analysis import minefield_accuracy as acc

RECORD = "minefield_record"
# Marking a hazard one of these is releasing its land (IMAS 07.11): what the block guards.
RELEASED = frozenset({HazardStatus.closed, HazardStatus.handed_over})
# How far around the perimeter an accident counts as near the record (metres), when
# accidents are asked for beside the finds.
ACCIDENT_MARGIN_M = 100.0
ATTACHMENTS = METADATA.tables["attachments"]


# -- the compute endpoint's input: the web form's legs, as typed ---------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BenchmarkIn(_Strict):
    name: str = Field(min_length=1, max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    coordinates: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_way(self) -> BenchmarkIn:
        if (self.lat is None) != (self.lon is None) or (
                (self.lat is None) == (self.coordinates is None)):
            raise ValueError("give lat and lon, or coordinates")
        return self


class LegIn(_Strict):
    to: str = Field(min_length=1, max_length=100)
    from_: str | None = Field(default=None, alias="from", max_length=100)
    bearing: float = Field(allow_inf_nan=False)
    bearing_reference: Literal["true", "magnetic", "grid"] = "true"
    bearing_unit: Literal["degrees", "mils", "gradians"] = "degrees"
    distance: float = Field(ge=0, allow_inf_nan=False)
    distance_unit: Literal["metres", "paces"] = "metres"
    pace_factor: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class ComputeIn(_Strict):
    benchmark: BenchmarkIn
    legs: list[LegIn] = Field(min_length=1, max_length=500)
    record_date: date | None = None
    declination: float | None = Field(default=None, ge=-180, le=180)
    utm_zone: int | None = Field(default=None, ge=1, le=60)
    adjust: bool = False


def _invalid(exc: ValidationError, message: str) -> Invalid:
    return Invalid(message, field_errors=[
        FieldError(field=".".join(str(p) for p in e["loc"]), message=e["msg"])
        for e in exc.errors()])


def _signed_in(p: Principal) -> None:
    if p.is_public:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})




class Minefields:
    def __init__(self, store: Store, policy: Policy, records: Records | None = None) -> None:
        self.store = store
        self.policy = policy
        self.records = records if records is not None else Records(store, policy)

    # -- compute: the form's preview ------------------------------------------------------
    def compute(self, p: Principal, body: Mapping[str, Any] | ComputeIn) -> dict[str, Any]:
        """The traverse of a benchmark and legs, and its perimeter: nothing is written."""
        _signed_in(p)
        try:
            form = body if isinstance(body, ComputeIn) else ComputeIn.model_validate(body)
        except ValidationError as exc:
            raise _invalid(exc, "the legs cannot be read") from None
        bm = form.benchmark
        if bm.coordinates is not None:
            try:
                parsed = parse_coordinate(bm.coordinates)
            except CoordinateError as exc:
                raise Invalid(str(exc), field_errors=[FieldError(
                    field="benchmark.coordinates", message=str(exc))]) from None
            lat, lon = parsed.lat, parsed.lon
        else:
            assert bm.lat is not None and bm.lon is not None  # checked by BenchmarkIn
            lat, lon = bm.lat, bm.lon
        legs = [Leg(to_point=leg.to, bearing=leg.bearing, distance=leg.distance,
                    from_point=leg.from_, bearing_reference=leg.bearing_reference,
                    bearing_unit=leg.bearing_unit, distance_unit=leg.distance_unit,
                    pace_factor=leg.pace_factor) for leg in form.legs]
        try:
            result = compute_traverse(bm.name, lat, lon, legs, record_date=form.record_date,
                                      declination=form.declination, utm_zone=form.utm_zone,
                                      adjust=form.adjust)
        except TraverseError as exc:
            match = re.search(r"\bleg (\d+)", str(exc))
            where = f"legs.{int(match.group(1)) - 1}" if match else "legs"
            raise Invalid(str(exc), field_errors=[FieldError(field=where,
                                                             message=str(exc))]) from None
        return traverse_json(result)

    # -- import ---------------------------------------------------------------------------
    def parse(self, text: str, *, origin: str, files: Mapping[str, bytes] | None = None
              ) -> MinefieldPlan:
        """A record file's plan, its faults as a 422 naming file, line and field."""
        try:
            return parse_minefield_text(text, origin=origin, files=files)
        except MinefieldFileError as exc:
            raise Invalid(f"{origin}: {len(exc.problems)} problem(s) in the record file",
                          field_errors=[FieldError(
                              field=pr.field or "file",
                              message=(f"{pr.origin}, line {pr.line}: {pr.message}"
                                       if pr.line is not None else f"{pr.origin}: "
                                       f"{pr.message}")) for pr in exc.problems]) from None

    def create(self, p: Principal, plan: MinefieldPlan,
               attachments: Sequence[AttachmentPlan] = ()) -> dict[str, Any]:
        """Write the plan: sources, record, points, rows and attachments in ONE transaction
        (a failure anywhere leaves nothing behind). The record is a draft, as any create."""
        _signed_in(p)
        if not may_create(p):
            raise Forbidden(f"role {p.role.value} cannot create records")
        record = plan.record
        hazard_id = record.hazard_id or self._hazard_by_key(p, plan.hazard_ref)
        if hazard_id is not None:
            self._readable_hazard(p, hazard_id)
        org = record.organisation_id or (
            uuid.UUID(p.organisation_id) if p.organisation_id else None)
        record = record.model_copy(update={"hazard_id": hazard_id, "organisation_id": org})
        if not may_edit(p, record.model_copy(update={"created_by": p.username}), self.policy):
            raise Forbidden("you may create records only for your own organisation")
        files = [*plan.attachments, *attachments]
        for a in files:
            if len(a.content) > MAX_ATTACHMENT_BYTES:
                raise PayloadTooLarge(f"attachment {a.file_name} is larger than "
                                      f"{MAX_ATTACHMENT_BYTES // 2**20} MB")
        stamp = datetime.now(UTC)
        written: list[dict[str, Any]] = []
        try:
            with self.store.transaction() as conn:
                for s in plan.sources:
                    self._insert(conn, s.source, p, stamp)
                self._insert(conn, record, p, stamp)
                for child in (*plan.points, *plan.rows):
                    self._insert(conn, child, p, stamp)
                for a in files:
                    written.append(self._insert_attachment(conn, record.id, a, p, stamp))
        except sa.exc.IntegrityError:
            raise Conflict(f"a record with the key ({record.dataset}, {record.external_id}) "
                           "or one of these ids already exists: nothing was written") from None
        saved = self.store.get(RECORD, record.id)
        return {"record": self.records.present(p, saved), "points": len(plan.points),
                "rows": len(plan.rows), "sources": len(plan.sources),
                "attachments": written, "warnings": list(plan.warnings)}

    def _insert(self, conn: sa.Connection, record: Record, p: Principal,
                stamp: datetime) -> None:
        """Store.add's write, inside the caller's transaction (Store.add opens its own):
        the row, its source links, and the write event the audit trail records."""
        record = record.model_copy(update={
            "status": WorkflowStatus.draft, "version": 1, "created_at": stamp, "updated_at": stamp,
            "created_by": p.username, "updated_by": p.username})
        conn.execute(entity_table(type(record)).insert().values(**codec.record_to_row(record)))
        if record.source_ids:
            conn.execute(METADATA.tables["record_sources"].insert(), [
                {"record_kind": record.kind, "record_id": str(record.id),
                 "source_id": str(s)} for s in record.source_ids])
        self.store.notify(conn, WriteEvent("create", record.kind, str(record.id), 1,
                                           p.username, after=record.model_dump(mode="json")))

    def _insert_attachment(self, conn: sa.Connection, record_id: uuid.UUID,
                           a: AttachmentPlan, p: Principal, stamp: datetime
                           ) -> dict[str, Any]:
        row = {"id": str(uuid.uuid4()), "record_kind": RECORD, "record_id": str(record_id),
               "file_name": a.file_name, "media_type": a.media_type, "size": len(a.content),
               "sha256": hashlib.sha256(a.content).hexdigest(), "content": a.content,
               "caption": a.caption, "added_at": stamp, "added_by": p.username}
        conn.execute(ATTACHMENTS.insert().values(**row))
        return _attachment_meta(row)

    def _hazard_by_key(self, p: Principal, key: str | None) -> uuid.UUID | None:
        if key is None:
            return None
        page = self.store.query(Query(kind="hazard", where={"external_id": key}, limit=2,
                                      visible=self.records.access(p).rows("hazard")))
        if len(page.items) != 1:
            found = "no hazard" if not page.items else "more than one hazard"
            raise Invalid(f"{found} with external id {key!r}", field_errors=[
                FieldError(field="hazard", message=f"{found} with this external id")])
        return page.items[0].id

    def _readable_hazard(self, p: Principal, hazard_id: uuid.UUID) -> None:
        try:
            self.records.load(p, "hazard", hazard_id)
        except NotFoundError:
            raise Invalid(f"no hazard with id {hazard_id}", field_errors=[
                FieldError(field="hazard_id", message="no such hazard")]) from None

    # -- how accurate was it --------------------------------------------------------------
    def assess(self, p: Principal, record_id: uuid.UUID, tolerance_m: float = 5.0, *,
               include_accidents: bool = False) -> dict[str, Any]:
        """The record against the finds of its hazard (and, on request, accidents on it or
        within ACCIDENT_MARGIN_M of its perimeter), as analysis/minefield_accuracy
        measures it; `tolerance_m` buffers the perimeter."""
        from mineaction.analysis import minefield_accuracy as acc

        _signed_in(p)
        if not (math.isfinite(tolerance_m) and 0 <= tolerance_m <= 1000):
            raise Invalid("tolerance must be 0-1000 m", field_errors=[
                FieldError(field="tolerance", message="0-1000 m")])
        record = self.records.load(p, RECORD, record_id)
        access = self.records.access(p)
        visible = {k: access.rows(k) for k in ("find", "mine_row", "minefield_point")}
        inputs, finds, notes, counts = self._inputs(
            record, visible, access.rows("accident") if include_accidents else None)
        try:
            result = acc.assess_record(inputs, finds, perimeter_buffer_m=tolerance_m)
        except ValueError as exc:
            raise Invalid(f"the record cannot be assessed: {exc}") from None
        out: dict[str, Any] = jsonable(dataclasses.asdict(result))
        out["record_id"] = str(record.id)
        out["hazard_id"] = str(getattr(record, "hazard_id", None) or "") or None
        out["inputs"] = counts
        out["notes"] = [*notes, *out["notes"]]
        out["rule"] = acc.RESIDUAL_RISK_RULE
        return out

    def _inputs(self, record: Record, visible: dict[str, Any], accidents_visible: Any | None
                ) -> tuple[acc.MinefieldRecord, list[acc.Find], list[str], dict[str, int]]:
        """The record, its rows and finds as analysis inputs: read by
        analysis/minefield_inputs.py, the one reading the map-accuracy report makes too
        (the hazard's finds and those within 50 m of the perimeter), limited to what the
        asker may see; accidents added on request."""
        from mineaction.analysis import minefield_inputs

        geometry = getattr(record, "geometry", None)
        if geometry is None or geometry.is_empty:
            raise Conflict("the record has no perimeter (its traverse does not close): "
                           "nothing to assess")
        polygon = max(getattr(geometry, "geoms", [geometry]), key=lambda g: g.area)
        loaded = minefield_inputs.load_record(self.store, str(record.id), visible=visible)
        mf, notes = loaded.record, list(loaded.notes)
        finds = list(loaded.finds)
        hazard_id = getattr(record, "hazard_id", None)
        if hazard_id is None:
            notes.append("the record is linked to no hazard: only finds within "
                         f"{minefield_inputs.DEFAULT_SEARCH_M:g} m of it are compared")
        stored = self.store.count(Query(kind="mine_row", where={"record_id": str(record.id)},
                                        visible=visible.get("mine_row", ())))
        n_finds = len(finds)
        n_accidents = 0
        if accidents_visible is not None:
            seen: set[str] = set()
            near = polygon.buffer(ACCIDENT_MARGIN_M / 111_000)  # ~degrees: a margin, not a measure
            queries = [Query(kind="accident", bbox=near.bounds, limit=None,
                             visible=accidents_visible)]
            if hazard_id is not None:
                queries.append(Query(kind="accident", where={"hazard_id": str(hazard_id)},
                                     limit=None, visible=accidents_visible))
            for q in queries:
                for a in self.store.query(q).items:
                    if str(a.id) in seen:
                        continue
                    seen.add(str(a.id))
                    added = _devices(a, "device_category", "accident_date", notes)
                    n_accidents += len(added)
                    finds.extend(added)
        return mf, finds, notes, {"finds": n_finds, "accidents": n_accidents,
                                  "rows": stored, "rows_assessed": len(mf.rows)}

    # -- attachments ----------------------------------------------------------------------
    def attachments(self, p: Principal, record_id: uuid.UUID) -> list[dict[str, Any]]:
        _signed_in(p)
        self.records.load(p, RECORD, record_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(*[c for c in ATTACHMENTS.c if c.name != "content"])
                                .where(ATTACHMENTS.c.record_kind == RECORD,
                                       ATTACHMENTS.c.record_id == str(record_id))
                                .order_by(ATTACHMENTS.c.fid)).mappings().all()
        return [_attachment_meta(r) for r in rows]

    def attachment(self, p: Principal, attachment_id: uuid.UUID
                   ) -> tuple[dict[str, Any], bytes]:
        """An attachment's description and bytes, for whoever may read its record."""
        _signed_in(p)
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(ATTACHMENTS).where(
                ATTACHMENTS.c.id == str(attachment_id))).mappings().first()
        if row is None:
            raise NotFoundError(f"no attachment with id {attachment_id}")
        try:
            self.records.load(p, str(row["record_kind"]), uuid.UUID(str(row["record_id"])))
        except NotFoundError:
            raise NotFoundError(f"no attachment with id {attachment_id}") from None
        return _attachment_meta(row), bytes(row["content"])

    def add_attachment(self, p: Principal, record_id: uuid.UUID, attachment: AttachmentPlan
                       ) -> dict[str, Any]:
        """Add a scan or photo to a record: for whoever may edit the record."""
        _signed_in(p)
        record = self.records.load(p, RECORD, record_id)
        if not may_edit(p, record, self.policy):
            raise Forbidden(f"role {p.role.value} cannot change this minefield record")
        if len(attachment.content) > MAX_ATTACHMENT_BYTES:
            raise PayloadTooLarge(f"larger than {MAX_ATTACHMENT_BYTES // 2**20} MB")
        with self.store.transaction() as conn:
            meta = self._insert_attachment(conn, record.id, attachment, p, datetime.now(UTC))
            self.store.notify(conn, WriteEvent("attach", RECORD, str(record.id), None,
                                               p.username, summary={
                                                   k: meta[k] for k in ("id", "file_name",
                                                                        "sha256", "size")}))
        return meta


def _attachment_meta(row: Mapping[Any, Any]) -> dict[str, Any]:
    added = row["added_at"]
    return {"id": str(row["id"]), "record_kind": row["record_kind"],
            "record_id": str(row["record_id"]), "file_name": row["file_name"],
            "media_type": row["media_type"], "size": int(row["size"]),
            "sha256": row["sha256"], "caption": row["caption"],
            "added_at": added.isoformat() if hasattr(added, "isoformat") else added,
            "added_by": row["added_by"]}


def _device_type(category: Any) -> str | None:
    # Categories, not models: a find is often logged as "AP mine" without its model, and
    # a model on one side only would keep it from matching the mine it is.
    value = getattr(category, "value", category)
    return None if value in (None, "unknown") else str(value)


def _devices(record: Record, category: str, when: str, notes: list[str]) -> list[acc.Find]:
    """A find (or accident) as devices at its point: a find of quantity 3 is 3 devices."""
    from mineaction.analysis import minefield_accuracy as acc

    geometry = getattr(record, "geometry", None)
    if geometry is None or geometry.is_empty:
        notes.append(f"{record.kind} {record.id} has no location; left out")
        return []
    n = int(getattr(record, "quantity", 1) or 1)
    return [acc.Find(geometry.x, geometry.y, _device_type(getattr(record, category)),
                     getattr(record, when), str(record.id) if n == 1 else f"{record.id}#{k}")
            for k in range(n)]


# -- the residual-risk block --------------------------------------------------------------
def residual_risk(store: Store, hazard_id: uuid.UUID, policy: Policy | None = None
                  ) -> list[dict[str, Any]]:
    """The minefield records of a hazard that carry residual risk, each with its reasons.
    Read as the system, not as the asker: a record the asker cannot see still blocks."""
    system = Principal(username="system", role=Role.admin)
    service = Minefields(store, policy or Policy())
    out = []
    for record in store.query(Query(kind=RECORD, where={"hazard_id": str(hazard_id)},
                                    limit=None)).items:
        if getattr(record, "geometry", None) is None:
            continue  # no perimeter, nothing expected: no measure of risk
        result = service.assess(system, record.id)
        if result["residual_risk"]:
            out.append({"record_id": str(record.id), "name": getattr(record, "name", None),
                        "reasons": result["residual_risk_reasons"]})
    return out


def check_release(store: Store, policy: Policy, p: Principal, before: Record, after: Record,
                  override_reason: str | None) -> list[dict[str, Any]]:
    """Refuse (409) to mark a hazard released (closed or handed over) while one of its
    minefield records has residual risk, unless `override_reason` is given by an approver
    or administrator (403 for anyone else). Returns the records overridden, for the
    caller to write to the audit trail with the reason; [] when nothing was blocked."""
    from mineaction.analysis.minefield_accuracy import RESIDUAL_RISK_RULE

    reason = (override_reason or "").strip()
    if override_reason is not None and not may_review(p):
        raise Forbidden("only approvers and administrators may override the residual-risk "
                        "block")
    status_before = getattr(before, "hazard_status", None)
    status_after = getattr(after, "hazard_status", None)
    if status_after not in RELEASED or status_before in RELEASED:
        return []
    blocking = residual_risk(store, after.id, policy)
    if not blocking:
        return []
    if not reason:
        names = ", ".join(b["name"] or b["record_id"] for b in blocking)
        raise Conflict(
            f"hazard {after.id} cannot be marked {getattr(status_after, 'value', status_after)}"
            f": its minefield record(s) {names} carry residual risk. {RESIDUAL_RISK_RULE} "
            "An approver may override with a reason (release_override_reason).",
            field_errors=[FieldError(field="hazard_status", message="; ".join(
                r for b in blocking for r in b["reasons"]) or "residual risk")])
    return blocking
