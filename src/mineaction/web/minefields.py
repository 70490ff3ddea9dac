# SPDX-License-Identifier: GPL-3.0-or-later
"""The minefield record form (issue 18, item 6): the user types the benchmark and the legs
of a paper record and sees its points and perimeter drawn as they type.

The page only lays out the form. The browser (static/js/minefield_form.js) sends the legs
to POST /api/v1/minefield-records/compute a moment after each keystroke and draws what it
answers; Save sends the record to POST /api/v1/minefield-records/import as a record file
(JSON, which YAML reads), so the form, the API and `mineaction minefield import` share
one reading of a record and one set of rules.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mineaction.access.roles import may_create
from mineaction.domain.enums import AngleUnit, BearingReference, DistanceUnit
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
PATH = "/minefields/new"
# Legs a new form starts with: a record has at least three turning points and a return.
START_LEGS = 4


@router.get(PATH)
def new_minefield(request: Request, who: WhoDep) -> Response:
    if who.is_public:
        return RedirectResponse(f"/login?next={PATH}", status_code=303)
    if not may_create(who):
        return error_page(request, who, 403, f"Your role ({who.role.value}) does not create "
                          "records: field staff, editors, approvers and administrators do.")
    return render(request, "minefield_form.html", who, start_legs=START_LEGS,
                  references=[r.value for r in BearingReference],
                  angle_units=[u.value for u in AngleUnit],
                  distance_units=[u.value for u in DistanceUnit])
