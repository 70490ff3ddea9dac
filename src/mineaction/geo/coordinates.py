# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and write point coordinates the way people write them in mine action records.

Field forms, spreadsheets and legacy IMSMA exports give locations as decimal degrees,
degrees-minutes-seconds, UTM or MGRS. parse_coordinate() turns any of those into WGS84
latitude/longitude and keeps the text as written, because docs/design.md asks that the user's
original entry be stored beside the coordinates.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import mgrs
from pyproj import Proj

from mineaction.geo import _degrees

CoordinateSystem = Literal["dd", "dms", "utm", "mgrs"]

# Latitude bands of UTM/MGRS, 8 degrees each from 80S; I and O are skipped (they look like
# digits) and X stretches to 84N.
_BANDS = "CDEFGHJKLMNPQRSTUVWX"
# Band letters a few tenths of a degree off their band are accepted: a point on a boundary
# may be written with either neighbour. Mixing up band S (32..40N) with "south" is off by
# 30 degrees or more, so this still catches it.
_BAND_TOLERANCE_DEG = 0.5

_UTM = re.compile(
    r"(?P<zone>\d{1,2})\s*(?P<letter>[A-Z])\s*[,;]?\s*"
    r"(?P<a>\d{4,}(?:\.\d+)?)\s*(?P<a_axis>[EN])?(?:\s*[,;]\s*|\s+|(?<=[EN]))"
    r"(?P<b>\d{4,}(?:\.\d+)?)\s*(?P<b_axis>[EN])?"
)
_MGRS = re.compile(
    r"(?P<zone>\d{1,2})\s*(?P<band>[C-HJ-NP-X])\s*(?P<square>[A-HJ-NP-Z]\s*[A-HJ-NP-V])"
    r"\s*(?P<e>\d*)\s*(?P<n>\d*)"
)


class CoordinateError(ValueError):
    """A coordinate could not be read, or does not lie on the globe."""


@dataclass(frozen=True, slots=True)
class ParsedCoordinate:
    """WGS84 latitude/longitude, the notation it was read from and the text as written."""

    lat: float
    lon: float
    system: CoordinateSystem
    original: str


def parse_coordinate(text: str, *, hint: str | None = None) -> ParsedCoordinate:
    """Read one point written as decimal degrees, DMS, UTM or MGRS.

    Decimal degrees and DMS are read latitude first unless hemisphere letters say otherwise
    ("74.08W 4.61N" is fine). Hemisphere letters may precede or follow each half; "O"
    (oeste/ouest) is read as west because Spanish and French forms write it. Degrees-minutes
    ("4 36.5 N") count as "dms". A decimal comma ("4,6") is not accepted here: it cannot be
    told from the separator between latitude and longitude; see parse_lat_lon_pair().

    UTM is "<zone><letter> <easting> <northing>", optionally with E/N after the numbers.
    The letter after the zone is read as a latitude band letter (C..M south of the
    equator, N..X north), as GPS receivers and MGRS write it. Some people write the
    hemisphere there instead, and "N" and "S" are valid band letters too: "18S" is band S
    (32..40N), not "south". Pass hint="utm-hemisphere" to read a lone N or S as the
    hemisphere. Without the hint, a northing that falls outside the band is refused with a
    message suggesting the hint, so a southern "S" is caught instead of landing thousands
    of kilometres north. Only a southern point at 50..58S written "S" without the hint
    still reads as a valid band S point: its northing falls inside band S.

    MGRS ("18NWL0000000000", "18N WL 00000 00000") is converted by the `mgrs` package,
    which returns the centre of the referenced square (a 1 m square at full precision).
    Polar UPS references are not supported.
    """
    if hint not in (None, "utm-hemisphere"):
        raise ValueError(f"unknown hint {hint!r}; expected None or 'utm-hemisphere'")
    if not isinstance(text, str) or not text.strip():
        raise CoordinateError("a coordinate is missing: the text is empty")
    cleaned = _degrees.normalise(text).upper()
    if cleaned[:1] in "([" and cleaned[-1:] in ")]":
        cleaned = cleaned[1:-1].strip()
    if match := _MGRS.fullmatch(cleaned):
        return _parse_mgrs(match, text)
    if match := _UTM.fullmatch(cleaned):
        return _parse_utm(match, text, hemisphere_letter=hint == "utm-hemisphere")
    try:
        first, second = _degrees.parse_pair(cleaned)
    except ValueError as exc:
        raise CoordinateError(f"cannot read {text!r} as a coordinate: {exc}") from None
    if first.axis == "lon" or second.axis == "lat":  # hemisphere letters put lon first
        first, second = second, first
    system: CoordinateSystem = "dd" if first.parts == second.parts == 1 else "dms"
    return _checked(first.value, second.value, system, text)


