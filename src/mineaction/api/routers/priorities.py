# SPDX-License-Identifier: GPL-3.0-or-later
"""Priority lists and season plans over HTTP (issue 20): `POST /priorities` ranks the open
hazards (and keeps the list), `GET /priorities[/{id}[/sensitivity]]` reads them,
`POST /season-plans` plans a season over a saved list, `GET /season-plans/{id}` and its
Gantt chart and map read it, `POST /season-plans/{id}/replan` re-plans from progress.

Building and planning are for approvers and administrators, reading for anyone signed in
(services/priorities.py, services/season_plan.py decide; this module only shapes)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES

router = APIRouter(tags=["priorities"], responses=ERROR_RESPONSES)

Finite = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrioritiesIn(_Strict):
    preset: Literal["humanitarian", "development", "equal"] | None = Field(
        default="humanitarian", description="Starting weights; null starts from zero.")
    weights: dict[str, Finite] = Field(default_factory=dict, description=(
        "Weights by criterion (casualties, blockages, population, reconstruction, risk, "
        "cost), put into the preset's; scaled to sum to 1."), max_length=6)
    method: Literal["promethee", "weighted-sum"] = "promethee"
    layers: dict[str, dict[str, Any]] = Field(default_factory=dict, max_length=10,
                                              description=(
        "User layers by name (settlements; reconstruction...), each a GeoJSON "
        "FeatureCollection in longitude/latitude."))
    productivity_m2_day: float = Field(default=100.0, gt=0, allow_inf_nan=False,
                                       description="m² a team clears a day (cost criterion).")
    save: bool = Field(default=True, description="Keep the list (audited).")


class TeamIn(_Strict):
    team: str = Field(min_length=1, max_length=100)
    productivity_m2_day: float = Field(gt=0, allow_inf_nan=False)
    cost_per_day: Finite
    base_lon: float = Field(ge=-180, le=180)
    base_lat: float = Field(ge=-90, le=90)
    speed_km_h: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    hours_per_day: float = Field(default=8.0, gt=0, le=24, allow_inf_nan=False)


class SeasonPlanIn(_Strict):
    priority_list_id: str = Field(max_length=64)
    teams: list[TeamIn] = Field(min_length=1, max_length=200)
    start: date
    end: date
    budget: Finite | None = None
    workdays: str = Field(default="mon-fri", max_length=40)


class ProgressIn(_Strict):
    hazard_id: str = Field(max_length=64)
    status: Literal["done", "in_progress", "not_started"]
    cleared_m2: Finite | None = None
    days_worked: Finite | None = None


class ReplanIn(_Strict):
    progress: list[ProgressIn] = Field(max_length=5000)
    as_of: date | None = None


def _priorities(svc: Any) -> Any:
    from mineaction.services.priorities import Priorities
    from mineaction.services.site_check import risk_from

    return Priorities(svc.store, records=svc.records, risk_at=risk_from(svc.risk_layer))


def _plans(svc: Any) -> Any:
    from mineaction.services.season_plan import SeasonPlans

    return SeasonPlans(_priorities(svc))


@router.get("/priorities/criteria", summary="The criteria and indicators of priority lists")
def criteria(p: SignedInDep) -> dict[str, Any]:
    """Each criterion with its indicators (meaning, direction, unit, how computed), and
    the weight presets."""
    from mineaction.analysis.priorities import PRESETS, registry

    return {"criteria": registry(), "presets": PRESETS}


@router.post("/priorities", summary="Rank the open hazards (and keep the list)")
def build(svc: ServicesDep, p: SignedInDep, body: PrioritiesIn) -> dict[str, Any]:
    """Rank the open, approved hazards by weighted criteria after the GICHD's priority
    setting, by PROMETHEE II or a weighted sum (pymcdm). For approvers and administrators.
    """
    from mineaction.services.priorities import layer_from_geojson

    layers = [layer_from_geojson(n, c) for n, c in body.layers.items()]
    result: dict[str, Any] = _priorities(svc).build(
        p, preset=body.preset, weights=body.weights, method=body.method, layers=layers,
        productivity_m2_day=body.productivity_m2_day, save=body.save)
    return result


@router.get("/priorities", summary="Saved priority lists")
def saved(svc: ServicesDep, p: SignedInDep) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _priorities(svc).saved(p)
    return result


@router.get("/priorities/{list_id}", summary="A saved priority list")
def one(svc: ServicesDep, p: SignedInDep, list_id: str) -> dict[str, Any]:
    """The list with its inputs (every indicator value), weights and method; hazards the
    reader may not see are left out (`hidden` counts them)."""
    result: dict[str, Any] = _priorities(svc).get(p, list_id)
    return result


@router.get("/priorities/{list_id}/sensitivity",
            summary="How the list's ranks move when each weight changes by ±20%")
def sensitivity(svc: ServicesDep, p: SignedInDep, list_id: str) -> dict[str, Any]:
    result: dict[str, Any] = _priorities(svc).sensitivity(p, list_id)
    return result


@router.post("/season-plans", summary="Plan a season over a saved priority list")
def create_plan(svc: ServicesDep, p: SignedInDep, body: SeasonPlanIn) -> dict[str, Any]:
    """Assign teams to the list's hazards within the working days and the budget (a MILP
    solved by CBC), each team's hazards in nearest-neighbour order; kept (audited)."""
    from mineaction.services.season_plan import teams_from_rows

    teams = teams_from_rows([t.model_dump() for t in body.teams])
    result: dict[str, Any] = _plans(svc).create(
        p, body.priority_list_id, teams, body.start, body.end, budget=body.budget,
        workdays=body.workdays)
    return result


@router.get("/season-plans/{plan_id}", summary="A saved season plan")
def get_plan(svc: ServicesDep, p: SignedInDep, plan_id: str) -> dict[str, Any]:
    result: dict[str, Any] = _plans(svc).get(p, plan_id)
    return result


@router.post("/season-plans/{plan_id}/replan", summary="Re-plan from reported progress")
def replan(svc: ServicesDep, p: SignedInDep, plan_id: str, body: ReplanIn) -> dict[str, Any]:
    """Keep done and in-progress hazards, re-optimise the rest from `as_of`; a new plan."""
    from mineaction.services.season_plan import progress_from_rows

    progress = progress_from_rows([x.model_dump() for x in body.progress])
    result: dict[str, Any] = _plans(svc).replan(p, plan_id, progress, body.as_of)
    return result


@router.get("/season-plans/{plan_id}/gantt.png", summary="The plan as a Gantt chart",
            response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def gantt(svc: ServicesDep, p: SignedInDep, plan_id: str) -> Response:
    return Response(_plans(svc).gantt(p, plan_id, "png"), media_type="image/png")


@router.get("/season-plans/{plan_id}/map.png", summary="The plan as a map",
            response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def plan_map(svc: ServicesDep, p: SignedInDep, plan_id: str) -> Response:
    return Response(_plans(svc).map(p, plan_id, "png"), media_type="image/png")
