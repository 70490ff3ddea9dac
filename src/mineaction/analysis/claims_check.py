# SPDX-License-Identifier: GPL-3.0-or-later
"""Where published figures disagree (issue 22): with each other, and with the store's own
records. Each finding names the claims involved (key, value, date, who stated it, who
reported it, address), so a reader can open the pages and judge.

The checks:
- periods: a cumulative figure plus the figure for the following period against the next
  cumulative figure (342 to January 2024 + 41 in 2024 against 382 to January 2025);
- components: parts against their total in one published statement (65 killed + 288
  injured against 351 victims);
- one_statement: one statement reported with different values (an infographic reported
  as 341, 340 and 334);
- falling: a cumulative figure that falls over time (301 victims on 2023-04-29, 299 on
  2023-05-12), across publishers;
- publishers: different organisations stating the same metric for the same area and
  period, differing beyond a relative tolerance;
- records: a claim against the store's own count of victims for its period and area.

Dates are compared with their precision: a statement dated only to January 2025 may be
any day of January. A cumulative figure stated "to date" in late January is usually the
count to the end of December, so the periods check lets the end of one figure and the
start of the next be up to `slack_days` apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import sqlalchemy as sa

from mineaction.analysis import casualties as cas
from mineaction.domain.claims import METRICS, Claim, show_value
from mineaction.store.base import Store
from mineaction.store.schema import entity_table

CHECKS = ("periods", "components", "one_statement", "falling", "publishers", "records")
DEFAULT_TOLERANCE = 0.05  # publishers round: 5 % apart is still "the same figure"
DEFAULT_SLACK_DAYS = 31

# Totals and the parts that make them, for one statement.
EQUATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("victims_total", ("victims_killed", "victims_injured")),
    ("victims_total", ("victims_civilian", "victims_military")),
    ("victims_killed", ("victims_killed_civilian", "victims_killed_military")),
    ("victims_injured", ("victims_injured_civilian", "victims_injured_military")),
    ("victims_civilian", ("victims_killed_civilian", "victims_injured_civilian")),
    ("victims_military", ("victims_killed_military", "victims_injured_military")),
)
# Claims compared with the store's victims: metric -> the count of casualties.py.
RECORD_COUNTS = {"victims_total": "casualties", "victims_killed": "killed",
                 "victims_injured": "injured"}
# The store's count for an area and period: {"casualties": n, "killed": n, ...}, or None
# when it cannot say (no such area; a figure withheld from this reader).
Counter = Callable[[str, date | None, date], dict[str, int | None] | None]


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    claims: tuple[Claim, ...]
    expected: float | None = None  # what the other claims (or the records) make it
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message,
                "expected": self.expected, **self.detail,
                "claims": [_summary(c) for c in self.claims]}


def _summary(c: Claim) -> dict[str, Any]:
    data = c.as_dict()
    return {k: data[k] for k in ("key", "metric", "value", "unit", "as_of",
                                 "as_of_precision", "period_start", "period_end", "area",
                                 "stated_by", "reported_by", "url")}


# -- how claims are named in messages ---------------------------------------------------
def _when(c: Claim) -> str:
    day = c.as_of
    text = {"day": day.isoformat(), "month": f"{day:%Y-%m}", "year": f"{day:%Y}"}
    return text[c.as_of_precision]


def _period(c: Claim) -> str:
    if c.is_stock:
        return f"at {_when(c)}"
    if c.ends_at_statement:
        return f"to {_when(c)}"
    return f"{c.period_start} to {c.end}"


def _who(c: Claim) -> str:
    return c.stated_by + (f" via {c.reported_by}" if c.reported_by
                          and c.reported_by != c.stated_by else "")


def _amount(c: Claim) -> str:
    return show_value(c.value) + ("" if c.unit == "persons" else f" {c.unit}")


def _named(c: Claim) -> str:
    return f"{_amount(c)} {_period(c)} ({_who(c)})"


# -- dates with their precision -----------------------------------------------------------
def _gap(a: tuple[date, date], b: tuple[date, date]) -> int:
    """Days between two date windows; 0 when they overlap."""
    if a[1] < b[0]:
        return (b[0] - a[1]).days
    if b[1] < a[0]:
        return (a[0] - b[1]).days
    return 0


def _same_end(a: Claim, b: Claim) -> bool:
    return _gap(a.end_window(), b.end_window()) == 0


def _differ(a: float, b: float) -> bool:
    return abs(a - b) > 1e-9 * max(abs(a), abs(b), 1.0)


def _series(claims: Iterable[Claim]) -> dict[tuple[str, str, str], list[Claim]]:
    """Claims by metric, area (case folded) and unit kind: what may be compared."""
    out: dict[tuple[str, str, str], list[Claim]] = defaultdict(list)
    for c in claims:
        out[(c.metric, c.area.casefold(), METRICS[c.metric])].append(c)
    return out


# -- the checks ---------------------------------------------------------------------------
def check_periods(claims: Sequence[Claim], slack_days: int = DEFAULT_SLACK_DAYS
                  ) -> list[Finding]:
    """C1 (start to d1) + P (d1 to d2) against C2 (start to d2), C1 and C2 from the same
    start; the boundaries may be `slack_days` apart, beyond their dates' precision.

    Of the pairs (C1, C2) within the slack, only those stated most alike are compared:
    C1's end as far from P's start as C2's end is from P's end (342 "by January 2024"
    and 382 "by January 2025" around the 41 "in 2024", both stated late in January).
    Comparing every pair within the slack reported each mismatch several times over,
    with figures from a month before that no publisher added P to."""
    out: list[Finding] = []
    for series in _series(claims).values():
        periods = [c for c in series if not c.is_stock]
        for part in periods:
            assert part.period_start is not None
            before_part = (part.period_start - timedelta(days=1),) * 2
            pairs: list[tuple[int, Claim, Claim]] = []
            for whole in periods:
                assert whole.period_start is not None
                if whole is part or whole.period_start >= part.period_start \
                        or _gap(part.end_window(), whole.end_window()) > slack_days:
                    continue
                for first in periods:
                    if first is part or first is whole \
                            or first.period_start != whole.period_start \
                            or first.end >= part.end \
                            or _gap(first.end_window(), before_part) > slack_days:
                        continue
                    pairs.append((_unalike(first.end_window(), before_part[0],
                                           whole.end_window(), part.end), first, whole))
            best = min((score for score, _, _ in pairs), default=0)
            for score, first, whole in pairs:
                total = first.common_value + part.common_value
                if score == best and _differ(total, whole.common_value):
                    out.append(Finding("periods", (
                        f"{part.metric} in {part.area}: {_named(first)} + "
                        f"{_named(part)} = {show_value(total)}, but {_named(whole)}"),
                        (first, part, whole), expected=total))
    return out


def _unalike(first: tuple[date, date], boundary: date, whole: tuple[date, date],
             end: date) -> int:
    """Days between C1's offset from the day before P and C2's offset from P's end,
    each a window (dates have a precision); 0 when they can be the same."""
    a = ((first[0] - boundary).days, (first[1] - boundary).days)
    b = ((whole[0] - end).days, (whole[1] - end).days)
    return max(0, a[0] - b[1], b[0] - a[1])


def check_components(claims: Sequence[Claim]) -> list[Finding]:
    """Parts against their total within one statement as one outlet reported it (same
    date, area, period, who stated it, who reported it and address)."""
    statements: dict[tuple[Any, ...], dict[str, list[Claim]]] = defaultdict(
        lambda: defaultdict(list))
    for c in claims:
        statements[(c.as_of, c.area.casefold(), c.period_start, c.end, c.stated_by,
                    c.reported_by, c.url)][c.metric].append(c)
    out: list[Finding] = []
    for by_metric in statements.values():
        for total_metric, parts in EQUATIONS:
            if total_metric not in by_metric or not all(p in by_metric for p in parts):
                continue
            for total in by_metric[total_metric]:
                pieces = [by_metric[p][0] for p in parts]
                made = sum(p.common_value for p in pieces)
                if _differ(made, total.common_value):
                    sums = " + ".join(f"{show_value(p.value)} {p.metric}" for p in pieces)
                    out.append(Finding("components", (
                        f"{total.area}, {_period(total)} ({_who(total)}): {sums} = "
                        f"{show_value(made)}, but {total.metric} is "
                        f"{show_value(total.value)}"), (*pieces, total), expected=made))
    return out


def _same_statement(a: Claim, b: Claim) -> bool:
    return (a.stated_by == b.stated_by and a.period_start == b.period_start
            and _gap(a.as_of_window(), b.as_of_window()) == 0 and _same_end(a, b))


def _components(claims: list[Claim], joined: Callable[[Claim, Claim], bool]
                ) -> list[list[Claim]]:
    """Groups of claims connected by `joined` (small lists: pairwise is fine)."""
    groups: list[list[Claim]] = []
    for c in claims:
        touching = [g for g in groups if any(joined(c, o) for o in g)]
        merged = [c, *(o for g in touching for o in g)]
        groups = [g for g in groups if g not in touching] + [merged]
    return groups


def check_one_statement(claims: Sequence[Claim]) -> list[Finding]:
    """One statement (who stated it, its date within precision, its metric and period)
    reported with different values."""
    out: list[Finding] = []
    for series in _series(claims).values():
        for group in _components(series, _same_statement):
            if len({round(c.common_value, 9) for c in group}) < 2:
                continue
            group.sort(key=lambda c: (-c.value, c.reported_by or ""))
            values = ", ".join(f"{show_value(c.value)} by {c.reported_by or 'its source'}"
                               for c in group)
            first = group[0]
            out.append(Finding("one_statement", (
                f"{first.metric} in {first.area} {_period(first)}, stated by "
                f"{first.stated_by}, was reported as {values}"), tuple(group)))
    return out


def check_falling(claims: Sequence[Claim]) -> list[Finding]:
    """A cumulative figure below an earlier one from the same start (any publisher)."""
    out: list[Finding] = []
    for series in _series(claims).values():
        cumulative = [c for c in series if not c.is_stock]
        for later in sorted(cumulative, key=lambda c: c.end):
            higher = [e for e in cumulative if e.period_start == later.period_start
                      and e.end_window()[1] < later.end_window()[0]
                      and e.common_value > later.common_value
                      and _differ(e.common_value, later.common_value)]
            if not higher:
                continue
            higher.sort(key=lambda c: c.end)
            earlier = "; ".join(_named(e) for e in higher)
            publishers = sorted({_who(c) for c in (*higher, later)})
            out.append(Finding("falling", (
                f"{later.metric} in {later.area} since {later.period_start} falls: "
                f"{_named(later)} is below the earlier {earlier}"), (*higher, later),
                detail={"publishers": publishers}))
    return out


def check_publishers(claims: Sequence[Claim], tolerance: float = DEFAULT_TOLERANCE
                     ) -> list[Finding]:
    """Different organisations' figures for the same metric, area and period (dates within
    their precision) more than `tolerance` (relative) apart."""
    out: list[Finding] = []
    for series in _series(claims).values():
        for a, b in combinations(series, 2):
            if a.stated_by == b.stated_by or a.period_start != b.period_start \
                    or not _same_end(a, b):
                continue
            high = max(a.common_value, b.common_value)
            apart = abs(a.common_value - b.common_value) / high if high else 0.0
            if apart > tolerance:
                out.append(Finding("publishers", (
                    f"{a.metric} in {a.area}: {_named(a)} and {_named(b)} are "
                    f"{apart:.0%} apart (tolerance {tolerance:.0%})"), (a, b),
                    detail={"relative_difference": round(apart, 4)}))
    return out


def check_records(claims: Sequence[Claim], count: Counter,
                  tolerance: float = DEFAULT_TOLERANCE) -> list[Finding]:
    """Victim figures against the store's own count for the claim's area and period
    (victims whose accident falls in it), as far as the reader may count them."""
    out: list[Finding] = []
    for c in claims:
        if c.metric not in RECORD_COUNTS:
            continue
        counts = count(c.area, c.period_start, c.end_window()[1])
        if counts is None:
            continue
        mine = counts.get(RECORD_COUNTS[c.metric])
        if mine is None:
            continue
        high = max(float(mine), c.value)
        if high and abs(mine - c.value) / high > tolerance:
            out.append(Finding("records", (
                f"{c.metric} in {c.area}: {_named(c)}, but the records count {mine:,} "
                f"for {c.period_start or 'all dates'} to {c.end_window()[1]}"), (c,),
                expected=float(mine)))
    return out


def area_pcode(store: Store, area: str) -> str | None:
    """The pcode of the admin area a claim's area names (by pcode or name), if any."""
    table = entity_table("admin_area")
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table.c.pcode).where(sa.or_(
            table.c.pcode == area, sa.func.lower(table.c.name) == area.lower()))
            .order_by(table.c.level).limit(1)).first()
    return None if row is None or row[0] is None else str(row[0])


