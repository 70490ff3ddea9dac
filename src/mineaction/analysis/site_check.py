# SPDX-License-Identifier: GPL-3.0-or-later
"""What the record says about a place (issue 20): the findings of a site check, and their
wording.

A site is a point, a line (a road, a pipeline) or an area (a plot, a village) in lon/lat.
Given the records near it (read by services/site_check.py with the asker's access), this
module measures, and only measures:

- hazards and minefield records on the site or within the buffer: distance, and the part
  of the site inside them;
- land released over the site (cancelled, reduced, cleared): by whom and when, and the
  share of the site each method covers (an area's area, a line's length);
- accidents and finds nearby: how many, the nearest, the latest;
- the newest date among the records used.

Distances are geodesic (geo.geodesic.gap_m, the measure of the stores' near-queries).
Shares of the site are measured in a Lambert azimuthal equal-area projection centred on
the site: equal-area, so a share of area is a share of ground, and within a few
kilometres of the centre its lengths are right to a few parts in a million.

The words (reports/site_wording.py, in the report languages) follow IMAS: what is
recorded, when and by whom, never that a place is "safe".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

RELEASE_METHODS = ("cleared", "reduced", "cancelled")  # strongest evidence first
# The fields `measure` reads of each kind's rows besides `id` and `geometry`: all a site
# check reads from the store (services/site_check.py), rather than whole records.
FIELDS: dict[str, tuple[str, ...]] = {
    "hazard": ("name", "hazard_status", "date_reported", "hazard_kind", "updated_at"),
    "minefield_record": ("name", "date_recorded", "updated_at"),
    "released_part": ("method", "release_date", "activity_id", "updated_at"),
    "accident": ("accident_date", "updated_at"),
    "find": ("find_date", "updated_at"),
}
# A row's distance to the site, in metres, when the reader measured it already (gaps_m):
# `measure` then does not measure it again.
DISTANCE = "__distance_m"


@dataclass
class Nearby:
    """One record near the site."""

    kind: str
    id: str
    distance_m: float  # 0 on the site
    label: str = ""  # name, or kind of device: what a reader recognises it by
    status: str | None = None  # hazard status, release method (codes)
    kind_code: str | None = None  # SHA or CHA for a hazard
    date: str | None = None  # ISO date of the event, release or report
    share_of_site: float | None = None  # part of the site inside it (hazards, releases)
    by: str | None = None  # organisation, where known


@dataclass
class Count:
    """Events of one kind within a radius."""

    kind: str
    radius_m: float
    count: int = 0
    nearest_m: float | None = None
    latest: str | None = None  # ISO date of the latest


@dataclass
class SiteReport:
    site_type: str  # Point, LineString, Polygon ...
    site_size: float | None  # m2 for an area, m for a line, None for a point
    buffer_m: float
    nearby_m: float
    hazards: list[Nearby] = field(default_factory=list)
    minefield_records: list[Nearby] = field(default_factory=list)
    released: list[Nearby] = field(default_factory=list)
    released_share: dict[str, float] = field(default_factory=dict)  # method -> share
    accidents: Count | None = None
    finds: Count | None = None
    risk: dict[str, Any] | None = None
    # kinds whose places the asker sees rounded (decimal places), so counts are approximate
    generalised: dict[str, int] = field(default_factory=dict)
    data_as_of: str | None = None
    records_used: dict[str, list[str]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)  # in words: reports/site_wording.py
    caveat: str = ""

    def to_json(self) -> dict[str, Any]:
        # one level of copying is enough (the lists and dicts are built per report):
        # dataclasses.asdict deep-copies every value, 10% of an API check's CPU (issue 20)
        out = dict(self.__dict__)
        for name in ("hazards", "minefield_records", "released"):
            out[name] = [dict(n.__dict__) for n in out[name]]
        for name in ("accidents", "finds"):
            if out[name] is not None:
                out[name] = dict(out[name].__dict__)
        return out


class LocalFrame:
    """The site's equal-area frame: lon/lat geometries to metres around the site. A point
    site needs no frame (whether it lies inside an area is the same in lon/lat), and
    building a projection costs more than the rest of a point's check: left as it is."""

    def __init__(self, site: Any) -> None:
        self._forward: Callable[[Any], Any] | None = None
        if site.geom_type in ("Point", "MultiPoint") or site.is_empty:
            return
        from mineaction.geo.geodesic import centred_projection

        c = site.centroid
        self._forward = centred_projection("laea", float(c.x), float(c.y))

    def project(self, geom: Any) -> Any:
        """`geom` (one geometry, or an array of them) in the frame."""
        import shapely

        if self._forward is None:
            return geom
        # cut long lon/lat edges so they stay straight enough once projected (~100 m)
        return shapely.transform(shapely.segmentize(geom, 0.001), self._forward)

    def project_all(self, geoms: list[Any]) -> list[Any]:
        """`project` of each, in one transformation for them all (the same coordinates:
        the projection is point by point)."""
        import numpy as np

        if self._forward is None or not geoms:
            return list(geoms)
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = geoms
        return list(self.project(arr))


