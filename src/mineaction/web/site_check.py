# SPDX-License-Identifier: GPL-3.0-or-later
"""The public site check page (issue 20): draw a point, a line or an area on the map (or
type a coordinate), set the buffer, read what the records say, and download a certificate.

The page always answers with the public view (approved records only, no minefield
records, no personal data, accident places generalised), whoever is signed in: it is the
page a family, a municipality or an engineer is sent to, and its verdict is the one the
certificate carries (services/certificates.py makes certificates from the public view).
Staff read the full view through the API or `mineaction site-check`.

`POST /web/api/site-check` answers the page's script: the findings (services/site_check.py)
plus the records used and the buffer as GeoJSON, to highlight them on the map."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from mineaction.access.roles import PUBLIC
from mineaction.http.deps import ServicesDep
from mineaction.services.site_check import MAX_BUFFER_M
from mineaction.web.i18n import report_languages
from mineaction.web.pages import render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


class SiteIn(BaseModel):
    """The drawn site and distances (as the API's POST /site-check takes them)."""

    geometry: dict[str, Any]
    buffer_m: float = Field(default=500.0, ge=0, le=MAX_BUFFER_M)
    nearby_m: float = Field(default=2000.0, ge=0, le=MAX_BUFFER_M)
    lang: str = Field(default="en", max_length=8)


@router.get("/site-check", response_class=HTMLResponse)
def site_check_page(request: Request, who: WhoDep) -> HTMLResponse:
    ws = request.app.state.web_settings
    return render(request, "site_check.html", who, tile_url=ws.tile_url,
                  tile_attribution=ws.tile_attribution, max_buffer=int(MAX_BUFFER_M),
                  languages=report_languages())


@router.post("/web/api/site-check")
def site_check_json(svc: ServicesDep, body: SiteIn) -> Response:
    """The public's site check of the drawn site, with what to draw on the map."""
    from shapely.geometry import mapping

    from mineaction.reports.site_certificate import buffered
    from mineaction.services.site_check import checked_site

    certs = svc.certificates
    report = certs.checks.check(PUBLIC, body.geometry, buffer_m=body.buffer_m,
                                nearby_m=body.nearby_m, lang=body.lang)
    site = checked_site(body.geometry)
    features: list[dict[str, Any]] = []
    for (kind, rid), data in sorted(certs.public_records(report.records_used).items()):
        if not data.get("geometry"):
            continue
        label = data.get("name") or data.get("method") or data.get("device_category") or ""
        status = data.get("hazard_status") or data.get("method") or ""
        features.append({"type": "Feature", "geometry": data["geometry"],
                         "properties": {"kind": kind, "id": rid, "label": str(label),
                                        "status": str(status)}})
    out = {**report.to_json(),
           "features": {"type": "FeatureCollection", "features": features},
           "buffer": dict(mapping(buffered(site, report.buffer_m)))}
    return Response(json.dumps(out, separators=(",", ":"), default=str),
                    media_type="application/json", headers={"Cache-Control": "no-store"})
