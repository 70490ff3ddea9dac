"""Record codes (issue 21, 5): how a code is written from a kind, a number, a P-code and
the store's country, and read back from what a user types."""

from __future__ import annotations

import pytest

from mineaction.domain.codes import PREFIXES, parse_code, record_code
from mineaction.domain.registry import REGISTRY


@pytest.mark.parametrize(("pcode", "country", "code"), [
    ("05790", "CO", "HAZ-CO-05-000123"),  # Colombia's DANE: department first, no letters
    ("05", "CO", "HAZ-CO-05-000123"),
    ("AZ01", None, "HAZ-AZ-01-000123"),  # OCHA P-codes name their country
    ("UA0102003", "CO", "HAZ-UA-01-000123"),  # ... which wins over the store's
    ("ua0102003", None, "HAZ-UA-01-000123"),
    ("COL05", "CO", "HAZ-CO-05-000123"),  # three letters: not an alpha-2, the store's
    (None, "CO", "HAZ-CO-000123"),
    ("", None, "HAZ-000123"),
    (None, None, "HAZ-000123"),
])
def test_a_code_names_kind_country_first_level_area_and_number(
        pcode: str | None, country: str | None, code: str) -> None:
    assert record_code("hazard", 123, pcode, country) == code


def test_numbers_beyond_six_digits_are_written_in_full() -> None:
    assert record_code("accident", 1_234_567, "05001", "CO") == "ACC-CO-05-1234567"


def test_reference_data_has_no_code() -> None:
    assert record_code("admin_area", 1) is None
    assert record_code("source", 1) is None


def test_every_prefix_names_a_kind_once() -> None:
    assert set(PREFIXES) <= set(REGISTRY)
    assert len(set(PREFIXES.values())) == len(PREFIXES)


@pytest.mark.parametrize(("typed", "found"), [
    ("HAZ-CO-05-000123", ("hazard", 123)),
    ("  haz-co-05-000123 ", ("hazard", 123)),
    ("HAZ-CO-08-000123", ("hazard", 123)),  # an older middle still finds the record
    ("HAZ-123", ("hazard", 123)),
    ("EORE-AZ-01-000007", ("risk_education", 7)),
    ("VIC-CO-000042", ("victim", 42)),
    ("ACC-UA-01-1234567", ("accident", 1234567)),
])
def test_typed_codes_are_read_back(typed: str, found: tuple[str, int]) -> None:
    assert parse_code(typed) == found


@pytest.mark.parametrize("typed", [
    "Granada", "HAZ", "HAZ-", "XYZ-CO-05-000123", "HAZ-CO-05-12a", "HAZ CO 05 000123",
    "HAZ-CO-05-000123; DROP TABLE hazards", "-000123", "HAZ--000123", "",
])
def test_other_text_is_not_a_code(typed: str) -> None:
    assert parse_code(typed) is None


@pytest.mark.parametrize("kind", sorted(PREFIXES))
def test_a_written_code_reads_back_as_its_kind_and_number(kind: str) -> None:
    for pcode, country in (("05790", "CO"), ("AZ0102", None), (None, None)):
        code = record_code(kind, 98765, pcode, country)
        assert code is not None and parse_code(code) == (kind, 98765)
