# SPDX-License-Identifier: GPL-3.0-or-later
"""A handed-over minefield record as plain inputs, the local metric plane it is compared in,
and the mine positions its rows imply (issue 18, item 3).

These are plain dataclasses, not store entities: the minefield record model is built
elsewhere and calls this module with what it holds, so the analysis stays testable on its
own and never reads the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from pyproj import Proj
from shapely.geometry import Polygon

LonLat = tuple[float, float]
Array = npt.NDArray[np.float64]

SINGLE = "single"
DOUBLE = "double"
DOUBLE_STAGGERED = "double staggered"
PATTERNS = (SINGLE, DOUBLE, DOUBLE_STAGGERED)

# Where a row's count or spacing came from, so a report can say which figures were derived.
RECORDED = "recorded"
FROM_LENGTH_AND_SPACING = "from length and spacing"
FROM_LENGTH_AND_COUNT = "from length and count"

# A minefield record and its finds span hundreds of metres. A point further than this from
# the record's centre is almost always a swapped lon/lat or a find of another hazard, and
# the local plane below is only exact to well under a millimetre within this radius.
MAX_EXTENT_M = 20_000.0


def _check_lonlat(point: LonLat, what: str) -> None:
    if len(point) != 2:
        raise ValueError(f"{what}: expected (lon, lat), got {point!r}")
    lon, lat = point
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"{what}: coordinates must be finite numbers, got {point!r}")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"{what}: ({lon}, {lat}) is not a WGS84 lon/lat (lon first)")


def normalise_device_type(value: str | None) -> str | None:
    """Device types compare case- and space-insensitively ("PMN-2" = " pmn-2"); blank is
    unknown, and an unknown type is compatible with any."""
    if value is None:
        return None
    cleaned = " ".join(value.split()).casefold()
    return cleaned or None


@dataclass(frozen=True)
class MineRow:
    """One recorded row of mines, as written on the record.

    Mines lie along start -> end, the first at the start; start and end are on the row's
    first line (the one its first mine is on). `spacing_m` is the distance
    between consecutive mines on one line. Patterns: "single" (one line); "double" (two
    parallel lines `offset_m` apart, mines side by side); "double staggered" (two lines
    `offset_m` apart, mines alternating between them, each line's mines shifted half a
    spacing from the other's). `offset_m` is positive to the left of the laying direction
    (start -> end), negative to the right. `mines` counts every mine of the row (both
    lines); either `mines` or `spacing_m` may be missing, not both.
    """

    row_id: str
    start: LonLat
    end: LonLat
    mines: int | None
    spacing_m: float | None
    pattern: str = SINGLE
    offset_m: float | None = None
    device_type: str | None = None

    def __post_init__(self) -> None:
        if not self.row_id or not self.row_id.strip():
            raise ValueError("a mine row needs a row_id")
        _check_lonlat(self.start, f"row {self.row_id} start")
        _check_lonlat(self.end, f"row {self.row_id} end")
        if self.mines is None and self.spacing_m is None:
            raise ValueError(f"row {self.row_id}: give the number of mines, the spacing or "
                             "both; neither leaves the mines' positions unknown")
        if self.mines is not None and (isinstance(self.mines, bool)
                                       or not isinstance(self.mines, int) or self.mines < 1):
            raise ValueError(f"row {self.row_id}: mines must be a whole number >= 1, "
                             f"got {self.mines!r}")
        if self.spacing_m is not None and not (math.isfinite(self.spacing_m)
                                               and self.spacing_m > 0):
            raise ValueError(f"row {self.row_id}: spacing_m must be > 0, got {self.spacing_m!r}")
        if self.pattern not in PATTERNS:
            raise ValueError(f"row {self.row_id}: pattern {self.pattern!r} is not one of "
                             f"{', '.join(PATTERNS)}")
        if self.pattern != SINGLE and (self.offset_m is None or not math.isfinite(self.offset_m)
                                       or self.offset_m == 0):
            raise ValueError(f"row {self.row_id}: a {self.pattern} row needs offset_m, the "
                             "distance between its two lines (non-zero)")


@dataclass(frozen=True)
class MinefieldRecord:
    """A handed-over record: its perimeter (lon/lat ring, closed or not) and its rows."""

    record_id: str
    perimeter: Sequence[LonLat]
    rows: Sequence[MineRow] = ()

    def __post_init__(self) -> None:
        for i, point in enumerate(self.perimeter):
            _check_lonlat(point, f"record {self.record_id} perimeter vertex {i}")
        distinct = {tuple(p) for p in self.perimeter}
        if len(distinct) < 3:
            raise ValueError(f"record {self.record_id}: the perimeter needs at least 3 "
                             f"distinct vertices, got {len(distinct)}")
        polygon = Polygon(self.perimeter)
        if not polygon.is_valid or polygon.area == 0:
            raise ValueError(f"record {self.record_id}: the perimeter is not a valid polygon "
                             "(self-intersecting or flat); repair it first")
        ids = [row.row_id for row in self.rows]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"record {self.record_id}: duplicate row ids {duplicates}")


@dataclass(frozen=True)
class Find:
    """A device found during clearance (or an accident's device), where it was found."""

    lon: float
    lat: float
    device_type: str | None = None
    found_on: date | None = None
    find_id: str | None = None

    def __post_init__(self) -> None:
        _check_lonlat((self.lon, self.lat), f"find {self.find_id or ''}".strip())


class LocalPlane:
    """An azimuthal equidistant plane centred on the record, in metres (x east, y north).

    Why this projection: distances from the centre are exact and scale error within a few
    km is below 1e-8, so offsets of a metre mean a metre; true north is the y axis at the
    centre, so a recovered rotation is an error against true north. UTM would add its
    0.9996 scale (0.4 m a km), grid convergence (up to ~3 degrees, which would pollute the
    rotation) and zone edges that can split one minefield.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.origin: LonLat = (lon0, lat0)
        self._proj = Proj(f"+proj=aeqd +lat_0={float(lat0)!r} +lon_0={float(lon0)!r} "
                          "+datum=WGS84 +units=m")

    def to_xy(self, points: Sequence[LonLat] | Array) -> Array:
        arr = np.asarray(points, dtype=float).reshape(-1, 2)
        x, y = self._proj(arr[:, 0], arr[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    def to_lonlat(self, xy: Array) -> Array:
        arr = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self._proj(arr[:, 0], arr[:, 1], inverse=True)
        return np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])


def plane_for(record: MinefieldRecord) -> LocalPlane:
    """The plane centred on the perimeter's centroid (lon/lat centroid: at minefield size
    the difference from a geodesic centroid is millimetres, and only the plane's origin
    depends on it)."""
    centroid = Polygon(record.perimeter).centroid
    return LocalPlane(float(centroid.x), float(centroid.y))


@dataclass(frozen=True)
class RowLayout:
    """How a row's expected positions were worked out."""

    row_id: str
    count: int
    count_source: str
    spacing_m: float
    spacing_source: str
    length_m: float
    laid_length_m: float  # from the start to the last mine, along the row


@dataclass(frozen=True)
class ExpectedMines:
    """Expected positions in the local plane, one per mine, with the row each belongs to."""

    xy: Array
    row_index: npt.NDArray[np.intp]
    position_in_row: npt.NDArray[np.intp]
    device_type: tuple[str | None, ...]
    rows: tuple[RowLayout, ...]


def _row_layout(row: MineRow, length: float) -> tuple[int, str, float, str]:
    """Count and spacing of a row, each recorded or derived from the row's length."""
    per_step = {SINGLE: 1.0, DOUBLE: 1.0, DOUBLE_STAGGERED: 0.5}[row.pattern]
    if row.mines is not None and row.spacing_m is not None:
        return row.mines, RECORDED, row.spacing_m, RECORDED
    if row.spacing_m is not None:
        # floor with a little slack: a 100 m row at 5 m holds 21 mines, not 20 because
        # 100/5 came out as 19.999999.
        steps = math.floor(length / (row.spacing_m * per_step) + 1e-6)
        count = (steps + 1) * (2 if row.pattern == DOUBLE else 1)
        return count, FROM_LENGTH_AND_SPACING, row.spacing_m, RECORDED
    assert row.mines is not None
    along = math.ceil(row.mines / 2) if row.pattern == DOUBLE else row.mines
    if along < 2:
        return row.mines, RECORDED, 0.0, FROM_LENGTH_AND_COUNT
    if length == 0:
        raise ValueError(f"row {row.row_id}: start and end are the same point, so "
                         f"{row.mines} mines cannot be spread along it; give spacing_m")
    return row.mines, RECORDED, length / ((along - 1) * per_step), FROM_LENGTH_AND_COUNT


def expected_mines(record: MinefieldRecord, plane: LocalPlane) -> ExpectedMines:
    """Every mine the record implies, evenly spaced along each row from its start."""
    xy: list[Array] = []
    row_index: list[npt.NDArray[np.intp]] = []
    position: list[npt.NDArray[np.intp]] = []
    types: list[str | None] = []
    layouts: list[RowLayout] = []
    for r, row in enumerate(record.rows):
        start, end = plane.to_xy([row.start, row.end])
        length = float(np.hypot(*(end - start)))
        count, count_source, spacing, spacing_source = _row_layout(row, length)
        if length > 0:
            u = (end - start) / length
        elif count > 1 or row.pattern != SINGLE:
            raise ValueError(f"row {row.row_id}: start and end are the same point, so the "
                             "row has no direction to lay its mines along")
        else:
            u = np.array([1.0, 0.0])
        left = np.array([-u[1], u[0]])
        i = np.arange(count)
        offset = float(row.offset_m or 0.0)
        steps = i // 2 if row.pattern == DOUBLE else i
        step = spacing / 2 if row.pattern == DOUBLE_STAGGERED else spacing
        along: Array = steps.astype(float) * step
        lateral: Array = (i % 2).astype(float) * (0.0 if row.pattern == SINGLE else offset)
        xy.append(start + np.outer(along, u) + np.outer(lateral, left))
        row_index.append(np.full(count, r, dtype=np.intp))
        position.append(i.astype(np.intp))
        types += [normalise_device_type(row.device_type)] * count
        layouts.append(RowLayout(row.row_id, count, count_source, spacing, spacing_source,
                                 length, float(along.max()) if count else 0.0))
    if not xy:
        return ExpectedMines(np.zeros((0, 2)), np.zeros(0, dtype=np.intp),
                             np.zeros(0, dtype=np.intp), (), ())
    return ExpectedMines(np.vstack(xy), np.concatenate(row_index), np.concatenate(position),
                         tuple(types), tuple(layouts))
