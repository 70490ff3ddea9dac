# SPDX-License-Identifier: GPL-3.0-or-later
"""Place search over HTTP (issue 21): `GET /api/v1/places/search?q=&limit=`, the map's
search box. Open to the public: services/gazetteer.py reads the store through the
asker's access, so the public finds approved records and reference data only. Thin:
parse, call the service, shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services.gazetteer import MAX_LIMIT

router = APIRouter(tags=["places"], responses=ERROR_RESPONSES)


class PlaceOut(BaseModel):
    name: str
    source: str  # admin_area, place, record, populated_place
    detail: str
    lon: float
    lat: float
    bbox: list[float] | None  # west, south, east, north (areas)
    collection: str | None
    id: str | None
    href: str | None  # the record's page, for a record, an admin area or a place


class PlaceResults(BaseModel):
    q: str
    items: list[PlaceOut]


@router.get("/places/search", response_model=PlaceResults,
            summary="Search places: admin areas, places, populated places and records")
def search_places(svc: ServicesDep, who: PrincipalDep,
                  q: Annotated[str, Query(max_length=100, description=(
                      "Part of a name; case and accents aside (\"bogota\" finds "
                      "\"Bogotá\"); exact names first, then prefixes, then the rest."))],
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10) -> PlaceResults:
    assert svc.gazetteer is not None  # built with the services
    found = svc.gazetteer.search(svc.records.access(who), q, limit)
    return PlaceResults(q=q, items=[PlaceOut(**p.as_json()) for p in found])
