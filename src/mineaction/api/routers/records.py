"""The records router of one entity kind: /api/v1/{collection}. Thin: parse the request,
call api/records.py, shape the answer."""


import re
import uuid
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, unquote_plus, urlencode

import anyio.to_thread
from fastapi import APIRouter, Body, Header, Query, Request, Response
from starlette._utils import get_route_path
from starlette.routing import Match

from mineaction.access.roles import Principal
from mineaction.api.app import API
from mineaction.api.lean import (
    FastHandlers,
    bounded_int,
    plain_query,
    who_is_asking,
    within,
)
from mineaction.api.negotiation import (
    GEOJSON,
    Format,
    feature,
    features,
    respond,
    wants_geojson,
)
from mineaction.api.schemas import (
    Diff,
    Reason,
    Review,
    VersionInfo,
    input_model,
    output_model,
    page_model,
)
from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.registry import REGISTRY
from mineaction.http.conditional import VARY, etag, not_modified, parse_if_match
from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES, ErrorBody, FieldError, Invalid
from mineaction.http.params import parse_bbox, parse_near
from mineaction.services.container import Services
from mineaction.services.places import resolve_admin_area
from mineaction.services.records import ListParams
from mineaction.store.held import QUICK_READS

T = TypeVar("T")
COLLECTIONS = {kind: e.collection for kind, e in REGISTRY.items()}
IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag of the version "
                                       "you edited, as returned by GET (e.g. \"3\").")]
FormatQ = Annotated[Format | None, Query(description="Output format (default: by Accept).")]
RecordId = Annotated[uuid.UUID, "record id"]
BBOX_MAX, CURSOR_MAX = 200, 20  # max_length of the bbox and cursor parameters
# What the fast paths (api/lean.py) read themselves; any other parameter goes to FastAPI.
PLAIN_LIST_PARAMS = frozenset({"bbox", "limit", "cursor", "f"})
PLAIN_GET_PARAMS = frozenset({"f"})
PLAIN_FORMATS = frozenset({None, *Format})
# The spelling of an id the API itself writes; FastAPI judges any other.
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


# What a query may hold to be echoed as it came (RFC 3986's query characters).
_URI_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


def next_page_url(request: Request, cursor: str) -> str:
    """This request's URL with `cursor` in place of its own, last.

    The query is kept as the client wrote it: it is already a valid query, and parsing
    and re-encoding it (Starlette's `include_query_params`) took 40 µs of a list page's
    CPU (issue 3). A query with characters a URL may not hold is re-encoded."""
    base = str(request.url).partition("?")[0]  # Starlette's: host header, root path
    query = request.scope["query_string"].decode("latin-1")
    if _URI_QUERY.fullmatch(query):
        kept = [part for part in query.split("&")
                if part and unquote_plus(part.partition("=")[0]) != "cursor"]
        return f"{base}?{'&'.join([*kept, 'cursor=' + cursor])}"
    items = [(k, v) for k, v in parse_qsl(request.scope["query_string"].decode(
        "utf-8", "replace"), keep_blank_values=True) if k != "cursor"]
    return f"{base}?{urlencode([*items, ('cursor', cursor)])}"


def _after(cursor: str | None) -> int | None:
    """The fid a cursor names."""
    if cursor is None:
        return None
    # ASCII digits of an fid a database integer holds ("²" is a digit to str.isdigit).
    if not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63):
        raise Invalid("cursor: pass back the next_cursor of a page",
                      field_errors=[FieldError(field="cursor", message="malformed")])
    return int(cursor)


