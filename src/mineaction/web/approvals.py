# SPDX-License-Identifier: GPL-3.0-or-later
"""The approval queue page (issue 21, 4): submitted records across kinds, filtered by
kind, dataset and submitter, with likely duplicates flagged; approve or reject many at
once, a rejection with one reason for all. Records a reviewer returned are listed to
their submitter on the records page (`returned_notice`).

A plain HTML form posted to this server, signed by the session cookie and the Origin the
browser adds (http/guard.py); services/approvals.py decides who may approve what, one
record at a time, as the API's approve and reject do."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mineaction.access.roles import may_review
from mineaction.http.deps import ServicesDep
from mineaction.services.approvals import MAX_BULK, Approvals, Item
from mineaction.services.errors import Invalid
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


def _approvals(svc: Any) -> Approvals:
    return Approvals(svc.records)


def _refuse(request: Request, who: Any) -> Response | None:
    if who.is_public:
        return RedirectResponse("/login?next=/approvals", status_code=303)
    if not may_review(who):
        return error_page(request, who, 403, f"Your role ({who.role.value}) does not approve "
                          "records: approvers and administrators do.")
    return None


def _page(request: Request, svc: Any, who: Any, kind: str | None, dataset: str | None,
          submitted_by: str | None, outcomes: list[Any] | None = None,
          error: str | None = None) -> Response:
    service = _approvals(svc)
    try:
        items = service.queue(who, kind=kind or None, dataset=dataset or None,
                              submitted_by=submitted_by or None)
    except Invalid as exc:
        return error_page(request, who, 404, exc.message)
    return render(request, "approvals.html", who, items=items, kinds=service.kinds(who),
                  kind=kind or "", dataset=dataset or "", submitted_by=submitted_by or "",
                  outcomes=outcomes, error=error,
                  done=sum(o.done for o in outcomes or []),
                  failed=[o for o in outcomes or [] if not o.done])


@router.get("/approvals")
def approvals_page(
    request: Request, svc: ServicesDep, who: WhoDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    dataset: Annotated[str | None, Query(max_length=200)] = None,
    submitted_by: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    refused = _refuse(request, who)
    if refused is not None:
        return refused
    return _page(request, svc, who, kind, dataset, submitted_by)


def _items(values: list[str]) -> list[Item] | str:
    """The checked records, each `kind:id:version` as the page writes them."""
    out: list[Item] = []
    for value in values:
        kind, _, rest = value.partition(":")
        rid, _, version = rest.partition(":")
        try:
            out.append(Item(kind, uuid.UUID(rid), int(version)))
        except ValueError:
            return f"not a record of this page: {value[:80]!r}"
    return out


@router.post("/approvals")
async def decide(request: Request, svc: ServicesDep, who: WhoDep) -> Response:
    import anyio.to_thread

    refused = _refuse(request, who)
    if refused is not None:
        return refused
    form = await request.form()
    try:
        values = [str(v) for v in form.getlist("item")][:MAX_BULK + 1]
        action = str(form.get("action") or "")
        reason = str(form.get("reason") or "")[:5000]
        filters = {name: str(form.get(name) or "")[:200]
                   for name in ("kind", "dataset", "submitted_by")}
    finally:
        await form.close()
    items = _items(values)
    if isinstance(items, str):
        return _page(request, svc, who, error=items, **filters)

    def run() -> list[Any]:
        return _approvals(svc).decide(who, items, action, reason)

    try:
        outcomes = await anyio.to_thread.run_sync(run)
    except Invalid as exc:
        return _page(request, svc, who, error=exc.message, **filters)
    return _page(request, svc, who, outcomes=outcomes, **filters)
