"""Reports over HTTP: GET /reports/{kind} renders the same report as `mineaction report
<kind>`, as PDF or HTML, in any language with a catalogue. The kinds and their parameters are
those declared in reports/kinds.py: each parameter of any kind is a query parameter here,
described with the kinds that take it.

Reports are documents for donors, ministries and partners: any signed-in user may render
them (they count approved records only and hold no personal data); the anonymous public
gets the open-data figures under /stats instead.
"""

from __future__ import annotations

import inspect
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES, FieldError, Invalid
from mineaction.reports.kinds import REPORTS, Param, ParameterError, ReportKind, all_params

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)

KindName = StrEnum("KindName", [(k, k) for k in REPORTS])  # type: ignore[misc]
FormatParam = Annotated[Literal["pdf", "html"], Query(description="pdf, or html (charts as "
                                                                  "SVG)")]
LangParam = Annotated[str, Query(description="Language with a catalogue: en, es, ...")]


def _query(uses: list[tuple[ReportKind, Param]]) -> Any:
    """The query parameter for one report parameter, described for every kind taking it."""
    first = uses[0][1]
    low, high = first.bounds or (None, None)
    description = "\n".join(f"- {kind.name}: {p.help}" + (" Required." if p.required else "")
                             for kind, p in uses)
    return Annotated[first.type | None, Query(description=description, ge=low, le=high,
                                              pattern=first.pattern)]


def _risk_model_shown(svc: Any, who: Any, report: ReportKind) -> dict[str, Any]:
    """The options that show the server's risk model in a report that describes one (the
    annual report): the model `risk predict` kept in the risk layer, for a reader who may
    see that layer (services/risk_layer.py decides), as `report --risk-model` does."""
    if not report.shows_risk_model:
        return {}
    access = svc.records.access(who)
    meta = svc.risk_layer.report_meta(access)
    return {} if meta is None else {"risk_model": meta, "reader": access}


def render_report(svc: Any, who: Any, kind: KindName, lang: str = "en",
                  format: Literal["pdf", "html"] = "pdf", **params: Any) -> Response:
    from mineaction.reports.i18n import available_languages
    from mineaction.reports.render import html_to_pdf, render_html

    if lang not in available_languages():
        raise Invalid("unknown language", field_errors=[FieldError(
            field="lang", message=f"choose from {', '.join(available_languages())}")])
    report = REPORTS[kind.value]
    try:
        options = {**report.options(params), **_risk_model_shown(svc, who, report)}
        html = render_html(svc.store, report.name, lang=lang,
                           image="svg" if format == "html" else "png", **options)
    except ValueError as exc:  # a missing or wrong parameter (ParameterError names it)
        field = exc.parameter if isinstance(exc, ParameterError) else next(
            (p.name for p in report.params if p.required), "kind")
        raise Invalid(str(exc), field_errors=[FieldError(field=field, message=str(exc))]) \
            from exc
    given = [str(params[p.name]) for p in report.params if params.get(p.name) is not None]
    stem = re.sub(r"[^\w.-]", "_", "-".join([report.name, *given, lang]))
    if format == "html":
        return HTMLResponse(html, headers={"Content-Disposition":
                                           f'inline; filename="{stem}.html"'})
    pdf = html_to_pdf(html)
    assert pdf is not None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{stem}.pdf"'})


# The endpoint's parameters: the path's kind, then one query parameter per report parameter
# (from the registry), then language and format.
_keyword = inspect.Parameter.KEYWORD_ONLY
render_report.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
    inspect.Parameter("svc", _keyword, annotation=ServicesDep),
    inspect.Parameter("who", _keyword, annotation=SignedInDep),
    inspect.Parameter("kind", _keyword, annotation=KindName),
    *(inspect.Parameter(name, _keyword, annotation=_query(uses), default=None)
      for name, uses in all_params().items()),
    inspect.Parameter("lang", _keyword, annotation=LangParam, default="en"),
    inspect.Parameter("format", _keyword, annotation=FormatParam, default="pdf"),
])
router.get("/{kind}", summary=f"Render a report ({', '.join(REPORTS)}) as PDF or HTML",
           response_class=Response,
           responses={200: {"content": {"application/pdf": {}, "text/html": {}}}})(
    render_report)
