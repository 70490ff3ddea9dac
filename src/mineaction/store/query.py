"""What a store can be asked: one Query type for every entity, one Page of answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mineaction.domain.models import Record

Bbox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


@dataclass(frozen=True)
class Near:
    """Within `distance_m` metres (on the ellipsoid) of `geometry` (shapely, lon/lat)."""

    geometry: Any
    distance_m: float


@dataclass(frozen=True)
class Match:
    """`column` holds one of `values`; a None among them matches NULL. The store knows
    nothing of users: access/ builds these from a principal (who sees which rows), and
    the store runs them as SQL (`Store._select`) or on a row in Python (`matches`), one
    definition read two ways."""

    column: str = field(metadata={"shape": True})  # a column name: part of the SQL text
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class AnyOf:
    """At least one of its matches holds. A query's `visible` is a tuple of these, all
    of which must hold (a conjunction of disjunctions)."""

    matches: tuple[Match, ...]


Visible = tuple[AnyOf, ...]


def matches(visible: Visible, row: Mapping[str, Any] | Any) -> bool:
    """Whether a row (a mapping, or an object with the columns as attributes) passes
    every condition: the Python reading of what `Store._select` puts in SQL. Values are
    compared as text, as the store keeps ids and enums."""
    get = row.get if isinstance(row, Mapping) else (lambda name: getattr(row, name, None))
    for any_of in visible:
        if not any(_holds(m, get(m.column)) for m in any_of.matches):
            return False
    return True


def _holds(m: Match, value: Any) -> bool:
    if value is None:
        return None in m.values
    text = str(getattr(value, "value", value))
    return any(v is not None and str(v) == text for v in m.values)


@dataclass(frozen=True)
class Query:
    """Filters combine with AND. `admin_area` matches a pcode and every pcode under it
    (pcodes are hierarchical by prefix: DANE department 05 holds municipality 05313), so
    one filter serves any level. Victims are filtered by place and date through their
    accident. `where` is equality on any column (a list or set means "any of")."""

    kind: str = field(metadata={"shape": True})  # names the table: part of the SQL text
    ids: tuple[str, ...] | None = None
    bbox: Bbox | None = None
    near: Near | None = None
    admin_area: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: tuple[str, ...] | None = None
    dataset: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    limit: int | None = 100
    offset: int = 0
    after_fid: int | None = None  # keyset paging: cheaper than offset on deep pages
    # Which rows the asker may see (access/): every AnyOf must hold.
    visible: Visible = ()
    # A further SQL condition (SQLAlchemy) on the kind's table, ANDed with the rest: a
    # client's filter a service translated (the OGC API's CQL2, services/ogc_features.py,
    # issue 23). Not a value the prepared path flattens: such queries take the general one.
    condition: Any = None
    # The asker sees this kind's points rounded to this many decimal places (access/:
    # Access.place_decimals): `bbox` and `near` then select by the rounded place, as the
    # asker sees it. Selecting by the exact place told the exact place to anyone who
    # narrowed a box around a rounded point until it emptied (issue 23's review). A box
    # alone is better snapped by the caller (`snap_box`), which keeps the fast path.
    place_decimals: int | None = None
    # Only the records no other record represents (record linkage: an accident or victim
    # several sources report counts once, by its representative; store/links.py), decided
    # in the query's own statement rather than asked apart (`Store.represented_ids`).
    unrepresented: bool = False


def snap_box(bbox: Bbox, decimals: int) -> Bbox:
    """The box of exact places whose rounding to `decimals` lies in `bbox`: from half a
    step below the first grid value in it to half a step above the last (a box no grid
    value falls in selects nothing). Snapping a snapped box gives it back."""
    import math

    step = 10.0 ** -decimals
    half = step / 2

    def first(v: float) -> float:
        return round(math.ceil(round(v / step, 9)) * step, decimals)

    def last(v: float) -> float:
        return round(math.floor(round(v / step, 9)) * step, decimals)

    x0, y0, x1, y1 = first(bbox[0]), first(bbox[1]), last(bbox[2]), last(bbox[3])
    if x0 > x1 or y0 > y1:
        return (0.0, 0.0, -1.0, -1.0)  # nothing rounds into it: an empty box
    return (x0 - half, y0 - half, x1 + half, y1 + half)


@dataclass
class Page:
    items: list[Record]
    next_after_fid: int | None
    fids: list[int] = field(default_factory=list)
