# SPDX-License-Identifier: GPL-3.0-or-later
import math

import numpy as np
import pytest
from pyproj import Transformer

from mineaction.geo.coordinates import (
    CoordinateError,
    ParsedCoordinate,
    format_dms,
    parse_coordinate,
    parse_lat_lon_pair,
    to_mgrs,
    to_utm,
)

BOGOTA_DMS = (4 + 36 / 60 + 35 / 3600, -(74 + 4 / 60 + 54 / 3600))


@pytest.mark.parametrize(
    "text",
    [
        "4.6097, -74.0817",
        "4.6097 -74.0817",
        "(4.6097, -74.0817)",
        "[4.6097; -74.0817]",
        "4.6097N 74.0817W",
        "4.6097 N, 74.0817 W",
        "N4.6097 W74.0817",
        "n 4.6097 w 74.0817",
        "74.0817W 4.6097N",  # hemisphere letters decide the order
        "-74.0817, 4.6097N",
        "4.6097N -74.0817",
        "+4.6097 −74.0817",  # Unicode minus from a word processor
    ],
)
def test_decimal_degrees(text: str) -> None:
    assert parse_coordinate(text) == ParsedCoordinate(4.6097, -74.0817, "dd", text)


@pytest.mark.parametrize(
    "text",
    [
        "4°36'35\"N 74°04'54\"W",
        "4°36'35\"N, 74°4'54\"W",
        "4°36′35″N 74°04′54″W",
        "4º36'35''N 74º04'54''W",
        "4 36 35 N, 74 4 54 W",
        "4 36 35 N 74 4 54 W",
        "N 4 36 35 W 74 4 54",
        "4°36'35\" -74°04'54\"",
        "4 36 35 -74 4 54",
        "4:36:35, -74:04:54",
        "4°36'35\"N 74°04'54\"O",  # oeste
    ],
)
def test_degrees_minutes_seconds(text: str) -> None:
    parsed = parse_coordinate(text)
    assert parsed.system == "dms"
    assert (parsed.lat, parsed.lon) == pytest.approx(BOGOTA_DMS, abs=1e-12)


@pytest.mark.parametrize("text", ["4°36.5'N 74°4.9'W", "4 36.5 N 74 4.9 W", "4 36.5, -74 4.9"])
def test_degrees_decimal_minutes(text: str) -> None:
    parsed = parse_coordinate(text)
    assert parsed.system == "dms"
    assert (parsed.lat, parsed.lon) == pytest.approx((4 + 36.5 / 60, -(74 + 4.9 / 60)))


def test_southern_and_negative_degrees_keep_sign_on_minutes() -> None:
    parsed = parse_coordinate("-0 30 0, -0 15 0")
    assert (parsed.lat, parsed.lon) == pytest.approx((-0.5, -0.25))
    assert parse_coordinate("8 30 S 13 15 E").lat == pytest.approx(-8.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4°99'N 74°04'W", "minutes must be under 60, not 99"),
        ("4°36'75\"N 74°04'54\"W", "seconds must be under 60"),
        ("4.5 30 N 74 4 W", "degrees must be whole when minutes follow"),
        ("95.2, 10", "latitude 95.2 is outside -90..90"),
        ("4.6, -190", "longitude -190.0 is outside -180..180"),
        ("4.6N 5.0S", "both halves are marked as latitudes"),
        ("-4.6S 74W", "a minus sign and the hemisphere letter 'S' contradict"),
        ("4,6097, -74,0817", "expected a latitude and a longitude"),
        ("4.6097", "expected a latitude and a longitude"),
        ("4 36 -74", "found 3 numbers"),
        ("4 -36 35 N 74 4 54 W", "only the degrees may carry a sign"),
        ("4°36'N 74'W", "out of place"),
        ("Bogota", "unexpected"),
        ("   ", "empty"),
    ],
)
def test_errors_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        parse_coordinate(text)


def test_coordinate_error_is_a_value_error() -> None:
    assert issubclass(CoordinateError, ValueError)


def test_unknown_hint_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown hint"):
        parse_coordinate("4.6, -74.1", hint="lonlat")


