# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures ("claims", issue 22): a number someone stated in public about mines
(victims, land released, devices found...), with who stated it, who reported it, when,
for what period and area, and where it was read.

A claim is not a record of the geometry registry: it has no place on the map, no workflow
and no organisation. It is kept exactly as stated and never "corrected" in place; the
consistency checks (analysis/claims_check.py) say where claims disagree.

A claim's identity is its content (`Claim.key`): the same figure read twice from the same
page is one claim, so importing a file again adds nothing.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Precision = Literal["day", "month", "year"]
PRECISIONS: tuple[Precision, ...] = ("day", "month", "year")

# The controlled vocabulary of metrics, each with the kind of unit it is counted in. Taken
# from the Azerbaijan file (data/azerbaijan/claims_2020-2025.csv) and issue 22's list.
PERSONS, ITEMS, AREA, PERCENT = "persons", "items", "area", "percent"
DEVICE_CATEGORIES = ("ap_mine", "av_mine", "uxo", "ied", "cluster_munition", "erw", "other")
METRICS: dict[str, str] = {
    "victims_total": PERSONS,
    "victims_killed": PERSONS,
    "victims_injured": PERSONS,
    "victims_killed_civilian": PERSONS,
    "victims_killed_military": PERSONS,
    "victims_injured_civilian": PERSONS,
    "victims_injured_military": PERSONS,
    "victims_civilian": PERSONS,
    "victims_military": PERSONS,
    "area_released": AREA,
    "area_suspected": AREA,
    "devices_found": ITEMS,
    **{f"devices_found_{c}": ITEMS for c in DEVICE_CATEGORIES},
    "mines_on_handed_map": ITEMS,
    "mines_estimated": ITEMS,
    "map_accuracy_claimed": PERCENT,
    "explosions_outside_mapped_areas_claimed": PERCENT,
    "risk_education_beneficiaries": PERSONS,
}
# Names the issue uses for metrics the file spells otherwise: read as the file's.
METRIC_ALIASES = {"mines_on_maps": "mines_on_handed_map",
                  "map_accuracy": "map_accuracy_claimed",
                  "risk_education_reach": "risk_education_beneficiaries"}
# Units, each with its kind and the factor to the kind's common unit (area: hectares), so
# 11,667 km2 and 1,167,000 ha compare.
UNITS: dict[str, tuple[str, float]] = {
    "persons": (PERSONS, 1.0), "items": (ITEMS, 1.0), "percent": (PERCENT, 1.0),
    "ha": (AREA, 1.0), "km2": (AREA, 100.0), "m2": (AREA, 0.0001),
}
# Admiralty code (NATO STANAG 2511): source reliability A-F, information credibility 1-6.
RELIABILITY = re.compile(r"^[A-F][1-6]$")


class ClaimValueError(ValueError):
    """A claim's field is wrong; `field` names it (for the importer's error)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def normal_metric(name: str) -> str:
    """The vocabulary's code for `name` (aliases resolved); ValueError if it has none."""
    code = name.strip().lower()
    code = METRIC_ALIASES.get(code, code)
    if code not in METRICS:
        raise ValueError(f"unknown metric {name!r}; use one of {', '.join(METRICS)}")
    return code


def window(day: date, precision: Precision) -> tuple[date, date]:
    """The first and last day a date of this precision may mean: 2025-01-15 stated with
    month precision is any day of January 2025."""
    if precision == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if precision == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return date(day.year, day.month, 1), date(day.year, day.month, last)
    return day, day


@dataclass(frozen=True)
class Claim:
    """One published figure. `period_start` None: a stock at `period_end` (suspected area,
    mines on a map); else the figure counts what happened from start to end (cumulative
    since the ceasefire, or one year). `period_end` defaults to the statement's date."""

    metric: str
    value: float
    unit: str
    as_of: date
    area: str
    stated_by: str
    as_of_precision: Precision = "day"
    period_start: date | None = None
    period_end: date | None = None
    reported_by: str | None = None
    url: str | None = None
    reliability: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ClaimValueError("metric", f"unknown metric {self.metric!r}")
        if self.unit not in UNITS:
            raise ClaimValueError("unit", f"unknown unit {self.unit!r}; use one of "
                                  f"{', '.join(UNITS)}")
        if UNITS[self.unit][0] != METRICS[self.metric]:
            raise ClaimValueError("unit", f"unit {self.unit} does not fit {self.metric}, "
                                  f"which is counted in {METRICS[self.metric]}")
        if self.as_of_precision not in PRECISIONS:
            raise ClaimValueError("as_of_precision", f"{self.as_of_precision!r} is not day, "
                                  "month or year")
        if self.period_end is None:
            object.__setattr__(self, "period_end", self.as_of)
        if self.period_start is not None and self.period_start > self.end:
            raise ClaimValueError("period_start", f"the period starts ({self.period_start}) "
                                  f"after it ends ({self.end})")
        if self.reliability is not None and not RELIABILITY.match(self.reliability):
            raise ClaimValueError("reliability", f"{self.reliability!r} is no admiralty "
                                  "code (A-F then 1-6, e.g. B2)")

    @property
    def end(self) -> date:
        assert self.period_end is not None  # set in __post_init__
        return self.period_end

    @property
    def key(self) -> str:
        """A stable id from what makes the claim itself: the same figure from the same
        page and statement has the same key in every store and file."""
        parts = [self.as_of.isoformat(), self.metric, self.area, _iso(self.period_start),
                 self.end.isoformat(), self.stated_by, self.reported_by or "",
                 self.url or "", repr(float(self.value))]
        digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        return digest[:16]

    @property
    def is_stock(self) -> bool:
        return self.period_start is None

    @property
    def ends_at_statement(self) -> bool:
        """Whether the figure runs "to date": its end is the statement's date, as exact as
        that is (a month-precision statement's "to date" is some day of that month)."""
        return self.period_end == self.as_of

    def end_window(self) -> tuple[date, date]:
        """The days the period's end may be: the statement's precision when the period
        runs to the statement's date, else the end exactly."""
        if self.ends_at_statement:
            return window(self.as_of, self.as_of_precision)
        return self.end, self.end

    def as_of_window(self) -> tuple[date, date]:
        return window(self.as_of, self.as_of_precision)

    @property
    def common_value(self) -> float:
        """The value in its kind's common unit (areas in hectares)."""
        return self.value * UNITS[self.unit][1]

    @property
    def category(self) -> str | None:
        """The device category of a devices_found_<category> metric."""
        prefix = "devices_found_"
        return self.metric[len(prefix):] if self.metric.startswith(prefix) else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, with the key: what the API and `claims list --json` give."""
        return {
            "key": self.key, "metric": self.metric, "value": _number(self.value),
            "unit": self.unit, "as_of": self.as_of.isoformat(),
            "as_of_precision": self.as_of_precision,
            "period_start": _iso(self.period_start) or None,
            "period_end": self.end.isoformat(), "area": self.area,
            "stated_by": self.stated_by, "reported_by": self.reported_by, "url": self.url,
            "reliability": self.reliability, "note": self.note,
        }


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def show_value(value: float) -> str:
    """A value as people write it: 1,167,000 or 2,263.07."""
    number = _number(value)
    return f"{number:,}" if isinstance(number, int) else f"{number:,.2f}".rstrip("0")
