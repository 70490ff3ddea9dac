# SPDX-License-Identifier: GPL-3.0-or-later
"""Magnetic declination from the World Magnetic Model (WMM), for magnetic bearings of records.

A minefield record's compass bearings point to magnetic north as it was on the day the field
was laid, so the declination must come from the model valid for the record's date, not
today's: WMM2020 for 2020-2024 (the Azerbaijan handovers), WMM2025 from 2025. pygeomag
(MIT) is a port of NOAA's reference C code and ships the official coefficient files; it
reproduces NOAA's published test values to 0.005 degrees (tests/geo/test_magnetic.py).
"""

from __future__ import annotations

import datetime
import functools
import math
import threading

from pygeomag import GeoMag, decimal_year_from_date

# (first decimal year, coefficient file shipped by pygeomag, model name). Each model is
# valid for five years from its epoch; WMM2015v2 is the out-of-cycle 2019 revision that
# replaced WMM2015 for its last year, so it covers 2015-2019 records better than WMM2015.
_MODELS = (
    (2015.0, "wmm/WMM_2015v2.COF", "WMM2015v2"),
    (2020.0, "wmm/WMM_2020.COF", "WMM2020"),
    (2025.0, "wmm/WMM_2025.COF", "WMM2025"),
)
_LIFE_SPAN_YEARS = 5.0
# pygeomag loads its coefficient file on first use; the lock keeps two threads from loading
# the same instance at once (calculate itself keeps its working arrays in locals).
_LOAD_LOCK = threading.Lock()


class DeclinationError(ValueError):
    """No World Magnetic Model covers the date, or the position is not a position."""


def wmm_model_for(when: datetime.date | float) -> str:
    """Name of the model used for a date (or decimal year): 'WMM2020', 'WMM2025', ..."""
    return _model_row(_decimal_year(when))[2]


def declination_deg(
    lat: float, lon: float, when: datetime.date | float, height_km: float = 0.0
) -> float:
    """Declination in degrees, positive east (magnetic north east of true north).

    A true bearing is the magnetic bearing plus the declination. `when` is a date or a
    decimal year (2022.5); `height_km` is above the WGS84 ellipsoid (the WMM's own input;
    a minefield's few hundred metres of height change the declination by far less than
    0.01 degrees, so 0 is the default). Dates outside 2015-2029 raise DeclinationError:
    the WMM is not valid there (older records need IGRF or the declination printed on the
    record, which the traverse accepts directly).
    """
    if not (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0):
        raise DeclinationError(f"not a position: lat {lat}, lon {lon}")
    year = _decimal_year(when)
    _, path, _ = _model_row(year)
    result = _geomag(path).calculate(glat=lat, glon=lon, alt=height_km, time=year)
    return float(result.d)


def _decimal_year(when: datetime.date | float) -> float:
    if isinstance(when, datetime.date):
        return float(decimal_year_from_date(when))
    return float(when)


def _model_row(year: float) -> tuple[float, str, str]:
    for row in reversed(_MODELS):
        if row[0] <= year < row[0] + _LIFE_SPAN_YEARS:
            return row
    first, last = _MODELS[0][0], _MODELS[-1][0] + _LIFE_SPAN_YEARS
    raise DeclinationError(
        f"no World Magnetic Model covers {year:.2f} (models cover {first:.0f}-{last:.0f}); "
        "enter the declination stated on the record instead"
    )


@functools.cache
def _geomag(path: str) -> GeoMag:
    model = GeoMag(coefficients_file=path)
    with _LOAD_LOCK:
        _ = model.life_span  # loads the coefficients now, not inside a concurrent call
    return model
