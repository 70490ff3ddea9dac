"""Reports over HTTP: GET /reports/{annual|factsheet|monthly} renders the same report as
`mineaction report ...`, as PDF or HTML, in any language with a catalogue.

Reports are documents for donors, ministries and partners: any signed-in user may render
them (they count approved records only and hold no personal data); the anonymous public
gets the open-data figures under /stats instead.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from mineaction.api.deps import ServicesDep, SignedInDep
from mineaction.api.errors import ERROR_RESPONSES, FieldError, Invalid

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)

KindParam = Literal["annual", "factsheet", "monthly"]


@router.get("/{kind}", summary="Render a report (annual, factsheet, monthly) as PDF or HTML",
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}, "text/html": {}}}})
def render_report(
    svc: ServicesDep, who: SignedInDep, kind: KindParam,
    year: Annotated[int | None, Query(ge=1900, le=2100, description="annual: the year "
                                      "reported on; factsheet: up to this year")] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$",
                                       description="monthly: YYYY-MM")] = None,
    admin_area: Annotated[str | None, Query(description="Admin area pcode (required for "
                                            "the fact sheet)")] = None,
    lang: Annotated[str, Query(description="Language with a catalogue: en, es, ...")] = "en",
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    from mineaction.reports.i18n import available_languages
    from mineaction.reports.render import html_to_pdf, render_html

    if lang not in available_languages():
        raise Invalid("unknown language", field_errors=[FieldError(
            field="lang", message=f"choose from {', '.join(available_languages())}")])
    first: date | None = None
    if month is not None:
        try:
            first = date.fromisoformat(month + "-01")
        except ValueError as exc:
            raise Invalid("month is YYYY-MM", field_errors=[FieldError(
                field="month", message=str(exc))]) from exc
    options = {"annual": {"year": year, "admin_area": admin_area},
               "factsheet": {"admin_area": admin_area, "year": year},
               "monthly": {"month": first, "admin_area": admin_area}}[kind]
    try:
        html = render_html(svc.store, kind, lang=lang,
                           image="svg" if format == "html" else "png", **options)
    except ValueError as exc:  # a missing year, month or area: say which
        field = {"annual": "year", "factsheet": "admin_area", "monthly": "month"}[kind]
        raise Invalid(str(exc), field_errors=[FieldError(field=field, message=str(exc))]) \
            from exc
    stem = f"{kind}-{year or month or admin_area or 'report'}-{lang}"
    if format == "html":
        return HTMLResponse(html, headers={"Content-Disposition":
                                           f'inline; filename="{stem}.html"'})
    pdf = html_to_pdf(html)
    assert pdf is not None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{stem}.pdf"'})
