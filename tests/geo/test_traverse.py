# SPDX-License-Identifier: GPL-3.0-or-later
"""The traverse engine of minefield records (issue 18): legs to coordinates on WGS84."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
from pathlib import Path

import pytest
from pyproj import Geod, Proj

from mineaction.geo.magnetic import declination_deg
from mineaction.geo.traverse import (
    Leg,
    TraverseError,
    TraverseResult,
    compute_traverse,
    grid_convergence_deg,
    to_degrees,
    utm_zone_for,
)

DATA = Path(__file__).parent / "data"
WGS84 = Geod(ellps="WGS84")

# The worked example of issue 18 and docs/minefield-records.md.
BM = (39.9930, 46.9320)
TRUE_BEARINGS = (45.0, 135.0, 225.0, 315.0)
DISTANCES_M = (250.0, 300.0, 250.0, 300.0)
NAMES = ("TP1", "TP2", "TP3", "BM")
EXPECTED = {
    "TP1": (39.9945921, 46.9340700),
    "TP2": (39.9926815, 46.9365539),
    "TP3": (39.9910894, 46.9344840),
}


def _legs(bearings: tuple[float, ...] = TRUE_BEARINGS, **entry: object) -> list[Leg]:
    return [
        Leg(name, bearing, distance, **entry)  # type: ignore[arg-type]
        for name, bearing, distance in zip(NAMES, bearings, DISTANCES_M, strict=True)
    ]


def _example(legs: list[Leg], **options: object) -> TraverseResult:
    return compute_traverse("BM", *BM, legs, **options)  # type: ignore[arg-type]


def _assert_worked_example(result: TraverseResult) -> None:
    points = {point.name: point for point in result.points[1:-1]}
    for name, (lat, lon) in EXPECTED.items():
        # The issue gives 7 decimals, so a computed value is within half a unit of them.
        assert points[name].lat == pytest.approx(lat, abs=0.5e-7)
        assert points[name].lon == pytest.approx(lon, abs=0.5e-7)
    assert result.closure is not None
    assert result.closure.error_m == pytest.approx(0.013, abs=0.001)
    assert result.closure.area_m2 == pytest.approx(75_002, abs=1)


def _assert_same_points(result: TraverseResult, reference: TraverseResult) -> None:
    _assert_worked_example(result)
    for mine, theirs in zip(result.points, reference.points, strict=True):
        _, _, apart_m = WGS84.inv(mine.lon, mine.lat, theirs.lon, theirs.lat)
        # Declinations were taken at the rounded expected points: 1e-8 degree of position
        # changes a declination by far less than this.
        assert apart_m < 1e-6


# --- the direct problem itself -------------------------------------------------------


def test_pyproj_direct_problem_equals_geodtest_to_a_millimetre() -> None:
    path = DATA / "GeodTest-100.dat"
    digest = "558f579c8c7322650bc87a2408b616b7fa6eecab515878758dae423540863f1b"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    errors, azimuth_errors = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        lat1, lon1, azi1, lat2, lon2, azi2, s12, *_ = (float(x) for x in line.split())
        # GeodTest's azi2 is the forward azimuth at point 2; pyproj returns the back
        # azimuth unless asked not to.
        lon, lat, azi = WGS84.fwd(lon1, lat1, azi1, s12, return_back_azimuth=False)
        _, _, miss_m = WGS84.inv(lon, lat, lon2, lat2)
        errors.append(miss_m)
        # Azimuths wrap at +-180; compare them on the circle.
        azimuth_errors.append(abs((azi - azi2 + 180.0) % 360.0 - 180.0))
    assert len(errors) == 100
    assert max(azimuth_errors) < 1e-8, max(azimuth_errors)
    assert max(errors) < 1e-3, max(errors)


# --- the worked example --------------------------------------------------------------


def test_worked_example() -> None:
    result = _example(_legs())
    _assert_worked_example(result)
    closure = result.closure
    assert closure is not None
    assert closure.loop == ("BM", "TP1", "TP2", "TP3", "BM")
    assert closure.length_m == 1100.0
    assert closure.precision_ratio == pytest.approx(1100.0 / closure.error_m)
    assert closure.precision_ratio is not None and closure.precision_ratio > 80_000
    assert 0.0 <= closure.bearing_deg < 360.0
    assert not closure.adjusted and closure.adjusted_area_m2 is None
    # The start keeps its known position; the closing leg's end is where the legs led.
    assert (result.points[0].lat, result.points[0].lon) == BM
    assert result.points[-1].name == "BM" and result.points[-1].leg is not None
    _, _, gap = WGS84.inv(result.points[-1].lon, result.points[-1].lat, BM[1], BM[0])
    assert gap == pytest.approx(closure.error_m)


def test_mils_gradians_and_paces_give_the_same_traverse() -> None:
    in_mils = [b * 6400 / 360 for b in TRUE_BEARINGS]  # 800, 2400, 4000, 5600
    assert in_mils == [800.0, 2400.0, 4000.0, 5600.0]
    in_gradians = [50.0, 150.0, 250.0, 350.0]
    paces = [
        Leg(name, bearing, distance / 0.8, distance_unit="paces", pace_factor=0.8)
        for name, bearing, distance in zip(NAMES, in_mils, DISTANCES_M, strict=True)
    ]
    paces = [dataclasses.replace(leg, bearing_unit="mils") for leg in paces]
    reference = _example(_legs())
    for legs in (
        _legs(tuple(in_mils), bearing_unit="mils"),
        _legs(tuple(in_gradians), bearing_unit="gradians"),
        paces,
    ):
        _assert_same_points(_example(legs), reference)
    assert paces[0].distance == 312.5
    assert to_degrees(1600, "mils") == 90.0
    assert to_degrees(100, "gradians") == 90.0


def test_magnetic_bearings_get_the_declination_of_the_records_date() -> None:
    laid = datetime.date(2021, 3, 15)
    # Enter each leg as a compass would have read it at its from-point on that date.
    froms = [BM, *EXPECTED.values()]
    declinations = [declination_deg(lat, lon, laid) for lat, lon in froms]
    assert all(6.2 < d < 6.5 for d in declinations)  # east, Aghdam 2021
    magnetic = [b - d for b, d in zip(TRUE_BEARINGS, declinations, strict=True)]
    result = _example(_legs(tuple(magnetic), bearing_reference="magnetic"), record_date=laid)
    _assert_same_points(result, _example(_legs()))
    assert result.magnetic_model == "WMM2020"
    for point, declination in zip(result.points[1:], declinations, strict=True):
        assert point.correction_deg == pytest.approx(declination)
        assert point.leg is not None and point.leg.bearing_reference == "magnetic"
    # A declination printed on the record applies to every leg, with no model.
    printed = _example(
        _legs(tuple(b - 6.3 for b in TRUE_BEARINGS), bearing_reference="magnetic"),
        declination=6.3,
    )
    _assert_worked_example(printed)
    assert printed.magnetic_model is None


def test_magnetic_bearings_need_a_date_or_a_declination() -> None:
    with pytest.raises(TraverseError, match="date or its declination"):
        _example(_legs(bearing_reference="magnetic"))


def test_meridian_convergence_sign_and_value() -> None:
    # Textbook series (e.g. Snyder, Map Projections: A Working Manual, 1987, eq. 8-12 and the
    # usual convergence expansion) for the benchmark, 1.932 degrees east of zone 38's
    # central meridian (45 E): grid north lies 1.24196 degrees east of true north.
    f = 1 / 298.257223563
    ep2 = f * (2 - f) / (1 - f) ** 2
    phi, dl = math.radians(BM[0]), math.radians(BM[1] - 45.0)
    c, t = math.cos(phi), math.tan(phi)
    n2 = ep2 * c * c
    series = math.degrees(
        dl
        * math.sin(phi)
        * (1 + dl**2 * c**2 / 3 * (1 + 3 * n2 + 2 * n2**2) + dl**4 * c**4 / 15 * (2 - t * t))
    )
    assert utm_zone_for(BM[1]) == 38
    assert series == pytest.approx(1.24196439, abs=1e-8)
    assert grid_convergence_deg(*BM) == pytest.approx(series, abs=1e-7)
    # Independently: grid north, projected back, has this true bearing.
    utm = Proj(proj="utm", zone=38, ellps="WGS84")
    x, y = utm(BM[1], BM[0])
    lon, lat = utm(x, y + 10.0, inverse=True)
    azimuth, _, _ = WGS84.inv(BM[1], BM[0], lon, lat)
    assert grid_convergence_deg(*BM) == pytest.approx(azimuth, abs=1e-5)
    # West of the central meridian it is negative; in the south the sign flips.
    assert grid_convergence_deg(39.993, 43.5) < 0
    assert grid_convergence_deg(-33.9, 18.4) > 0
    # The record's zone, not the point's, when the record says so: zone 39 (51 E).
    assert grid_convergence_deg(*BM, zone=39) < 0


def test_grid_bearings_become_true_with_the_convergence() -> None:
    froms = [BM, *EXPECTED.values()]
    grid = [b - grid_convergence_deg(*p) for b, p in zip(TRUE_BEARINGS, froms, strict=True)]
    result = _example(_legs(tuple(grid), bearing_reference="grid"))
    _assert_same_points(result, _example(_legs()))
    assert result.utm_zone == 38
    assert result.points[1].correction_deg == pytest.approx(1.2419644, abs=1e-6)


# --- adjustment, warnings, errors ----------------------------------------------------


def test_bowditch_adjustment_closes_exactly() -> None:
    raw = _example(_legs())
    result = _example(_legs(), adjust=True)
    closure = result.closure
    assert closure is not None and closure.adjusted
    end = result.points[-1]
    assert end.adjusted_lat is not None and end.adjusted_lon is not None
    _, _, gap = WGS84.inv(end.adjusted_lon, end.adjusted_lat, BM[1], BM[0])
    assert gap < 1e-6
    # The raw coordinates and the closure figures are kept beside the adjusted ones.
    assert [(p.lat, p.lon) for p in result.points] == [(p.lat, p.lon) for p in raw.points]
    assert closure.error_m == raw.closure.error_m  # type: ignore[union-attr]
    # Each point moves by the gap times its share of the cumulative length.
    shares = {"TP1": 250 / 1100, "TP2": 550 / 1100, "TP3": 800 / 1100}
    for point in result.points[1:-1]:
        assert point.adjusted_lat is not None and point.adjusted_lon is not None
        _, _, moved = WGS84.inv(point.lon, point.lat, point.adjusted_lon, point.adjusted_lat)
        assert moved == pytest.approx(closure.error_m * shares[point.name], rel=1e-3)
    assert closure.adjusted_area_m2 == pytest.approx(75_000, abs=1)


def test_a_side_shot_from_an_earlier_point_stays_out_of_the_loop() -> None:
    legs = _legs()
    legs.insert(1, Leg("M1", 90.0, 20.0, from_point="TP1"))  # a mine seen from TP1
    legs[2] = dataclasses.replace(legs[2], from_point="TP1")  # the loop goes on from TP1
    result = _example(legs, adjust=True)
    _assert_worked_example(result)
    assert result.closure is not None
    assert result.closure.loop == ("BM", "TP1", "TP2", "TP3", "BM")
    mine = next(p for p in result.points if p.name == "M1")
    tp1 = next(p for p in result.points if p.name == "TP1")
    _, _, d = WGS84.inv(tp1.lon, tp1.lat, mine.lon, mine.lat)
    assert d == pytest.approx(20.0)
    assert mine.from_point == "TP1"
    # It moves with TP1 under the adjustment.
    assert mine.adjusted_lat is not None and tp1.adjusted_lat is not None
    assert mine.adjusted_lat - mine.lat == pytest.approx(tp1.adjusted_lat - tp1.lat, abs=1e-12)


def test_legs_over_50_m_without_an_intermediate_point_are_flagged() -> None:
    legs = [
        Leg("IP1", 0.0, 50.0),
        Leg("IP2", 0.0, 50.01),
        Leg("IP3", 0.0, 40.0),
    ]
    result = compute_traverse("BM", *BM, legs)
    flagged = [w for w in result.warnings if w.code == "leg_over_50m"]
    assert [w.leg_index for w in flagged] == [1]
    assert "every 50 m" in flagged[0].message
    assert result.closure is None  # it does not return to BM
    assert len([w for w in _example(_legs()).warnings if w.code == "leg_over_50m"]) == 4


def test_unusual_inputs_warn_and_wrong_ones_fail() -> None:
    odd = compute_traverse(
        "BM",
        *BM,
        [Leg("A", 405.0, 10.0), Leg("B", 30.0, 10.0, distance_unit="paces", pace_factor=1.5)],
        adjust=True,
    )
    codes = [w.code for w in odd.warnings]
    assert codes == ["bearing_out_of_range", "unusual_pace_factor", "not_closed"]
    assert odd.points[1].true_bearing_deg == pytest.approx(45.0)
    bad = [
        ([Leg("A", 45.0, -1.0)], "0 or more"),
        ([Leg("A", 45.0, 10.0, from_point="X")], "no earlier leg"),
        ([Leg("A", 45.0, 10.0, distance_unit="paces")], "pace factor"),
        ([Leg("A", 45.0, 10.0), Leg("A", 90.0, 10.0)], "already a point"),
        ([Leg("A", math.nan, 10.0)], "not a number"),
        ([Leg("A", 45.0, 10.0, bearing_unit="grads")], "unknown angle unit"),  # type: ignore[arg-type]
    ]
    for legs, message in bad:
        with pytest.raises(TraverseError, match=message):
            compute_traverse("BM", *BM, legs)


def test_the_entry_is_kept_and_the_result_is_json() -> None:
    legs = _legs(tuple(b * 6400 / 360 for b in TRUE_BEARINGS), bearing_unit="mils")
    result = _example(legs, adjust=True)
    document = json.loads(json.dumps(dataclasses.asdict(result), allow_nan=False))
    tp1 = document["points"][1]
    assert tp1["leg"] == {
        "to_point": "TP1",
        "bearing": 800.0,
        "distance": 250.0,
        "from_point": None,
        "bearing_reference": "true",
        "bearing_unit": "mils",
        "distance_unit": "metres",
        "pace_factor": None,
    }
    assert tp1["from_point"] == "BM" and tp1["true_bearing_deg"] == 45.0
    assert document["closure"]["area_m2"] == pytest.approx(75_002, abs=1)


def test_direction_of_travel_does_not_change_the_area() -> None:
    anticlockwise = [
        Leg("TP3", 135.0, 300.0),
        Leg("TP2", 45.0, 250.0),
        Leg("TP1", 315.0, 300.0),
        Leg("BM", 225.0, 250.0),
    ]
    result = compute_traverse("BM", *BM, anticlockwise)
    assert result.closure is not None
    # Not quite the same figure (a geodesic's azimuth changes along it, so 135 degrees
    # out of BM is not the reverse of 315 degrees into it), but the same size, positive.
    assert result.closure.area_m2 == pytest.approx(75_000, abs=10)


def test_the_figures_in_the_docs() -> None:
    """docs/minefield-records.md, "Worked example", quotes these rounded figures."""
    result = _example(_legs(), adjust=True)
    closure = result.closure
    assert closure is not None and closure.precision_ratio is not None
    assert round(closure.error_m, 4) == 0.0128
    assert round(closure.bearing_deg) == 141
    assert round(closure.precision_ratio, -2) == 85_600
    assert round(closure.area_m2, 1) == 75_001.6
    assert closure.adjusted_area_m2 is not None and round(closure.adjusted_area_m2, 1) == 75_000.0
    assert (round(result.points[-1].lat, 7), round(result.points[-1].lon, 7)) == (
        39.9929999,
        46.9320001,
    )
    declination = declination_deg(*BM, datetime.date(2021, 3, 15))
    assert round(declination, 2) == 6.34 and round(45 - declination, 2) == 38.66
    assert round(45 - grid_convergence_deg(*BM), 2) == 43.76
    text = (Path(__file__).parents[2] / "docs" / "minefield-records.md").read_text("utf-8")
    for figure in ("0.0128 m", "1:85,600", "75,001.6 m²", "75,000.0 m²", "038.66°", "043.76°"):
        assert figure in text