def gaps_m(site: Any, geoms: list[Any]) -> list[float]:
    """`gap_m(site, g)` for each geometry (none empty), measured together rather than one
    by one. `gap_m` measures from a point in an azimuthal equidistant projection centred
    on it (`distance_to_geometry_m`), and building a pyproj projection for each was most
    of a check's time:

    - a point site: every line and area in the projection centred on it, all at once;
      one inverse geodesic call for all points;
    - a line or area site: the points (accidents, finds) measured in the projection
      centred on each, all at once. Lines and areas go through `gap_m`.

    The projection's coordinates of a place are the geodesic distance s and azimuth a to
    it (x = s sin a, y = s cos a, as PROJ's ellipsoidal aeqd computes them: `_aeqd_from`),
    from one inverse geodesic call for every vertex: equal to `gap_m` within 1e-8 m."""
    import numpy as np
    import shapely
    from shapely.geometry import Point

    from mineaction.geo import geodesic

    if not geoms:
        return []
    arr = np.array(geoms, dtype=object)
    out = np.empty(len(arr))
    points = shapely.get_type_id(arr) == 0
    origin = Point(0.0, 0.0)
    if site.geom_type == "Point":
        if points.any():
            n = int(points.sum())
            _, _, d = geodesic.WGS84.inv(np.full(n, site.x), np.full(n, site.y),
                                         shapely.get_x(arr[points]),
                                         shapely.get_y(arr[points]))
            out[points] = d
        if not points.all():
            # distance_to_geometry_m's projection and edge cutting, shared by all: its
            # coordinates from one inverse geodesic call, as for the points of a line or
            # area site below (building the pyproj projection was a tenth of a check's
            # CPU, issue 20); PROJ's aeqd has other formulas at the poles only
            cut = shapely.segmentize(arr[~points], geodesic._MAX_EDGE_DEG)
            if abs(float(site.y)) < _POLAR_DEG:
                projected = shapely.transform(cut, _aeqd_from(float(site.x),
                                                               float(site.y)))
            else:
                projected = shapely.transform(cut, geodesic.centred_projection(
                    "aeqd", float(site.x), float(site.y)))
            out[~points] = shapely.distance(origin, projected)
        return [float(d) for d in out]
    if points.any():
        cut = shapely.segmentize(site, geodesic._MAX_EDGE_DEG)
        per = int(shapely.get_num_coordinates(cut))
        px, py = shapely.get_x(arr[points]), shapely.get_y(arr[points])
        step = max(1, 2_000_000 // per)  # coordinates measured at a time
        found = []
        for start in range(0, len(px), step):
            cx = np.repeat(px[start:start + step], per)
            cy = np.repeat(py[start:start + step], per)
            copies = np.full(len(cx) // per, cut, dtype=object)
            found.append(shapely.distance(origin,
                                          shapely.transform(copies, _aeqd_from(cx, cy))))
        out[points] = np.concatenate(found)
    if not points.all():
        out[~points] = _gaps_between_shapes(site, arr[~points])
    return [float(d) for d in out]


def _gaps_between_shapes(site: Any, others: Any) -> Any:
    """`gap_m(site, g)` for a line or area site and each line or area g, all at once: 0
    where they touch, else the geodesic between their planar nearest points, found by
    one `shortest_line` call for all (as `nearest_points` finds them one by one) and
    measured by one inverse geodesic call (a plot check meets about ten hazards: one at a
    time they were a twentieth of its CPU, issue 20)."""
    import numpy as np
    import shapely

    from mineaction.geo import geodesic

    out = np.zeros(len(others))
    apart = ~shapely.intersects(site, others)
    if apart.any():
        ends = shapely.get_coordinates(shapely.shortest_line(site, others[apart]))
        ends = ends.reshape(-1, 2, 2)
        _, _, d = geodesic.WGS84.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0],
                                     ends[:, 1, 1])
        out[apart] = d
    return out


