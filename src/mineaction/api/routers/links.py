# SPDX-License-Identifier: GPL-3.0-or-later
"""Record linkage over HTTP (issue 17): the review queue of candidate pairs, the decisions
on them (confirm, reject, merge, split, undo), a linkage run across sources, and the
records one canonical entity holds.

Thin: services/reconcile.py decides who may do what (reviewers: approvers and
administrators) and what each side of a pair shows; its errors become responses in
http/errors.py. Everything here needs a signed-in user (401 otherwise), so that a script
with no credential learns to sign in rather than that it lacks a role.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES

router = APIRouter(tags=["links"], responses=ERROR_RESPONSES)

Kind = Literal["victim", "accident"]
# The store's statuses (store/links.py STATUSES; a test checks they agree).
Status = Literal["accepted", "review", "confirmed", "rejected", "split"]
LinkId = Annotated[uuid.UUID, "link id"]
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": (
    "The decision cannot be made as the link now stands (nothing to undo; a record in no "
    "entity to split).")}}


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=2000,
                             description="Why: kept with the decision in the audit trail.")


class LinkOut(BaseModel):
    id: str
    kind: str
    scope: str  # sources, release, manual
    probability: float | None  # None for a link a person made (merge)
    status: str
    decided_by: str | None
    decided_at: str | None
    detail: dict[str, Any] | list[Any] | None
    # Each side as the reviewer may see it (None: deleted, or not theirs to see).
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    shown: list[str]  # the fields compared, in order


class LinkPage(BaseModel):
    items: list[LinkOut]
    total: int
    limit: int
    offset: int


class MergeIn(Note):
    kind: Kind
    a: uuid.UUID
    b: uuid.UUID


class SplitIn(Note):
    kind: Kind
    record: uuid.UUID


class SplitOut(BaseModel):
    rejected: list[str]  # the links the split rejected, each undoable on its own


class RunIn(BaseModel):
    kind: Kind
    datasets: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=2, max_length=50)
    upper: float = Field(default=0.95, ge=0, le=1, description="Accepted at or above.")
    lower: float = Field(default=0.6, ge=0, le=1, description="Reviewed between lower "
                         "and upper; below, not linked.")
    rule: Literal["newest", "reliability"] = "newest"
    reliability: list[str] | None = Field(default=None, max_length=50, description=(
        "Datasets, most reliable first: whose record represents an entity."))


class RunOut(BaseModel):
    run_id: str
    kind: str
    datasets: list[str]
    counts: dict[str, int]
    entities: int
    notes: list[str]


class Member(BaseModel):
    model_config = {"extra": "allow"}  # the compared fields of the kind

    id: str
    representative: bool


@router.get("/links", response_model=LinkPage, summary="The review queue: links of a "
            "status, most doubtful first, each with both records side by side")
def list_links(svc: ServicesDep, who: SignedInDep, kind: Kind | None = None,
               status: Status = "review",
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Any:
    items, total = svc.reconciliation.queue(who, kind, status, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# Fixed paths before /links/{link_id}/...: they are POSTs of their own, not link ids.
@router.post("/links/merge", response_model=LinkOut, summary="Say two records are the same "
             "victim or accident (a confirmed link, undoable)")
def merge(svc: ServicesDep, who: SignedInDep, body: MergeIn) -> Any:
    return svc.reconciliation.merge(who, body.kind, str(body.a), str(body.b), body.note)


@router.post("/links/split", response_model=SplitOut, summary="Take a record out of its "
             "entity: every link joining it is rejected", responses=CONFLICT)
def split(svc: ServicesDep, who: SignedInDep, body: SplitIn) -> Any:
    return {"rejected": svc.reconciliation.split(who, body.kind, str(body.record),
                                                 body.note)}


@router.post("/links/run", response_model=RunOut, summary="Link the records of two or more "
             "datasets (sources): sure links accepted, doubtful ones to the review queue")
def run(svc: ServicesDep, who: SignedInDep, body: RunIn) -> Any:
    summary = svc.reconciliation.run(who, body.kind, body.datasets, upper=body.upper,
                                     lower=body.lower, rule=body.rule,
                                     reliability=body.reliability)
    return RunOut(run_id=summary.run_id, kind=summary.kind, datasets=summary.datasets,
                  counts=summary.counts, entities=summary.entities, notes=summary.notes)


@router.get("/links/{link_id}", response_model=LinkOut, summary="One link with both records")
def get_link(svc: ServicesDep, who: SignedInDep, link_id: LinkId) -> Any:
    return svc.reconciliation.link(who, str(link_id))


def _note(body: Note | None) -> str | None:
    return body.note if body is not None else None


@router.post("/links/{link_id}/confirm", response_model=LinkOut,
             summary="The two records are the same victim or accident")
def confirm(svc: ServicesDep, who: SignedInDep, link_id: LinkId,
            body: Annotated[Note | None, Body()] = None) -> Any:
    return svc.reconciliation.decide(who, str(link_id), "confirm", _note(body))


@router.post("/links/{link_id}/reject", response_model=LinkOut,
             summary="The two records are not the same")
def reject(svc: ServicesDep, who: SignedInDep, link_id: LinkId,
           body: Annotated[Note | None, Body()] = None) -> Any:
    return svc.reconciliation.decide(who, str(link_id), "reject", _note(body))


@router.post("/links/{link_id}/undo", response_model=LinkOut, responses=CONFLICT,
             summary="Take back the latest decision on a link: its status before returns")
def undo(svc: ServicesDep, who: SignedInDep, link_id: LinkId,
         body: Annotated[Note | None, Body(description="Why (kept with the undo, after "
                                           "which decision it took back).")] = None) -> Any:
    return svc.reconciliation.undo(who, str(link_id), body.note if body else None)


@router.get("/entities/{kind}/{record_id}", response_model=list[Member],
            summary="The records of the canonical entity a record belongs to, the "
            "representative (the one statistics count) first")
def entity(svc: ServicesDep, who: SignedInDep, kind: Kind, record_id: uuid.UUID) -> Any:
    return svc.reconciliation.entity(who, kind, str(record_id))