def parse_lat_lon_pair(lat: float | str | None, lon: float | str | None) -> ParsedCoordinate:
    """Read a latitude and a longitude given as two values (two columns of a table).

    Each value may be a number, or text in decimal degrees ("-74.08"), with a hemisphere
    letter ("74.08W") or in DMS ("74 4 54 W"). A decimal comma ("4,6097") is accepted only
    when the text has exactly one comma and no dot; "1,234" then means 1.234, the only
    reading that can be a coordinate.
    """
    lat_value, lat_parts = _single_value(lat, "latitude", "lat")
    lon_value, lon_parts = _single_value(lon, "longitude", "lon")
    system: CoordinateSystem = "dd" if lat_parts == lon_parts == 1 else "dms"
    return _checked(lat_value, lon_value, system, f"{lat}, {lon}")


def format_dms(lat: float, lon: float) -> str:
    """Write a point as degrees, minutes and seconds to a tenth of a second (about 3 m)."""
    _check_range(lat, lon)
    return f"{_dms(lat, 'N', 'S')} {_dms(lon, 'E', 'W')}"


def to_mgrs(lat: float, lon: float, precision: int = 5) -> str:
    """MGRS reference of a point; precision 5 is 1 m, 4 is 10 m ... 0 is the 100 km square."""
    if not 0 <= precision <= 5:
        raise ValueError(f"MGRS precision must be 0..5, not {precision}")
    _check_range(lat, lon)
    try:
        return str(mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=precision))
    except mgrs.MGRSError as exc:
        raise CoordinateError(f"cannot write ({lat}, {lon}) as MGRS: {exc}") from None


def to_utm(lat: float, lon: float) -> tuple[int, str, float, float]:
    """(zone, hemisphere "N"/"S", easting, northing) in the point's own UTM zone.

    Uses the standard zone including the Norway and Svalbard exceptions, like MGRS.
    """
    _check_range(lat, lon)
    if not -80.0 <= lat <= 84.0:
        raise CoordinateError(f"latitude {lat!r} is outside the UTM range -80..84")
    zone = _utm_zone(lat, lon)
    easting, northing = _utm_proj(zone, lat < 0)(lon, lat)
    return zone, ("S" if lat < 0 else "N"), float(easting), float(northing)


def _parse_mgrs(match: re.Match[str], text: str) -> ParsedCoordinate:
    east, north = match["e"], match["n"]
    digits = east + north
    if len(digits) % 2 or len(digits) > 10 or (north and len(east) != len(north)):
        raise CoordinateError(
            f"cannot read {text!r} as MGRS: easting and northing need the same number of "
            "digits, 0 to 5 each"
        )
    zone = int(match["zone"])
    if not 1 <= zone <= 60:
        raise CoordinateError(f"cannot read {text!r} as MGRS: zone {zone} is not in 1..60")
    reference = f"{zone:02d}{match['band']}{match['square'].replace(' ', '')}{digits}"
    try:
        lat, lon = mgrs.MGRS().toLatLon(reference)
    except mgrs.MGRSError as exc:
        raise CoordinateError(f"cannot read {text!r} as MGRS: {exc}") from None
    return _checked(lat, lon, "mgrs", text)


