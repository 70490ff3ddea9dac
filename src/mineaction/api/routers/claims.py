# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures over HTTP (issue 22):

- GET /claims: the stored claims, filtered by metric, area and who stated them, in pages;
- GET /claims/check: where they disagree with each other and with the records;
- POST /claims/import: an HXL-tagged CSV file of claims (all or nothing; a re-import adds
  nothing), for those who may import.

Claims are published figures: the public reads them and their check. Thin: the rules (who
imports, what the records check counts for whom) are in services/claims.py and access/.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel

from mineaction.analysis.claims_check import DEFAULT_SLACK_DAYS, DEFAULT_TOLERANCE
from mineaction.http.deps import PrincipalDep, ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services import claims as service

router = APIRouter(prefix="/claims", tags=["claims"], responses=ERROR_RESPONSES)

MetricParam = Annotated[str | None, Query(max_length=80, description="Only this metric "
                                          "(victims_total, area_released, ...).")]
AreaParam = Annotated[str | None, Query(max_length=200, description="Only this area, as "
                                        "stated (any case).")]
StatedByParam = Annotated[str | None, Query(max_length=200, description="Only claims whose "
                                            "source's name contains this.")]


class ClaimPage(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class CheckResult(BaseModel):
    findings: list[dict[str, Any]]
    count: int
    tolerance: float
    slack_days: int


class ImportResult(BaseModel):
    file_name: str
    rows: int
    added: int
    unchanged: int


@router.get("", response_model=ClaimPage, summary="Published figures, filtered, in pages")
def list_claims(
    svc: ServicesDep, metric: MetricParam = None, area: AreaParam = None,
    stated_by: StatedByParam = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ClaimPage:
    settings = svc.settings
    size = min(limit or settings.default_page_size, settings.max_page_size)
    f = service.claim_filter(metric, area, stated_by)
    found, total = service.list_claims(svc.store, f, limit=size, offset=offset)
    return ClaimPage(items=[c.as_dict() for c in found], total=total, limit=size,
                     offset=offset)


@router.get("/check", response_model=CheckResult,
            summary="Where the published figures disagree, each finding naming its claims")
def check_claims(
    svc: ServicesDep, who: PrincipalDep, metric: MetricParam = None, area: AreaParam = None,
    stated_by: StatedByParam = None,
    tolerance: Annotated[float, Query(ge=0, lt=1, description="Relative difference "
                                      "publishers (and the records) may show (0.05 = 5 %).")
                         ] = DEFAULT_TOLERANCE,
    slack_days: Annotated[int, Query(ge=0, le=366, description="Days a cumulative "
                                     "figure's end and the next period's start may be "
                                     "apart.")] = DEFAULT_SLACK_DAYS,
) -> CheckResult:
    f = service.claim_filter(metric, area, stated_by)
    findings = service.check_store(
        svc.store, who, policy=svc.records.policy,
        public_min_count=svc.settings.public_min_count, f=f, tolerance=tolerance,
        slack_days=slack_days)
    return CheckResult(findings=[x.as_dict() for x in findings], count=len(findings),
                       tolerance=tolerance, slack_days=slack_days)


@router.post("/import", response_model=ImportResult,
             summary="Import a CSV file of published figures (HXL-tagged); all or nothing")
def import_claims(
    svc: ServicesDep, who: SignedInDep,
    file: Annotated[UploadFile, File(description="CSV, UTF-8, with an HXL hashtag row or "
                                     "the header names of docs/claims.md")],
) -> ImportResult:
    content = file.file.read(service.MAX_UPLOAD_BYTES + 1)
    result = service.import_upload(svc.store, who, file.filename or "claims.csv", content)
    return ImportResult(**result.as_dict())  # type: ignore[arg-type]
