# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features at /ogc (issue 23): Part 1 Core (landing page, conformance,
collections, items, one feature), Part 3 (queryables, CQL2-text filters), GeoJSON and
HTML. What QGIS and ArcGIS connect to ("WFS / OGC API - Features"), and GDAL's OAPIF
driver. Thin: parse the request, call services/ogc_features.py, shape the answer; who
sees what is the records API's rule (access/), applied there.

Mounted at /ogc, beside /api/v1 rather than under it: OGC API paths (/collections,
/conformance) are the standard's, not the records API's, and a client is given the
one URL of the landing page (docs/ogc-api.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from mineaction import __version__
from mineaction.access.visibility import Access
from mineaction.api.negotiation import GEOJSON, dumps, feature, features
from mineaction.api.ogc_html import page
from mineaction.api.ogc_openapi import ogc_openapi
from mineaction.api.routers.records import next_page_url
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.http.params import parse_bbox
from mineaction.services.container import Services
from mineaction.services.errors import Invalid
from mineaction.services.ogc_features import (
    MAX_FILTER_CHARS,
    BadRequest,
    Collection,
    ItemsRequest,
    OgcFeatures,
    collection_of,
)

OGC = "/ogc"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
HTML, JSON = "text/html", "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    # Part 2, with CRS84 the one CRS offered: `crs`, `bbox-crs` and `filter-crs` take it
    # (any other is a 400) and answers name it in Content-Crs.
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
# Query parameters each kind of endpoint knows: any other is a 400 (Core's
# /req/core/query-param-unknown), so a misspelt filter is never silently ignored.
PAGE_PARAMS = frozenset({"f"})
ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "limit", "cursor", "datetime", "filter",
                          "filter-lang", "filter-crs", "crs"})
ITEM_PARAMS = frozenset({"f", "crs"})
CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}
CURSOR_MAX = 20

router = APIRouter(prefix=OGC, tags=["ogc"], responses=ERROR_RESPONSES)

CrsQ = Annotated[str | None, Query(description=f"The CRS of the answer: {CRS84} only",
                                   max_length=200)]
FormatQ = Annotated[str | None, Query(description="json (GeoJSON for features) or html; "
                                      "default: by Accept", max_length=10)]


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "html", "geojson"):
            raise BadRequest(f"f={f!r}: use json or html")
        return f == "html"
    accept = request.headers.get("accept", "")
    return HTML in accept and "json" not in accept


