# SPDX-License-Identifier: GPL-3.0-or-later
"""The published figures page (issue 22): the claims with filters (metric, area, who
stated them), a timeline chart per metric and area, and the findings of the consistency
checks, each naming its claims. Open to everyone: claims are published figures.

Read through services/claims.py, as the API and `mineaction claims` do; the chart is inline
SVG drawn here, as web/charts.py draws the dashboard's: readable without JavaScript, its
figures in the table beside it."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from mineaction.domain.claims import METRICS, Claim, show_value
from mineaction.http.deps import ServicesDep
from mineaction.services import claims as service
from mineaction.services.errors import Invalid
from mineaction.web.pages import error_page, render
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
MAX_CHARTS = 12
# Okabe-Ito, one colour per organisation stating figures (in order of first appearance).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#000000",
           "#f0e442")


def _nice_max(value: float) -> float:
    """The axis' top: 1, 2 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value))
    return next(m * step for m in (1, 2, 5, 10) if m * step >= value)


def timeline(claims: Sequence[Claim], *, title: str, width: int = 760,
             height: int = 240) -> Markup:
    """Values over the statements' dates: a dot per claim, coloured by who stated it;
    figures counted from one start (since the ceasefire) joined by a line, so a fall shows.
    Period figures (a year's) are hollow dots."""
    left, bottom, top, right = 64, 30, 22, 12
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [c.as_of.toordinal() for c in claims]
    first, last = min(days), max(days)
    span = max(last - first, 1)
    vmax = _nice_max(max(c.common_value for c in claims))
    unit = "ha" if METRICS[claims[0].metric] == "area" else claims[0].unit

    def x(day: date) -> float:
        return left + plot_w * (day.toordinal() - first) / span

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / vmax

    colours: dict[str, str] = {}
    for c in claims:
        colours.setdefault(c.stated_by, PALETTE[len(colours) % len(PALETTE)])
    parts = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart timeline" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i in range(5):
        v = vmax * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}" class="grid"/><text x="{left - 6}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end" class="tick">{v:,.0f}</text>')
    for year in range(date.fromordinal(first).year + 1, date.fromordinal(last).year + 1):
        px = x(date(year, 1, 1))
        parts.append(f'<text x="{px:.1f}" y="{height - 8}" text-anchor="middle" '
                     f'class="tick">{year}</text>')
    runs: dict[date, list[Claim]] = defaultdict(list)
    for c in claims:
        if c.period_start is not None and c.ends_at_statement:
            runs[c.period_start].append(c)
    for run in runs.values():
        run.sort(key=lambda c: c.as_of)
        if len(run) > 1:
            points = " ".join(f"{x(c.as_of):.1f},{y(c.common_value):.1f}" for c in run)
            parts.append(f'<polyline points="{points}" fill="none" stroke="#999" '
                         'stroke-width="1"/>')
    for c in claims:
        colour = colours[c.stated_by]
        via = f" via {c.reported_by}" if c.reported_by else ""
        hollow = not (c.period_start is None or c.ends_at_statement)
        fill = "white" if hollow else colour
        parts.append(f'<circle cx="{x(c.as_of):.1f}" cy="{y(c.common_value):.1f}" r="4" '
                     f'fill="{fill}" stroke="{colour}" stroke-width="1.5"><title>'
                     f'{escape(show_value(c.value))} {escape(c.unit)}, {c.as_of} '
                     f'({escape(c.stated_by + via)})'
                     f'</title></circle>')
    parts.append(f'<text x="2" y="{top - 2}" class="tick">{escape(unit)}</text></svg>')
    key = "".join(f'<span style="--c:{colour}">{escape(name)}</span>'
                  for name, colour in colours.items())
    return Markup(f'<div class="keyrow" aria-hidden="true">{key}</div>' + "".join(parts))


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request, svc: ServicesDep, who: WhoDep,
                metric: Annotated[str | None, Query(max_length=80)] = None,
                area: Annotated[str | None, Query(max_length=200)] = None,
                stated_by: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    try:
        f = service.claim_filter(metric, area, stated_by)
    except Invalid as exc:
        return error_page(request, who, 422, exc.message)
    claims, total = service.list_claims(svc.store, f)
    findings = service.check_store(svc.store, who, policy=svc.records.policy,
                                   public_min_count=svc.settings.public_min_count, f=f)
    series: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for c in claims:
        series[(c.metric, c.area)].append(c)
    charts = [(m, a, timeline(cs, title=f"{m.replace('_', ' ')} in {a}, by date stated"))
              for (m, a), cs in sorted(series.items(), key=lambda kv: -len(kv[1]))
              if len(cs) > 1][:MAX_CHARTS]
    return render(request, "claims.html", who, claims=claims, total=total, charts=charts,
                  findings=findings, metrics=list(METRICS), metric=f.metric,
                  area=area or "", stated_by=stated_by or "")
