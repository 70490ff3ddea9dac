# SPDX-License-Identifier: GPL-3.0-or-later
"""The contamination-risk layer over HTTP (issue 19): the model behind it, its cells in a
bounding box as GeoJSON, and why one cell scores as it does.

Thin: services/risk_layer.py reads the GeoPackage `mineaction risk predict` wrote (the
setting `risk_layer`) and asks access/ whether the asker may see it
(`Access.may_see_risk`: signed-in users; the public only with `public_risk_layer`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.http.params import parse_bbox
from mineaction.services.errors import ErrorBody

router = APIRouter(prefix="/risk", tags=["risk"], responses={
    **ERROR_RESPONSES,
    503: {"model": ErrorBody, "description": "the configured risk layer cannot be read "
          "(not a risk GeoPackage, or missing)"}})

BBOX_MAX = 200


class RiskModelOut(BaseModel):
    trained_until: float | None = Field(description="Decimal year: the model learned from "
                                        "events before it")
    horizon_years: float | None = Field(description="Years after the cut-off the "
                                        "probability is of an event in")
    cutoff: float | None = Field(description="Decimal year of the features' cut-off")
    cell_m: float | None = Field(description="Side of a grid cell, metres")
    created: str | None
    features: list[str]
    metrics: dict[str, float | None] = Field(description="Validation metrics (roc_auc, "
                                             "average_precision, capture_5, ...)")
    model_format: int | None
    cells: int = Field(description="Cells in the grid")
    max_cells: int = Field(description="Most cells one answer of /risk/cells holds; beyond, "
                           "blocks")
    caveat: str


class RiskCellsOut(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]] = Field(description="Cells (properties cell_id, "
                                           "probability, percentile) or, when aggregated, "
                                           "blocks (aggregated, cells, probability and "
                                           "percentile: the highest of their cells)")
    count: int = Field(description="Cells in the bbox")
    aggregated: bool = Field(description="Whether the features are blocks of cells")
    max_cells: int
    bbox: list[float]
    block_degrees: float | None = None
    note: str | None = None


class ReasonOut(BaseModel):
    feature: str
    meaning: str = Field(description="What the feature measures, from the feature registry")
    contribution: float = Field(description="Its contribution to the cell's log-odds")
    direction: str = Field(description="raises or lowers the cell's risk")


class RiskCellOut(BaseModel):
    cell_id: int
    probability: float | None
    raw_score: float | None
    percentile: float | None = Field(description="Share of the grid's cells scoring lower, "
                                     "0-100")
    lon: float | None
    lat: float | None
    reasons: list[ReasonOut] = Field(description="The top features by absolute "
                                     "contribution, largest first")
    trained_until: float | None
    horizon_years: float | None
    caveat: str


@router.get("", response_model=RiskModelOut, summary="The risk model behind the risk "
            "layer: trained until, horizon, validation metrics",
            description="404 when the server shows no risk layer (setting `risk_layer`). "
            "Signed-in users; the public only when `public_risk_layer` is on (else 403).")
def model(svc: ServicesDep, p: PrincipalDep) -> dict[str, Any]:
    return svc.risk_layer.model(svc.records.access(p))


@router.get("/cells", response_model=RiskCellsOut, summary="The risk cells in a bounding "
            "box, as GeoJSON (blocks of cells when there are too many)")
def cells(svc: ServicesDep, p: PrincipalDep,
          bbox: Annotated[str, Query(max_length=BBOX_MAX, description=(
              "min_lon,min_lat,max_lon,max_lat (WGS84)"), examples=["-76,5,-74,7"])]
          ) -> dict[str, Any]:
    """Each cell with its calibrated probability of an event within the model's horizon
    and its percentile in the grid. More than `max_cells` cells in the bbox come merged
    into square blocks (`aggregated: true`), each with the highest probability of its
    cells; zoom in for the cells."""
    box = parse_bbox(bbox)
    assert box is not None
    return svc.risk_layer.cells(svc.records.access(p), box)


@router.get("/cells/{cell_id}", response_model=RiskCellOut, summary="Why one cell scores "
            "as it does: its probability, percentile and top reasons in plain language")
def cell(svc: ServicesDep, p: PrincipalDep,
         cell_id: Annotated[int, Path(ge=0, le=2**63 - 1, description="The cell's id")]
         ) -> dict[str, Any]:
    return svc.risk_layer.explain(svc.records.access(p), cell_id)