# Within this of a pole PROJ's ellipsoidal aeqd uses its polar formulas (its EPS10 from
# 90 degrees, with margin), which `_aeqd_from` does not copy: PROJ's own projection there
# (geodesic.centred_projection).
_POLAR_DEG = 89.999


def _aeqd_from(cx: Any, cy: Any) -> Callable[[Any], Any]:
    """The coordinates of lon/lat points in the azimuthal equidistant projection centred
    on (cx, cy) (numbers, or arrays as long as the points): x = s sin a, y = s cos a for
    the geodesic distance s and azimuth a to each, as PROJ's ellipsoidal aeqd computes
    them away from the poles, from one inverse geodesic call for them all."""
    import numpy as np

    from mineaction.geo import geodesic

    def centred(coords: Any) -> Any:
        n = len(coords)
        x0 = cx if np.ndim(cx) else np.full(n, cx)
        y0 = cy if np.ndim(cy) else np.full(n, cy)
        azimuth, _, s = geodesic.WGS84.inv(x0, y0, coords[:, 0], coords[:, 1])
        a = np.radians(azimuth)
        return np.column_stack([s * np.sin(a), s * np.cos(a)])

    return centred



def site_size(site_m: Any) -> float | None:
    """Area (m2) of an area site, length (m) of a line site, None for a point."""
    if site_m.geom_type in ("Polygon", "MultiPolygon"):
        return float(site_m.area)
    if site_m.geom_type in ("LineString", "MultiLineString"):
        return float(site_m.length)
    return None


def share_inside(site_m: Any, cover_m: Any) -> float:
    """The part of the site (by area, by length, or 1/0 for a point) inside `cover_m`."""
    if cover_m is None or cover_m.is_empty:
        return 0.0
    if site_m.geom_type in ("Point", "MultiPoint"):
        return 1.0 if cover_m.intersects(site_m) else 0.0
    size = site_size(site_m)
    if not size:
        return 0.0
    inside = site_m.intersection(cover_m)
    got = inside.area if site_m.geom_type in ("Polygon", "MultiPolygon") else inside.length
    return min(1.0, float(got) / size)


def _iso(value: Any) -> str | None:
    kind = type(value)
    if kind is str:  # as the GeoPackage store gives dates and times: the common case first
        return value[:10] if value and value != "NaT" else None
    # as PostGIS gives them: a check words a few dozen (each isinstance below a step
    # more, a twentieth of a PostGIS check's CPU, issue 20)
    if kind is date:
        return value.isoformat()
    if kind is datetime:
        return value.date().isoformat()
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:10] if text and text != "NaT" else None