def _utm_reference(zone: int, south: bool, easting: float, northing: float) -> tuple[float, float]:
    epsg = (32700 if south else 32600) + zone
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(easting, northing)
    return lat, lon


@pytest.mark.parametrize(
    "text",
    ["18N 600000 500000", "18 N 600000E 500000N", "18N 500000N 600000E", "18n 600000, 500000"],
)
def test_utm_with_band_letter(text: str) -> None:
    parsed = parse_coordinate(text)
    assert parsed.system == "utm"
    assert (parsed.lat, parsed.lon) == pytest.approx(_utm_reference(18, False, 600000, 500000))


def test_utm_band_letters_choose_the_hemisphere() -> None:
    north = parse_coordinate("18P 600000 1000000")  # band P: 8..16N
    assert (north.lat, north.lon) == pytest.approx(_utm_reference(18, False, 600000, 1000000))
    south = parse_coordinate("33L 500000 8800000")  # band L: 16..8S (Angola)
    assert (south.lat, south.lon) == pytest.approx(_utm_reference(33, True, 500000, 8800000))
    assert south.lon == pytest.approx(15.0)  # the zone's central meridian


def test_utm_letter_s_is_band_s_unless_hinted() -> None:
    # "S" is band S (32..40N) by default: an Angolan northing read that way is refused
    # with advice, instead of silently landing in the Arctic.
    with pytest.raises(CoordinateError, match="band S covers latitudes 32..40.*utm-hemisphere"):
        parse_coordinate("33S 500000 8800000")
    hinted = parse_coordinate("33S 500000 8800000", hint="utm-hemisphere")
    assert (hinted.lat, hinted.lon) == pytest.approx(_utm_reference(33, True, 500000, 8800000))
    in_band_s = parse_coordinate("36S 500000 3700000")  # 33.4N, e.g. Syria
    assert in_band_s.lat == pytest.approx(_utm_reference(36, False, 500000, 3700000)[0])


