"""The pages: map, sign-in, records (lists, detail, forms), imports, dashboard.

Pages are rendered on the server from the same services the API uses (services/), which
ask access/ what the person may see, so a page shows exactly what the API would give the
same person: a viewer's victim page has no name because access/ left it out, not because
a template hid it. Writes go from the
browser to /api/v1 (JSON, If-Match), whose errors the forms show next to their fields.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mineaction import __version__
from mineaction.access.roles import (
    Principal,
    Role,
    may_create,
    may_edit,
    may_import,
    may_review,
    may_see_history,
    may_submit,
)
from mineaction.access.visibility import personal_fields
from mineaction.auth.next_path import safe_next
from mineaction.domain import enums
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import BY_COLLECTION, REGISTRY
from mineaction.http.deps import ServicesDep
from mineaction.io.mapping import shipped_mappings
from mineaction.reports.i18n import N_
from mineaction.services import browse as browsing
from mineaction.services import dashboard as figures
from mineaction.services import links, maps
from mineaction.services.attachments import MAX_BYTES, Attachments
from mineaction.services.errors import ServiceError
from mineaction.services.geometry_qa import GeometryChecks
from mineaction.services.saved_searches import SavedSearches
from mineaction.web import WEB, charts, core, i18n, tiles
from mineaction.web.forms import form_fields, label_of, victim_fields
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
KINDS = BY_COLLECTION
TEMPLATES = Jinja2Templates(directory=WEB / "templates")
TEMPLATES.env.filters["label"] = label_of
TEMPLATES.env.filters["area"] = core.fmt_area
# A count, or a dash for one hidden from the public (small-count suppression).
TEMPLATES.env.filters["count"] = lambda n: "–" if n is None else f"{int(n):,}"
TEMPLATES.env.globals["stacked_bars"] = charts.stacked_bars
TEMPLATES.env.globals["hbars"] = charts.hbars
# gettext, and numbers and dates in the page's language (issue 22); replaces "count", "area".
i18n.install(TEMPLATES.env)
# What a list shows of each kind, after the id.
LIST_COLUMNS = {
    "hazard": ("name", "hazard_kind", "hazard_status", "area_m2", "date_reported",
               "admin_area_pcode"),
    "accident": ("accident_date", "accident_kind", "device_category", "place_name",
                 "admin_area_pcode"),
    "victim": ("outcome", "sex", "age_band", "role", "activity"),
    "activity": ("name", "activity_kind", "activity_status", "start_date", "end_date"),
    "released_part": ("method", "area_m2", "release_date"),
    "find": ("device_category", "device_model", "quantity", "find_date"),
    "risk_education": ("session_date", "place_name", "method", "admin_area_pcode"),
    "source": ("title", "source_kind", "reliability", "credibility", "source_date"),
    "organisation": ("name", "acronym", "organisation_kind"),
    "admin_area": ("pcode", "name", "level", "parent_pcode"),
    "place": ("name", "admin_area_pcode"),
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class WebSettings:
    tile_url: str | None
    tile_attribution: str


def web_settings(settings: Any) -> WebSettings:
    # The optional online basemap: a setting of the API's Settings once the lead adds it
    # (web_tile_url), or the environment until then.
    url = getattr(settings, "web_tile_url", None) or os.environ.get("MINEACTION_WEB_TILE_URL")
    attribution = (getattr(settings, "web_tile_attribution", None)
                   or os.environ.get("MINEACTION_WEB_TILE_ATTRIBUTION")
                   or "© OpenStreetMap contributors")
    return WebSettings(url or None, attribution)


def _nav(who: Principal) -> list[tuple[str, str]]:
    # N_: the labels are translated in base.html (issue 22).
    items = [("/", N_("Map")), ("/records", N_("Records")), ("/dashboard", N_("Dashboard")),
             ("/site-check", N_("Site check")), ("/claims", N_("Published figures")),
             ("/reports", N_("Reports"))]
    if may_import(who):
        items.append(("/imports", N_("Import")))
    if may_review(who):  # the approval queue (web/approvals.py), the linkage's (review.py)
        items.append(("/approvals", N_("Approvals")))
        items.append(("/review", N_("Review")))
    if may_create(who):  # the minefield record form (web/minefields.py)
        items.append(("/minefields/new", N_("Minefield record")))
    return items


def render(request: Request, template: str, who: Principal, http_status: int = 200,
           **context: Any) -> HTMLResponse:
    i18n.note_user_language(request, request.app.state.services, who)
    return TEMPLATES.TemplateResponse(request, template, {
        "who": who, "nav": _nav(who), "version": __version__, "path": request.url.path,
        "collections": {k: e.collection for k, e in REGISTRY.items()}, **context},
        status_code=http_status)


def error_page(request: Request, who: Principal, status: int, message: str,
               **values: str) -> HTMLResponse:
    """`message` may be an N_-marked text with %(name)s `values`: error.html words both in
    the page's language (issue 22)."""
    return render(request, "error.html", who, http_status=status, status_code=status,
                  values=values,
                  message=message)


