# SPDX-License-Identifier: GPL-3.0-or-later
"""Consistency checks of published figures (issue 22): each check on small hand-made
sets that disagree (a finding naming the claims) and that agree (silence), and the
Azerbaijan file's known disagreements."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mineaction.analysis import claims_check as cc
from mineaction.domain.claims import Claim
from mineaction.io.claims import read_claims

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"
CEASEFIRE = date(2020, 11, 10)


def claim(metric: str, value: float, as_of: str, *, start: date | None = CEASEFIRE,
          end: str | None = None, by: str = "PGO", via: str | None = "Trend",
          precision: str = "day", area: str = "Azerbaijan", unit: str = "persons",
          url: str | None = None) -> Claim:
    return Claim(metric=metric, value=value, unit=unit, as_of=date.fromisoformat(as_of),
                 area=area, stated_by=by, reported_by=via,
                 as_of_precision=precision,  # type: ignore[arg-type]
                 period_start=start, period_end=date.fromisoformat(end) if end else None,
                 url=url or f"https://example.org/{via}/{as_of}")


def values(finding: cc.Finding) -> list[float]:
    return [c.value for c in finding.claims]


# -- periods ------------------------------------------------------------------------------
def _periods(third: float, *, c2_as_of: str = "2025-01-15", precision: str = "month"
             ) -> list[Claim]:
    return [claim("victims_total", 342, "2024-01-26"),
            claim("victims_total", 41, "2025-01-15", start=date(2024, 1, 1), end="2024-12-31",
                  precision="month", via="MENAFN"),
            claim("victims_total", third, c2_as_of, precision=precision, via="MENAFN")]


def test_periods_flags_a_cumulative_plus_a_period_that_misses_the_next_cumulative() -> None:
    (finding,) = cc.check_periods(_periods(382))
    assert finding.check == "periods" and values(finding) == [342, 41, 382]
    assert finding.expected == 383
    assert "342 to 2024-01-26 (PGO via Trend) + 41 2024-01-01 to 2024-12-31" in finding.message
    assert "= 383, but 382 to 2025-01 (PGO via MENAFN)" in finding.message


def test_periods_is_silent_when_they_add_up() -> None:
    assert cc.check_periods(_periods(383)) == []


def test_periods_needs_the_next_cumulative_to_end_where_the_period_ends() -> None:
    """382 stated in June 2025 counts five more months: no sum to compare."""
    assert cc.check_periods(_periods(382, c2_as_of="2025-06-15", precision="day")) == []


def test_periods_matches_a_month_precision_end_to_the_month() -> None:
    """342 "to date" on 2024-01-26 meets a period starting 2024-01-01 only with a slack of
    26 days; 382 stated in January 2025 (month only) may end any day of January, so it
    meets a period ending on 2024-12-31 with a day's slack."""
    claims = _periods(382)
    assert len(cc.check_periods(claims, slack_days=1)) == 0  # 342 ends 26 days later
    assert len(cc.check_periods(claims, slack_days=26)) == 1


def test_periods_compares_the_figures_stated_alike_only() -> None:
    """An infographic to 2023-12-06 (340) is within the slack of the 2024 period too, but
    342 "by January 2024" is stated as 382 "by January 2025" is: only that pair is
    compared; with 342 gone, the infographic's is."""
    early = claim("victims_total", 340, "2023-12-06", via="SIA.az")
    found = cc.check_periods([early, *_periods(382)])
    assert [values(f) for f in found] == [[342, 41, 382]]
    assert [values(f) for f in cc.check_periods([early, *_periods(382)[1:]])] == \
        [[340, 41, 382]]


def test_periods_on_the_azerbaijan_file_names_each_mismatch_once() -> None:
    found = cc.check_periods(read_claims(AZERBAIJAN))
    assert sorted((f.claims[0].metric, *values(f)) for f in found) == [
        ("victims_injured", 277, 32, 308), ("victims_injured", 277, 36, 312),
        ("victims_total", 342, 36, 377), ("victims_total", 342, 41, 382)]


# -- components ---------------------------------------------------------------------------
def _statement(total: float, killed: float = 65, injured: float = 288) -> list[Claim]:
    return [claim("victims_total", total, "2024-04-12", url="https://trend.az/1"),
            claim("victims_killed", killed, "2024-04-12", url="https://trend.az/1"),
            claim("victims_injured", injured, "2024-04-12", url="https://trend.az/1")]