def test_utm_letter_n_with_hint_is_the_northern_hemisphere() -> None:
    with pytest.raises(CoordinateError, match="band N covers latitudes 0..8"):
        parse_coordinate("38N 500000 4000000")  # 36N, e.g. northern Iraq
    hinted = parse_coordinate("38N 500000 4000000", hint="utm-hemisphere")
    assert hinted.lat == pytest.approx(_utm_reference(38, False, 500000, 4000000)[0])
    # Other band letters keep their meaning with the hint.
    assert parse_coordinate("18P 600000 1000000", hint="utm-hemisphere").lat > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("61N 600000 500000", "zone 61 is not in 1..60"),
        ("18I 600000 500000", "'I' is not a latitude band letter"),
        ("18N 950000 500000", "easting 950000 is outside"),
        ("18N 600000 12000000", "northing 1.2e\\+07 is over"),
        ("18N 600000E 500000E", "both numbers are marked E"),
        ("18S 600000 500000", "band S"),
        ("18S 600000 500000", "utm-hemisphere"),
    ],
)
def test_utm_errors(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        parse_coordinate(text)


def test_utm_southern_hemisphere_beyond_utm_range_is_refused() -> None:
    with pytest.raises(CoordinateError, match="outside the UTM range"):
        parse_coordinate("18S 600000 500000", hint="utm-hemisphere")


@pytest.mark.parametrize(
    "text", ["18NWL0000000000", "18N WL 00000 00000", "18nwl 00000 00000", "18NWL 0000000000"]
)
def test_mgrs(text: str) -> None:
    parsed = parse_coordinate(text)
    assert parsed.system == "mgrs"
    # The mgrs package returns the centre of the 1 m square: 0.5 m from zone 18's
    # central meridian (-75) and from northing 500 km.
    reference = _utm_reference(18, False, 500000.5, 500000.5)
    assert (parsed.lat, parsed.lon) == pytest.approx(reference, abs=1e-9)
    assert to_mgrs(parsed.lat, parsed.lon) == "18NWL0000000000"


def test_mgrs_lower_precision_is_the_centre_of_the_square() -> None:
    parsed = parse_coordinate("18NWL00")  # 10 km square
    assert (parsed.lat, parsed.lon) == pytest.approx(_utm_reference(18, False, 505000, 505000))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("18NWL000", "same number of digits"),
        ("18N WL 0000 00000", "same number of digits"),
        ("61NWL00", "zone 61"),
    ],
)
def test_mgrs_errors(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        parse_coordinate(text)


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (4.6097, -74.0817, (4.6097, -74.0817, "dd")),
        ("4.6097", "-74.0817", (4.6097, -74.0817, "dd")),
        ("4,6097", "-74,0817", (4.6097, -74.0817, "dd")),  # decimal comma
        (np.float64(4.6097), np.int64(-74), (4.6097, -74.0, "dd")),
        ("4.6097N", "74.0817W", (4.6097, -74.0817, "dd")),
        ("4°36'35\"N", "74 4 54 W", (*BOGOTA_DMS, "dms")),
        (" 4.6097 ", "W 74.0817", (4.6097, -74.0817, "dd")),
    ],
)
def test_lat_lon_pair(lat: object, lon: object, expected: tuple[float, float, str]) -> None:
    parsed = parse_lat_lon_pair(lat, lon)  # type: ignore[arg-type]
    assert (parsed.lat, parsed.lon) == pytest.approx(expected[:2])
    assert parsed.system == expected[2]
    assert parsed.original == f"{lat}, {lon}"


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        (None, -74.0, "latitude is missing"),
        (4.6, math.nan, "longitude is missing"),
        ("", -74.0, "latitude is missing"),
        (True, -74.0, "latitude is not a number"),
        ("1,234.5", -74.0, "expected a single value"),  # thousands separator: not a degree
        ("4.6097E", "74.0817W", "it has a lon hemisphere letter"),
        (95.2, -74.0, "latitude 95.2 is outside -90..90"),
        ("4.6", "abc", "cannot read 'abc' as a longitude"),
    ],
)
def test_lat_lon_pair_errors(lat: object, lon: object, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        parse_lat_lon_pair(lat, lon)  # type: ignore[arg-type]


def test_format_dms() -> None:
    assert format_dms(4.6097, -74.0817) == "4°36'34.9\"N 74°04'54.1\"W"
    assert format_dms(-8.5, 13.25) == "8°30'00.0\"S 13°15'00.0\"E"
    # 59.96" rounds to a whole minute rather than printing 60.0"
    assert format_dms(1 + 59.96 / 3600, 0) == "1°01'00.0\"N 0°00'00.0\"E"
    with pytest.raises(CoordinateError, match="latitude 91.0"):
        format_dms(91, 0)


@pytest.mark.parametrize("point", [(4.6097, -74.0817), (-33.8688, 151.2093), (64.1466, -21.9426)])
def test_format_dms_round_trips_within_a_tenth_of_a_second(point: tuple[float, float]) -> None:
    parsed = parse_coordinate(format_dms(*point))
    assert (parsed.lat, parsed.lon) == pytest.approx(point, abs=0.05 / 3600)


def test_to_utm() -> None:
    zone, hemisphere, easting, northing = to_utm(4.6097, -74.0817)
    assert (zone, hemisphere) == (18, "N")
    assert (easting, northing) == pytest.approx(
        Transformer.from_crs(4326, 32618, always_xy=True).transform(-74.0817, 4.6097)
    )
    back = parse_coordinate(f"{zone}N {easting:.3f} {northing:.3f}")
    assert (back.lat, back.lon) == pytest.approx((4.6097, -74.0817), abs=1e-8)
    assert to_utm(-8.8383, 13.2344)[:2] == (33, "S")


def test_to_utm_zone_exceptions_and_limits() -> None:
    assert to_utm(60.39, 5.32)[0] == 32  # Bergen, in the widened Norwegian zone
    assert to_utm(78.22, 15.65)[0] == 33  # Longyearbyen, Svalbard
    assert to_utm(0.0, 180.0)[0] == 60
    with pytest.raises(CoordinateError, match="UTM range"):
        to_utm(85.0, 0.0)


def test_to_mgrs_precision() -> None:
    assert to_mgrs(4.6097, -74.0817) == "18NXL0185909586"
    assert to_mgrs(4.6097, -74.0817, precision=2) == "18NXL0109"
    with pytest.raises(ValueError, match="precision"):
        to_mgrs(4.6, -74.0, precision=6)
