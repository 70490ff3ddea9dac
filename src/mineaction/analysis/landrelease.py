"""Land-release statistics (IMAS 07.11): area cancelled, reduced and cleared; area remaining;
devices found and destroyed; clearance efficiency; hazards opened and closed; risk-education
beneficiaries. Grouping runs in SQL on either store; results are JSON-ready lists of dicts.

Definitions (say them in any report that shows the figures):
- A released part's period is its release_date, else its activity's end date; its admin
  area and organisation are its hazard's area and its activity's organisation.
- Area remaining at a date: for each hazard reported by then and not closed by then, its
  recorded area less what was released from it by then (never below zero). A hazard's
  area is its polygon as recorded, so a hazard redrawn smaller after a release would have
  that release counted twice: record releases as released parts, not by editing polygons.
- Items per hectare and "cleared with nothing found" are per clearance activity: finds are
  linked to the activity that found them, not to a released part.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mineaction.analysis.casualties import MONITOR_DEVICE, admin_level_expr
from mineaction.store.base import Store
from mineaction.store.schema import entity_table

HAZARDS = entity_table("hazard")
ACTIVITIES = entity_table("activity")
PARTS = entity_table("released_part")
FINDS = entity_table("find")
ORGS = entity_table("organisation")
RE = entity_table("risk_education")

DESTROYED = ("destroyed_in_situ", "removed_and_destroyed")
Filters = dict[str, Any]


def _year(col: Any) -> Any:
    return sa.func.substr(sa.cast(col, sa.Text), 1, 4)


def _month(col: Any) -> Any:
    return sa.func.substr(sa.cast(col, sa.Text), 1, 7)


def _org_name() -> Any:
    return sa.func.coalesce(ORGS.c.acronym, ORGS.c.name)


def _area(col: Any, admin_level: int | None) -> Any:
    return col if admin_level is None else admin_level_expr(admin_level, col)


def _common(table: Any, date_col: Any, pcode_col: Any, statuses: Sequence[str] | None,
            admin_area: str | None, date_from: date | None, date_to: date | None) -> list[Any]:
    out: list[Any] = []
    if statuses:
        out.append(table.c.status.in_(list(statuses)))
    if admin_area:
        out.append(pcode_col.startswith(admin_area))
    if date_from:
        out.append(date_col >= date_from)
    if date_to:
        out.append(date_col <= date_to)
    return out


def _run(store: Store, stmt: Any, by: Sequence[str]) -> list[dict[str, Any]]:
    if by:
        positions = [sa.literal_column(str(i + 1)) for i in range(len(by))]
        stmt = stmt.group_by(*positions).order_by(*positions)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    out = []
    for r in rows:
        row: dict[str, Any] = {}
        for key, value in r.items():
            name = key[5:].replace("_", "-") if key.startswith("_dim_") else key
            row[name] = plain(value)
        out.append(row)
    return out


def plain(value: Any) -> Any:
    """JSON-ready numbers: PostgreSQL sums integers as numeric (Decimal)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _dims(by: Sequence[str], choices: dict[str, Any]) -> list[Any]:
    unknown = [b for b in by if b not in choices]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from "
                         f"{', '.join(choices)}")
    return [choices[b].label("_dim_" + b.replace("-", "_")) for b in by]


def released_area(
    store: Store, by: Sequence[str] = ("year",), *, statuses: Sequence[str] | None = ("approved",),
    admin_area: str | None = None, admin_level: int | None = None,
    date_from: date | None = None, date_to: date | None = None,
) -> list[dict[str, Any]]:
    """Square metres cancelled, reduced and cleared, grouped by year, month, admin-area,
    organisation and/or activity-kind."""
    when = sa.func.coalesce(PARTS.c.release_date, ACTIVITIES.c.end_date)
    choices = {
        "year": _year(when), "month": _month(when),
        "admin-area": _area(HAZARDS.c.admin_area_pcode, admin_level),
        "organisation": _org_name(), "activity-kind": ACTIVITIES.c.activity_kind,
    }
    area = sa.func.coalesce(PARTS.c.area_m2, 0.0)
    measures = [
        sa.func.sum(sa.case((PARTS.c.method == m, area), else_=0.0)).label(f"{m}_m2")
        for m in ("cancelled", "reduced", "cleared")
    ] + [sa.func.sum(area).label("total_m2"), sa.func.count().label("parts")]
    joined = (PARTS.join(ACTIVITIES, PARTS.c.activity_id == ACTIVITIES.c.id)
              .outerjoin(HAZARDS, ACTIVITIES.c.hazard_id == HAZARDS.c.id)
              .outerjoin(ORGS, ACTIVITIES.c.organisation_id == ORGS.c.id))
    stmt = sa.select(*_dims(by, choices), *measures).select_from(joined).where(
        *_common(PARTS, when, HAZARDS.c.admin_area_pcode, statuses, admin_area, date_from,
                 date_to))
    return _run(store, stmt, by)


