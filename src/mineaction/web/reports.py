# SPDX-License-Identifier: GPL-3.0-or-later
"""The reports menu (issue 21, 5): every report of reports/kinds.py with a form of its
own parameters, made from that one registry (a report added there appears here with its
fields), in any language with a catalogue, as PDF or HTML; beside them the site check,
the published figures and the map-accuracy report's minefield records.

The forms ask the API (`GET /api/v1/reports/{kind}`), which the session cookie signs:
the same renderer, the same checks of each parameter and the same rule of who may
render, as for a script."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mineaction.reports.kinds import REPORTS
from mineaction.web.pages import render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


def _field(p: Any) -> dict[str, Any]:
    """An HTML input for a report parameter: its type, bounds and pattern as declared."""
    field: dict[str, Any] = {"name": p.name, "label": p.label.capitalize(), "help": p.help,
                             "required": p.required, "type": "text", "attrs": {}}
    if p.type is int:
        field["type"] = "number"
        if p.bounds:
            field["attrs"] = {"min": p.bounds[0], "max": p.bounds[1]}
    elif p.pattern == r"^\d{4}-\d{2}$":
        field["type"] = "month"
    elif p.pattern == r"^\d{4}-\d{2}-\d{2}$":
        field["type"] = "date"
    return field


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, who: WhoDep) -> HTMLResponse:
    from mineaction.web.i18n import report_languages

    kinds = [{"name": k.name, "title": k.title, "summary": k.summary,
              "fields": [_field(p) for p in k.params]} for k in REPORTS.values()]
    return render(request, "reports.html", who, kinds=kinds,
                  languages=report_languages())
