# SPDX-License-Identifier: GPL-3.0-or-later
"""Store records -> the plain inputs of the minefield accuracy analysis (issue 18).

analysis/minefield_accuracy.py works on its own dataclasses so it can be tested without a
store. This module is the one place that reads a stored minefield record, its mine rows
and the finds that belong to it, and turns them into those dataclasses; the minefield
service and the map-accuracy report both call it, so they judge a record on the same
inputs.

Which finds belong to a record: those of the record's hazard (`hazard_id`), and any find
within `search_m` (default 50 m) of its perimeter. The second rule matters because the
point of the analysis is the devices the record missed: a row laid beyond the recorded
perimeter is cleared under the same hazard, but a find entered without its hazard would
otherwise be lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shapely.geometry import MultiPolygon, Point, Polygon

from mineaction.analysis.minefield_layout import (
    DOUBLE,
    DOUBLE_STAGGERED,
    SINGLE,
    Find,
    LocalPlane,
    MinefieldRecord,
    MineRow,
)
from mineaction.store.base import Store
from mineaction.store.query import Query, Visible

# The store's row patterns -> the analysis's. Cluster and scattered rows have no mine
# positions a line implies, so they are left out of the expected mines (and noted).
PATTERNS = {"single": SINGLE, "double": DOUBLE, "staggered": DOUBLE_STAGGERED,
            "unknown": SINGLE}
NO_POSITIONS = ("cluster", "scattered")
DEFAULT_SEARCH_M = 50.0
# Two lines of a double row when the record does not say how far apart: 1 m is the
# common drill for paired rows; a note says it was assumed.
DEFAULT_ROW_OFFSET_M = 1.0


@dataclass(frozen=True)
class LoadedRecord:
    """A stored record as analysis inputs, with notes on what had to be assumed."""

    record: MinefieldRecord
    finds: list[Find]
    notes: tuple[str, ...]
    name: str | None
    hazard_id: str | None


def perimeter_of(geometry: Any) -> list[tuple[float, float]]:
    """The perimeter's lon/lat vertices: the exterior of a polygon, or of a multipolygon's
    largest part (a record describes one field)."""
    if isinstance(geometry, MultiPolygon):
        geometry = max(geometry.geoms, key=lambda g: g.area)
    if not isinstance(geometry, Polygon) or geometry.is_empty:
        raise ValueError("the record has no perimeter")
    return [(float(x), float(y)) for x, y in list(geometry.exterior.coords)[:-1]]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(getattr(value, "value", value))


def _device_type(row: dict[str, Any], field: str) -> str | None:
    """The device category unless it says nothing. Categories, not models: a find is often
    logged as "AP mine" without its model, and a model on one side only would keep it from
    matching the mine it is."""
    category = _text(row.get(field))
    return None if category in (None, "unknown", "other") else category


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _rows(store: Store, record_id: str, points: dict[str, tuple[float, float]],
          status: tuple[str, ...] | None, visible: Visible = ()
          ) -> tuple[list[MineRow], list[str]]:
    frame = store.read_frame(Query(kind="mine_row", where={"record_id": record_id},
                                   status=status, limit=None, visible=visible))
    rows: list[MineRow] = []
    notes: list[str] = []
    for i, row in enumerate(frame.to_dict("records") if len(frame) else []):
        label = _text(row.get("label")) or f"row {i + 1}"
        pattern = _text(row.get("pattern")) or "unknown"
        if pattern in NO_POSITIONS:
            notes.append(f"{label}: a {pattern} row has no positions a line implies; "
                         "left out of the expected mines")
            continue
        line = row.get("geometry")
        if line is not None and not line.is_empty:
            coords = list(line.coords)
            start, end = coords[0], coords[-1]
        else:
            start_name, end_name = _text(row.get("start_point")), _text(row.get("end_point"))
            if start_name not in points or end_name not in points:
                notes.append(f"{label}: neither a line nor both end points on the record; "
                             "left out")
                continue
            start, end = points[start_name or ""], points[end_name or ""]
        mines = _number(row.get("mines"))
        spacing = _number(row.get("spacing_m"))
        if mines is None and spacing is None:
            notes.append(f"{label}: neither the number of mines nor the spacing; left out")
            continue
        if pattern == "unknown":
            notes.append(f"{label}: pattern not recorded; taken as a single row")
        offset = _number(row.get("row_offset_m"))
        if PATTERNS[pattern] != SINGLE and not offset:
            offset = DEFAULT_ROW_OFFSET_M
            notes.append(f"{label}: distance between the two lines not recorded; "
                         f"{DEFAULT_ROW_OFFSET_M:g} m assumed")
        rows.append(MineRow(
            row_id=label, start=(float(start[0]), float(start[1])),
            end=(float(end[0]), float(end[1])),
            mines=None if mines is None else int(mines), spacing_m=spacing,
            pattern=PATTERNS[pattern],
            # The store keeps the distance only; the record's second line is taken to the
            # left of the laying direction, as the CCW form draws it.
            offset_m=offset if PATTERNS[pattern] != SINGLE else None,
            device_type=_device_type(row, "device_category")))
    return rows, notes


def _points(store: Store, record_id: str, status: tuple[str, ...] | None,
            visible: Visible = ()) -> dict[str, tuple[float, float]]:
    frame = store.read_frame(Query(kind="minefield_point", where={"record_id": record_id},
                                   status=status, limit=None, visible=visible))
    out: dict[str, tuple[float, float]] = {}
    for row in frame.to_dict("records") if len(frame) else []:
        name, geom = _text(row.get("name")), row.get("geometry")
        if name and geom is not None and not geom.is_empty:
            out[name] = (float(geom.x), float(geom.y))
    return out


def finds_for(store: Store, perimeter: Sequence[tuple[float, float]], hazard_id: str | None,
              *, search_m: float = DEFAULT_SEARCH_M, status: tuple[str, ...] | None = None,
              date_from: date | None = None, date_to: date | None = None,
              visible: Visible = ()) -> list[Find]:
    """The finds of the record's hazard and those within `search_m` of its perimeter,
    each once, in a stable order (by id), one Find per device (a find of quantity 3 is
    three devices at one place)."""
    polygon = Polygon(perimeter)
    minx, miny, maxx, maxy = polygon.bounds
    lat = (miny + maxy) / 2
    # A box wide enough for search_m at this latitude (a degree of latitude is >= 110.5 km).
    dlat = search_m / 110_000 + 1e-6
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    frames = [store.read_frame(Query(kind="find", bbox=(minx - dlon, miny - dlat, maxx + dlon,
                                                        maxy + dlat),
                                     status=status, limit=None, date_from=date_from,
                                     date_to=date_to, visible=visible))]
    if hazard_id:
        frames.append(store.read_frame(Query(kind="find", where={"hazard_id": hazard_id},
                                             status=status, limit=None, visible=visible,
                                             date_from=date_from, date_to=date_to)))
    centroid = polygon.centroid
    plane = LocalPlane(float(centroid.x), float(centroid.y))
    area = Polygon(plane.to_xy(perimeter)).buffer(search_m)
    seen: dict[str, dict[str, Any]] = {}
    for frame in frames:
        for row in frame.to_dict("records") if len(frame) else []:
            seen.setdefault(str(row["id"]), row)
    finds: list[Find] = []
    for fid in sorted(seen):
        row = seen[fid]
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        near = area.contains(Point(plane.to_xy([(geom.x, geom.y)])[0]))
        if not near and str(row.get("hazard_id")) != str(hazard_id):
            continue
        quantity = int(_number(row.get("quantity")) or 1)
        kind = _device_type(row, "device_category")
        found_on = row.get("find_date")
        for k in range(quantity):
            finds.append(Find(float(geom.x), float(geom.y), kind,
                              found_on if isinstance(found_on, date) else None,
                              fid if quantity == 1 else f"{fid}#{k + 1}"))
    return finds


def load_record(store: Store, record_id: str, *, search_m: float = DEFAULT_SEARCH_M,
                status: tuple[str, ...] | None = None, date_from: date | None = None,
                date_to: date | None = None,
                visible: dict[str, Visible] | None = None) -> LoadedRecord:
    """The stored record `record_id` as analysis inputs, with its finds and notes.
    `status` limits the rows, points and finds read (reports pass approved only);
    `date_from`/`date_to` limit the finds by their date; `visible` (kind -> conditions,
    access/visibility.py `Access.rows`) limits what each kind's reads may see."""
    seen = visible or {}
    stored = store.get("minefield_record", record_id)
    perimeter = perimeter_of(getattr(stored, "geometry", None))
    points = _points(store, str(record_id), status, seen.get("minefield_point", ()))
    rows, notes = _rows(store, str(record_id), points, status, seen.get("mine_row", ()))
    hazard = getattr(stored, "hazard_id", None)
    hazard_id = str(hazard) if hazard else None
    record = MinefieldRecord(str(record_id), perimeter, rows)
    finds = finds_for(store, perimeter, hazard_id, search_m=search_m, status=status,
                      date_from=date_from, date_to=date_to, visible=seen.get("find", ()))
    return LoadedRecord(record, finds, tuple(notes), getattr(stored, "name", None), hazard_id)


def record_inputs(store: Store, record_id: str, **options: Any
                  ) -> tuple[MinefieldRecord, list[Find]]:
    """(the analysis's MinefieldRecord, its finds) for assess_record; options as
    load_record's."""
    loaded = load_record(store, record_id, **options)
    return loaded.record, loaded.finds
