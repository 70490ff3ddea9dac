# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks over the whole store over HTTP (issue 18, 5): `GET /checks/geometry`, the
geometry QA faults the asker may see.

Thin: services/geometry_qa.py runs the QA (kept until the store changes) and keeps only
the faults of records the asker may read (the public: approved records only, points of
events generalised), as `mineaction check-geometry` and the web page do."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mineaction.analysis.geometry_qa import CODES, thresholds
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services.geometry_qa import GeometryChecks, by_collection

router = APIRouter(prefix="/checks", tags=["checks"], responses=ERROR_RESPONSES)

# The collections with a geometry (services/geometry_qa.py checks these): an enum in
# the API's description, and any other value a 422.
KIND_OF = by_collection()
Collection: Any = Literal[tuple(KIND_OF)]


class FaultOut(BaseModel):
    kind: str
    record_id: str
    record: str  # the record's URL in this API
    label: str | None  # its external id, when the asker may see it
    code: str
    title: str
    message: str
    where: list[float] | None  # [lon, lat]
    repair: str
    related: list[str]


class GeometryChecksOut(BaseModel):
    checked_at: datetime  # when the store was read (a result may be reused a few seconds)
    checked: dict[str, int]
    thresholds: dict[str, float]
    counts: dict[str, int]
    faults: list[FaultOut]


@router.get("/geometry", response_model=GeometryChecksOut,
            summary="Geometry QA: the faults of the records you may read")
def geometry(svc: ServicesDep, p: PrincipalDep,
             kind: Annotated[list[Collection] | None, Query(
                 description="Check only these collections (repeat for several).")] = None
             ) -> GeometryChecksOut:
    """Invalid or self-intersecting polygons, rings with fewer than 3 distinct vertices,
    repeated closing points, duplicate points, records and ids, ids with stray spaces,
    overlapping hazards, slivers, vertices more than 5 km apart and points far from
    their admin area, each with a suggested repair (nothing is changed). Codes and
    thresholds: docs/commands/check-geometry.md."""
    checks = GeometryChecks(svc.store, svc.records.policy, svc.records.public_decimals)
    kinds = [KIND_OF[c] for c in dict.fromkeys(kind)] if kind else None
    seen = checks.faults(p, kinds)
    groups = seen.by_code()
    faults = [FaultOut(**f.to_dict(),
                       record=f"/api/v1/{REGISTRY[f.kind].collection}/{f.record_id}")
              for fs in groups.values() for f in fs]
    return GeometryChecksOut(checked_at=seen.at, checked=seen.checked, thresholds=thresholds(),
                             counts={code: len(fs) for code, fs in groups.items()
                                     if code in CODES},
                             faults=faults)
