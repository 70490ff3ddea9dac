"""JSON the web pages need beyond /api/v1: map layers in bulk, coordinate parsing, polygon
area, dashboard figures, and the offline basemap. Thin: parse, call services/, shape."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from mineaction.http.deps import ServicesDep
from mineaction.http.params import parse_bbox
from mineaction.services import dashboard as figures
from mineaction.services import links, maps
from mineaction.web import basemap, core, tiles
from mineaction.web.basemap_routes import MVT
from mineaction.web.session import WhoDep

router = APIRouter(prefix="/web/api", include_in_schema=False)


def _json(body: Any, *, cache_seconds: int = 0, status_code: int = 200) -> Response:
    headers = {"Cache-Control": f"private, max-age={cache_seconds}" if cache_seconds
               else "no-store"}
    return Response(json.dumps(body, separators=(",", ":"), default=str),
                    media_type="application/json", headers=headers, status_code=status_code)


def map_filters(
    date_from: date | None = None, date_to: date | None = None,
    admin_area: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=80)] = None,
    device: Annotated[str | None, Query(max_length=40)] = None,
    role: Annotated[str | None, Query(max_length=40)] = None,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    level: Annotated[int, Query(ge=0, le=4)] = 1,
) -> maps.MapFilters:
    return maps.MapFilters(date_from=date_from, date_to=date_to, admin_area=admin_area or None,
                           status=tuple(s for s in (status or "").split(",") if s) or None,
                           device=device or None, role=role or None, bbox=parse_bbox(bbox),
                           admin_level=level)


FiltersDep = Annotated[maps.MapFilters, Depends(map_filters)]
# The filters a tile URL carries on (the summary hands the page its tile URL).
FILTER_PARAMS = ("date_from", "date_to", "admin_area", "status", "device", "role")


def _index(request: Request, svc: Any, who: Any, layer: str, f: maps.MapFilters,
           token: str | None = None) -> tiles.PointIndex:
    cache: tiles.LayerCache = request.app.state.web_layers
    return cache.get(svc.store, svc.records.access(who), layer, f, token)


@router.get("/layers/{layer}/summary")
def layer_summary(request: Request, svc: ServicesDep, who: WhoDep, layer: str,
                  f: FiltersDep) -> Response:
    """What the map needs before drawing a tiled point layer: how many points, where
    (to fit the view), and the URL of its tiles, which names this index (`v`) so that
    the tiles of one page view all come from the same data."""
    if layer not in tiles.DEPENDS:
        return _json({"message": f"no tiled layer {layer}"}, status_code=404)
    index = _index(request, svc, who, layer, f)
    params = [(k, v) for k, v in request.query_params.items() if k in FILTER_PARAMS]
    query = urlencode([("v", index.token), *params])
    return _json({"layer": layer, "count": index.count, "bounds": index.bounds,
                  "tiles": f"/web/api/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?{query}",
                  "maxzoom": tiles.MAX_ZOOM, "cluster_max_zoom": tiles.CLUSTER_MAX_ZOOM})


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt")
def layer_tile(request: Request, svc: ServicesDep, who: WhoDep, layer: str,
               z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)], x: int, y: int,
               f: FiltersDep, v: Annotated[str | None, Query(max_length=40)] = None
               ) -> Response:
    if layer not in tiles.DEPENDS or not (0 <= x < 1 << z and 0 <= y < 1 << z):
        return _json({"message": "no such tile"}, status_code=404)
    return layer_tile_answer(request, svc, who, layer, f, v, z, x, y)


def layer_tile_answer(request: Request, svc: Any, who: Any, layer: str, f: maps.MapFilters,
                      v: str | None, z: int, x: int, y: int) -> Response:
    """A layer's tile, of a tile that exists: the route's answer and the fast lane's
    (web/fast_paths.py)."""
    index = _index(request, svc, who, layer, f, v)
    # A tile of the index its URL names never changes: the browser may keep it. A tile of
    # newer data than the URL names (the data changed since the page asked) must not be.
    cache = "private, max-age=3600" if index.token == v else "no-store"
    return Response(tiles.tile(index, z, x, y), media_type=MVT,
                    headers={"Cache-Control": cache})


@router.get("/layers/{layer}")
def layer(request: Request, svc: ServicesDep, who: WhoDep, layer: str, f: FiltersDep
          ) -> Response:
    access = svc.records.access(who)
    if layer in maps.POINT_LAYERS:
        body = maps.point_layer(svc.store, access, layer, f)
    elif layer in maps.AREA_LAYERS:
        body = maps.area_layer(svc.store, access, layer, f)
    else:
        return _json({"message": f"no layer {layer}"}, cache_seconds=0)
    return _json(body)


@router.get("/pick/{kind}")
def pick(svc: ServicesDep, who: WhoDep, kind: str,
         q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """Options of a form's pick list of linked records (web/static/js/picklist.js)."""
    if kind not in links.PICKED:
        return _json({"message": f"no pick list of {kind}"}, status_code=404)
    rows = links.pick(svc.store, svc.records.access(who), kind, q)
    return _json([{**r, "text": links.pick_text(r)} for r in rows])


@router.get("/extent")
def extent(svc: ServicesDep, who: WhoDep) -> Response:
    """Where the map opens (services/maps.py start_extent): the configured country, the
    admin areas, or the approved records without outliers; null when nothing tells."""
    box = maps.start_extent(svc.store, svc.records.access(who), svc.settings.country)
    return _json({"bbox": box})


@router.get("/place-check")
def place_check(svc: ServicesDep, who: WhoDep,
                lon: Annotated[float, Query(ge=-1000, le=1000)],
                lat: Annotated[float, Query(ge=-1000, le=1000)]) -> Response:
    """Reasons to doubt a form's location before it is saved (services/maps.py)."""
    return _json({"warnings": maps.place_warnings(svc.store, svc.records.access(who),
                                                  svc.settings.country, lon, lat)})


@router.get("/coordinates")
def coordinates(text: Annotated[str, Query(max_length=200)],
                hint: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    return _json(core.coordinate_json(text, hint or None))


@router.post("/area")
def area(geometry: Annotated[dict[str, Any], Body(embed=True)]) -> Response:
    return _json(core.area_json(geometry))


@router.get("/dashboard")
def dashboard(svc: ServicesDep, who: WhoDep, include_submitted: bool = True) -> Response:
    # The same suppression of the public's small counts as the dashboard page.
    return _json(figures.dashboard(svc.store, svc.records.access(who),
                                   include_submitted=include_submitted,
                                   min_count=svc.settings.public_min_count))


@router.get("/basemap/countries.geojson")
def basemap_geojson() -> Response:
    return Response(basemap.basemap().geojson, media_type="application/geo+json",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/basemap/{z}/{x}/{y}.mvt")
def basemap_tile(z: Annotated[int, Path(ge=0, le=basemap.MAX_ZOOM)], x: int, y: int
                 ) -> Response:
    if not (0 <= x < 1 << z and 0 <= y < 1 << z):
        return _json({"message": "no such tile"}, status_code=404)
    return basemap_tile_answer(z, x, y)


def basemap_tile_answer(z: int, x: int, y: int) -> Response:
    """The shipped basemap's tile, of a tile that exists (the route's and the fast
    lane's answer)."""
    return Response(basemap.basemap().tile(z, x, y), media_type=MVT,
                    headers={"Cache-Control": "public, max-age=86400"})
