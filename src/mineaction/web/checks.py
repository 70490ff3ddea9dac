# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry checks page (issue 18, 5): the geometry QA faults per record, each record
linked to its page, with the suggested repairs; `?kind=hazards` narrows it to one
collection.

Rendered from services/geometry_qa.py, which decides which faults the visitor may see
(only those of records they may read), as the API and `mineaction check-geometry` use.
Each record's own page lists its faults too (web/pages.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from mineaction.analysis.geometry_qa import CODES, spatial_kinds, thresholds
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import ServicesDep
from mineaction.services.geometry_qa import GeometryChecks
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


@router.get("/checks/geometry", response_class=HTMLResponse)
def geometry_checks(request: Request, svc: ServicesDep, who: WhoDep,
                    kind: Annotated[str | None, Query()] = None) -> Response:
    collections = {REGISTRY[k].collection: k for k in spatial_kinds()}
    if kind and kind not in collections:
        return error_page(request, who, 404, f"No geometry to check in {kind!r}.")
    checks = GeometryChecks(svc.store, svc.records.policy, svc.records.public_decimals)
    seen = checks.faults(who, [collections[kind]] if kind else None)
    records = [(REGISTRY[k].collection, rid, faults)
               for (k, rid), faults in seen.by_record().items()]
    counts = [(code, CODES[code], len(faults)) for code, faults in seen.by_code().items()]
    return render(request, "checks.html", who, records=records, counts=counts,
                  checked=seen.checked, at=seen.at, total=len(seen.faults), kind=kind,
                  choices=list(collections), thresholds=thresholds())
