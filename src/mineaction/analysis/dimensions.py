"""The dimensions casualty statistics group by, one declaration each: its name (as typed in
`--by age-band` and `?by=age-band`), the SQL expression over the casualty facts table
(store/facts.py) that it groups by, whether it is categorical (its unknown values are left
out of the base of percentages, as the Landmine Monitor does), whose field it is (victim or
accident) and a line of help.

Everything that lists dimensions reads them from here: analysis/casualties.py groups and
drills down by them, the command line's `--by` choices and help, the API's `by` parameter
description and the docs' tests. Adding a dimension is one entry below (plus its row in
docs/commands/stats-casualties.md and a test), so long as the facts table has the columns
it needs (issue 14).

This module imports no SQL library at import time (the command line reads it to build its
`--by` choices at start-up); the expressions are built when casualties.py asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The Monitor's device categories (Landmine Monitor "Casualties" methodology): antipersonnel
# mine, improvised mine (victim-activated IEDs and booby traps), antivehicle mine, cluster
# munition remnant, other ERW (unexploded and abandoned ordnance), unspecified.
MONITOR_DEVICE = {
    "ap_mine": "antipersonnel_mine",
    "improvised_mine": "improvised_mine",
    "ied": "improvised_mine",
    "booby_trap": "improvised_mine",
    "at_mine": "antivehicle_mine",
    "cluster_munition": "cluster_munition_remnant",
    "uxo": "other_erw",
    "axo": "other_erw",
    "other": "unspecified",
    "unknown": "unspecified",
}


@dataclass(frozen=True)
class Dimension:
    """One way of grouping casualties. `sql` takes the casualty facts table (a SQLAlchemy
    Table) and returns the expression grouped by; it runs on both stores (SQLite and
    PostgreSQL), so it keeps to SQL they share."""

    name: str
    sql: Callable[[Any], Any]
    help: str
    source: str  # "victim" or "accident": whose field it is
    categorical: bool = True

    @property
    def column_name(self) -> str:
        """The name of its column in SQL results ("age-band" -> "age_band")."""
        return self.name.replace("-", "_")


def _column(name: str) -> Callable[[Any], Any]:
    return lambda facts: facts.c[name]


def _device_group(facts: Any) -> Any:
    import sqlalchemy as sa

    col = facts.c.device_category
    return sa.case(*((col == code, group) for code, group in MONITOR_DEVICE.items()),
                   else_="unspecified")


def _quarter(facts: Any) -> Any:
    # "2006-Q1" from the facts' month, "2006-01"; a missing month stays missing (NULL || 'Q4'
    # is NULL in both databases).
    import sqlalchemy as sa

    month = sa.func.substr(facts.c.month, 6, 2)
    quarter = sa.case((month <= "03", "Q1"), (month <= "06", "Q2"), (month <= "09", "Q3"),
                      else_="Q4")
    return sa.func.substr(facts.c.month, 1, 5).concat(quarter)


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("year", _column("year"), "year of the accident date (`2006`)", "accident",
              categorical=False),
    Dimension("quarter", _quarter, "year and quarter of the accident date (`2006-Q1`)",
              "accident", categorical=False),
    Dimension("month", _column("month"), "year and month of the accident date (`2006-01`)",
              "accident", categorical=False),
    Dimension("admin-area", _column("admin_area_pcode"), "the accident's admin area pcode; "
              "with an admin level, the level's area that contains it", "accident",
              categorical=False),
    Dimension("outcome", _column("outcome"), "`killed`, `injured`, `unknown`", "victim"),
    Dimension("role", _column("role"), "`civilian`, `security_forces`, `deminer`, `unknown`",
              "victim"),
    Dimension("sex", _column("sex"), "`female`, `male`, `unknown`", "victim"),
    Dimension("age-band", _column("age_band"), "`child` (under 18), `adult`, `unknown`",
              "victim"),
    Dimension("activity", _column("activity"), "activity at the time of the accident, in the "
              "Monitor's categories", "victim"),
    Dimension("area-type", _column("area_type"), "`rural`, `urban` or `unknown`: where "
              "the accident happened (the AICMA register's TIPO_AREA)", "accident"),
    Dimension("device", _column("device_category"), "device category (`ap_mine`, `uxo`, "
              "`improvised_mine`, ...)", "accident"),
    Dimension("device-group", _device_group, "the Monitor's device groups (antipersonnel "
              "mine, improvised mine, antivehicle mine, cluster munition remnant, other ERW, "
              "unspecified)", "accident"),
    Dimension("accident-kind", _column("accident_kind"), "`mine`, `erw`, `ied`, `demining`, "
              "`other`", "accident"),
)}
# Dimensions whose "unknown" value is excluded from the base of percentages ("of casualties
# for which the age was known, 21% were children").
CATEGORICAL = tuple(d.name for d in DIMENSIONS.values() if d.categorical)


def names_text() -> str:
    """The names, comma-separated, for messages and one-line help."""
    return ", ".join(DIMENSIONS)


def dimensions_list() -> str:
    """One Markdown list item per dimension with its help, for descriptions that have room
    (the API's)."""
    return "\n".join(f"- `{d.name}`: {d.help}" for d in DIMENSIONS.values())