def record_counter(store: Store, statuses: Sequence[str] | None,
                   publish: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                   ) -> Counter:
    """The store's victims for a claim's area and period, counted as casualties.py counts
    them (the given workflow statuses, each victim once); `publish` turns the statistics
    into what the reader may see (the public's suppression, services/statistics.py).

    An area the store has no admin area of, or no victims in at all, gives None: a store
    without the area's records (claims loaded alone) has nothing to compare, rather than
    a count of 0 against every claim."""
    codes: dict[str, str | None] = {}

    def recorded(area: str) -> str | None:
        code = area_pcode(store, area)
        if code is None:
            return None
        anyone = cas.casualties(store, [], statuses=statuses, admin_area=code).total()
        return code if anyone["casualties"] else None

    def count(area: str, start: date | None, end: date) -> dict[str, int | None] | None:
        if area not in codes:
            codes[area] = recorded(area)
        code = codes[area]
        if code is None:
            return None
        stats = cas.casualty_stats(store, [], statuses=statuses, admin_area=code,
                                   date_from=start, date_to=end, canonical=True)
        if publish is not None:
            stats = publish(stats)
        total = stats["total"]
        return {k: total.get(k) for k in ("casualties", "killed", "injured")}

    return count


def check_all(claims: Sequence[Claim], *, tolerance: float = DEFAULT_TOLERANCE,
              slack_days: int = DEFAULT_SLACK_DAYS, count: Counter | None = None
              ) -> list[Finding]:
    """Every check, in the order of CHECKS; `records` only with a counter."""
    found = [*check_periods(claims, slack_days), *check_components(claims),
             *check_one_statement(claims), *check_falling(claims),
             *check_publishers(claims, tolerance)]
    if count is not None:
        found.extend(check_records(claims, count, tolerance))
    return found
