# SPDX-License-Identifier: GPL-3.0-or-later
"""The review queue page (issue 17): pairs of records the linkage was unsure of, side by
side, for a reviewer to confirm or reject; forms to merge two records and to split one
out; the decisions of late, each with Undo.

Rendered from services.reconciliation, which decides who may review and what each side
shows (the compared fields, as access/ lets the reviewer see them), like every page.
Decisions go from the browser to /api/v1/links (review.js), signed by the session cookie
and the Origin the browser adds; the page is then shown again from the store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mineaction.access.roles import may_review
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import ServicesDep
from mineaction.web.forms import label_of
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
KINDS = ("victim", "accident")  # what the linkage links (services/reconcile.py)
RECENT = 15  # decided pairs listed with Undo
# What the page says after a decision (review.js comes back with ?done=...): a fixed
# list, so no text from the query string reaches the page.
DONE = {"confirm": "Confirmed: the two records are one.",
        "reject": "Rejected: the two records are counted apart.",
        "merge": "Merged: the two records are one.",
        "split": "Split: the record is counted on its own.",
        "undo": "Undone: the link is as it was before.",
        "run": "Linked: new pairs to review are listed below."}


# Field names the generic label (forms.label_of) would get wrong or leave vague.
LABELS = {"external_id": "Id in the source", "admin_area_pcode": "Admin area (pcode)"}


def likelihood(p: float | None) -> str:
    """A link's probability as a reviewer reads it; never "100%" or "0%" for a model's
    estimate short of certainty (rounding would claim it)."""
    if p is None:
        return "linked by a person"
    if 0.995 <= p < 1:
        return "over 99% likely the same"
    if 0 < p < 0.005:
        return "under 1% likely the same"
    return f"{p:.0%} likely the same"


def differs(a: Any, b: Any) -> bool:
    """Whether two shown values disagree; a value one side lacks is not a disagreement
    (sources leave fields out), only two different values are."""
    return a is not None and b is not None and a != b


def _pairs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each link with its rows of compared fields: (field, label, a value, b value,
    differs)."""
    out = []
    for item in items:
        a, b = item.get("a") or {}, item.get("b") or {}
        rows = [(name, LABELS.get(name) or label_of(name), a.get(name), b.get(name),
                 differs(a.get(name), b.get(name)))
                for name in item["shown"] if name != "dataset"]
        out.append({**item, "rows": rows, "differences": sum(r[4] for r in rows),
                    "likelihood": likelihood(item["probability"])})
    return out


def _recent(svc: Any, who: Any, kind: str) -> list[dict[str, Any]]:
    """The latest decided pairs: the queue orders by doubt, so read the decided ones
    and sort them by when they were decided."""
    decided = []
    for status in ("confirmed", "rejected"):
        items, _ = svc.reconciliation.queue(who, kind, status, limit=200)
        decided += items
    decided.sort(key=lambda i: i["decided_at"] or "", reverse=True)
    return decided[:RECENT]


@router.get("/review")
def review_page(
    request: Request, svc: ServicesDep, who: WhoDep,
    kind: Annotated[str, Query(max_length=20)] = "victim",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if who.is_public:
        return RedirectResponse("/login?next=/review", status_code=303)
    if not may_review(who):
        return error_page(request, who, 403, f"Your role ({who.role.value}) does not "
                          "review links between records: approvers and administrators do.")
    if kind not in KINDS:
        return error_page(request, who, 404, f"Records of kind {kind} are not linked.")
    items, total = svc.reconciliation.queue(who, kind, "review", limit=PAGE_SIZE,
                                            offset=(page - 1) * PAGE_SIZE)
    return render(request, "review.html", who, kind=kind, kinds=KINDS,
                  collection=REGISTRY[kind].collection, pairs=_pairs(items), total=total,
                  page=page, pages=max(1, -(-total // PAGE_SIZE)),
                  recent=_recent(svc, who, kind), done=DONE.get(done or ""))
