"""Casualty counts the way the Landmine and Cluster Munition Monitor counts them: victims
(killed + injured + unknown), never rows de-duplicated, grouped by any of the dimensions
below. By default only approved records count, as IMSMA's approval workflow intends.

The grouping runs in SQL on either store, so a million victims never pass through Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mineaction.store.base import Store
from mineaction.store.schema import entity_table

VICTIMS = entity_table("victim")
ACCIDENTS = entity_table("accident")
ADMIN = entity_table("admin_area")


def _year(col: Any) -> Any:
    # cast(date as text) is 'YYYY-MM-DD' in PostgreSQL; SQLite stores that text already.
    return sa.func.substr(sa.cast(col, sa.Text), 1, 4)


def _month(col: Any) -> Any:
    return sa.func.substr(sa.cast(col, sa.Text), 1, 7)


DIMENSIONS: dict[str, Any] = {
    "year": _year(ACCIDENTS.c.accident_date),
    "month": _month(ACCIDENTS.c.accident_date),
    "admin-area": ACCIDENTS.c.admin_area_pcode,
    "outcome": VICTIMS.c.outcome,
    "role": VICTIMS.c.role,
    "sex": VICTIMS.c.sex,
    "age-band": VICTIMS.c.age_band,
    "activity": VICTIMS.c.activity,
    "device": ACCIDENTS.c.device_category,
    "accident-kind": ACCIDENTS.c.accident_kind,
}


@dataclass
class CasualtyTable:
    dimensions: list[str]
    rows: list[dict[str, Any]]

    @property
    def columns(self) -> list[str]:
        return [*self.dimensions, "casualties", "killed", "injured", "unknown_outcome"]

    def total(self) -> dict[str, int]:
        keys = ("casualties", "killed", "injured", "unknown_outcome")
        return {k: sum(int(r[k]) for r in self.rows) for k in keys}


def admin_level_expr(level: int, col: Any) -> Any:
    """The pcode of the level-`level` area holding `col`'s area: looked up through the
    admin_areas table when its codes are there, since pcodes nest by prefix (DANE: 05 holds
    05313) that is the ancestor whose code starts the child's."""
    ancestor = (
        sa.select(ADMIN.c.pcode)
        .where(ADMIN.c.level == level, col.startswith(ADMIN.c.pcode))
        .order_by(sa.func.length(ADMIN.c.pcode).desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(ancestor, col)


def casualties(
    store: Store,
    by: Sequence[str] = (),
    *,
    statuses: Sequence[str] | None = ("approved",),
    admin_level: int | None = None,
    dataset: str | None = None,
) -> CasualtyTable:
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"cannot group by {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}"
        )
    exprs = []
    for name in by:
        expr = DIMENSIONS[name]
        if name == "admin-area" and admin_level is not None:
            expr = admin_level_expr(admin_level, ACCIDENTS.c.admin_area_pcode)
        exprs.append(expr.label(name.replace("-", "_")))
    outcome = VICTIMS.c.outcome
    counts = [
        sa.func.count().label("casualties"),
        sa.func.sum(sa.case((outcome == "killed", 1), else_=0)).label("killed"),
        sa.func.sum(sa.case((outcome == "injured", 1), else_=0)).label("injured"),
        sa.func.sum(sa.case((outcome == "unknown", 1), else_=0)).label("unknown_outcome"),
    ]
    stmt = sa.select(*exprs, *counts).select_from(
        VICTIMS.outerjoin(ACCIDENTS, VICTIMS.c.accident_id == ACCIDENTS.c.id)
    )
    if statuses:
        stmt = stmt.where(VICTIMS.c.status.in_(list(statuses)))
    if dataset:
        stmt = stmt.where(VICTIMS.c.dataset == dataset)
    if exprs:
        positions = [sa.literal_column(str(i + 1)) for i in range(len(exprs))]
        stmt = stmt.group_by(*positions).order_by(*positions)
    with store.engine.connect() as conn:
        result = conn.execute(stmt).mappings().all()
    rows = []
    for r in result:
        row = {name: r[name.replace("-", "_")] for name in by}
        row.update({k: int(r[k] or 0) for k in ("casualties", "killed", "injured",
                                                 "unknown_outcome")})
        rows.append(row)
    return CasualtyTable(dimensions=list(by), rows=rows)
