# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry QA over the whole store (issue 18, 5), after the faults GICHD's geocheck lists.

Every record with a geometry is read through the store's paged read API (`query_rows`,
by keyset, a page at a time), so a million points cost a page of memory plus a few
bytes a record for the duplicate checks; only hazard polygons (for the overlap check)
and the admin areas points are compared with are held whole.

Faults found, with their codes (`CODES`) and thresholds (module constants, stated in
the report and the docs):

- invalid-polygon, self-intersection: shapely/GEOS validity;
- too-few-vertices: a ring with fewer than 3 distinct vertices (no other geometry check
  is made on it: it has no shape to check);
- repeated-closing-point: the first/last vertex repeated more than once at the ring's
  ends; duplicate-point: the same vertex twice in a row elsewhere;
- duplicate-record: same geometry and attributes as another record of the kind (ids,
  external ids, workflow status and bookkeeping aside);
- duplicate-id: external ids of one dataset equal but for case and spaces;
  id-spaces: an external id with leading, trailing, doubled or non-plain spaces;
- overlap: two hazards sharing more than OVERLAP_TOLERANCE_M2 (geodesic);
- sliver: area / perimeter² below SLIVER_RATIO (geodesic; a square gives 1/16);
- long-segment: consecutive vertices more than MAX_SEGMENT_M apart (geodesic);
- far-from-admin-area: a point more than FAR_FROM_ADMIN_M outside the admin area its
  pcode names (only when that area is loaded).

