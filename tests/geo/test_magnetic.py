# SPDX-License-Identifier: GPL-3.0-or-later
"""Declination against the World Magnetic Model's published test values (issue 18)."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest

from mineaction.geo.magnetic import DeclinationError, declination_deg, wmm_model_for

DATA = Path(__file__).parent / "data"
TOLERANCE_DEG = 0.01  # the bar; NOAA prints declinations to 0.01 degree


def _rows(name: str) -> list[list[float]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [
        [float(field) for field in line.split()]
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]


# (file, sha256, number of rows, column of the declination, 0-based)
TABLES = [
    (
        "WMM2020_TEST_VALUES.txt",
        "601405c865760df35d754aeb9cae97cab655865f5d8ab88a3773bb2889315910",
        100,
        4,
    ),
    (
        "WMM2025_TEST_VALUES.txt",
        "ae289c94e2200e4deeae2dfdedf543a8a0e93096512b30d6a754199731f570d0",
        12,
        10,
    ),
]


@pytest.mark.parametrize(("name", "sha256", "count", "column"), TABLES)
def test_declination_equals_the_wmm_test_values(
    name: str, sha256: str, count: int, column: int
) -> None:
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == sha256
    rows = _rows(name)
    assert len(rows) == count
    errors = []
    for year, height_km, lat, lon, *fields in rows:
        expected = fields[column - 4]
        # The model is chosen by the date alone, as for a record.
        assert wmm_model_for(year) == name.split("_")[0]
        errors.append(abs(declination_deg(lat, lon, year, height_km) - expected))
    assert max(errors) <= TOLERANCE_DEG, max(errors)


def test_the_model_follows_the_records_date() -> None:
    assert wmm_model_for(datetime.date(2020, 11, 10)) == "WMM2020"  # Azerbaijan handovers
    assert wmm_model_for(datetime.date(2024, 12, 31)) == "WMM2020"
    assert wmm_model_for(datetime.date(2025, 1, 1)) == "WMM2025"
    assert wmm_model_for(datetime.date(2018, 6, 1)) == "WMM2015v2"


def test_declination_changes_with_the_date() -> None:
    # Aghdam district, Azerbaijan: about 6.3-6.4 degrees east, growing slowly.
    before = declination_deg(40.0, 46.9, datetime.date(2021, 1, 1))
    after = declination_deg(40.0, 46.9, datetime.date(2026, 1, 1))
    assert 6.0 < before < after < 8.0


@pytest.mark.parametrize("year", [1994.5, 2030.0, 2040.0])
def test_dates_no_model_covers_are_refused(year: float) -> None:
    with pytest.raises(DeclinationError, match="declination stated on the record"):
        declination_deg(40.0, 46.9, year)


def test_a_latitude_beyond_the_pole_is_refused() -> None:
    with pytest.raises(DeclinationError):
        declination_deg(91.0, 0.0, 2022.0)
