"""Casualty counts the way the Landmine and Cluster Munition Monitor counts them: victims
(killed + injured + unknown), never rows de-duplicated, grouped by any of the dimensions
below. By default only approved records count, as IMSMA's approval workflow intends.

The grouping runs in SQL on either store, so a million victims never pass through Python.
Every cell can be traced back to its records: `drilldown()` turns a cell (the dimension
values of one row) into a store Query for the victims behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mineaction.analysis.dimensions import CATEGORICAL, DIMENSIONS, names_text
from mineaction.analysis.dimensions import MONITOR_DEVICE as MONITOR_DEVICE  # landrelease's
from mineaction.store import facts, links
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, entity_table

# Statistics read casualty_facts (store/facts.py): one narrow row per current victim with
# its accident's date, area, device and kind beside it, kept by triggers in the store.
# Deleted victims are not in it, so they never count.
FACTS = METADATA.tables[facts.TABLE]
ADMIN = entity_table("admin_area")


# The dimensions are declared in analysis/dimensions.py, one entry each (name, expression
# over the facts table, categorical or not, help); here they become SQL over FACTS.
EXPRESSIONS: dict[str, Any] = {name: d.sql(FACTS) for name, d in DIMENSIONS.items()}
UNKNOWN_VALUES = frozenset({"unknown", "unspecified", None})
COUNTS = ("casualties", "killed", "injured", "unknown_outcome")


@dataclass
class CasualtyTable:
    dimensions: list[str]
    rows: list[dict[str, Any]]

    @property
    def columns(self) -> list[str]:
        return [*self.dimensions, *COUNTS]

    def total(self) -> dict[str, int]:
        return {k: sum(int(r[k]) for r in self.rows) for k in COUNTS}


@dataclass(frozen=True)
class Filters:
    """What every statistic can be narrowed to. `admin_area` matches the pcode and every
    pcode under it (by prefix, as store queries do); dates are the accident's."""

    statuses: tuple[str, ...] | None = ("approved",)
    dataset: str | None = None
    admin_area: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Count each victim once however many sources report it (store/links.py: only the
    # representative of a linked entity counts); False counts every record.
    canonical: bool = True


def admin_level_expr(level: int, col: Any) -> Any:
    """The pcode of the level-`level` area holding `col`'s area, as an SQL expression (a
    correlated subquery: fine for a few rows, slow per victim; casualties() rolls up
    through ancestor_map() instead). Pcodes nest by prefix (DANE: 05 holds 05313), so the
    ancestor is the level-`level` area whose code starts the child's."""
    ancestor = (
        sa.select(ADMIN.c.pcode)
        .where(ADMIN.c.level == level, col.startswith(ADMIN.c.pcode))
        .order_by(sa.func.length(ADMIN.c.pcode).desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(ancestor, col)


def ancestor_map(store: Store, level: int, codes: Sequence[str | None]) -> dict[str, str]:
    """code -> the pcode of its level-`level` admin area (the longest level-`level` pcode
    that starts it); codes with none map to themselves, as when no admin areas are loaded."""
    with store.engine.connect() as conn:
        parents = sorted((r[0] for r in conn.execute(
            sa.select(ADMIN.c.pcode).where(ADMIN.c.level == level))), key=len, reverse=True)
    out = {}
    for code in codes:
        if code is not None:
            out[code] = next((p for p in parents if code.startswith(p)), code)
    return out


def _dimension(name: str) -> Any:
    if name not in EXPRESSIONS:
        raise ValueError(f"cannot group by {name}; choose from {names_text()}")
    return EXPRESSIONS[name]


def _conditions(f: Filters) -> list[Any]:
    out: list[Any] = []
    if f.canonical:
        out.append(links.not_representative("victim", FACTS.c.victim_id, f.dataset))
    if f.statuses:
        out.append(FACTS.c.status.in_(list(f.statuses)))
    if f.dataset:
        out.append(FACTS.c.dataset == f.dataset)
    if f.admin_area:
        out.append(FACTS.c.admin_area_pcode.startswith(f.admin_area))
    if f.date_from:
        out.append(FACTS.c.accident_date >= f.date_from)
    if f.date_to:
        out.append(FACTS.c.accident_date <= f.date_to)
    for name, value in f.extra.items():
        expr = EXPRESSIONS[name]
        out.append(expr.in_(list(value)) if isinstance(value, list | tuple) else expr == value)
    return out


def casualties(
    store: Store,
    by: Sequence[str] = (),
    *,
    statuses: Sequence[str] | None = ("approved",),
    admin_level: int | None = None,
    dataset: str | None = None,
    admin_area: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    canonical: bool = True,
) -> CasualtyTable:
    """Victims counted by outcome, grouped by `by` (names from DIMENSIONS); each victim
    once however many sources report it, unless `canonical` is False (every record)."""
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"cannot group by {', '.join(unknown)}; choose from {names_text()}"
        )
    f = Filters(statuses=tuple(statuses) if statuses else None, dataset=dataset,
                admin_area=admin_area, date_from=date_from, date_to=date_to,
                canonical=canonical)
    exprs = [_dimension(name).label(DIMENSIONS[name].column_name) for name in by]
    outcome = FACTS.c.outcome
    counts = [
        sa.func.count().label("casualties"),
        sa.func.sum(sa.case((outcome == "killed", 1), else_=0)).label("killed"),
        sa.func.sum(sa.case((outcome == "injured", 1), else_=0)).label("injured"),
        sa.func.sum(sa.case((outcome == "unknown", 1), else_=0)).label("unknown_outcome"),
    ]
    stmt = sa.select(*exprs, *counts).select_from(FACTS).where(*_conditions(f))
    if exprs:
        positions = [sa.literal_column(str(i + 1)) for i in range(len(exprs))]
        stmt = stmt.group_by(*positions).order_by(*positions)
    with store.engine.connect() as conn:
        # Rows as tuples: tens of thousands of groups (year x municipality) cost more in
        # name mapping than in SQL.
        result = conn.execute(stmt).all()
    names = [*by, *COUNTS]
    n = len(by)
    rows = [dict(zip(names, (*r[:n], *(int(c or 0) for c in r[n:])), strict=True))
            for r in result]
    if admin_level is not None and "admin-area" in by:
        rows = _roll_up(store, rows, list(by), admin_level)
    return CasualtyTable(dimensions=list(by), rows=rows)


def _roll_up(store: Store, rows: list[dict[str, Any]], by: list[str],
             level: int) -> list[dict[str, Any]]:
    """Re-sum rows grouped by municipality into their level-`level` areas. SQL has done the
    pass over every victim; this adds up a few hundred already-counted groups (counts are
    additive), which is far cheaper than an ancestor lookup per victim in SQL."""
    mapping = ancestor_map(store, level, [r["admin-area"] for r in rows])
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        area = row["admin-area"]
        row = {**row, "admin-area": mapping.get(area, area) if area is not None else None}
        key = tuple(row[d] for d in by)
        if key in merged:
            for k in COUNTS:
                merged[key][k] += row[k]
        else:
            merged[key] = row
    return [merged[k] for k in sorted(merged, key=lambda t: tuple(
        ("", "") if v is None else ("1", str(v)) for v in t))]


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def add_percentages(table: CasualtyTable) -> list[dict[str, Any]]:
    """Rows with the Monitor's percentages, each "of those where the status is known":

    - ``pct_killed``: killed / (killed + injured) in the row (unknown outcomes left out);
    - ``pct_of_known_<dim>`` for each categorical dimension: the row's casualties over the
      casualties whose <dim> is known, among rows sharing the other dimensions' values.
      None for the unknown row itself, which is shown with its count but not as a share.
    """
    rows = [dict(r) for r in table.rows]
    for row in rows:
        row["pct_killed"] = _pct(row["killed"], row["killed"] + row["injured"])
    for dim in table.dimensions:
        if dim not in CATEGORICAL:
            continue
        others = [d for d in table.dimensions if d != dim]
        known: dict[tuple[Any, ...], int] = {}
        for row in rows:
            if row[dim] not in UNKNOWN_VALUES:
                key = tuple(row[d] for d in others)
                known[key] = known.get(key, 0) + row["casualties"]
        name = "pct_of_known_" + dim.replace("-", "_")
        for row in rows:
            key = tuple(row[d] for d in others)
            row[name] = (None if row[dim] in UNKNOWN_VALUES
                         else _pct(row["casualties"], known.get(key, 0)))
    return rows


def casualty_stats(
    store: Store,
    by: Sequence[str] = (),
    *,
    statuses: Sequence[str] | None = ("approved",),
    admin_level: int | None = None,
    dataset: str | None = None,
    admin_area: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    canonical: bool = True,
) -> dict[str, Any]:
    """JSON-ready casualty statistics (what the API's /stats/casualties returns): the rows
    with percentages of known, the total, and the filters that produced them."""
    table = casualties(store, by, statuses=statuses, admin_level=admin_level, dataset=dataset,
                       admin_area=admin_area, date_from=date_from, date_to=date_to,
                       canonical=canonical)
    total = table.total()
    total["pct_killed"] = _pct(total["killed"], total["killed"] + total["injured"])
    return {
        "dimensions": list(by),
        "columns": table.columns,
        "rows": add_percentages(table),
        "total": total,
        "filters": {
            "statuses": list(statuses) if statuses else None,
            "admin_level": admin_level,
            "dataset": dataset,
            "admin_area": admin_area,
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
        },
    }


def breakdown(
    store: Store, dimension: str, **filters: Any
) -> list[dict[str, Any]]:
    """One dimension's rows with counts and percentage of known, unknowns last: the shape of
    a Monitor country profile line ("of 99 casualties, 41% civilians ...")."""
    rows = casualty_stats(store, [dimension], **filters)["rows"]
    key = dimension
    return sorted(rows, key=lambda r: (r[key] in UNKNOWN_VALUES, -r["casualties"],
                                       str(r[key])))


def drilldown_ids(
    store: Store,
    cell: dict[str, Any],
    *,
    statuses: Sequence[str] | None = ("approved",),
    admin_level: int | None = None,
    dataset: str | None = None,
    admin_area: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    what: str = "victim",
) -> list[str]:
    """Ids of the victims (or, with what="accident", their accidents) behind one cell: the
    records a row of `casualties(store, by=list(cell), ...)` counted, with the same filters.
    `cell` maps dimension names to the row's values (None matches a missing value)."""
    if what not in ("victim", "accident"):
        raise ValueError("what is 'victim' or 'accident'")
    f = Filters(statuses=tuple(statuses) if statuses else None, dataset=dataset,
                admin_area=admin_area, date_from=date_from, date_to=date_to)
    conditions = _conditions(f)
    for name, value in cell.items():
        expr = _dimension(name)
        if name == "admin-area" and admin_level is not None and value is not None:
            # The cell is a rolled-up area: every code that rolls up into it.
            with store.engine.connect() as conn:
                codes = [r[0] for r in conn.execute(sa.select(expr).distinct())]
            mapping = ancestor_map(store, admin_level, codes)
            conditions.append(expr.in_([c for c, a in mapping.items() if a == value]))
            continue
        conditions.append(expr.is_(None) if value is None else expr == value)
    col = FACTS.c.victim_id if what == "victim" else FACTS.c.accident_id
    stmt = sa.select(col).where(*conditions).order_by(FACTS.c.victim_fid)
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(stmt) if r[0] is not None]
    return list(dict.fromkeys(ids))  # accidents repeat once per victim


def drilldown(store: Store, cell: dict[str, Any], *, what: str = "victim",
              **filters: Any) -> Query:
    """A store Query listing the records behind a cell (see drilldown_ids); page it with
    store.query() or export it with io.export.export_records()."""
    ids = drilldown_ids(store, cell, what=what, **filters)
    return Query(kind=what, ids=tuple(ids), limit=None)