def _parse_utm(match: re.Match[str], text: str, *, hemisphere_letter: bool) -> ParsedCoordinate:
    zone, letter = int(match["zone"]), match["letter"]
    if not 1 <= zone <= 60:
        raise CoordinateError(f"cannot read {text!r} as UTM: zone {zone} is not in 1..60")
    band: str | None = None
    if hemisphere_letter and letter in "NS":
        south = letter == "S"
    elif letter in _BANDS:
        band, south = letter, letter < "N"
    else:
        raise CoordinateError(
            f"cannot read {text!r} as UTM: {letter!r} is not a latitude band letter "
            "(C..X without I and O)"
        )
    easting, northing = float(match["a"]), float(match["b"])
    axes = (match["a_axis"], match["b_axis"])
    if axes[0] == axes[1] and axes[0] is not None:
        raise CoordinateError(f"cannot read {text!r} as UTM: both numbers are marked {axes[0]}")
    if axes[0] == "N" or axes[1] == "E":  # written northing first
        easting, northing = northing, easting
    if not 100_000 <= easting <= 900_000:
        raise CoordinateError(
            f"cannot read {text!r} as UTM: easting {easting:g} is outside 100000..900000"
        )
    if northing > 10_000_000:
        raise CoordinateError(
            f"cannot read {text!r} as UTM: northing {northing:g} is over 10000000"
        )
    lon, lat = _utm_proj(zone, south)(easting, northing, inverse=True)
    if not -80.0 - _BAND_TOLERANCE_DEG <= lat <= 84.0 + _BAND_TOLERANCE_DEG:
        raise CoordinateError(
            f"cannot read {text!r} as UTM: the northing gives latitude "
            f"{lat:.2f}, outside the UTM range -80..84"
        )
    if band is not None:
        low = -80 + 8 * _BANDS.index(band)
        high = 84 if band == "X" else low + 8
        if not low - _BAND_TOLERANCE_DEG <= lat <= high + _BAND_TOLERANCE_DEG:
            advice = " (for the hemisphere, pass hint='utm-hemisphere')" if band in "NS" else ""
            raise CoordinateError(
                f"cannot read {text!r} as UTM: band {band} covers latitudes {low}..{high} "
                f"but the northing gives {lat:.2f}{advice}"
            )
    return _checked(lat, lon, "utm", text)


def _single_value(value: float | str | None, name: str, axis: str) -> tuple[float, int]:
    if value is None or isinstance(value, bool):
        raise CoordinateError(f"{name} is missing" if value is None else f"{name} is not a number")
    if not isinstance(value, str):
        number = float(value)
        if math.isnan(number):
            raise CoordinateError(f"{name} is missing")
        return number, 1
    text = _degrees.normalise(value).upper()
    if not text:
        raise CoordinateError(f"{name} is missing")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        part = _degrees.parse_single(text)
    except ValueError as exc:
        raise CoordinateError(f"cannot read {value!r} as a {name}: {exc}") from None
    if part.axis not in (None, axis):
        raise CoordinateError(
            f"cannot read {value!r} as a {name}: it has a {part.axis} hemisphere letter"
        )
    return part.value, part.parts


def _check_range(lat: float, lon: float) -> None:
    if not -90.0 <= lat <= 90.0:  # also refuses NaN
        raise CoordinateError(f"latitude {float(lat)!r} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise CoordinateError(f"longitude {float(lon)!r} is outside -180..180")


def _checked(lat: float, lon: float, system: CoordinateSystem, original: str) -> ParsedCoordinate:
    try:
        _check_range(lat, lon)
    except CoordinateError as exc:
        raise CoordinateError(f"{exc} (read from {original!r})") from None
    return ParsedCoordinate(float(lat), float(lon), system, original)


def _dms(value: float, positive: str, negative: str) -> str:
    # Round once, in tenths of a second, so 59.96" carries into the minutes instead of
    # printing as 60.0".
    tenths = round(abs(value) * 36_000)
    degrees, rest = divmod(tenths, 36_000)
    minutes, seconds = divmod(rest, 600)
    hemisphere = negative if value < 0 and tenths else positive
    return f"{degrees}°{minutes:02d}'{seconds / 10:04.1f}\"{hemisphere}"


def _utm_zone(lat: float, lon: float) -> int:
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        return 32  # south-west Norway is in a widened zone 32
    if 72.0 <= lat and 0.0 <= lon < 42.0:  # Svalbard: zones 31, 33, 35 and 37 only
        return 31 if lon < 9 else 33 if lon < 21 else 35 if lon < 33 else 37
    return min(int((lon + 180.0) // 6.0) + 1, 60)


@lru_cache(maxsize=128)
def _utm_proj(zone: int, south: bool) -> Proj:
    # A Proj from a string is ~40x cheaper to build than Transformer.from_crs, and a
    # Transformer (Proj's base class) is thread-safe since pyproj 3.1, so caching is safe.
    return Proj(f"+proj=utm +zone={zone}{' +south' if south else ''} +datum=WGS84 +units=m")