def _kind(collection: str) -> str | None:
    return KINDS.get(collection)


# (layer, label, shown at first) of the map page's layer list.
MAP_LAYERS = (("hazards", N_("Hazards (SHA / CHA)"), True),
              ("land-release", N_("Land release"), True), ("accidents", N_("Accidents"), True),
              ("finds", N_("Finds"), False), ("risk-education", N_("Risk education"), False),
              ("admin-areas", N_("Admin areas"), False))


# The risk layer's colours by probability (issue 19): (lower bound, colour, label), a
# colour-blind-safe sequential scale (ColorBrewer YlOrRd). The legend and risk.js (through
# the map's data-risk-classes) both read this one list.
RISK_CLASSES = ((0.0, "#ffffb2", N_("under 1 %")), (0.01, "#fecc5c", N_("1 to 5 %")),
                (0.05, "#fd8d3c", N_("5 to 10 %")), (0.10, "#f03b20", N_("10 to 25 %")),
                (0.25, "#bd0026", N_("25 % or more")))


def _year(value: float | None) -> str:
    """A decimal year as people say it: 2018.0 is "2018", 2018.5 "2018.5"."""
    return "unknown" if value is None else f"{value:g}"


def risk_context(svc: Any, who: Principal) -> dict[str, Any]:
    """What the map page needs of the risk layer: nothing unless one is configured, the
    person may see it (access/ decides) and the file reads."""
    access = svc.records.access(who)
    if not svc.risk_layer.available(access):
        return {"risk": None}
    model = svc.risk_layer.model(access)
    return {"risk": {"trained_until": _year(model["trained_until"]),
                     "horizon": _year(model["horizon_years"]), "caveat": model["caveat"],
                     "classes": RISK_CLASSES,
                     "classes_json": json.dumps([[lo, colour] for lo, colour, _ in
                                                 RISK_CLASSES])}}


@router.get("/", response_class=HTMLResponse)
def map_page(request: Request, svc: ServicesDep, who: WhoDep) -> HTMLResponse:
    ws: WebSettings = request.app.state.web_settings
    return render(request, "map.html", who, map_layers=MAP_LAYERS,
                  tiled_layers=tuple(tiles.DEPENDS), tile_url=ws.tile_url,
                  tile_attribution=ws.tile_attribution,
                  statuses=[s.value for s in enums.WorkflowStatus],
                  devices=[d.value for d in enums.DeviceCategory],
                  roles=[r.value for r in enums.Role], **risk_context(svc, who))