Nothing is written: each fault carries a suggested repair, in words."""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.geo.geodesic import (
    WGS84,
    distance_to_geometry_m,
    geodesic_area_m2,
    geodesic_length_m,
)
from mineaction.geo.validation import repair_geometry
from mineaction.store.base import Store
from mineaction.store.query import Bbox, Query

# Above a square metre: shared borders digitised twice overlap by a hair (floating point
# and snapping), which is not worth a reviewer's time.
OVERLAP_TOLERANCE_M2 = 1.0
# area / perimeter²: 1/16 for a square, 1/(4π) for a circle; 0.001 is a rectangle about
# 250 times as long as it is wide (4 m by 1 km). A road-side strip of 20 m by 1 km (0.005)
# is not a sliver.
SLIVER_RATIO = 0.001
# geocheck's "vertices too far apart": a legged minefield record has a turning point at
# least every few hundred metres, so 5 km between two vertices is a typing mistake.
MAX_SEGMENT_M = 5_000.0
# Admin boundaries are generalised and points are rounded; a kilometre outside is a wrong
# pcode or a wrong coordinate, not a border drawn coarsely.
FAR_FROM_ADMIN_M = 1_000.0
PAGE_SIZE = 2_000

CODES: dict[str, str] = {
    "invalid-polygon": "invalid polygon",
    "self-intersection": "self-intersecting polygon",
    "too-few-vertices": "ring with fewer than 3 distinct vertices",
    "repeated-closing-point": "closing point repeated",
    "duplicate-point": "duplicate consecutive points",
    "duplicate-record": "duplicate record (same geometry and attributes)",
    "duplicate-id": "ids equal but for case or spaces",
    "id-spaces": "id with stray spaces",
    "overlap": "overlapping hazards",
    "sliver": "sliver polygon",
    "long-segment": f"consecutive vertices more than {MAX_SEGMENT_M / 1000:g} km apart",
    "far-from-admin-area": "point far from its admin area",
}
# What a duplicate record may differ in and still be the same record.
NOT_COMPARED = frozenset({"id", "code", "external_id", "status", "version", "created_at",
                          "updated_at", "created_by", "updated_by", "source_ids"})
BOOKKEEPING = frozenset({"version", "created_at", "updated_at", "created_by", "updated_by"})
_WHERE = re.compile(r"\[(-?[\d.e+-]+) (-?[\d.e+-]+)")


@dataclass(frozen=True)
class Fault:
    """One fault of one record. `related` names the other records it involves (the other
    hazard of an overlap, the other copies of a duplicate); `reveals` the fields its
    message shows, so that a service can drop it for whom those fields are hidden."""

    kind: str
    record_id: str
    code: str
    message: str
    where: tuple[float, float] | None  # lon, lat
    repair: str
    label: str | None = None  # the external id, when the record has one
    related: tuple[str, ...] = ()
    reveals: tuple[str, ...] = ("geometry",)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "record_id": self.record_id, "label": self.label,
                "code": self.code, "title": CODES[self.code], "message": self.message,
                "where": list(self.where) if self.where else None, "repair": self.repair,
                "related": list(self.related)}


@dataclass
class Report:
    faults: list[Fault] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # records read, per kind

    def by_code(self) -> dict[str, list[Fault]]:
        out: dict[str, list[Fault]] = {}
        for f in sorted(self.faults, key=lambda f: (f.code, f.kind, f.record_id)):
            out.setdefault(f.code, []).append(f)
        return out


def thresholds() -> dict[str, float]:
    return {"overlap_tolerance_m2": OVERLAP_TOLERANCE_M2, "sliver_ratio": SLIVER_RATIO,
            "max_segment_m": MAX_SEGMENT_M, "far_from_admin_m": FAR_FROM_ADMIN_M}


def spatial_kinds() -> tuple[str, ...]:
    return tuple(k for k, m in ENTITIES.items() if geometry_column(m) is not None)


def check_geometry(store: Store, kinds: Sequence[str] | None = None,
                   page_size: int = PAGE_SIZE) -> Report:
    """Every fault of the records of `kinds` (default: every kind with a geometry)."""
    report = Report()
    admin = _AdminAreas(store)
    for kind in kinds or spatial_kinds():
        report.checked[kind] = _check_kind(store, kind, admin, report.faults, page_size)
    return report


def check_record(store: Store, kind: str, record_id: str) -> list[Fault]:
    """The faults of one record, without reading the whole store: the checks run on the
    records whose bounding box meets its own (an overlap, a duplicate of the same
    geometry, are among them). Duplicate ids, which may lie anywhere in a dataset, are
    found by `check_geometry` alone."""
    name = geometry_column(ENTITIES[kind])
    if name is None:
        return []
    rows, _ = store.query_rows(Query(kind=kind, ids=(str(record_id),), limit=1),
                               omit=BOOKKEEPING)
    geom = _shape(rows[0].get(name.name)) if rows else None
    if geom is None:
        return []
    out: list[Fault] = []
    _check_kind(store, kind, _AdminAreas(store), out, PAGE_SIZE, geom.bounds)
    return [f for f in out if f.record_id == str(record_id) and f.code != "duplicate-id"]


# -- one kind ---------------------------------------------------------------------------
def _pages(store: Store, kind: str, page_size: int, bbox: Bbox | None = None,
           where: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
    after: int | None = None
    while True:
        rows, after = store.query_rows(Query(kind=kind, limit=page_size, after_fid=after,
                                             bbox=bbox, where=where or {}),
                                       omit=BOOKKEEPING)
        yield rows
        if after is None:
            return


def _check_kind(store: Store, kind: str, admin: _AdminAreas, out: list[Fault],
                page_size: int, bbox: Bbox | None = None) -> int:
    """Check the records of `kind` (those meeting `bbox`, when given), adding the faults
    to `out`; how many records were read."""
    geom_name = geometry_column(ENTITIES[kind])
    assert geom_name is not None
    name = geom_name.name
    # 8 bytes a record (array, not a list of ints): the only memory that grows with
    # the store, apart from hazard polygons.
    record_digests = array("q")
    key_digests = array("q")
    hazards: list[tuple[str, str | None, BaseGeometry]] = []  # for the overlap check
    n = 0
    for rows in _pages(store, kind, page_size, bbox):
        for row in rows:
            n += 1
            value = row.get(name)
            rid, label = str(row["id"]), row.get("external_id")
            # Points (most records) are read from their GeoJSON: no shapely object unless
            # one is needed (a point with an admin area to be compared with).
            point = value is not None and value.get("type") == "Point"
            geom = None if point else _shape(value)
            where = (tuple(value["coordinates"][:2]) if point and value
                     else _first(geom) if geom is not None else None)
            if label is not None:
                out.extend(_id_faults(kind, rid, str(label), where))
                key_digests.append(_key_digest(row))
            if value is None or (geom is None and not point):
                continue
            record_digests.append(_record_digest(row, name, geom))
            if point:
                if row.get("admin_area_pcode"):
                    fault = admin.check(kind, rid, label, Point(where),
                                        str(row["admin_area_pcode"]))
                    if fault is not None:
                        out.append(fault)
            elif isinstance(geom, Polygon | MultiPolygon):
                faults, usable = _polygon_faults(kind, rid, label, geom)
                out.extend(faults)
                if kind == "hazard" and usable:
                    hazards.append((rid, label, geom))
            elif isinstance(geom, LineString | MultiLineString):  # mine rows
                out.extend(_line_faults(kind, rid, label, geom))
    out.extend(_overlaps(hazards))
    dup_records = _repeated(record_digests)
    dup_keys = _repeated(key_digests)
    if dup_records or dup_keys:  # a second read, for the ids of the few repeated ones
        out.extend(_duplicate_faults(store, kind, name, dup_records, dup_keys, page_size,
                                     bbox))
    return n


def _shape(value: Any) -> BaseGeometry | None:
    if value is None:
        return None
    geom = value if isinstance(value, BaseGeometry) else shape(value)
    return None if geom.is_empty else geom


def _first(geom: BaseGeometry) -> tuple[float, float]:
    x, y = shapely.get_coordinates(geom)[0]
    return float(x), float(y)


def _m2(value: float) -> str:
    return f"{value:,.0f} m²" if value >= 10 else f"{value:.2f} m²"


# -- ids ----------------------------------------------------------------------------------
def normalised_id(external_id: str) -> str:
    """What two ids that differ only by case and spaces have in common."""
    return "".join(external_id.split()).casefold()


def trimmed_id(external_id: str) -> str:
    """The id with stray spaces removed: ends trimmed, runs of spaces made one."""
    return " ".join(external_id.split())


def _id_faults(kind: str, rid: str, label: str, where: tuple[float, float] | None
               ) -> list[Fault]:
    if trimmed_id(label) == label:
        return []
    return [Fault(kind, rid, "id-spaces",
                  f"external id {label!r} has stray spaces (leading, trailing, doubled or "
                  "not plain spaces)", where,
                  f"trim the id to {trimmed_id(label)!r}", label, reveals=("external_id",))]


def _key_digest(row: dict[str, Any]) -> int:
    # Python's hash: 64 bits, stable within the process, which is all the two reads of
    # one check need, and a tenth of the cost of a cryptographic digest over JSON.
    return hash((row.get("dataset"), normalised_id(str(row["external_id"]))))


def _record_digest(row: dict[str, Any], name: str, geom: BaseGeometry | None) -> int:
    """A digest of the attributes compared and the geometry: a point's GeoJSON as read,
    else the WKB of the normalised shape (the same whatever the ring's start or
    orientation)."""
    if geom is None:
        return hash(repr(sorted((k, v) for k, v in row.items() if k not in NOT_COMPARED)))
    attrs = sorted((k, v) for k, v in row.items() if k not in NOT_COMPARED and k != name)
    return hash((repr(attrs), shapely.to_wkb(shapely.normalize(geom))))


def _repeated(digests: array[int]) -> set[int]:
    if not digests:
        return set()
    values, counts = np.unique(np.asarray(digests, dtype=np.int64), return_counts=True)
    return {int(v) for v in values[counts > 1]}


def _duplicate_faults(store: Store, kind: str, name: str, dup_records: set[int],
                      dup_keys: set[int], page_size: int, bbox: Bbox | None
                      ) -> list[Fault]:
    records: dict[int, list[tuple[str, str | None, BaseGeometry]]] = defaultdict(list)
    keys: dict[int, list[tuple[str, str, BaseGeometry | None]]] = defaultdict(list)
    for rows in _pages(store, kind, page_size, bbox):
        for row in rows:
            value = row.get(name)
            point = value is not None and value.get("type") == "Point"
            geom = _shape(value)
            label = row.get("external_id")
            if geom is not None and dup_records:
                d = _record_digest(row, name, None if point else geom)
                if d in dup_records:
                    records[d].append((str(row["id"]), label, geom))
            if label is not None and dup_keys:
                d = _key_digest(row)
                if d in dup_keys:
                    keys[d].append((str(row["id"]), str(label), geom))
    out = []
    for group in records.values():
        ids = [g[0] for g in group]
        for rid, label, geom in group:
            others = tuple(i for i in ids if i != rid)
            out.append(Fault(kind, rid, "duplicate-record",
                             f"same geometry and attributes as {len(others)} other "
                             f"{kind} record(s)", _first(geom),
                             "keep one copy and delete the others (link their sources "
                             "to the one kept)", label, others, ("geometry",)))
    for key_group in keys.values():
        for rid, label, geom in key_group:
            others = tuple(g[0] for g in key_group if g[0] != rid)
            spellings = ", ".join(repr(g[1]) for g in key_group)
            out.append(Fault(kind, rid, "duplicate-id",
                             f"external ids {spellings} differ only by case or spaces",
                             _first(geom) if geom is not None else None,
                             "give each record its own id, or merge them if they are one "
                             "record", label, others, ("external_id",)))
    return out


# -- polygons ------------------------------------------------------------------------------
def _rings(geom: BaseGeometry) -> Iterable[np.ndarray[Any, Any]]:
    polygons = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            yield np.asarray(ring.coords)[:, :2]


def _polygon_faults(kind: str, rid: str, label: str | None, geom: BaseGeometry
                    ) -> tuple[list[Fault], bool]:
    """The faults of a polygonal geometry, and whether it is usable for the overlap check
    (valid, with a shape)."""
    faults: list[Fault] = []

    def add(code: str, message: str, where: tuple[float, float] | None, repair: str) -> None:
        faults.append(Fault(kind, rid, code, message, where, repair, label))

    rings = list(_rings(geom))
    for ring in rings:
        distinct = len({(float(x), float(y)) for x, y in ring})
        if distinct < 3:
            add("too-few-vertices", f"a ring has {distinct} distinct vertices; a polygon "
                "needs at least 3", (float(ring[0][0]), float(ring[0][1])),
                "redraw the polygon, or record the place as a point")
            return faults, False
    closing, closing_at, duplicates, duplicate_at, longest, long_at = _vertices(rings, True)
    if closing:
        add("repeated-closing-point", f"the closing point is repeated {closing} time(s) "
            "more than the one closing vertex", closing_at,
            "drop the repeated points (shapely.remove_repeated_points)")
    if duplicates:
        add("duplicate-point", f"{duplicates} vertex(es) repeat the vertex before them",
            duplicate_at, "drop the repeated points (shapely.remove_repeated_points)")
    if longest > MAX_SEGMENT_M:
        add("long-segment", f"two consecutive vertices are {longest:,.0f} m apart (more "
            f"than {MAX_SEGMENT_M:,.0f} m)", long_at,
            "check the vertices for a typing mistake, or add the intermediate points")
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        found = _WHERE.search(reason)
        where = (float(found.group(1)), float(found.group(2))) if found else _first(geom)
        code = "self-intersection" if "Self-intersection" in reason else "invalid-polygon"
        repaired = repair_geometry(geom)
        add(code, f"{reason.split('[')[0]}", where,
            "shapely.make_valid(geometry, method='structure') gives a "
            f"{repaired.geom_type} of {_m2(geodesic_area_m2(repaired))}; check it "
            "against the source before saving")
        return faults, False
    sliver = _sliver(geom)
    if sliver is not None:
        ratio, area, perimeter = sliver
        add("sliver", f"area / perimeter² is {ratio:.5f} (below {SLIVER_RATIO}): "
            f"{_m2(area)} inside a perimeter of {perimeter:,.0f} m", _inside(geom),
            "delete it if it is left over from digitising, else check its vertices")
    return faults, True


def _vertices(lines: list[np.ndarray[Any, Any]], rings: bool) -> tuple[
        int, tuple[float, float] | None, int, tuple[float, float] | None, float,
        tuple[float, float] | None]:
    """Over the vertex sequences of a geometry: repeated closing points (rings only) and
    where the first is, duplicate consecutive points and where the first is, the longest
    segment (geodesic) and its midpoint."""
    closing = duplicates = 0
    closing_at = duplicate_at = long_at = None
    longest = 0.0
    for ring in lines:
        same = np.all(ring[1:] == ring[:-1], axis=1)  # vertex i+1 repeats vertex i
        at_start = np.all(ring[1:] == ring[0], axis=1)
        for i in np.flatnonzero(same):
            if rings and at_start[i]:  # the first/last vertex more than the closing once
                closing += 1
                closing_at = closing_at or (float(ring[0][0]), float(ring[0][1]))
            else:
                duplicates += 1
                duplicate_at = duplicate_at or (float(ring[i][0]), float(ring[i][1]))
        _, _, lengths = WGS84.inv(ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1])
        lengths = np.atleast_1d(np.asarray(lengths))
        if len(lengths) and lengths.max() > longest:
            k = int(lengths.argmax())
            longest = float(lengths[k])
            long_at = (float((ring[k][0] + ring[k + 1][0]) / 2),
                       float((ring[k][1] + ring[k + 1][1]) / 2))
    return closing, closing_at, duplicates, duplicate_at, longest, long_at


def _line_faults(kind: str, rid: str, label: str | None, geom: BaseGeometry) -> list[Fault]:
    """Duplicate points and long segments of a line (a mine row)."""
    parts = geom.geoms if isinstance(geom, MultiLineString) else [geom]
    _, _, duplicates, duplicate_at, longest, long_at = _vertices(
        [np.asarray(p.coords)[:, :2] for p in parts], False)
    out = []
    if duplicates:
        out.append(Fault(kind, rid, "duplicate-point", f"{duplicates} vertex(es) repeat the "
                         "vertex before them", duplicate_at,
                         "drop the repeated points (shapely.remove_repeated_points)", label))
    if longest > MAX_SEGMENT_M:
        out.append(Fault(kind, rid, "long-segment", f"two consecutive vertices are "
                         f"{longest:,.0f} m apart (more than {MAX_SEGMENT_M:,.0f} m)",
                         long_at, "check the vertices for a typing mistake, or add the "
                         "intermediate points", label))
    return out


def _sliver(geom: BaseGeometry) -> tuple[float, float, float] | None:
    """(ratio, area, perimeter) of the thinnest part when it is below SLIVER_RATIO."""
    polygons = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    for polygon in polygons:
        area, perimeter = geodesic_area_m2(polygon), geodesic_length_m(polygon)
        if perimeter > 0 and area / perimeter**2 < SLIVER_RATIO:
            return area / perimeter**2, area, perimeter
    return None


def _inside(geom: BaseGeometry) -> tuple[float, float]:
    p = geom.representative_point()
    return float(p.x), float(p.y)


def _overlaps(hazards: list[tuple[str, str | None, BaseGeometry]]) -> list[Fault]:
    """Pairs of hazards sharing more than OVERLAP_TOLERANCE_M2, each fault on both."""
    if len(hazards) < 2:
        return []
    geoms = np.array([h[2] for h in hazards], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(geoms[i], geoms[j])
        area = geodesic_area_m2(shared)
        if area <= OVERLAP_TOLERANCE_M2:
            continue
        where = _inside(shared)
        for a, b in ((i, j), (j, i)):
            other = hazards[b][1] or hazards[b][0]
            out.append(Fault("hazard", hazards[a][0], "overlap",
                             f"overlaps hazard {other} by {_m2(area)} (tolerance "
                             f"{OVERLAP_TOLERANCE_M2:g} m²)", where,
                             "merge the two hazards if they are one area, else clip one by "
                             "the other (shapely.difference)", hazards[a][1],
                             (hazards[b][0],)))
    return out


# -- admin areas ------------------------------------------------------------------------------
class _AdminAreas:
    """The admin areas points are compared with, each read on first need."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._areas: dict[str, BaseGeometry | None] = {}

    def area(self, pcode: str) -> BaseGeometry | None:
        if pcode not in self._areas:
            rows, _ = self.store.query_rows(
                Query(kind="admin_area", where={"pcode": pcode}, limit=1), omit=BOOKKEEPING)
            geom = _shape(rows[0].get("geometry")) if rows else None
            if geom is not None:
                shapely.prepare(geom)
            self._areas[pcode] = geom
        return self._areas[pcode]

    def check(self, kind: str, rid: str, label: str | None, point: Point,
              pcode: str) -> Fault | None:
        area = self.area(pcode)
        if area is None or shapely.intersects_xy(area, point.x, point.y):
            return None
        metres = distance_to_geometry_m(point.x, point.y, area)
        if metres <= FAR_FROM_ADMIN_M:
            return None
        return Fault(kind, rid, "far-from-admin-area",
                     f"the point is {metres:,.0f} m outside admin area {pcode} (more than "
                     f"{FAR_FROM_ADMIN_M:,.0f} m)", (point.x, point.y),
                     "check the coordinates (sign, swapped latitude and longitude) and the "
                     "admin area's pcode", label, reveals=("geometry", "admin_area_pcode"))
