# SPDX-License-Identifier: GPL-3.0-or-later
"""Traverses of minefield records: from a benchmark and legs (bearing, distance) to coordinates.

A paper minefield record (CCW Amended Protocol II, Technical Annex) fixes its points by legs
measured from a benchmark: "from BM, 045 degrees, 250 m to TP1". This module turns such legs
into WGS84 coordinates by the direct geodesic problem on the ellipsoid (pyproj.Geod, which is
GeographicLib: exact to nanometres, see tests/geo/test_traverse.py), reports how well a
closed traverse closes, and optionally distributes the misclosure by the compass rule.

Every computed point keeps the leg exactly as entered (bearing, its reference and unit,
distance, unit, pace factor, from-point), as IMSMA keeps user-entered values beside
computed ones: a record can be re-read against its paper original, and recomputed if a
declination or pace factor is later corrected. All results are plain dataclasses;
`dataclasses.asdict(result)` is JSON-serialisable (no infinities, no dates).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pyproj import Geod, Proj

from mineaction.geo.magnetic import declination_deg, wmm_model_for

BearingReference = Literal["true", "magnetic", "grid"]
AngleUnit = Literal["degrees", "mils", "gradians"]
DistanceUnit = Literal["metres", "paces"]

# One full circle in each unit: NATO mils divide it into 6400 (not 2000 pi, nor the 6000
# of the Warsaw Pact's artillery); gradians (gon) into 400.
FULL_CIRCLE: dict[str, float] = {"degrees": 360.0, "mils": 6400.0, "gradians": 400.0}

# CCW Amended Protocol II practice as taught for minefield recording: an intermediate point
# at least every 50 m (or where there is no line of sight), so a longer leg is flagged.
MAX_LEG_WITHOUT_INTERMEDIATE_M = 50.0
# A soldier's pace is 0.6-0.9 m; outside this band the factor was probably entered in the
# wrong unit (paces per metre, or paces per 100 m) and deserves a second look.
_PLAUSIBLE_PACE_M = (0.4, 1.2)

_WGS84 = Geod(ellps="WGS84")


class TraverseError(ValueError):
    """The legs cannot be computed: unknown from-point, negative distance, missing date..."""


@dataclass(frozen=True)
class Leg:
    """One leg as entered on the record: from a named point, a bearing and a distance.

    from_point None means the previous leg's end (the start point for the first leg); a
    leg may start from any earlier point, as side shots to mines or intermediate points do.
    pace_factor is metres per pace and is needed when distance_unit is 'paces'.
    """

    to_point: str
    bearing: float
    distance: float
    from_point: str | None = None
    bearing_reference: BearingReference = "true"
    bearing_unit: AngleUnit = "degrees"
    distance_unit: DistanceUnit = "metres"
    pace_factor: float | None = None


@dataclass(frozen=True)
class TraversePoint:
    """A computed point and, for all but the start, the leg that fixes it.

    true_bearing_deg and distance_m are what the geodesic was computed with;
    correction_deg is what was added to the entered bearing to make it true (declination
    for magnetic, meridian convergence for grid, 0 for true). adjusted_lat/lon are set
    only when the compass-rule adjustment was requested and the traverse is closed.
    """

    name: str
    lat: float
    lon: float
    leg: Leg | None = None
    from_point: str | None = None
    true_bearing_deg: float | None = None
    distance_m: float | None = None
    correction_deg: float | None = None
    adjusted_lat: float | None = None
    adjusted_lon: float | None = None


@dataclass(frozen=True)
class Closure:
    """How well a closed traverse (one whose last leg ends at its start) closes.

    error_m is the geodesic distance from the start to where the legs brought it back, and
    bearing_deg the true bearing of that gap seen from the start. precision_ratio is N in
    "1:N" (loop length / error), None when the error is exactly zero. Areas are geodesic,
    positive, of the loop through the start and the loop's points (side shots excluded).
    """

    error_m: float
    bearing_deg: float
    length_m: float
    precision_ratio: float | None
    area_m2: float
    perimeter_m: float
    loop: tuple[str, ...]
    adjusted: bool = False
    adjusted_area_m2: float | None = None


@dataclass(frozen=True)
class TraverseWarning:
    """Something unusual but computable; leg_index is 0-based in the entered legs."""

    code: str
    message: str
    leg_index: int | None = None


@dataclass(frozen=True)
class TraverseResult:
    points: tuple[TraversePoint, ...]
    closure: Closure | None
    warnings: tuple[TraverseWarning, ...]
    utm_zone: int | None = None
    magnetic_model: str | None = None


def to_degrees(value: float, unit: AngleUnit) -> float:
    """An angle in degrees from degrees, NATO mils (6400) or gradians (400)."""
    try:
        circle = FULL_CIRCLE[unit]
    except KeyError:
        raise TraverseError(f"unknown angle unit {unit!r}; use {sorted(FULL_CIRCLE)}") from None
    return value * 360.0 / circle


def utm_zone_for(lon: float) -> int:
    """Standard 6-degree UTM zone of a longitude (no Norway/Svalbard exceptions)."""
    return int(((lon + 180.0) % 360.0) // 6.0) + 1


def grid_convergence_deg(lat: float, lon: float, zone: int | None = None) -> float:
    """Meridian convergence in degrees: the true bearing of grid north at (lat, lon).

    A true bearing is a grid bearing plus this angle. It is positive east of the zone's
    central meridian in the northern hemisphere (grid north lies east of true north there)
    and west of it in the southern one. pyproj's get_factors uses this same sign; the
    tests check it against the textbook series and against grid north projected back.
    """
    zone = utm_zone_for(lon) if zone is None else zone
    if not 1 <= zone <= 60:
        raise TraverseError(f"UTM zone must be 1-60, not {zone}")
    projection = Proj(proj="utm", zone=zone, ellps="WGS84", south=lat < 0)
    return float(projection.get_factors(lon, lat).meridian_convergence)


def compute_traverse(
    start_name: str,
    start_lat: float,
    start_lon: float,
    legs: Sequence[Leg],
    *,
    record_date: datetime.date | None = None,
    declination: float | None = None,
    utm_zone: int | None = None,
    adjust: bool = False,
) -> TraverseResult:
    """Coordinates of every point of a traverse, its closure and, on request, its adjustment.

    Magnetic bearings need either `declination` (degrees, east positive, as printed on
    the record: it then applies to every leg) or `record_date`, for which the World
    Magnetic Model gives the declination at each leg's from-point. Grid bearings use the
    meridian convergence of `utm_zone` (default: the start point's zone). The traverse is
    closed when its last leg ends at start_name; `adjust=True` then adds compass-rule
    adjusted coordinates to every point.
    """
    _check_position(start_lat, start_lon, start_name)
    zone = utm_zone if utm_zone is not None else utm_zone_for(start_lon)
    warnings: list[TraverseWarning] = []
    points: dict[str, TraversePoint] = {
        start_name: TraversePoint(name=start_name, lat=start_lat, lon=start_lon)
    }
    ordered: list[TraversePoint] = [points[start_name]]
    closing: TraversePoint | None = None
    previous = start_name
    uses_wmm = False

    for index, leg in enumerate(legs):
        origin_name = leg.from_point if leg.from_point is not None else previous
        origin = points.get(origin_name)
        if origin is None:
            raise TraverseError(
                f"leg {index + 1} starts from {origin_name!r}, which no earlier leg reaches"
            )
        is_closing = leg.to_point == start_name and index == len(legs) - 1
        if leg.to_point in points and not is_closing:
            raise TraverseError(f"leg {index + 1} ends at {leg.to_point!r}, already a point")
        distance_m = _distance_m(leg, index, warnings)
        bearing = _entered_bearing_deg(leg, index, warnings)
        correction = _correction_deg(leg, index, origin, record_date, declination, zone)
        uses_wmm = uses_wmm or (leg.bearing_reference == "magnetic" and declination is None)
        true_bearing = (bearing + correction) % 360.0
        lon, lat, _ = _WGS84.fwd(origin.lon, origin.lat, true_bearing, distance_m)
        point = TraversePoint(
            name=leg.to_point,
            lat=float(lat),
            lon=float(lon),
            leg=leg,
            from_point=origin_name,
            true_bearing_deg=true_bearing,
            distance_m=distance_m,
            correction_deg=correction,
        )
        if distance_m > MAX_LEG_WITHOUT_INTERMEDIATE_M:
            warnings.append(
                TraverseWarning(
                    "leg_over_50m",
                    f"leg {index + 1} ({origin_name} to {leg.to_point}) is {distance_m:.1f} m with "
                    "no intermediate point: the rule is one at least every 50 m or where there "
                    "is no line of sight",
                    index,
                )
            )
        ordered.append(point)
        if is_closing:
            closing = point
        else:
            points[leg.to_point] = point
        previous = leg.to_point

    closure = None
    if closing is not None:
        closure, ordered = _close(ordered, closing, start_name, adjust)
    elif adjust:
        warnings.append(
            TraverseWarning(
                "not_closed",
                f"no adjustment: the last leg does not end at the start point {start_name!r}",
            )
        )
    model = None
    if uses_wmm and record_date is not None:
        model = wmm_model_for(record_date)
    return TraverseResult(
        points=tuple(ordered),
        closure=closure,
        warnings=tuple(warnings),
        utm_zone=zone,
        magnetic_model=model,
    )


def _check_position(lat: float, lon: float, name: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
        raise TraverseError(f"start point {name!r} is not a position: lat {lat}, lon {lon}")


def _distance_m(leg: Leg, index: int, warnings: list[TraverseWarning]) -> float:
    if not math.isfinite(leg.distance) or leg.distance < 0:
        raise TraverseError(f"leg {index + 1}: distance must be 0 or more, not {leg.distance}")
    if leg.distance_unit == "metres":
        return float(leg.distance)
    if leg.distance_unit != "paces":
        raise TraverseError(f"leg {index + 1}: unknown distance unit {leg.distance_unit!r}")
    factor = leg.pace_factor
    if factor is None or not math.isfinite(factor) or factor <= 0:
        raise TraverseError(f"leg {index + 1}: paces need a positive pace factor (m per pace)")
    low, high = _PLAUSIBLE_PACE_M
    if not low <= factor <= high:
        warnings.append(
            TraverseWarning(
                "unusual_pace_factor",
                f"leg {index + 1}: a pace of {factor} m is outside {low}-{high} m; is the factor "
                "in metres per pace?",
                index,
            )
        )
    return float(leg.distance * factor)


def _entered_bearing_deg(leg: Leg, index: int, warnings: list[TraverseWarning]) -> float:
    if not math.isfinite(leg.bearing):
        raise TraverseError(f"leg {index + 1}: bearing is not a number")
    circle = FULL_CIRCLE.get(leg.bearing_unit)
    if circle is None:
        raise TraverseError(f"leg {index + 1}: unknown angle unit {leg.bearing_unit!r}")
    if not 0 <= leg.bearing < circle:
        # Computable (taken modulo a full circle) but a likely typo, or mils entered as
        # degrees: 1600 "degrees" is a plausible bearing in mils.
        warnings.append(
            TraverseWarning(
                "bearing_out_of_range",
                f"leg {index + 1}: bearing {leg.bearing} {leg.bearing_unit} is outside "
                f"0-{circle:g}; taken modulo a full circle",
                index,
            )
        )
    return to_degrees(leg.bearing, leg.bearing_unit) % 360.0


def _correction_deg(
    leg: Leg,
    index: int,
    origin: TraversePoint,
    record_date: datetime.date | None,
    declination: float | None,
    zone: int,
) -> float:
    if leg.bearing_reference == "true":
        return 0.0
    if leg.bearing_reference == "grid":
        return grid_convergence_deg(origin.lat, origin.lon, zone)
    if leg.bearing_reference != "magnetic":
        raise TraverseError(
            f"leg {index + 1}: bearing reference must be true, magnetic or grid, "
            f"not {leg.bearing_reference!r}"
        )
    if declination is not None:
        return float(declination)
    if record_date is None:
        raise TraverseError(
            f"leg {index + 1}: a magnetic bearing needs the record's date or its declination"
        )
    return declination_deg(origin.lat, origin.lon, record_date)


def _close(
    ordered: list[TraversePoint], closing: TraversePoint, start_name: str, adjust: bool
) -> tuple[Closure, list[TraversePoint]]:
    start = ordered[0]
    by_name = {point.name: point for point in ordered[1:-1]}
    # The loop is the chain of from-points back from the closing leg to the start; legs
    # that branch off it (side shots to mines, marker posts) are not part of the polygon.
    loop = [closing]
    while loop[-1].from_point != start_name:
        from_name = loop[-1].from_point
        assert from_name is not None  # every point but the start has one
        loop.append(by_name[from_name])
    loop.reverse()
    azimuth, _, error_m = _WGS84.inv(start.lon, start.lat, closing.lon, closing.lat)
    length_m = sum(point.distance_m or 0.0 for point in loop)
    vertices = [start, *loop[:-1]]
    area_m2, perimeter_m = _area_perimeter([p.lat for p in vertices], [p.lon for p in vertices])
    closure = Closure(
        error_m=float(error_m),
        bearing_deg=float(azimuth) % 360.0,
        length_m=length_m,
        precision_ratio=length_m / error_m if error_m > 0 else None,
        area_m2=area_m2,
        perimeter_m=perimeter_m,
        loop=tuple([start_name, *(p.name for p in loop)]),
    )
    if not adjust:
        return closure, ordered
    adjusted = _bowditch(ordered, loop, start)
    # The closing point bears the start's name, so vertices are looked up by position.
    at = {id(point): new for point, new in zip(ordered, adjusted, strict=True)}
    corners = [at[id(point)] for point in vertices]
    adjusted_area, _ = _area_perimeter(
        [_adjusted(p)[0] for p in corners], [_adjusted(p)[1] for p in corners]
    )
    return replace(closure, adjusted=True, adjusted_area_m2=adjusted_area), adjusted


def _adjusted(point: TraversePoint) -> tuple[float, float]:
    lat = point.adjusted_lat if point.adjusted_lat is not None else point.lat
    lon = point.adjusted_lon if point.adjusted_lon is not None else point.lon
    return lat, lon


def _area_perimeter(lats: list[float], lons: list[float]) -> tuple[float, float]:
    area, perimeter = _WGS84.polygon_area_perimeter(lons, lats)
    # pyproj signs the area by ring orientation (clockwise negative); a traverse may run
    # either way round, and its area is the same.
    return abs(float(area)), float(perimeter)


def _bowditch(
    ordered: list[TraversePoint], loop: list[TraversePoint], start: TraversePoint
) -> list[TraversePoint]:
    """Compass-rule adjustment: move each loop point by the misclosure times its share of
    the cumulative loop length; points off the loop move with the point they hang from.

    The rule is a vector correction in a plane, and latitude and longitude are not one: a
    degree of longitude is cos(lat) times a degree of latitude, so distributing the gap in
    degrees would bend it. It is done in an azimuthal equidistant projection centred on the
    start, where distances and bearings from the start are exact and the scale error over a
    minefield (a few km) is below 1e-6, then the adjusted points are projected back.
    """
    plane = Proj(f"+proj=aeqd +lat_0={start.lat!r} +lon_0={start.lon!r} +datum=WGS84")
    end_x, end_y = plane(loop[-1].lon, loop[-1].lat)
    gap_x, gap_y = -float(end_x), -float(end_y)  # from the computed end back to the start
    total = sum(point.distance_m or 0.0 for point in loop)
    shift: dict[str, tuple[float, float]] = {start.name: (0.0, 0.0)}
    cumulative = 0.0
    for point in loop[:-1]:  # the last is the closing point, which takes the whole gap
        cumulative += point.distance_m or 0.0
        share = cumulative / total if total > 0 else 0.0
        shift[point.name] = (gap_x * share, gap_y * share)
    adjusted = [replace(start, adjusted_lat=start.lat, adjusted_lon=start.lon)]
    for point in ordered[1:]:
        if point is loop[-1]:
            dx, dy = gap_x, gap_y
        else:
            # Points are entered after the point they hang from, so its shift is known.
            dx, dy = shift.setdefault(point.name, shift[point.from_point or start.name])
        x, y = plane(point.lon, point.lat)
        lon, lat = plane(float(x) + dx, float(y) + dy, inverse=True)
        adjusted.append(replace(point, adjusted_lat=float(lat), adjusted_lon=float(lon)))
    return adjusted