def test_components_flags_parts_that_do_not_make_the_total() -> None:
    (finding,) = cc.check_components(_statement(351))
    assert values(finding) == [65, 288, 351] and finding.expected == 353
    assert "65 victims_killed + 288 victims_injured = 353, but victims_total is 351" \
        in finding.message


def test_components_is_silent_when_parts_make_the_total() -> None:
    assert cc.check_components(_statement(353)) == []


def test_components_compares_civilian_and_military_with_killed() -> None:
    parts = [claim("victims_killed", 14, "2021-02-20"),
             claim("victims_killed_civilian", 9, "2021-02-20"),
             claim("victims_killed_military", 6, "2021-02-20")]
    (finding,) = cc.check_components(parts)
    assert values(finding) == [9, 6, 14]
    assert cc.check_components([*parts[:2], claim("victims_killed_military", 5,
                                                  "2021-02-20")]) == []


def test_components_does_not_mix_statements() -> None:
    """Killed from one outlet and injured from another are not one statement's parts."""
    mixed = [claim("victims_total", 351, "2024-04-12", url="https://a"),
             claim("victims_killed", 65, "2024-04-12", url="https://a"),
             claim("victims_injured", 288, "2024-04-12", via="Report.az", url="https://b")]
    assert cc.check_components(mixed) == []


# -- one statement ------------------------------------------------------------------------
def _infographic(*totals: float) -> list[Claim]:
    outlets = ("Report.az", "SIA.az", "AzVision")
    return [claim("victims_total", v, "2023-12-06", by="Presidential Administration", via=o)
            for v, o in zip(totals, outlets, strict=False)]


def test_one_statement_reported_with_different_values_is_flagged() -> None:
    (finding,) = cc.check_one_statement(_infographic(341, 340, 334))
    assert sorted(values(finding)) == [334, 340, 341]
    assert "reported as 341 by Report.az, 340 by SIA.az, 334 by AzVision" in finding.message
    assert {c.url for c in finding.claims} == {c.url for c in _infographic(341, 340, 334)}


def test_one_statement_reported_alike_is_silent() -> None:
    assert cc.check_one_statement(_infographic(341, 341, 341)) == []


def test_one_statement_takes_the_dates_precision() -> None:
    """A month-precision report of a statement matches the same statement's day."""
    day = claim("victims_total", 382, "2025-01-15")
    month = claim("victims_total", 380, "2025-01-01", precision="month", via="MENAFN")
    other_month = claim("victims_total", 380, "2025-02-01", precision="month", via="MENAFN")
    assert len(cc.check_one_statement([day, month])) == 1
    assert cc.check_one_statement([day, other_month]) == []


# -- falling ------------------------------------------------------------------------------
def test_a_cumulative_figure_that_falls_is_flagged_naming_the_publishers() -> None:
    first = claim("victims_total", 301, "2023-04-29", by="civil society")
    later = claim("victims_total", 299, "2023-05-12", by="ACBL")
    (finding,) = cc.check_falling([first, later])
    assert values(finding) == [301, 299]
    assert finding.detail["publishers"] == ["ACBL via Trend", "civil society via Trend"]
    assert "299 to 2023-05-12 (ACBL via Trend) is below the earlier 301" in finding.message


def test_a_rising_cumulative_figure_is_silent() -> None:
    assert cc.check_falling([claim("victims_total", 301, "2023-04-29"),
                             claim("victims_total", 301, "2023-05-12"),
                             claim("victims_total", 314, "2023-09-19")]) == []


def test_falling_compares_areas_in_a_common_unit() -> None:
    ha = claim("area_released", 180_000, "2025-04-15", by="ANAMA", unit="ha")
    km2 = claim("area_released", 1_400, "2025-10-15", by="ANAMA", unit="km2")
    (finding,) = cc.check_falling([ha, km2])
    assert "1,400 km2" in finding.message
    assert cc.check_falling([ha, claim("area_released", 1_900, "2025-10-15", by="ANAMA",
                                       unit="km2")]) == []


def test_stocks_may_fall() -> None:
    """Suspected area shrinks as land is released: no finding."""
    assert cc.check_falling([
        claim("area_suspected", 1_167_000, "2024-10-16", start=None, unit="ha"),
        claim("area_suspected", 1_100_000, "2025-10-16", start=None, unit="ha")]) == []


