# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield records over HTTP (issue 18): the traverse of a form as the user types
(compute), a record file imported with its attachments, how accurate a record was, its
attachments, and releasing a hazard (with the residual-risk block and an approver's
override).

Thin: services/minefields.py decides who may do what; its errors become responses in
http/errors.py. Everything needs a signed-in user (401 otherwise): minefield records are
not public (the public sees the hazard they document).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, Header, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from mineaction.http.conditional import parse_if_match
from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.io.minefield import MAX_ATTACHMENT_BYTES, AttachmentPlan, plan_json
from mineaction.services.errors import Invalid, PayloadTooLarge
from mineaction.services.minefields import ComputeIn
from mineaction.services.records import RELEASE_OVERRIDE

router = APIRouter(tags=["minefield records"], responses=ERROR_RESPONSES)
RecordId = Annotated[uuid.UUID, "minefield record id"]


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hazard_status: Literal["closed", "handed_over"]
    date_closed: str | None = Field(default=None, max_length=10,
                                    description="YYYY-MM-DD: when the land was released.")
    release_override_reason: str | None = Field(
        default=None, max_length=4000, description=(
            "Approvers and administrators only: why the hazard may be released although a "
            "minefield record of it carries residual risk. Kept in the audit trail."))


def _read(upload: UploadFile) -> bytes:
    content = upload.file.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(f"{upload.filename} is larger than "
                              f"{MAX_ATTACHMENT_BYTES // 2**20} MB")
    return content


@router.post("/minefield-records/compute", summary="The traverse of a benchmark and legs: "
             "every point, the closure and the perimeter (nothing is written)")
def compute(svc: ServicesDep, who: SignedInDep, body: Annotated[ComputeIn, Body()]
            ) -> dict[str, Any]:
    """Answer: `points` (a GeoJSON Feature per point: the benchmark, each leg's end, the
    closing point; properties name, role, closing, from, entered {bearing,
    bearing_reference, bearing_unit, distance, distance_unit, pace_factor},
    true_bearing_deg, distance_m, correction_deg, lat, lon, adjusted_lat, adjusted_lon),
    `perimeter` (a Polygon Feature with area_m2 and loop, or null when the legs do not
    return to the benchmark), `closure` (error_m, bearing_deg, length_m, precision_ratio,
    precision "1:N", area_m2, adjusted_area_m2, perimeter_m, loop, adjusted), `warnings`
    [{code, message, leg_index}], utm_zone, magnetic_model."""
    return svc.minefields.compute(who, body)


@router.post("/minefield-records/import", summary="Import a minefield record file (YAML) "
             "with its attachments: record, points, rows, sources and attachments in one "
             "transaction", status_code=201)
def import_record(
    svc: ServicesDep, who: SignedInDep, response: Response,
    file: Annotated[UploadFile, File(description="The record file (YAML): "
                                     "docs/minefield-records.md")],
    attachments: Annotated[list[UploadFile] | None, File(
        description="Files the record names under `attachments:` (by file name), and CSV "
        "legs or rows it names")] = None,
    dry_run: Annotated[bool, Form(description="Compute and check only: nothing is "
                                  "written")] = False,
) -> dict[str, Any]:
    from mineaction.access.roles import may_create
    from mineaction.services.errors import Forbidden

    if not may_create(who):
        raise Forbidden(f"role {who.role.value} cannot create records")
    try:
        text = _read(file).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the record file is not UTF-8 text") from None
    files = {a.filename or f"file{i}": _read(a) for i, a in enumerate(attachments or [])}
    plan = svc.minefields.parse(text, origin=file.filename or "upload.yaml", files=files)
    if dry_run:
        response.status_code = 200
        return {"dry_run": True, **plan_json(plan)}
    return svc.minefields.create(who, plan)


@router.get("/minefield-records/{record_id}/accuracy", summary="How accurate the record "
            "was against the finds of its hazard: indicators per record and row, the "
            "best-fit shift and rotation, residual risk with the rule")
def accuracy(svc: ServicesDep, who: SignedInDep, record_id: RecordId,
             tolerance: Annotated[float, Query(ge=0, le=1000, description=(
                 "Metres around the perimeter a find still counts as inside"))] = 5.0,
             accidents: Annotated[bool, Query(description=(
                 "Count accidents on the hazard or near the perimeter as devices too"))] = False
             ) -> dict[str, Any]:
    return svc.minefields.assess(who, record_id, tolerance, include_accidents=accidents)


@router.get("/minefield-records/{record_id}/attachments", summary="The record's "
            "attachments (scans of the paper record, photos): descriptions, without bytes")
def list_attachments(svc: ServicesDep, who: SignedInDep, record_id: RecordId
                     ) -> list[dict[str, Any]]:
    return svc.minefields.attachments(who, record_id)


@router.post("/minefield-records/{record_id}/attachments", status_code=201,
             summary="Attach a file (a scan or photo) to the record")
def add_attachment(svc: ServicesDep, who: SignedInDep, record_id: RecordId,
                   file: Annotated[UploadFile, File()],
                   caption: Annotated[str | None, Form(max_length=2000)] = None
                   ) -> dict[str, Any]:
    content = _read(file)
    plan = AttachmentPlan(file.filename or "attachment", file.content_type
                          or "application/octet-stream", content, caption)
    return svc.minefields.add_attachment(who, record_id, plan)


@router.get("/attachments/{attachment_id}", summary="An attachment's bytes, for whoever may "
            "read its record", response_class=Response)
def get_attachment(svc: ServicesDep, who: SignedInDep, attachment_id: uuid.UUID) -> Response:
    meta, content = svc.minefields.attachment(who, attachment_id)
    # The name as uploaded, reduced to characters safe in a header (no quotes, no CR/LF).
    name = re.sub(r"[^\w.\- ]", "_", str(meta["file_name"])) or "attachment"
    return Response(content, media_type=str(meta["media_type"]), headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "ETag": f'"{meta["sha256"]}"', "X-Content-SHA256": str(meta["sha256"]),
        # A scan is served as what it is, never sniffed into something a browser runs.
        "X-Content-Type-Options": "nosniff"})


@router.post("/hazards/{record_id}/release", summary="Mark a hazard released (closed or "
             "handed over): refused (409) while a minefield record of it carries residual "
             "risk, unless an approver gives a reason")
def release(svc: ServicesDep, who: SignedInDep, record_id: uuid.UUID,
            body: Annotated[ReleaseIn, Body()],
            if_match: Annotated[str | None, Header(alias="If-Match")] = None
            ) -> dict[str, Any]:
    # The generic PATCH /hazards/{id} runs the same block; this endpoint is where the
    # override, a field of the request and not of the hazard, can be given.
    expected = parse_if_match(if_match)
    if expected is None:
        expected = svc.records.load(who, "hazard", record_id).version
    change: dict[str, Any] = {"hazard_status": body.hazard_status}
    if body.date_closed is not None:
        change["date_closed"] = body.date_closed
    if body.release_override_reason is not None:
        change[RELEASE_OVERRIDE] = body.release_override_reason
    data, version = svc.records.update(who, "hazard", record_id, change, expected,
                                       partial=True)
    return {**data, "version": version}