def remaining_area(
    store: Store, dates: Sequence[date], *, statuses: Sequence[str] | None = ("approved",),
    admin_area: str | None = None,
) -> list[dict[str, Any]]:
    """Open hazards and their remaining area at each date (see the module's definition)."""
    out = []
    for when in dates:
        released = (
            sa.select(sa.func.sum(PARTS.c.area_m2))
            .select_from(PARTS.join(ACTIVITIES, PARTS.c.activity_id == ACTIVITIES.c.id))
            .where(ACTIVITIES.c.hazard_id == HAZARDS.c.id,
                   sa.func.coalesce(PARTS.c.release_date, ACTIVITIES.c.end_date) <= when)
            .scalar_subquery()
        )
        left = sa.func.coalesce(HAZARDS.c.area_m2, 0.0) - sa.func.coalesce(released, 0.0)
        conditions = [
            sa.or_(HAZARDS.c.date_reported.is_(None), HAZARDS.c.date_reported <= when),
            sa.or_(HAZARDS.c.date_closed.is_(None), HAZARDS.c.date_closed > when),
        ]
        if statuses:
            conditions.append(HAZARDS.c.status.in_(list(statuses)))
        if admin_area:
            conditions.append(HAZARDS.c.admin_area_pcode.startswith(admin_area))
        stmt = sa.select(
            sa.func.count().label("open_hazards"),
            sa.func.sum(sa.case((left > 0, left), else_=0.0)).label("remaining_m2"),
        ).where(*conditions)
        with store.engine.connect() as conn:
            row = conn.execute(stmt).one()
        out.append({"date": when.isoformat(), "open_hazards": int(row[0]),
                    "remaining_m2": float(row[1] or 0.0)})
    return out


def finds(
    store: Store, by: Sequence[str] = ("device",), *,
    statuses: Sequence[str] | None = ("approved",), admin_area: str | None = None,
    admin_level: int | None = None, date_from: date | None = None, date_to: date | None = None,
) -> list[dict[str, Any]]:
    """Devices found and destroyed (by quantity), grouped by device, device-group, year,
    month, admin-area and/or organisation."""
    group = sa.case(*((FINDS.c.device_category == code, g) for code, g in MONITOR_DEVICE.items()),
                    else_="unspecified")
    choices = {
        "device": FINDS.c.device_category, "device-group": group,
        "year": _year(FINDS.c.find_date), "month": _month(FINDS.c.find_date),
        "admin-area": _area(FINDS.c.admin_area_pcode, admin_level), "organisation": _org_name(),
    }
    measures = [
        sa.func.sum(FINDS.c.quantity).label("found"),
        sa.func.sum(sa.case((FINDS.c.disposal.in_(DESTROYED), FINDS.c.quantity), else_=0))
        .label("destroyed"),
        sa.func.count().label("find_records"),
    ]
    joined = (FINDS.outerjoin(ACTIVITIES, FINDS.c.activity_id == ACTIVITIES.c.id)
              .outerjoin(ORGS, ACTIVITIES.c.organisation_id == ORGS.c.id))
    stmt = sa.select(*_dims(by, choices), *measures).select_from(joined).where(
        *_common(FINDS, FINDS.c.find_date, FINDS.c.admin_area_pcode, statuses, admin_area,
                 date_from, date_to))
    return _run(store, stmt, by)


def clearance_efficiency(
    store: Store, *, statuses: Sequence[str] | None = ("approved",),
    admin_area: str | None = None, date_from: date | None = None, date_to: date | None = None,
) -> dict[str, Any]:
    """Items found per hectare cleared, and the share of cleared area where nothing was
    found (per clearance activity: see the module's definitions)."""
    when = sa.func.coalesce(PARTS.c.release_date, ACTIVITIES.c.end_date)
    found = (sa.select(sa.func.sum(FINDS.c.quantity))
             .where(FINDS.c.activity_id == ACTIVITIES.c.id).scalar_subquery())
    cleared = (
        sa.select(ACTIVITIES.c.id.label("activity"), sa.func.sum(PARTS.c.area_m2).label("m2"),
                  sa.func.coalesce(found, 0).label("found"))
        .select_from(PARTS.join(ACTIVITIES, PARTS.c.activity_id == ACTIVITIES.c.id)
                     .outerjoin(HAZARDS, ACTIVITIES.c.hazard_id == HAZARDS.c.id))
        .where(PARTS.c.method == "cleared",
               *_common(PARTS, when, HAZARDS.c.admin_area_pcode, statuses, admin_area,
                        date_from, date_to))
        .group_by(ACTIVITIES.c.id)
    ).subquery()
    stmt = sa.select(
        sa.func.count(), sa.func.sum(cleared.c.m2), sa.func.sum(cleared.c.found),
        sa.func.sum(sa.case((cleared.c.found == 0, cleared.c.m2), else_=0.0)),
    )
    with store.engine.connect() as conn:
        n, m2, items, empty_m2 = conn.execute(stmt).one()
    m2 = float(m2 or 0.0)
    items = int(items or 0)
    empty_m2 = float(empty_m2 or 0.0)
    return {
        "clearance_activities": int(n),
        "cleared_m2": m2,
        "cleared_ha": m2 / 10_000,
        "items_found": items,
        "items_per_ha": round(items / (m2 / 10_000), 3) if m2 else None,
        "cleared_m2_nothing_found": empty_m2,
        "pct_cleared_nothing_found": round(100 * empty_m2 / m2, 1) if m2 else None,
    }