@router.get("/web/go/{layer}/{fid}")
def go(request: Request, svc: ServicesDep, who: WhoDep, layer: str, fid: int) -> Response:
    """The record behind a map feature (map layers name points by fid)."""
    rid = maps.fid_to_id(svc.store, svc.records.access(who), layer, fid)
    if rid is None:
        return error_page(request, who, 404, N_("No such record."))
    return RedirectResponse(f"/records/{maps.LAYER_COLLECTIONS[layer]}/{rid}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, who: WhoDep, next: str = "/") -> HTMLResponse:
    # Only a path on this site (auth/next_path.py): login.js also checks the origin.
    return render(request, "login.html", who, next=safe_next(next))


@router.get("/records", response_class=HTMLResponse)
def records_index(request: Request, svc: ServicesDep, who: WhoDep) -> HTMLResponse:
    from mineaction.services.approvals import Approvals

    counts = browsing.counts(svc.store, svc.records.access(who))
    # what reviewers sent back to this user, with their reasons (issue 21, 4)
    returned = Approvals(svc.records).returned(who)
    return render(request, "records_index.html", who, counts=counts, returned=returned)


def browse_of(kind: str, *, q: str | None, status: str | None, sort: str, desc: bool,
              admin_area: str | None, kind_value: str | None, year: int | None,
              outcome: str | None, role: str | None, offset: int = 0,
              limit: int = PAGE_SIZE) -> browsing.Browse:
    """The Browse a record list's query asks for, on its page and in its downloads
    (web/list_export.py): search, workflow status, kind, year, admin area and, for
    victims, outcome and role (the dashboard's drill-down)."""
    equal: dict[str, Any] = {}
    kind_field = REGISTRY[kind].kind_field
    if kind_field:
        equal[kind_field] = kind_value
    if kind == "victim":
        equal.update(outcome=outcome, role=role)
    return browsing.Browse(kind=kind, q=q, status=tuple(status.split(",")) if status else None,
                           sort=sort, desc=desc, offset=offset, limit=limit,
                           admin_area=admin_area, year=year, equal=equal)


@router.get("/records/{collection}", response_class=HTMLResponse)
def records_list(
    request: Request, svc: ServicesDep, who: WhoDep, collection: str,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    sort: Annotated[str, Query(max_length=40)] = "fid",
    desc: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    admin_area: Annotated[str | None, Query(max_length=40)] = None,
    kind_value: Annotated[str | None, Query(alias="kind", max_length=40)] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    role: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    kind = _kind(collection)
    if kind is None:
        return error_page(request, who, 404, N_("No collection %(name)s."), name=collection)
    access = svc.records.access(who)
    if not access.may_list(kind):
        return error_page(request, who, 403, N_("%(kinds)s are shown to the public only as "
                                                "counts: see the dashboard."),
                          kinds=REGISTRY[kind].collection.replace("-", " ").capitalize())
    kind_field = REGISTRY[kind].kind_field
    rows, total = browsing.browse(svc.store, access, browse_of(
        kind, q=q, status=status, sort=sort, desc=desc, admin_area=admin_area,
        kind_value=kind_value, year=year, outcome=outcome, role=role,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE))
    kind_options: list[str] = []
    if kind_field:
        annotation = ENTITIES[kind].model_fields[kind_field].annotation
        kind_options = [e.value for e in getattr(annotation, "__members__", {}).values()]
    base = {"q": q, "status": status, "sort": sort, "desc": "true" if desc else "",
            "admin_area": admin_area, "kind": kind_value, "page": page, "year": year,
            "outcome": outcome if kind == "victim" else None,
            "role": role if kind == "victim" else None}

    def qs(**over: Any) -> str:
        params = {k: v for k, v in {**base, **over}.items() if v not in (None, "")}
        return "?" + urlencode(params)

    return render(request, "records_list.html", who, kind=kind, collection=collection, qs=qs,
                  rows=rows, columns=LIST_COLUMNS.get(kind, ()), total=total, page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), q=q or "", status=status or "",
                  sort=sort, desc=desc, admin_area=admin_area or "",
                  kind_field=kind_field, kind_value=kind_value or "",
                  kind_options=kind_options, may_create=may_create(who) and kind != "admin_area",
                  drill={k: v for k in ("year", "outcome", "role")
                         if (v := base[k]) not in (None, "")},
                  statuses=[s.value for s in enums.WorkflowStatus],
                  has_admin_area="admin_area_pcode" in ENTITIES[kind].model_fields,
                  # Saved searches (#21): the user's own, and this list's address to save.
                  saved_searches=SavedSearches(svc.store).list(who),
                  this_list=f"/records/{collection}{qs(page=None)}")


@router.get("/records/{collection}/new", response_class=HTMLResponse)
def record_new(request: Request, svc: ServicesDep, who: WhoDep, collection: str
               ) -> Response:
    kind = _kind(collection)
    if kind is None:
        return error_page(request, who, 404, N_("No collection %(name)s."), name=collection)
    if who.is_public:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if not may_create(who):
        return error_page(request, who, 403, N_("Your role (%(role)s) cannot create records."),
                          role=who.role.value)
    return render(request, "form.html", who, kind=kind, collection=collection, record=None,
                  version=None, fields=form_fields(kind, personal=_sees_personal(svc, who, kind)),
                  parents=links.PARENTS, link_labels={"source_ids": []},
                  # victims typed with a new accident (issue 21, 3; web/accident_entry.py)
                  victim_fields=victim_fields(personal=_sees_personal(svc, who, "victim"))
                  if kind == "accident" else [])


def _sees_personal(svc: Any, who: Principal, kind: str) -> bool:
    """Whether the form shows `kind`'s personal fields to `who` (access/ decides)."""
    return bool(svc.records.access(who).sees_personal(kind))


def _load(request: Request, svc: Any, who: Principal, collection: str, record_id: str
          ) -> tuple[str, dict[str, Any], int] | HTMLResponse:
    kind = _kind(collection)
    if kind is None:
        return error_page(request, who, 404, N_("No collection %(name)s."), name=collection)
    try:
        rid = uuid.UUID(record_id)
        data, version = svc.records.get(who, kind, rid)
    except ValueError:
        return error_page(request, who, 404, f"No {kind} with id {record_id}.")
    except ServiceError as exc:
        return error_page(request, who, exc.status, exc.message)
    return kind, data, version


@router.get("/records/{collection}/{record_id}/edit", response_class=HTMLResponse)
def record_edit(request: Request, svc: ServicesDep, who: WhoDep, collection: str,
                record_id: str) -> Response:
    if who.is_public:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    loaded = _load(request, svc, who, collection, record_id)
    if isinstance(loaded, HTMLResponse):
        return loaded
    kind, data, version = loaded
    record = svc.records.load(who, kind, uuid.UUID(record_id))
    if not may_edit(who, record, svc.records.policy):
        return error_page(request, who, 403, N_("Your role (%(role)s) cannot change this "
                                                "%(kind)s."),
                          role=who.role.value, kind=kind.replace("_", " "))
    return render(request, "form.html", who, kind=kind, collection=collection, record=data,
                  version=version,
                  fields=form_fields(kind, personal=_sees_personal(svc, who, kind)),
                  parents=links.PARENTS,
                  link_labels=links.link_labels(svc.store, svc.records.access(who), data))


@router.get("/records/{collection}/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, svc: ServicesDep, who: WhoDep, collection: str,
                record_id: str) -> Response:
    loaded = _load(request, svc, who, collection, record_id)
    if isinstance(loaded, HTMLResponse):
        return loaded
    kind, data, version = loaded
    record = svc.records.load(who, kind, uuid.UUID(record_id))
    policy = svc.records.policy
    history, reviews = [], []
    if may_see_history(who):
        history = svc.records.history(who, kind, uuid.UUID(record_id))
    reviews = svc.records.reviews(who, kind, uuid.UUID(record_id))
    access = svc.records.access(who)
    parents = links.parents(svc.store, access, data)
    sources = links.sources(svc.store, access, data)
    fields = [(k, v) for k, v in data.items()
              if k not in ("id", "geometry", "source_ids") and v not in (None, [], "")]
    personal = personal_fields(kind)
    actions = {
        "edit": may_edit(who, record, policy),
        "submit": may_submit(who, record, policy),
        "approve": may_review(who) and record.status == "submitted",
        "reject": may_review(who) and record.status == "submitted",
    }
    return render(request, "record.html", who, kind=kind, collection=collection, data=data,
                  version=version, fields=fields, personal=personal, history=history,
                  reviews=reviews, parents=parents,
                  children=links.children(svc.store, access, kind, record_id),
                  sources=sources, actions=actions, geometry=data.get("geometry"),
                  geometry_faults=GeometryChecks(svc.store, policy, svc.records.public_decimals
                                                 ).for_record(who, kind, record_id),
                  # Photos and documents of any record (issue 21, 3; issue 18's scans of a
                  # minefield record among them), for signed-in readers of the record.
                  attachments=Attachments(svc.records).of_record(who, kind, uuid.UUID(record_id))
                  if not who.is_public else [], max_attachment_mb=MAX_BYTES // 2**20)


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, who: WhoDep) -> Response:
    if who.is_public:
        return RedirectResponse("/login?next=/imports", status_code=303)
    if not may_import(who):
        return error_page(request, who, 403, N_("Your role (%(role)s) cannot import."),
                          role=who.role.value)
    return render(request, "imports.html", who, mappings=list(shipped_mappings()),
                  kinds=sorted(BY_COLLECTION))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, svc: ServicesDep, who: WhoDep,
                   include_submitted: bool = True) -> HTMLResponse:
    shown = figures.dashboard(svc.store, svc.records.access(who),
                              include_submitted=include_submitted,
                              min_count=svc.settings.public_min_count)
    return render(request, "dashboard.html", who, d=shown,
                  include_submitted=include_submitted and not who.is_public,
                  is_staff=not who.is_public, Role=Role)