def _check_params(request: Request, known: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise BadRequest(f"unknown query parameter {unknown[0]!r} (this endpoint takes "
                         f"{', '.join(sorted(known))})")


def _base(request: Request) -> str:
    return str(request.url_for("ogc_landing")).rstrip("/")


def _answer(request: Request, f: str | None, title: str, body: dict[str, Any],
            media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    if _wants_html(request, f):
        return HTMLResponse(page(title, body), headers=headers)
    return Response(dumps(body), media_type=media_type, headers=headers)


def _check_crs(name: str, crs: str | None) -> None:
    if crs is not None and crs != CRS84:
        raise BadRequest(f"{name}: only {CRS84} is offered")


def _self_links(request: Request, media_type: str = JSON) -> list[dict[str, Any]]:
    """self and alternate links of this page: the same URL with f=json and f=html."""
    url = request.url.remove_query_params("f")
    html = _wants_html(request, request.query_params.get("f"))
    own, other = (HTML, media_type) if html else (media_type, HTML)
    return [{"rel": "self", "type": own, "href": str(url.include_query_params(
                f="html" if html else "json"))},
            {"rel": "alternate", "type": other, "href": str(url.include_query_params(
                f="json" if html else "html"))}]


def _features(svc: Services) -> OgcFeatures:
    return OgcFeatures(svc.records, nonspatial=svc.settings.ogc_nonspatial_collections)


def _access(svc: Services, who: Any) -> Access:
    return svc.records.access(who)


@router.get("/", include_in_schema=False)  # {root}/ as the standard writes it
@router.get("", name="ogc_landing", summary="OGC API Features landing page")
def landing(request: Request, f: FormatQ = None) -> Response:
    _check_params(request, PAGE_PARAMS)
    base = _base(request)
    body = {"title": "mineaction OGC API Features", "description":
            f"Mine action records (mineaction {__version__}) as OGC API Features.",
            "links": [*_self_links(request),
                      {"rel": "service-desc", "type": OPENAPI_JSON, "href": f"{base}/api",
                       "title": "The API definition (OpenAPI)"},
                      *([{"rel": "service-doc", "type": HTML,
                          "href": f"{str(request.base_url).rstrip('/')}/api/v1/docs",
                          "title": "The API documentation"}]
                        if request.app.state.services.settings.docs_enabled else []),
                      {"rel": "conformance", "type": JSON, "href": f"{base}/conformance",
                       "title": "Conformance classes"},
                      {"rel": "data", "type": JSON, "href": f"{base}/collections",
                       "title": "Collections"}]}
    return _answer(request, f, "mineaction OGC API Features", body)


@router.get("/api", summary="The API definition (OpenAPI) of the OGC API endpoints")
def api_definition(request: Request) -> Response:
    _check_params(request, PAGE_PARAMS)
    # Built once per server URL and kept with the app: the app's whole OpenAPI document
    # and its rewriting take seconds on a busy machine, and clients ask for it first.
    cache: dict[str, bytes] | None = getattr(request.app.state, "ogc_openapi", None)
    if cache is None:
        cache = request.app.state.ogc_openapi = {}
    server = _base(request)
    if server not in cache:
        settings = request.app.state.services.settings
        features = _features(request.app.state.services)
        cache[server] = dumps(ogc_openapi(
            request.app.openapi(), server=server,
            collections=[collection_of(k).id for k in REGISTRY if features.offered(k)],
            default_limit=_default_limit(settings), max_limit=settings.max_page_size))
    return Response(cache[server], media_type=OPENAPI_JSON)


def _default_limit(settings: Any) -> int:
    return min(10, int(settings.max_page_size))


@router.get("/conformance", summary="Conformance classes the OGC API declares")
def conformance(request: Request, f: FormatQ = None) -> Response:
    _check_params(request, PAGE_PARAMS)
    body = {"conformsTo": CONFORMANCE, "links": _self_links(request)}
    return _answer(request, f, "Conformance", body)


def _collection_body(base: str, c: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    body: dict[str, Any] = {
        "id": c.id, "title": c.title, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [{"rel": "self", "type": JSON, "href": f"{url}?f=json"},
                  {"rel": "alternate", "type": HTML, "href": f"{url}?f=html"},
                  {"rel": "items", "type": GEOJSON, "href": f"{url}/items?f=json"},
                  {"rel": "items", "type": HTML, "href": f"{url}/items?f=html"},
                  {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                   "type": "application/schema+json", "href": f"{url}/queryables"}]}
    extent: dict[str, Any] = {}
    if c.has_geometry:
        extent["spatial"] = {"bbox": [[-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}
    if c.temporal:
        extent["temporal"] = {"interval": [[None, None]]}
        body["description"] = f"datetime filters on {c.temporal}"
    if extent:
        body["extent"] = extent
    return body


@router.get("/collections", summary="The feature collections you may read")
def collections(request: Request, svc: ServicesDep, who: PrincipalDep,
                f: FormatQ = None) -> Response:
    _check_params(request, PAGE_PARAMS)
    base = _base(request)
    found = _features(svc).collections(_access(svc, who))
    body = {"collections": [_collection_body(base, c) for c in found],
            "links": _self_links(request)}
    return _answer(request, f, "Collections", body)


@router.get("/collections/{collectionId}", summary="One feature collection")
def collection(request: Request, svc: ServicesDep, who: PrincipalDep,
               collectionId: str, f: FormatQ = None) -> Response:  # noqa: N803 - OGC's name
    _check_params(request, PAGE_PARAMS)
    c = _features(svc).collection(_access(svc, who), collectionId)
    return _answer(request, f, c.title, _collection_body(_base(request), c))


@router.get("/collections/{collectionId}/queryables",
            summary="The properties you may filter the collection on (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {}}}})
def queryables(request: Request, svc: ServicesDep, who: PrincipalDep,
               collectionId: str, f: FormatQ = None) -> Response:  # noqa: N803
    _check_params(request, PAGE_PARAMS)
    ogc = _features(svc)
    access = _access(svc, who)
    c = ogc.collection(access, collectionId)
    url = f"{_base(request)}/collections/{c.id}/queryables"
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url,
            "type": "object", "title": c.title, "properties": ogc.queryables(access, c.kind),
            "additionalProperties": False, "links": _self_links(request,
                                                                "application/schema+json")}
    return _answer(request, f, f"{c.title}: queryables", body, "application/schema+json")


def _bbox(text: str | None, crs: str | None) -> tuple[float, float, float, float] | None:
    _check_crs("bbox-crs", crs)
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights do not matter here
        text = ",".join([parts[0], parts[1], parts[3], parts[4]])
    try:
        return parse_bbox(text)
    except Invalid as exc:
        raise BadRequest(exc.message, field_errors=exc.field_errors) from None


def _limit(text: str | None, default: int, largest: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise BadRequest("limit: a whole number of at least 1")
    return min(int(text), largest)  # the standard lets a server cap it


def _instant(text: str) -> date | None:
    """One end of a datetime interval as a day (records are dated by day)."""
    if text in ("", ".."):
        return None
    try:
        if "T" in text or "t" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace(
                "z", "+00:00")).date()
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"datetime: {text!r} is not an RFC 3339 date or date-time "
                         "(intervals: start/end, open with ..)") from None


def _datetime(text: str | None) -> tuple[date | None, date | None]:
    if text is None:
        return None, None
    if "/" not in text:
        day = _instant(text)
        if day is None:
            raise BadRequest("datetime: a date, a date-time or an interval start/end")
        return day, day
    start, _, finish = text.partition("/")
    lo, hi = _instant(start), _instant(finish)
    if lo is not None and hi is not None and lo > hi:
        raise BadRequest("datetime: the interval ends before it starts")
    return lo, hi


def _after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63):
        raise BadRequest("cursor: pass back the cursor of a next link")
    return int(cursor)


@router.get("/collections/{collectionId}/items",
            summary="Features of a collection (GeoJSON), filtered and paged",
            responses={200: {"content": {GEOJSON: {}, HTML: {}}}})
def items(
    request: Request, svc: ServicesDep, who: PrincipalDep, collectionId: str,  # noqa: N803
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (CRS84)",
                                      max_length=200)] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", max_length=200)] = None,
    limit: Annotated[str | None, Query(description="Features per page (integer; capped "
                                       "at the server's largest page)",
                                       max_length=12)] = None,
    cursor: Annotated[str | None, Query(description="Where a next link continues",
                                        max_length=CURSOR_MAX)] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description="A date, or an "
                                           "interval start/end (.. for open), on the "
                                           "record's date", max_length=100)] = None,
    filter_: Annotated[str | None, Query(alias="filter", description="A CQL2-text filter "
                                         "on the collection's queryables",
                                         # past the service's own limit, which says 400
                                         max_length=2 * MAX_FILTER_CHARS)] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang", max_length=40)] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", max_length=200)] = None,
    crs: CrsQ = None,
    f: FormatQ = None,
) -> Response:
    _check_params(request, ITEMS_PARAMS)
    ogc = _features(svc)
    access = _access(svc, who)
    c = ogc.collection(access, collectionId)
    if filter_lang not in (None, "cql2-text"):
        raise BadRequest("filter-lang: only cql2-text is supported")
    _check_crs("filter-crs", filter_crs)
    _check_crs("crs", crs)
    date_from, date_to = _datetime(datetime_)
    if (date_from or date_to) and not c.temporal:
        raise BadRequest(f"datetime: {c.id} has no date to filter on")
    settings = svc.settings
    req = ItemsRequest(bbox=_bbox(bbox, bbox_crs), date_from=date_from, date_to=date_to,
                       filter=filter_, after_fid=_after(cursor),
                       limit=_limit(limit, _default_limit(settings),
                                    settings.max_page_size))
    found = ogc.items(access, c.kind, req)
    html = _wants_html(request, f)
    links = _self_links(request, GEOJSON)
    if found.next_fid is not None:
        links.append({"rel": "next", "type": HTML if html else GEOJSON,
                      "href": next_page_url(request, str(found.next_fid))})
    links.append({"rel": "collection", "type": JSON,
                  "href": f"{_base(request)}/collections/{c.id}"})
    body = {"type": "FeatureCollection", "features": features(found.items),
            "numberMatched": found.number_matched, "numberReturned": len(found.items),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"), "links": links}
    return _answer(request, f, f"{c.title}: features", body, GEOJSON, CONTENT_CRS)


@router.get("/collections/{collectionId}/items/{featureId}",
            summary="One feature (GeoJSON)",
            responses={200: {"content": {GEOJSON: {}, HTML: {}}}})
def item(request: Request, svc: ServicesDep, who: PrincipalDep, collectionId: str,  # noqa: N803
         featureId: str, crs: CrsQ = None, f: FormatQ = None) -> Response:  # noqa: N803
    _check_params(request, ITEM_PARAMS)
    _check_crs("crs", crs)
    ogc = _features(svc)
    access = _access(svc, who)
    c = ogc.collection(access, collectionId)
    body = feature(ogc.item(access, c.kind, featureId))
    body["links"] = [*_self_links(request, GEOJSON),
                     {"rel": "collection", "type": JSON,
                      "href": f"{_base(request)}/collections/{c.id}"}]
    return _answer(request, f, f"{c.title}: {featureId}", body, GEOJSON, CONTENT_CRS)
