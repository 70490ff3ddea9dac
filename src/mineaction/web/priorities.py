# SPDX-License-Identifier: GPL-3.0-or-later
"""The priorities pages (issue 20): an approver ranks the open hazards (preset, weights,
method), reads the ranking and its sensitivity, and plans a season over it with the
teams typed in as CSV; the plan is shown as a table, a Gantt chart and a map.

Plain HTML forms posted to this server (no script): services/priorities.py and
services/season_plan.py decide who may build, plan and read, as for the API and the
command line; this module only reads the forms and renders."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from mineaction.access.roles import may_review
from mineaction.analysis.priorities import CRITERIA, PRESETS
from mineaction.http.deps import ServicesDep
from mineaction.services.errors import Forbidden, Invalid, NotFoundError
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
# the user layers the build form takes, as files (services/priorities.py LAYER_ROLES)
LAYER_FIELDS = ("settlements", "reconstruction")
TEAMS_EXAMPLE = ("team,productivity_m2_day,cost_per_day,base_lon,base_lat\n"
                 "Alpha,1500,400,-75.5,6.2\n")


def _priorities(svc: Any) -> Any:
    from mineaction.services.priorities import Priorities
    from mineaction.services.site_check import risk_from

    return Priorities(svc.store, records=svc.records, risk_at=risk_from(svc.risk_layer))


def _plans(svc: Any) -> Any:
    from mineaction.services.season_plan import SeasonPlans

    return SeasonPlans(_priorities(svc))


def _refused(request: Request, who: Any, exc: Exception) -> Response:
    if isinstance(exc, Forbidden):
        return error_page(request, who, 403, str(exc.message))
    if isinstance(exc, NotFoundError):
        return error_page(request, who, 404, str(exc.message))
    assert isinstance(exc, Invalid)
    details = "; ".join(f"{e.field}: {e.message}" for e in exc.field_errors)
    return error_page(request, who, 422, details or exc.message)


def _login(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/priorities")
def priorities_page(request: Request, svc: ServicesDep, who: WhoDep) -> Response:
    if who.is_public:
        return _login("/priorities")
    return render(request, "priorities.html", who, saved=_priorities(svc).saved(who),
                  criteria=CRITERIA, presets=PRESETS, may_build=may_review(who))


@router.post("/priorities")
async def build(request: Request, svc: ServicesDep, who: WhoDep) -> Response:
    import anyio.to_thread

    if who.is_public:
        return _login("/priorities")
    form = await request.form()
    try:
        fields = _build_fields(form)
        if isinstance(fields, str):
            return error_page(request, who, 422, fields)
        preset, method, weights, productivity = fields
        uploads: list[tuple[str, str, bytes]] = []
        for role in LAYER_FIELDS:
            upload = form.get(f"layer_{role}")
            if isinstance(upload, UploadFile) and upload.filename:
                uploads.append((role, upload.filename, await upload.read()))
    finally:
        await form.close()  # the uploads' spooled files

    def run() -> dict[str, Any]:
        from mineaction.services.priorities import layer_from_upload

        layers = [layer_from_upload(role, name, data) for role, name, data in uploads]
        out: dict[str, Any] = _priorities(svc).build(
            who, preset=preset, weights=weights, method=method, layers=layers,
            productivity_m2_day=productivity, save=True)
        return out

    try:
        content = await anyio.to_thread.run_sync(run)
    except (Forbidden, Invalid) as exc:
        return _refused(request, who, exc)
    return RedirectResponse(f"/priorities/{content['id']}", status_code=303)


@router.get("/priorities/{list_id}")
def priority_list(request: Request, svc: ServicesDep, who: WhoDep, list_id: str) -> Response:
    if who.is_public:
        return _login(f"/priorities/{list_id}")
    service = _priorities(svc)
    try:
        content = service.get(who, list_id)
        sensitivity = service.sensitivity(who, list_id)
    except NotFoundError as exc:
        return _refused(request, who, exc)
    return render(request, "priority_list.html", who, content=content,
                  sensitivity=sensitivity["criteria"], may_build=may_review(who),
                  teams_example=TEAMS_EXAMPLE, today=date.today().isoformat())


@router.post("/priorities/{list_id}/season-plan")
def plan(request: Request, svc: ServicesDep, who: WhoDep, list_id: str,
         teams: Annotated[str, Form(max_length=100_000)],
         start: Annotated[str, Form(max_length=10)], end: Annotated[str, Form(max_length=10)],
         budget: Annotated[str, Form(max_length=30)] = "",
         workdays: Annotated[str, Form(max_length=40)] = "mon-fri") -> Response:
    from mineaction.services.season_plan import teams_from_rows

    if who.is_public:
        return _login(f"/priorities/{list_id}")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        money = float(budget) if budget.strip() else None
    except ValueError:
        return error_page(request, who, 422, "Dates are YYYY-MM-DD and the budget a number.")
    rows = [{k.strip().lower(): v for k, v in r.items() if k}
            for r in csv.DictReader(io.StringIO(teams.strip()))]
    try:
        content = _plans(svc).create(who, list_id, teams_from_rows(rows), first, last,
                                     budget=money, workdays=workdays)
    except (Forbidden, Invalid, NotFoundError) as exc:
        return _refused(request, who, exc)
    return RedirectResponse(f"/season-plans/{content['id']}", status_code=303)


@router.get("/season-plans/{plan_id}")
def season_plan(request: Request, svc: ServicesDep, who: WhoDep, plan_id: str) -> Response:
    if who.is_public:
        return _login(f"/season-plans/{plan_id}")
    try:
        content = _plans(svc).get(who, plan_id)
    except NotFoundError as exc:
        return _refused(request, who, exc)
    return render(request, "season_plan.html", who, content=content, plan=content["plan"])


def _build_fields(form: Any) -> tuple[str, str, dict[str, float], float] | str:
    """The build form's preset, method, weights and productivity, or what is wrong."""
    weights: dict[str, float] = {}
    try:
        for c in CRITERIA:
            text = str(form.get(f"weight_{c.name}") or "").strip()
            if text:
                weights[c.name] = float(text)
        productivity = float(str(form.get("productivity") or "100"))
    except ValueError:
        return "Weights and productivity are numbers."
    return (str(form.get("preset") or "humanitarian"), str(form.get("method") or "promethee"),
            weights, productivity)