class CollectionRouter(APIRouter):
    """An APIRouter that says "no match" at once for paths outside its collection.

    FastAPI tries every route of every included router in turn (~100 regex matches and
    their scope bookkeeping before it reaches /accidents, the 9th collection); that cost
    ~0.7 ms a request, more than a GET by id itself (issue 3's benchmark). A path that
    does not start with the collection's path cannot match any of its routes, so this
    changes no answer, 404 and 405 included."""

    def __init__(self, *, mounted_at: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.mounted_at = mounted_at  # the full path of the collection, e.g. /api/v1/hazards
        self.fast: FastHandlers | None = None  # its fast handlers (api/lean.py)

    def matches(self, scope: Any) -> tuple[Match, Any]:
        path = get_route_path(scope)
        if path != self.mounted_at and not path.startswith(self.mounted_at + "/"):
            return Match.NONE, {}
        return super().matches(scope)


async def _read(quick: bool, fn: Callable[..., T], *args: Any) -> T:
    """Run a read on the event loop when it is quick (Records.quick), else in the thread
    pool as FastAPI runs sync endpoints.

    A thread hop costs more than a quick read itself: waking a pool thread and the loop
    again, and then threads queueing for the GIL between their driver calls, took a GET
    by id from 1.5-1.9 to 2.3-2.4 ms of server CPU, and PostGIS workers answered 540
    instead of 850 requests/s (issue 3's benchmark, with wrk). A slow read (a big box, a
    date range over a million rows) still goes to a thread, so it never stalls the
    worker's other requests. Only quick reads may use the store's held connection, with
    its generic plans for small boxes (store/held.py)."""
    if quick:
        token = QUICK_READS.set(True)  # on the held connection (store/held.py)
        try:
            return fn(*args)
        finally:
            QUICK_READS.reset(token)
    return await anyio.to_thread.run_sync(fn, *args)


@cache  # routers hold no app state (services come from request.app), and building
# one costs FastAPI ~0.3 s: apps built in the same process (tests) share them.
def build_router(kind: str, max_page: int, default_page: int) -> CollectionRouter:
    model = output_model(kind)  # the domain model, and the code the store makes
    collection = COLLECTIONS[kind]
    tag = collection
    router = CollectionRouter(mounted_at=f"{API}/{collection}", prefix=f"/{collection}",
                              tags=[tag], responses=ERROR_RESPONSES)
    Page = page_model(kind)
    Create, Replace, Patch = (input_model(kind, m) for m in ("create", "replace", "patch"))
    one = {200: {"model": model, "content": {GEOJSON: {}},
                 "description": f"The {kind}, with its version as ETag."}}
    fresh = {304: {"description": "If-None-Match names the current version: the copy "
                   "the client holds is current (no body)."}}
    stale = {412: {"model": ErrorBody, "description": "Stale If-Match: `current` holds the "
                   "record as it now is."},
             428: {"model": ErrorBody, "description": "If-Match missing."}}

    def _one(svc: Any, data: dict[str, Any], version: int, request: Request,
             f: Format | None, status: int = 200) -> Response:
        geo = wants_geojson(request, f)
        return respond(feature(data) if geo else data, geojson=geo, status=status,
                       headers={"ETag": etag(version), "Vary": VARY})

    async def list_answer(request: Request, svc: Services, who: Principal,
                          params: ListParams, f: Format | None) -> Response:
        items, next_fid = await _read(svc.records.quick(who, kind, params),
                                      svc.records.list, who, kind, params)
        next_cursor = None if next_fid is None else str(next_fid)
        links = []
        if next_cursor is not None:
            links.append({"rel": "next", "type": None,
                          "href": next_page_url(request, next_cursor)})
        if wants_geojson(request, f):
            return respond({"type": "FeatureCollection",
                            "features": features(items),
                            "numberReturned": len(items), "next_cursor": next_cursor,
                            "links": links}, geojson=True, headers={"Vary": VARY})
        return respond({"items": items, "next_cursor": next_cursor, "links": links},
                       geojson=False, headers={"Vary": VARY})

    async def list_plainly(request: Request) -> Response | None:
        """list_records for a query of bbox, limit, cursor and f only (api/lean.py)."""
        q = plain_query(request, PLAIN_LIST_PARAMS)
        if q is None:
            return None
        limit = bounded_int(q.get("limit"), default_page, 1, max_page)
        f = q.get("f")
        bbox, cursor = q.get("bbox"), q.get("cursor")
        if (limit is None or f not in PLAIN_FORMATS or not within(bbox, BBOX_MAX)
                or not within(cursor, CURSOR_MAX)):
            return None
        who = await who_is_asking(request)  # first, as FastAPI solves dependencies first
        params = ListParams(bbox=parse_bbox(bbox), limit=limit, after_fid=_after(cursor))
        return await list_answer(request, request.app.state.services, who, params,
                                 None if f is None else Format(f))

    @router.get("", response_model=Page, responses={200: {"content": {GEOJSON: {}}}},
                summary=f"List {collection}")
    async def list_records(
        request: Request, svc: ServicesDep, who: PrincipalDep,
        bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat",
                                          max_length=BBOX_MAX)] = None,
        near: Annotated[str | None, Query(description="lon,lat,metres: within that "
                                          "distance (geodesic)", max_length=200)] = None,
        admin_area: Annotated[str | None, Query(description="Admin area pcode and all "
                                                "under it", max_length=40)] = None,
        date_from: date | None = None,
        date_to: date | None = None,
        status: Annotated[list[WorkflowStatus] | None, Query()] = None,
        kind_: Annotated[str | None, Query(alias="kind", description="The record's own "
                                           "kind (e.g. hazard_kind, accident_kind)",
                                           max_length=60)] = None,
        dataset: Annotated[str | None, Query(max_length=200)] = None,
        mine: Annotated[bool, Query(description="Only records I created")] = False,
        limit: Annotated[int, Query(ge=1, le=max_page)] = default_page,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous "
                                            "page", max_length=CURSOR_MAX)] = None,
        f: FormatQ = None,
    ) -> Response:
        if admin_area:  # 5313 read as 05313, or refused with a hint (services/places.py)
            admin_area = await anyio.to_thread.run_sync(resolve_admin_area, svc.store,
                                                        admin_area)
        params = ListParams(
            bbox=parse_bbox(bbox), near=parse_near(near), admin_area=admin_area,
            date_from=date_from, date_to=date_to,
            status=tuple(s.value for s in status) if status else None, kind=kind_,
            dataset=dataset, limit=limit, after_fid=_after(cursor), mine=mine)
        return await list_answer(request, svc, who, params, f)

    if kind == "victim":
        @router.get("/summary", summary="Victims counted (aggregates; open to the public)")
        def victims_summary(
            svc: ServicesDep, who: PrincipalDep,
            by: Annotated[list[str] | None, Query(description="year, admin-area, outcome, "
                                                  "sex, age-band, role, device-group")] = None,
        ) -> dict[str, Any]:
            from mineaction.services.summary import victims_summary as summarise

            return summarise(svc.store, by or [],
                             svc.settings.public_min_count if who.is_public else None)

    @router.post("", status_code=201, responses={201: one[200], **stale},
                 summary=f"Create a {kind} (as a draft)")
    def create(request: Request, svc: ServicesDep, who: PrincipalDep,
               body: Annotated[Create, Body()], f: FormatQ = None) -> Response:  # type: ignore[valid-type]
        data, version = svc.records.create(who, kind, body.model_dump(mode="json",
                                                                      exclude_unset=True))
        return _one(svc, data, version, request, f, status=201)

    async def get_answer(request: Request, svc: Services, who: Principal,
                         record_id: uuid.UUID, f: Format | None,
                         if_none_match: str | None) -> Response:
        data, version = await _read(svc.records.quick(who, kind), svc.records.get, who, kind,
                                    record_id)
        if not_modified(if_none_match, version):
            return Response(status_code=304, headers={"ETag": etag(version), "Vary": VARY})
        return _one(svc, data, version, request, f)

    async def get_plainly(request: Request) -> Response | None:
        """get for a canonical id and at most f= (api/lean.py)."""
        q = plain_query(request, PLAIN_GET_PARAMS)
        text = request.path_params.get("record_id", "")
        if q is None or q.get("f") not in PLAIN_FORMATS or not CANONICAL_UUID.fullmatch(text):
            return None
        tags = request.headers.getlist("if-none-match")
        if len(tags) > 1:
            return None
        f = q.get("f")
        return await get_answer(request, request.app.state.services,
                                await who_is_asking(request), uuid.UUID(text),
                                None if f is None else Format(f), tags[0] if tags else None)

    @router.get("/{record_id}", response_model=model, responses={**one, **fresh},
                summary=f"Get a {kind}")
    async def get(request: Request, svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID,
                  f: FormatQ = None,
                  if_none_match: Annotated[str | None, Header(
                      alias="If-None-Match", description="ETag of the version the client "
                      "holds: 304 when it is still current")] = None) -> Response:
        return await get_answer(request, svc, who, record_id, f, if_none_match)

    def _expected(if_match: str | None) -> int:
        from mineaction.http.errors import PreconditionRequired

        version = parse_if_match(if_match)
        if version is None:
            raise PreconditionRequired("send If-Match with the ETag of the version you edited")
        return version

    @router.put("/{record_id}", response_model=model, responses={**one, **stale},
                summary=f"Replace a {kind}")
    def replace(request: Request, svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID,
                body: Annotated[Replace, Body()], if_match: IfMatch = None,  # type: ignore[valid-type]
                f: FormatQ = None) -> Response:
        data, version = svc.records.update(
            who, kind, record_id, body.model_dump(mode="json", exclude_unset=True),
            _expected(if_match), partial=False)
        return _one(svc, data, version, request, f)

    @router.patch("/{record_id}", response_model=model, responses={**one, **stale},
                  summary=f"Change some fields of a {kind}")
    def patch(request: Request, svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID,
              body: Annotated[Patch, Body()], if_match: IfMatch = None,  # type: ignore[valid-type]
              f: FormatQ = None) -> Response:
        data, version = svc.records.update(
            who, kind, record_id, body.model_dump(mode="json", exclude_unset=True),
            _expected(if_match), partial=True)
        return _one(svc, data, version, request, f)

    @router.delete("/{record_id}", status_code=204, responses=stale,
                   summary=f"Delete a {kind} (soft: kept in history)")
    def delete(svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID,
               if_match: IfMatch = None) -> Response:
        svc.records.delete(who, kind, record_id, parse_if_match(if_match))
        return Response(status_code=204)

    for action in ("submit", "approve", "reject"):
        def transition(request: Request, svc: ServicesDep, who: PrincipalDep,
                       record_id: uuid.UUID, if_match: IfMatch = None,
                       body: Annotated[Reason | None, Body()] = None, f: FormatQ = None,
                       _action: str = action) -> Response:
            data, version = svc.records.transition(
                who, kind, record_id, _action, body.reason if body else None,
                parse_if_match(if_match))
            return _one(svc, data, version, request, f)

        router.add_api_route(f"/{{record_id}}/{action}", transition, methods=["POST"],
                             response_model=model, responses={**one, **stale},
                             summary=f"{action.capitalize()} a {kind}",
                             operation_id=f"{action}_{kind}")

    @router.get("/{record_id}/reviews", response_model=list[Review],
                summary="Workflow steps with their reasons")
    def reviews(svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID) -> Any:
        return svc.records.reviews(who, kind, record_id)

    @router.get("/{record_id}/history", response_model=list[VersionInfo],
                summary=f"Every version of a {kind}, oldest first")
    def history(svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID) -> Any:
        return svc.records.history(who, kind, record_id)

    @router.get("/{record_id}/diff", response_model=Diff, summary="Differences between two "
                "versions")
    def diff(svc: ServicesDep, who: PrincipalDep, record_id: uuid.UUID,
             from_version: Annotated[int, Query(alias="from", ge=1)],
             to_version: Annotated[int, Query(alias="to", ge=1)]) -> Any:
        changes = svc.records.diff(who, kind, record_id, from_version, to_version)
        return {"from_version": from_version, "to_version": to_version, "changes": changes}

    router.fast = FastHandlers(path=router.mounted_at, list=list_plainly, get=get_plainly)
    return router