def measure(site: Any, *, buffer_m: float, nearby_m: float,
            hazards: list[dict[str, Any]], minefield_records: list[dict[str, Any]],
            released: list[dict[str, Any]], accidents: list[dict[str, Any]],
            finds: list[dict[str, Any]]) -> SiteReport:
    """The findings for `site` from the records given (each a dict with `id` and
    `geometry` in lon/lat, plus its fields). The records must already be the ones the
    asker may see, and already within reach: the buffer for hazards and minefield
    records, the site for released land, `nearby_m` for accidents and finds."""
    from shapely import unary_union

    frame = LocalFrame(site)
    site_m = frame.project(site)
    report = SiteReport(site_type=site.geom_type, site_size=site_size(site_m),
                        buffer_m=buffer_m, nearby_m=nearby_m)

    def near(kind: str, rows: list[dict[str, Any]], label: str, status: str, when: str,
             limit_m: float) -> list[Nearby]:
        kept = [(r, r["geometry"], d) for d, r in _within(rows, site, limit_m)]
        # those over the site, projected together for the share of it they cover
        over = iter(frame.project_all([g for _, g, d in kept if d == 0]))
        out = [Nearby(kind=kind, id=str(r["id"]), distance_m=round(d, 1),
                      label=str(r.get(label) or ""), status=_text(r.get(status)),
                      date=_iso(r.get(when)),
                      share_of_site=round(share_inside(site_m, next(over)), 4)
                      if d == 0 else 0.0,
                      by=_text(r.get("organisation_name"))) for r, g, d in kept]
        return sorted(out, key=lambda n: (n.distance_m, n.id))

    report.hazards = near("hazard", hazards, "name", "hazard_status", "date_reported",
                          buffer_m)
    for h, row in zip(report.hazards, _matching(hazards, report.hazards), strict=True):
        h.kind_code = _text(row.get("hazard_kind"))
    report.minefield_records = near("minefield_record", minefield_records, "name",
                                    "", "date_recorded", buffer_m)
    report.released = [n for n in near("released_part", released, "method", "method",
                                       "release_date", 0.0)]
    by_method: dict[str, list[Any]] = {}
    counted = [(method, g) for method, g in ((_text(row.get("method")), row.get("geometry"))
                                             for row in released)
               if g is not None and not g.is_empty and method in RELEASE_METHODS]
    for (method, _), projected in zip(counted, frame.project_all([g for _, g in counted]),
                                      strict=True):
        by_method.setdefault(method, []).append(projected)
    claimed = None  # a part of the site counts once, under the strongest method over it
    for method in RELEASE_METHODS:
        if method not in by_method:
            continue
        cover = unary_union(by_method[method])
        if claimed is not None:
            cover = cover.difference(claimed)
        share = share_inside(site_m, cover)
        if share > 0:
            report.released_share[method] = round(share, 4)
        claimed = cover if claimed is None else unary_union([claimed, cover])

    # each kind's events within the radius found once, for its count and its ids (a
    # public check passes a few hundred accidents, issue 20)
    accidents_within = _within(accidents, site, nearby_m)
    finds_within = _within(finds, site, nearby_m)
    report.accidents = _count_of("accident", accidents_within, nearby_m, "accident_date")
    report.finds = _count_of("find", finds_within, nearby_m, "find_date")
    # the newest of the records used: accidents and finds within the radius only (the
    # public's are read from further out, where their rounded places might fall within it)
    dates = [d for d in (_iso(r.get("updated_at")) for rows in
                         (hazards, minefield_records, released,
                          [r for _, r in accidents_within], [r for _, r in finds_within])
                         for r in rows) if d]
    report.data_as_of = max(dates) if dates else None
    report.records_used = {
        "hazard": [n.id for n in report.hazards],
        "minefield_record": [n.id for n in report.minefield_records],
        "released_part": [n.id for n in report.released],
        "accident": sorted(str(r["id"]) for _, r in accidents_within),
        "find": sorted(str(r["id"]) for _, r in finds_within),
    }
    return report


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(getattr(value, "value", value))


def _matching(rows: list[dict[str, Any]], found: list[Nearby]) -> list[dict[str, Any]]:
    by_id = {str(r["id"]): r for r in rows}
    return [by_id[n.id] for n in found]


def _within(rows: list[dict[str, Any]], site: Any, limit_m: float
            ) -> list[tuple[float, dict[str, Any]]]:
    from mineaction.geo.geodesic import gap_m

    out = []
    for r in rows:
        g = r.get("geometry")
        if g is None or g.is_empty:
            continue
        d = r[DISTANCE] if DISTANCE in r else gap_m(site, g)
        if d <= limit_m:
            out.append((d, r))
    return out


def _count_of(kind: str, hits: list[tuple[float, dict[str, Any]]], radius_m: float,
              when: str) -> Count:
    """The Count of the (distance, row) pairs `_within` found."""
    dates = [d for d in (_iso(r.get(when)) for _, r in hits) if d]
    return Count(kind=kind, radius_m=radius_m, count=len(hits),
                 nearest_m=round(min(d for d, _ in hits), 1) if hits else None,
                 latest=max(dates) if dates else None)