def hazards_opened_closed(
    store: Store, by: str = "year", *, statuses: Sequence[str] | None = ("approved",),
    admin_area: str | None = None,
) -> list[dict[str, Any]]:
    """Hazards recorded (by date reported) and closed (by date closed) per year or month,
    with their areas."""
    if by not in ("year", "month"):
        raise ValueError("by is 'year' or 'month'")
    period = _year if by == "year" else _month
    rows: dict[str, dict[str, Any]] = {}
    for what, col in (("opened", HAZARDS.c.date_reported), ("closed", HAZARDS.c.date_closed)):
        conditions = [col.is_not(None)]
        if statuses:
            conditions.append(HAZARDS.c.status.in_(list(statuses)))
        if admin_area:
            conditions.append(HAZARDS.c.admin_area_pcode.startswith(admin_area))
        stmt = (sa.select(period(col), sa.func.count(),
                          sa.func.sum(sa.func.coalesce(HAZARDS.c.area_m2, 0.0)))
                .where(*conditions).group_by(sa.literal_column("1")))
        with store.engine.connect() as conn:
            for key, n, m2 in conn.execute(stmt):
                row = rows.setdefault(key, {by: key, "opened": 0, "opened_m2": 0.0,
                                            "closed": 0, "closed_m2": 0.0})
                row[what] = int(n)
                row[f"{what}_m2"] = float(m2 or 0.0)
    return [rows[k] for k in sorted(rows)]


def open_hazards(
    store: Store, *, statuses: Sequence[str] | None = ("approved",), admin_area: str | None = None,
) -> dict[str, Any]:
    """Hazards not closed or handed over, by kind (SHA/CHA) and by contamination."""
    conditions = [HAZARDS.c.hazard_status.in_(["open", "worked_on"])]
    if statuses:
        conditions.append(HAZARDS.c.status.in_(list(statuses)))
    if admin_area:
        conditions.append(HAZARDS.c.admin_area_pcode.startswith(admin_area))
    area = sa.func.coalesce(HAZARDS.c.area_m2, 0.0)
    stmt = (sa.select(HAZARDS.c.hazard_kind, sa.func.count(), sa.func.sum(area))
            .where(*conditions).group_by(HAZARDS.c.hazard_kind).order_by(HAZARDS.c.hazard_kind))
    with store.engine.connect() as conn:
        kinds = [{"hazard_kind": k, "hazards": int(n), "area_m2": float(m2 or 0)}
                 for k, n, m2 in conn.execute(stmt)]
        # contamination is a comma-separated set: one count per category, matched as a
        # whole item between commas.
        padded = sa.literal(",") + sa.func.coalesce(HAZARDS.c.contamination, "") + sa.literal(",")
        by_device = []
        for code in MONITOR_DEVICE:
            n, m2 = conn.execute(sa.select(sa.func.count(), sa.func.sum(area)).where(
                *conditions, padded.like(f"%,{code},%"))).one()
            if n:
                by_device.append({"device": code, "hazards": int(n), "area_m2": float(m2 or 0)})
    return {
        "hazards": sum(k["hazards"] for k in kinds),
        "area_m2": sum(k["area_m2"] for k in kinds),
        "by_kind": kinds,
        "by_contamination": by_device,
    }


def risk_education(
    store: Store, by: Sequence[str] = ("year",), *,
    statuses: Sequence[str] | None = ("approved",), admin_area: str | None = None,
    admin_level: int | None = None, date_from: date | None = None, date_to: date | None = None,
) -> list[dict[str, Any]]:
    """Risk-education sessions and beneficiaries by sex and age band (girls, boys, women,
    men, unknown), grouped by year, month, admin-area and/or organisation."""
    choices = {
        "year": _year(RE.c.session_date), "month": _month(RE.c.session_date),
        "admin-area": _area(RE.c.admin_area_pcode, admin_level), "organisation": _org_name(),
    }
    cols = ("girls", "boys", "women", "men", "unknown_audience")
    measures = [sa.func.count().label("sessions"),
                *(sa.func.sum(RE.c[c]).label(c) for c in cols)]
    stmt = (sa.select(*_dims(by, choices), *measures)
            .select_from(RE.outerjoin(ORGS, RE.c.organisation_id == ORGS.c.id))
            .where(*_common(RE, RE.c.session_date, RE.c.admin_area_pcode, statuses, admin_area,
                            date_from, date_to)))
    rows = _run(store, stmt, by)
    for r in rows:
        for c in cols:
            r[c] = int(r[c] or 0)
        r["female"] = r["girls"] + r["women"]
        r["male"] = r["boys"] + r["men"]
        r["children"] = r["girls"] + r["boys"]
        r["adults"] = r["women"] + r["men"]
        r["beneficiaries"] = sum(r[c] for c in cols)
    return rows
