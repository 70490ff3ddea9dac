# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures (claims, issue 22) kept in the store, in a table of their own.

Claims have no geometry, no workflow and no organisation, so they are no record kind of
the registry: one attribute table, `claims`, on both stores (an attribute table in
gpkg_contents on GeoPackage, so QGIS lists it). A claim's row is keyed by `Claim.key`, a
hash of what makes it itself: importing the same file again adds nothing, and a claim is
never changed in place (a corrected figure is another claim).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from mineaction.domain.claims import Claim

TABLE = "claims"
FIELDS = ("metric", "value", "unit", "as_of", "as_of_precision", "period_start",
          "period_end", "area", "stated_by", "reported_by", "url", "reliability", "note")


def define(metadata: sa.MetaData) -> None:
    from mineaction.store.schema import Timestamp  # schema builds its tables from here

    sa.Table(
        TABLE, metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("metric", sa.Text, nullable=False, index=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False, index=True),
        sa.Column("as_of_precision", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date),  # none: a stock at period_end
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("area", sa.Text, nullable=False),
        sa.Column("stated_by", sa.Text, nullable=False),
        sa.Column("reported_by", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("reliability", sa.Text),  # admiralty code, e.g. B2
        sa.Column("note", sa.Text),
        sa.Column("imported_at", Timestamp(), nullable=False),
        sa.Column("imported_by", sa.Text),
        sqlite_autoincrement=True,
    )


def _table() -> sa.Table:
    from mineaction.store.schema import METADATA

    return METADATA.tables[TABLE]


@dataclass(frozen=True)
class Added:
    added: int
    unchanged: int


def add_claims(conn: sa.Connection, claims: Iterable[Claim], by: str | None) -> Added:
    """Keep the claims not yet kept (by key); the others are counted unchanged."""
    table = _table()
    fresh: dict[str, Claim] = {}
    total = 0
    for claim in claims:
        total += 1
        fresh.setdefault(claim.key, claim)
    keys = list(fresh)
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        for (key,) in conn.execute(sa.select(table.c.key).where(table.c.key.in_(part))):
            known.add(str(key))
    stamp = datetime.now(UTC)
    rows = [{"key": key, **_row(claim), "imported_at": stamp, "imported_by": by}
            for key, claim in fresh.items() if key not in known]
    if rows:
        conn.execute(table.insert(), rows)
    return Added(added=len(rows), unchanged=total - len(rows))


def _row(claim: Claim) -> dict[str, Any]:
    return {name: getattr(claim, name) for name in FIELDS}


@dataclass(frozen=True)
class ClaimFilter:
    metric: str | None = None
    area: str | None = None
    stated_by: str | None = None


def _conditions(f: ClaimFilter) -> list[Any]:
    table = _table()
    out: list[Any] = []
    if f.metric:
        out.append(table.c.metric == f.metric)
    if f.area:
        out.append(sa.func.lower(table.c.area) == f.area.lower())
    if f.stated_by:
        # "Prosecutor" finds the Prosecutor General's Office and joint statements it made
        out.append(sa.func.lower(table.c.stated_by).contains(f.stated_by.lower(),
                                                              autoescape=True))
    return out


def read_claims(conn: sa.Connection, f: ClaimFilter = ClaimFilter(), *,
                limit: int | None = None, offset: int = 0) -> list[Claim]:
    """Claims in statement order (as_of, metric, then the order they were kept)."""
    table = _table()
    stmt = (sa.select(*(table.c[n] for n in FIELDS)).where(*_conditions(f))
            .order_by(table.c.as_of, table.c.metric, table.c.fid).offset(offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_claim(dict(r)) for r in conn.execute(stmt).mappings()]


def count_claims(conn: sa.Connection, f: ClaimFilter = ClaimFilter()) -> int:
    table = _table()
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                            .where(*_conditions(f))).scalar_one())


def _claim(row: dict[str, Any]) -> Claim:
    for name in ("as_of", "period_start", "period_end"):
        value = row[name]
        if isinstance(value, str):  # SQLite hands dates back as text through some drivers
            row[name] = date.fromisoformat(value)
        elif isinstance(value, datetime):
            row[name] = value.date()
    return Claim(**row)
