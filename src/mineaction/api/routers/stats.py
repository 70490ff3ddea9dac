"""Statistics for dashboards and scripts, the figures `mineaction stats` prints:

- GET /stats/casualties?by=year,role: Landmine Monitor casualty counts with percentages of
  the known, grouped by up to three dimensions, as JSON or HXL-tagged CSV (?f=csv);
- GET /stats/casualties/records: the records behind one cell (the drill-down);
- GET /stats/land-release, /stats/finds, /stats/hazards, /stats/risk-education and
  /stats/trends: land release, devices found, hazards open and closed, beneficiaries,
  year-on-year change and the projection;
- GET /stats/sources and /stats/sources.png: the by-source view (each source's count, the
  overlaps, what only one source recorded, the estimate of what none recorded) and its
  UpSet-style chart.

Only approved records count unless a signed-in user asks for other statuses. The public
gets the same figures with small counts suppressed (primary and complementary, as the
open-data package: reports/suppression.py) and no percentage that could give a hidden
count away.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from mineaction.access.roles import Principal
from mineaction.access.visibility import Access
from mineaction.analysis import casualties as cas
from mineaction.analysis import landrelease, trends
from mineaction.domain.enums import WorkflowStatus
from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES, FieldError, Forbidden, Invalid
from mineaction.io.formats import csv_text
from mineaction.services import by_source, statistics

router = APIRouter(prefix="/stats", tags=["statistics"], responses=ERROR_RESPONSES)

MAX_DIMENSIONS = 3
HXL_TAGS = {
    "year": "#date+year", "month": "#date+month", "admin-area": "#adm+code",
    "casualties": "#affected+num", "killed": "#affected+killed",
    "injured": "#affected+injured", "unknown_outcome": "#affected+outcome+unknown",
    "pct_killed": "#affected+killed+pct", "suppressed": "#meta+suppressed",
}

ByParam = Annotated[str, Query(description="Comma-separated dimensions to group by, up to "
                               f"{MAX_DIMENSIONS} of:\n\n"
                               + "\n".join(f"- `{d.name}`: {d.help}"
                                           for d in cas.DIMENSIONS.values()))]
StatusParam = Annotated[str, Query(description="Record statuses counted, comma-separated "
                                   "(approved, submitted, draft, rejected) or `all`: for "
                                   "roles that read every record (admin, approver, editor, "
                                   "viewer); others get approved only.")]
AreaParam = Annotated[str | None, Query(description="Admin area pcode: it and every area "
                                        "under it.")]
LevelParam = Annotated[int | None, Query(ge=0, le=5, description="Roll admin areas up to "
                                         "this level (1 = departments in Colombia).")]


class CasualtyStats(BaseModel):
    dimensions: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    filters: dict[str, Any]
    suppressed_below: int | None = None


class Cell(BaseModel):
    what: str
    count: int
    ids: list[str]
    links: list[str]


def parse_by(by: str) -> list[str]:
    names = list(dict.fromkeys(_names(by)))
    unknown = [b for b in names if b not in cas.DIMENSIONS]
    if unknown or len(names) > MAX_DIMENSIONS:
        raise Invalid(f"group by up to {MAX_DIMENSIONS} of {', '.join(cas.DIMENSIONS)}",
                      field_errors=[FieldError(field="by", message=f"unknown dimension {u}")
                                    for u in unknown])
    return names


def _access(svc: Any, who: Principal) -> Access:
    return svc.records.access(who)  # type: ignore[no-any-return]


def statuses_for(access: Access, status: str) -> tuple[str, ...] | None:
    wanted = [s.strip() for s in status.split(",") if s.strip()] or ["approved"]
    if wanted == ["approved"]:
        return ("approved",)
    if not access.counts_unapproved():
        raise Forbidden("this role sees statistics of approved records only")
    if wanted == ["all"]:
        return None
    bad = [s for s in wanted if s not in WorkflowStatus.__members__]
    if bad:
        raise Invalid("unknown status", field_errors=[
            FieldError(field="status", message=f"{b} is not one of "
                       f"{', '.join(WorkflowStatus.__members__)} or all") for b in bad])
    return tuple(wanted)


def _csv(stats: dict[str, Any]) -> Response:
    columns = list(dict.fromkeys(k for r in stats["rows"] for k in r)) or stats["columns"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([HXL_TAGS.get(c, "#indicator+" + c.replace("-", "_").replace("pct_of_known_",
                                                                                 "pct_known_"))
                     for c in columns])
    for row in stats["rows"]:
        writer.writerow([csv_text(row.get(c)) for c in columns])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="casualties.csv"'})


@router.get("/casualties", response_model=CasualtyStats,
            summary="Casualties (killed, injured, unknown) grouped, with % of the known",
            responses={200: {"content": {"text/csv": {}}}})
def casualty_statistics(
    svc: ServicesDep, who: PrincipalDep, by: ByParam = "",
    status: StatusParam = "approved", admin_area: AreaParam = None,
    admin_level: LevelParam = None, date_from: date | None = None,
    date_to: date | None = None, dataset: str | None = None,
    f: Annotated[Literal["json", "csv"], Query(description="json, or csv with an HXL "
                                               "hashtag row")] = "json",
    per_record: Annotated[bool, Query(description="Count every record, also those another "
                                      "source's record represents (signed-in users; by "
                                      "default each victim counts once)")] = False,
) -> Any:
    dims = parse_by(by)
    # The public's figures are the published ones: each victim once.
    canonical = who.is_public or not per_record
    stats = cas.casualty_stats(svc.store, dims, statuses=statuses_for(_access(svc, who), status),
                               admin_level=admin_level, dataset=dataset,
                               admin_area=admin_area, date_from=date_from, date_to=date_to,
                               canonical=canonical)
    if who.is_public:
        stats = statistics.public_casualties(stats, svc.settings.public_min_count)
    return _csv(stats) if f == "csv" else stats


@router.get("/casualties/records", response_model=Cell,
            summary="Drill down: the victims or accidents behind one cell of /casualties")
def casualty_cell(
    svc: ServicesDep, who: PrincipalDep,
    cell: Annotated[str, Query(description="The cell's dimension values, e.g. "
                               "`year:2006,admin-area:05001` (empty value = missing)")] = "",
    what: Literal["victim", "accident"] = "victim",
    status: StatusParam = "approved", admin_area: AreaParam = None,
    admin_level: LevelParam = None, date_from: date | None = None,
    date_to: date | None = None, dataset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Cell:
    if not svc.records.access(who).may_list(what):
        raise Forbidden(f"this role sees {what}s as aggregates only; ask what=accident")
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in cell.split(","))):
        name, sep, value = part.partition(":")
        if not sep or name not in cas.DIMENSIONS:
            raise Invalid("cell is dimension:value pairs", field_errors=[
                FieldError(field="cell", message=f"{part!r} is not dimension:value with a "
                           f"dimension of {', '.join(cas.DIMENSIONS)}")])
        values[name] = value or None
    filters: dict[str, Any] = {
        "statuses": statuses_for(_access(svc, who), status), "admin_level": admin_level,
        "dataset": dataset, "admin_area": admin_area, "date_from": date_from,
        "date_to": date_to}
    if who.is_public and not statistics.cell_published(
            svc.store, values, svc.settings.public_min_count, **filters):
        # The records behind a hidden figure would give it away (issue 15, 3).
        raise Forbidden("this figure is not published (small counts are suppressed)")
    ids = cas.drilldown_ids(svc.store, values, what=what, **filters)
    collection = "victims" if what == "victim" else "accidents"
    shown = ids[:limit]
    return Cell(what=what, count=len(ids), ids=shown,
                links=[f"/api/v1/{collection}/{i}" for i in shown])


def _names(by: str) -> list[str]:
    return [b.strip() for b in by.split(",") if b.strip()]


@contextmanager
def _bad_by() -> Iterator[None]:
    """The analysis functions refuse an unknown grouping with ValueError: a 422 on `by`."""
    try:
        yield
    except ValueError as exc:
        raise Invalid(str(exc), field_errors=[FieldError(field="by", message=str(exc))]) \
            from exc


LandMeasure = Literal["released", "finds", "efficiency", "hazards", "open-hazards",
                      "remaining"]


@router.get("/land-release", summary="Land release: area cancelled/reduced/cleared, finds, "
            "efficiency, hazards opened and closed, open and remaining hazard area")
def land_release(
    svc: ServicesDep, who: PrincipalDep,
    measure: LandMeasure = "released",
    by: Annotated[str, Query(description="released: year, month, admin-area, organisation, "
                             "activity-kind; finds: device, device-group, year, admin-area; "
                             "hazards: year or month")] = "",
    status: StatusParam = "approved", admin_area: AreaParam = None,
    admin_level: LevelParam = None, date_from: date | None = None,
    date_to: date | None = None,
    at: Annotated[list[date] | None, Query(description="remaining: the dates to measure at "
                                           "(default: today)")] = None,
) -> Any:
    dims = _names(by)
    common: dict[str, Any] = {"statuses": statuses_for(_access(svc, who), status),
                              "admin_area": admin_area}
    with _bad_by():
        if measure == "released":
            return landrelease.released_area(svc.store, dims or ["year"], **common,
                                             admin_level=admin_level, date_from=date_from,
                                             date_to=date_to)
        if measure == "finds":
            return landrelease.finds(svc.store, dims or ["device"], **common,
                                     admin_level=admin_level, date_from=date_from,
                                     date_to=date_to)
        if measure == "efficiency":
            return landrelease.clearance_efficiency(svc.store, **common, date_from=date_from,
                                                    date_to=date_to)
        if measure == "hazards":
            return landrelease.hazards_opened_closed(svc.store, dims[0] if dims else "year",
                                                     **common)
        if measure == "open-hazards":
            return landrelease.open_hazards(svc.store, **common)
        return landrelease.remaining_area(svc.store, at or [date.today()], **common)


@router.get("/risk-education", summary="Risk education sessions and beneficiaries by sex "
            "and age band")
def risk_education(
    svc: ServicesDep, who: PrincipalDep,
    by: Annotated[str, Query(description="year, month, admin-area, organisation")] = "year",
    status: StatusParam = "approved", admin_area: AreaParam = None,
    admin_level: LevelParam = None, date_from: date | None = None,
    date_to: date | None = None,
) -> Any:
    with _bad_by():
        return landrelease.risk_education(svc.store, _names(by) or ["year"],
                                          statuses=statuses_for(_access(svc, who), status),
                                          admin_area=admin_area, admin_level=admin_level,
                                          date_from=date_from, date_to=date_to)


@router.get("/trends", summary="Casualties: year-on-year change, rolling 12 months and a "
            "labelled projection with its 95% band")
def casualty_trends(
    svc: ServicesDep, who: PrincipalDep,
    horizon: Annotated[int, Query(ge=1, le=10)] = 3,
    until: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    admin_area: AreaParam = None,
) -> Any:
    result = trends.trends(svc.store, horizon=horizon, until=until, admin_area=admin_area)
    if who.is_public:
        statistics.public_trends(result, svc.settings.public_min_count)
    return result


SourcesParam = Annotated[str | None, Query(description="Datasets compared, comma-separated "
                                           "(default: every dataset with records of the "
                                           "kind). The estimate of what no source "
                                           "recorded needs three to five.")]


def _sources(sources: str | None) -> list[str] | None:
    return _names(sources) if sources else None


@router.get("/sources", summary="By source: each source's count, what only it recorded, "
            "the overlaps, and the estimate of casualties no source recorded")
def sources_statistics(
    svc: ServicesDep, who: PrincipalDep,
    kind: Literal["victim", "accident"] = "victim",
    sources: SourcesParam = None,
    status: StatusParam = "approved", admin_area: AreaParam = None,
    date_from: date | None = None, date_to: date | None = None,
) -> Any:
    """Counts of canonical entities (one per person or accident, however many sources
    report it) per source and per exclusive overlap pattern (UpSet-style), and with three
    or more sources the multiple-systems estimate with its 95% interval, model and
    assumptions. The public gets small counts suppressed, and the estimate only when no
    count is hidden."""
    return by_source.sources_view(
        svc.store, _access(svc, who), kind=kind, sources=_sources(sources),
        statuses=statuses_for(_access(svc, who), status),
        min_count=svc.settings.public_min_count, admin_area=admin_area,
        date_from=date_from, date_to=date_to)


@router.get("/sources.png", summary="By source: the UpSet-style chart of the overlaps",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def sources_chart(
    svc: ServicesDep, who: PrincipalDep,
    kind: Literal["victim", "accident"] = "victim",
    sources: SourcesParam = None,
    status: StatusParam = "approved", admin_area: AreaParam = None,
    date_from: date | None = None, date_to: date | None = None,
) -> Response:
    png = by_source.sources_chart(
        svc.store, _access(svc, who), kind=kind, sources=_sources(sources),
        statuses=statuses_for(_access(svc, who), status),
        min_count=svc.settings.public_min_count, admin_area=admin_area,
        date_from=date_from, date_to=date_to,
        title="Victims by source" if kind == "victim" else "Accidents by source")
    return Response(png, media_type="image/png")  # http/guard.py sets the caching
