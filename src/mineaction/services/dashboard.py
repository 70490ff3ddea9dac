"""The dashboard's figures: casualties by year and role, hazards by status, land still
to release, what awaits approval, and the victims by source (issue 17); counted over what
the principal may see (access/), with the public's small counts suppressed as in
/api/v1/stats."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from mineaction.access.visibility import Access
from mineaction.analysis import by_source as bs
from mineaction.analysis.casualties import casualties
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.services.by_source import chart_published, sources_view
from mineaction.store.base import Store
from mineaction.store.schema import entity_table


def dashboard(store: Store, access: Access, *, include_submitted: bool,
              min_count: int | None = None) -> dict[str, Any]:
    """Figures of the dashboard. The public counts approved records only; signed-in users
    may count records awaiting approval too (an import through the web lands as
    submitted), and the page says which. The public's casualty counts below `min_count`
    are hidden (None) with their complementary cells, as in /api/v1/stats."""
    p = access.principal
    statuses = access.statistics_statuses(
        ("approved", "submitted") if include_submitted else None)
    by_year = casualties(store, ["year", "outcome"], statuses=statuses)
    years: dict[str, dict[str, int]] = {}
    for r in by_year.rows:
        year = r["year"] or "unknown"
        row = years.setdefault(year, {"killed": 0, "injured": 0, "unknown": 0})
        row["killed"] += r["killed"]
        row["injured"] += r["injured"]
        row["unknown"] += r["unknown_outcome"]
    by_role = casualties(store, ["role"], statuses=statuses)
    total = by_year.total()
    hazards = entity_table(ENTITIES["hazard"])
    stmt = (sa.select(hazards.c.hazard_status, hazards.c.hazard_kind, sa.func.count(),
                      sa.func.sum(sa.func.coalesce(hazards.c.area_m2, 0.0)))
            .where(*access.sql(hazards, "hazard", statuses))
            .group_by(hazards.c.hazard_status, hazards.c.hazard_kind))
    hz: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        rows: list[Any] = list(conn.execute(stmt))
        for status, kind, n, m2 in rows:
            figures = hz.setdefault(status, {"count": 0, "area_m2": 0.0, "SHA": 0, "CHA": 0})
            figures["count"] += int(n)
            figures["area_m2"] += float(m2 or 0)
            figures[kind] = figures.get(kind, 0) + int(n)
    open_states = ("open", "worked_on")
    from mineaction.analysis.landrelease import remaining_area

    remaining = remaining_area(store, [date.today()], statuses=statuses)[0]
    out: dict[str, Any] = {
        "statuses": list(statuses),
        "casualties": {"total": total["casualties"], "killed": total["killed"],
                       "injured": total["injured"], "unknown": total["unknown_outcome"],
                       "by_year": [{"year": y, **v} for y, v in sorted(years.items())],
                       "by_role": [{"role": r["role"] or "unknown", "casualties": r["casualties"],
                                    "killed": r["killed"], "injured": r["injured"]}
                                   for r in by_role.rows]},
        "hazards": {"by_status": hz,
                    "open": sum(v["count"] for k, v in hz.items() if k in open_states),
                    "closed": sum(v["count"] for k, v in hz.items() if k not in open_states),
                    "remaining_m2": remaining["remaining_m2"]},
        "awaiting": None,
        "sources": sources_panel(store, access, statuses, min_count),
        **operations(store, statuses),
    }
    if not p.is_public:
        out["awaiting"] = awaiting_approval(store, access)
    elif min_count is not None:
        _suppress_casualties(out["casualties"], min_count)
    return out


def operations(store: Store, statuses: tuple[str, ...]) -> dict[str, Any]:
    """Land released per year by method, devices found by group, and risk education per
    year, counted from the same records as the casualties (issue 21, 5). Counts of land,
    devices and sessions, never of people: nothing here is suppressed."""
    from mineaction.analysis.landrelease import finds, released_area, risk_education

    methods = ("cancelled", "reduced", "cleared")
    released: list[dict[str, Any]] = [
        {"year": r["year"] or "unknown",
         **{m: round(float(r[f"{m}_m2"] or 0) / 10_000, 2) for m in methods}}
        for r in released_area(store, ("year",), statuses=statuses)]
    found = [{"group": r["device-group"] or "unspecified", "found": int(r["found"] or 0),
              "destroyed": int(r["destroyed"] or 0)}
             for r in finds(store, ("device-group",), statuses=statuses)]
    education = [{"year": r["year"] or "unknown", "sessions": int(r["sessions"]),
                  "beneficiaries": r["beneficiaries"], "children": r["children"],
                  "female": r["female"]}
                 for r in risk_education(store, ("year",), statuses=statuses)]
    return {"land_release": {"by_year": sorted(released, key=lambda r: str(r["year"])),
                             "total_ha": round(sum(float(r[m]) for r in released
                                                   for m in methods), 2)},
            "finds": {"by_group": sorted(found, key=lambda r: -r["found"]),
                      "total": sum(r["found"] for r in found)},
            "risk_education": {"by_year": sorted(education, key=lambda r: str(r["year"])),
                               "beneficiaries": sum(r["beneficiaries"] for r in education)}}


# The estimate's bootstrap refits every log-linear model a thousand times: well under a
# second with three or four sources, most of a minute with five (1,024 models). A page
# load must not wait for that; with five sources the panel points to the API instead.
DASHBOARD_ESTIMATE_SOURCES = 4


def sources_panel(store: Store, access: Access, statuses: tuple[str, ...],
                  min_count: int | None) -> dict[str, Any]:
    """The victims by source (services/by_source.py) and the query of its chart's URL
    (None when the chart is not shown: no source, or a count the public may not see)."""
    names = bs.datasets(store, "victim", statuses)
    view = sources_view(store, access, statuses=statuses, min_count=min_count or 1,
                        with_estimate=len(names) <= DASHBOARD_ESTIMATE_SOURCES)
    if view["estimate"] is None:
        view["estimate"] = {"available": False,
                            "reason": f"with {len(names)} sources the estimate takes about a "
                                      "minute: ask /api/v1/stats/sources for it, or choose "
                                      "up to four sources there"}
    status = ",".join(statuses)
    view["chart_query"] = f"kind=victim&status={status}" if chart_published(view) else None
    return view


def _suppress_casualties(c: dict[str, Any], min_count: int) -> None:
    """Hide the public's small counts: years and roles each add up to the total shown."""
    from mineaction.reports.suppression import suppress_rows

    # The dashboard says "unknown" where the statistics say "unknown_outcome".
    def hidden(rows: list[dict[str, Any]], dims: list[str]) -> list[dict[str, Any]]:
        stats = [{("unknown_outcome" if k == "unknown" else k): v for k, v in r.items()}
                 for r in rows]
        for r in stats:
            if "casualties" not in r:
                r["casualties"] = r["killed"] + r["injured"] + r["unknown_outcome"]
        return [{("unknown" if k == "unknown_outcome" else k): v for k, v in r.items()}
                for r in suppress_rows(stats, dims, min_count)]

    c["by_year"] = hidden(c["by_year"], ["year"])
    c["by_role"] = hidden(c["by_role"], ["role"])
    total = hidden([{k: c[k] for k in ("killed", "injured", "unknown")}
                    | {"casualties": c["total"]}], [])[0]
    c.update(total=total["casualties"], killed=total["killed"], injured=total["injured"],
             unknown=total["unknown"], suppressed_below=min_count)


def awaiting_approval(store: Store, access: Access, limit: int = 10) -> dict[str, Any]:
    """Submitted records the principal may see: a count per kind and the most recent
    few."""
    counts: dict[str, int] = {}
    recent: list[dict[str, Any]] = []
    with store.engine.connect() as conn:
        for kind, model in ENTITIES.items():
            table = entity_table(model)
            if not access.may_list(kind):
                continue
            cond = access.sql(table, kind, ("submitted",))
            n = conn.execute(sa.select(sa.func.count()).select_from(table)
                             .where(*cond)).scalar() or 0
            if not n:
                continue
            counts[kind] = int(n)
            for rid, at, by in conn.execute(
                    sa.select(table.c.id, table.c.updated_at, table.c.updated_by)
                    .where(*cond).order_by(table.c.updated_at.desc()).limit(limit)):
                recent.append({"kind": kind, "collection": REGISTRY[kind].collection, "id": rid,
                               "updated_at": _iso(at), "by": by})
    recent.sort(key=lambda r: r["updated_at"] or "", reverse=True)
    return {"counts": counts, "total": sum(counts.values()), "recent": recent[:limit]}


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