# -- publishers ---------------------------------------------------------------------------
def test_publishers_disagreeing_beyond_the_tolerance_are_flagged() -> None:
    a = claim("victims_total", 200, "2021-12-15", by="President")
    b = claim("victims_total", 180, "2021-12-15", by="Trend", via="MENAFN")
    (finding,) = cc.check_publishers([a, b], tolerance=0.05)
    assert values(finding) == [200, 180] and finding.detail["relative_difference"] == 0.1
    assert cc.check_publishers([a, b], tolerance=0.15) == []


def test_publishers_within_the_tolerance_or_on_other_days_are_silent() -> None:
    a = claim("victims_total", 200, "2021-12-15", by="President")
    assert cc.check_publishers([a, claim("victims_total", 197, "2021-12-15", by="Trend")]) \
        == []
    assert cc.check_publishers([a, claim("victims_total", 150, "2021-12-14", by="Trend")]) \
        == []


# -- records ------------------------------------------------------------------------------
def test_claims_against_the_records_count() -> None:
    asked: list[tuple[Any, ...]] = []

    def count(area: str, start: date | None, end: date) -> dict[str, int | None] | None:
        asked.append((area, start, end))
        return {"casualties": 40, "killed": 5, "injured": 35} if area == "Azerbaijan" \
            else None

    claims = [claim("victims_total", 41, "2025-01-15", start=date(2024, 1, 1),
                    end="2024-12-31", precision="month"),
              claim("victims_killed", 5, "2025-01-15", start=date(2024, 1, 1),
                    end="2024-12-31", precision="month"),
              claim("victims_total", 41, "2025-01-15", start=date(2024, 1, 1),
                    end="2024-12-31", area="Nowhere"),
              claim("area_released", 5, "2025-01-15", unit="ha")]
    (finding,) = cc.check_records(claims, count, tolerance=0.0)
    assert values(finding) == [41] and finding.expected == 40
    assert asked[0] == ("Azerbaijan", date(2024, 1, 1), date(2024, 12, 31))
    assert cc.check_records(claims, count, tolerance=0.05) == []


# -- the Azerbaijan file ------------------------------------------------------------------
@pytest.fixture(scope="module")
def azerbaijan() -> list[cc.Finding]:
    return cc.check_all(read_claims(AZERBAIJAN))


def _found(findings: list[cc.Finding], check: str, *wanted: float) -> cc.Finding:
    hits = [f for f in findings if f.check == check and values(f) == list(wanted)]
    assert hits, f"no {check} finding of {wanted}"
    return hits[0]


def test_azerbaijan_342_plus_41_is_not_382(azerbaijan: list[cc.Finding]) -> None:
    finding = _found(azerbaijan, "periods", 342, 41, 382)
    assert {c.stated_by for c in finding.claims} == {"Prosecutor General's Office"}
    _found(azerbaijan, "periods", 277, 36, 312)


def test_azerbaijan_65_killed_288_injured_is_not_351(azerbaijan: list[cc.Finding]) -> None:
    finding = _found(azerbaijan, "components", 65, 288, 351)
    assert {c.as_of for c in finding.claims} == {date(2024, 4, 12)}


def test_azerbaijan_infographic_341_340_334(azerbaijan: list[cc.Finding]) -> None:
    (finding,) = [f for f in azerbaijan if f.check == "one_statement"
                  and f.claims[0].metric == "victims_total"]
    assert sorted(values(finding)) == [334, 340, 341]
    assert {c.reported_by for c in finding.claims} == {"Report.az", "SIA.az", "AzVision"}


def test_azerbaijan_301_then_299(azerbaijan: list[cc.Finding]) -> None:
    finding = _found(azerbaijan, "falling", 301, 299)
    assert [c.as_of for c in finding.claims] == [date(2023, 4, 29), date(2023, 5, 12)]


def test_azerbaijan_180000_ha_then_140000(azerbaijan: list[cc.Finding]) -> None:
    finding = next(f for f in azerbaijan if f.check == "falling"
                   and f.claims[-1].metric == "area_released")
    assert values(finding)[-1] == 140_000 and 180_000 in values(finding)
    assert "ANAMA via Caliber.az" in finding.detail["publishers"]


def test_azerbaijan_findings_name_their_claims(azerbaijan: list[cc.Finding]) -> None:
    keys = {c.key for c in read_claims(AZERBAIJAN)}
    for finding in azerbaijan:
        data = finding.as_dict()
        assert data["claims"] and all(c["key"] in keys and c["url"] for c in data["claims"])
    # what agrees stays silent: killed 65 (to January 2024) + 5 (2024) = 70 (to January 2025)
    assert not [f for f in azerbaijan if f.check == "periods"
                and f.claims[0].metric == "victims_killed"]
