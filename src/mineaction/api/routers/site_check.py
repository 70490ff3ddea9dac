# SPDX-License-Identifier: GPL-3.0-or-later
"""Site checks over HTTP (issue 20): `GET /site-check?lon=&lat=` for a point and
`POST /site-check` for any site (a GeoJSON point, line or area).

Open to the public: services/site_check.py reads through the asker's access, so the
public is answered from approved records only, without minefield records, with accident
places generalised, and is told so."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services.site_check import MAX_BUFFER_M

router = APIRouter(prefix="/site-check", tags=["site check"], responses=ERROR_RESPONSES)

BufferM = Annotated[float, Field(ge=0, le=MAX_BUFFER_M, description=(
    "Hazards and minefield records within this many metres of the site."))]
NearbyM = Annotated[float, Field(ge=0, le=MAX_BUFFER_M, description=(
    "Accidents and finds within this many metres of the site."))]


Lang = Annotated[str, Field(max_length=8, description=(
    "Language of `findings` and `caveat`: en, or a report language (es ...)."))]


class SiteIn(BaseModel):
    geometry: dict[str, Any] = Field(description=(
        "The site as a GeoJSON geometry in longitude/latitude (RFC 7946): a Point, a "
        "LineString (a road) or a Polygon (a plot), or their Multi- forms."),
        examples=[{"type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.999, 6.0],
                                                       [-74.999, 6.001], [-75.0, 6.0]]]}])
    buffer_m: BufferM = 500.0
    nearby_m: NearbyM = 2000.0
    lang: Lang = "en"


class NearbyOut(BaseModel):
    kind: str
    id: str
    distance_m: float
    label: str
    status: str | None
    date: str | None
    share_of_site: float | None
    by: str | None


class CountOut(BaseModel):
    kind: str
    radius_m: float
    count: int
    nearest_m: float | None
    latest: str | None


class SiteReportOut(BaseModel):
    site_type: str
    site_size: float | None = Field(description="m² for an area, m for a line")
    buffer_m: float
    nearby_m: float
    hazards: list[NearbyOut]
    minefield_records: list[NearbyOut]
    released: list[NearbyOut]
    released_share: dict[str, float] = Field(description=(
        "Share of the site in land released by each method; a part released twice "
        "counts once, under the stronger method (cleared, reduced, cancelled)."))
    accidents: CountOut | None
    finds: CountOut | None
    risk: dict[str, Any] | None
    generalised: dict[str, int] = Field(description=(
        "Kinds whose places you see rounded to this many decimal places: their counts "
        "and distances are approximate."))
    data_as_of: str | None
    records_used: dict[str, list[str]]
    findings: list[str]
    caveat: str


def _run(svc: Any, p: Any, geometry: Any, buffer_m: float, nearby_m: float, lang: str
         ) -> SiteReportOut:
    report = svc.site_checks.check(p, geometry, buffer_m=buffer_m, nearby_m=nearby_m,
                                   lang=lang)
    return SiteReportOut.model_validate(report.to_json())


@router.get("", response_model=SiteReportOut, summary="What the records say about a point")
def check_point(
    svc: ServicesDep, p: PrincipalDep,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude, decimal degrees")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude, decimal degrees")],
    buffer_m: Annotated[float, Query(ge=0, le=MAX_BUFFER_M, description=(
        "Hazards and minefield records within this many metres."))] = 500.0,
    nearby_m: Annotated[float, Query(ge=0, le=MAX_BUFFER_M, description=(
        "Accidents and finds within this many metres."))] = 2000.0,
    lang: Annotated[str, Query(max_length=8, description=(
        "Language of the findings: en, or a report language (es ...)."))] = "en",
) -> SiteReportOut:
    """Hazards on the point or within `buffer_m`, land released over it, accidents and
    finds within `nearby_m`, in plain words after IMAS (`findings`): what is recorded,
    never that a place is safe."""
    return _run(svc, p, {"type": "Point", "coordinates": [lon, lat]}, buffer_m, nearby_m,
                lang)


@router.post("", response_model=SiteReportOut,
             summary="What the records say about a site (point, line or area)")
def check_site(svc: ServicesDep, p: PrincipalDep, body: SiteIn) -> SiteReportOut:
    """As `GET /site-check`, for any site: for an area or a line, the share of it inside
    each hazard and in land released by each method."""
    return _run(svc, p, body.geometry, body.buffer_m, body.nearby_m, body.lang)
