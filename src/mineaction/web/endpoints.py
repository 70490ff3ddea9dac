"""JSON the web pages need beyond /api/v1: map layers in bulk, coordinate parsing, polygon
area, dashboard figures, and the offline basemap. Thin: parse, call web/core.py, shape."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from mineaction.api.deps import ServicesDep
from mineaction.api.routers.records import parse_bbox
from mineaction.web import core
from mineaction.web.session import WhoDep

router = APIRouter(prefix="/web/api", include_in_schema=False)
BASEMAP = Path(__file__).parents[1] / "data" / "countries_ne50m.geojson"


def _json(body: Any, *, cache_seconds: int = 0) -> Response:
    headers = {"Cache-Control": f"private, max-age={cache_seconds}" if cache_seconds
               else "no-store"}
    return Response(json.dumps(body, separators=(",", ":"), default=str),
                    media_type="application/json", headers=headers)


@router.get("/layers/{layer}")
def layer(
    request: Request, svc: ServicesDep, who: WhoDep, layer: str,
    date_from: date | None = None, date_to: date | None = None,
    admin_area: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=80)] = None,
    device: Annotated[str | None, Query(max_length=40)] = None,
    role: Annotated[str | None, Query(max_length=40)] = None,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    level: Annotated[int, Query(ge=0, le=4)] = 1,
) -> Response:
    f = core.MapFilters(date_from=date_from, date_to=date_to, admin_area=admin_area or None,
                        status=tuple(s for s in (status or "").split(",") if s) or None,
                        device=device or None, role=role or None, bbox=parse_bbox(bbox),
                        admin_level=level)
    policy = svc.records.policy
    if layer in core.POINT_LAYERS:
        body = core.point_layer(svc.store, who, policy, layer, f,
                                svc.settings.public_location_decimals)
    elif layer in core.AREA_LAYERS:
        body = core.area_layer(svc.store, who, policy, layer, f)
    else:
        return _json({"message": f"no layer {layer}"}, cache_seconds=0)
    return _json(body)


@router.get("/coordinates")
def coordinates(text: Annotated[str, Query(max_length=200)],
                hint: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    return _json(core.coordinate_json(text, hint or None))


@router.post("/area")
def area(geometry: Annotated[dict[str, Any], Body(embed=True)]) -> Response:
    return _json(core.area_json(geometry))


@router.get("/dashboard")
def dashboard(svc: ServicesDep, who: WhoDep, include_submitted: bool = True) -> Response:
    return _json(core.dashboard(svc.store, who, include_submitted=include_submitted))


@cache
def _basemap_bytes() -> bytes:
    # Natural Earth 1:50m admin-0 countries (public domain), shipped in mineaction/data/;
    # only the outline and the name are kept for the map.
    # Simplified to ~1 km and rounded to 0.001 degree: a third fewer bytes and vertices for
    # the browser to tile, invisible at the zooms where outlines are all there is.
    import shapely
    from shapely.geometry import mapping, shape

    data = json.loads(BASEMAP.read_text(encoding="utf-8"))
    features = []
    for feat in data["features"]:
        props = feat.get("properties") or {}
        geom = shapely.set_precision(
            shape(feat["geometry"]).simplify(0.01, preserve_topology=True), 0.001)
        features.append({"type": "Feature", "geometry": mapping(geom),
                         "properties": {"name": props.get("name") or ""}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":")).encode()


@router.get("/basemap/countries.geojson")
def basemap() -> Response:
    return Response(_basemap_bytes(), media_type="application/geo+json",
                    headers={"Cache-Control": "public, max-age=86400"})
