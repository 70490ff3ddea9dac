"""What a store can be asked: one Query type for every entity, one Page of answers."""

from __future__ import annotations

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
class Query:
    """Filters combine with AND. `admin_area` matches a pcode and every pcode under it
    (pcodes are hierarchical by prefix: DANE department 05 holds municipality 05313), so
    one filter serves any level. Victims are filtered by place and date through their
    accident. `where` is equality on any column (a list or set means "any of")."""

    kind: str
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
    include_deleted: bool = False


@dataclass
class Page:
    items: list[Record]
    next_after_fid: int | None
    fids: list[int] = field(default_factory=list)
