# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading published figures from HXL-tagged CSV (issue 22): columns found by hashtag,
a file without hashtags read by header, and a bad file refused whole, naming the row, the
field and the problem."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mineaction.domain.claims import Claim
from mineaction.io.claims import ClaimFileError, parse_claims, read_claims, write_claims

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"

HEADER = ("as_of,as_of_precision,period_start,period_end,area,metric,value,unit,stated_by,"
          "reported_by,url,note")
TAGS = ("#date+reported,#x_precision,#date+start,#date+end,#adm0+name,#indicator+code,"
        "#indicator+value+num,#meta+unit,#org+source,#meta+publisher,#meta+url,#description")


def test_the_azerbaijan_file_reads_whole() -> None:
    claims = read_claims(AZERBAIJAN)
    assert len(claims) == 96
    first = claims[0]
    assert (first.metric, first.value, first.unit, first.as_of, first.period_start,
            first.stated_by, first.reported_by) == (
        "victims_killed", 14, "persons", date(2021, 2, 20), date(2020, 11, 10),
        "Prosecutor General's Office", "Meydan TV")
    stock = next(c for c in claims if c.metric == "area_suspected" and c.unit == "km2")
    assert stock.is_stock and stock.common_value == 1_166_700
    assert {c.as_of_precision for c in claims} == {"day", "month", "year"}


def test_columns_are_found_by_hashtag_not_by_header_name() -> None:
    """A translated header with its columns in another order reads the same."""
    text = ("dəyər,vahid,göstərici,tarix,ərazi,mənbə\n"
            "#indicator+num+value,#meta+unit,#indicator+code,#date+reported,#adm1+name,"
            "#org+source\n"
            "12,persons,victims_killed,2024-05-01,Aghdam,ANAMA\n")
    assert parse_claims(text) == [Claim(metric="victims_killed", value=12, unit="persons",
                                        as_of=date(2024, 5, 1), area="Aghdam",
                                        stated_by="ANAMA")]


def test_a_file_without_the_hashtag_row_is_read_by_header() -> None:
    with_tags = read_claims(AZERBAIJAN)
    lines = AZERBAIJAN.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("#")
    assert parse_claims(lines[0] + "".join(lines[2:])) == with_tags


def test_written_claims_read_back_the_same() -> None:
    claims = read_claims(AZERBAIJAN)
    assert parse_claims(write_claims(claims)) == claims


def test_a_month_without_day_is_read_with_month_precision() -> None:
    row = "2025-01,,2024-01-01,2024-12-31,Azerbaijan,victims_total,41,persons,PGO,,,"
    text = f"{HEADER}\n{TAGS}\n{row}\n"
    (claim,) = parse_claims(text)
    assert claim.as_of == date(2025, 1, 1) and claim.as_of_precision == "month"
    assert claim.as_of_window() == (date(2025, 1, 1), date(2025, 1, 31))


def test_bad_rows_refuse_the_file_naming_row_field_and_problem() -> None:
    good = "2024-01-26,day,,2024-01-26,Azerbaijan,victims_total,342,persons,PGO,Trend,,"
    text = "\n".join([
        HEADER, TAGS, good,
        "2024-13-01,day,,,Azerbaijan,victims_total,1,persons,PGO,,,",
        "2024-01-01,day,,,Azerbaijan,victims_drowned,1,persons,PGO,,,",
        "2024-01-01,day,,,Azerbaijan,victims_total,many,persons,PGO,,,",
        "2024-01-01,day,,,Azerbaijan,area_released,5,persons,PGO,,,",
        "2024-01-01,day,2024-06-01,2024-02-01,Azerbaijan,victims_total,5,persons,PGO,,,",
        "2024-01-01,day,,,Azerbaijan,victims_total,5,persons,,,,",
    ]) + "\n"
    with pytest.raises(ClaimFileError) as caught:
        parse_claims(text, "claims.csv")
    problems = {(p.row, p.field) for p in caught.value.problems}
    assert problems == {(4, "as_of"), (5, "metric"), (6, "value"), (7, "unit"),
                        (8, "period_start"), (9, "stated_by")}
    message = str(caught.value)
    assert message.startswith("claims.csv: 6 problem(s), nothing imported")
    assert "row 5, metric: unknown metric 'victims_drowned'" in message
    assert "row 7, unit: unit persons does not fit area_released" in message


def test_a_bad_reliability_code_is_refused() -> None:
    text = ("as_of,metric,value,unit,area,stated_by,reliability\n"
            "2024-01-01,victims_total,5,persons,Azerbaijan,PGO,B2\n"
            "2024-01-01,victims_total,6,persons,Azerbaijan,PGO,Z9\n")
    with pytest.raises(ClaimFileError, match="row 3, reliability: 'Z9' is no admiralty"):
        parse_claims(text)
    assert parse_claims(text.rsplit("\n", 2)[0] + "\n")[0].reliability == "B2"


def test_a_file_missing_a_required_column_is_refused() -> None:
    with pytest.raises(ClaimFileError, match="no column for value"):
        parse_claims("as_of,metric,unit,area,stated_by\n2024-01-01,victims_total,persons,A,B\n")


def test_the_issues_metric_names_are_read_as_the_vocabularys() -> None:
    (claim,) = parse_claims("as_of,metric,value,unit,area,stated_by\n"
                            "2024-01-01,risk_education_reach,13000,persons,Azerbaijan,ICRC\n")
    assert claim.metric == "risk_education_beneficiaries"


def test_the_key_is_the_claims_content() -> None:
    a = Claim(metric="victims_total", value=341, unit="persons", as_of=date(2023, 12, 6),
              area="Azerbaijan", stated_by="Presidential Administration", reported_by="Report.az")
    same = Claim(metric="victims_total", value=341.0, unit="persons", as_of=date(2023, 12, 6),
                 area="Azerbaijan", stated_by="Presidential Administration",
                 reported_by="Report.az", note="a note is no part of the identity")
    other = Claim(metric="victims_total", value=340, unit="persons", as_of=date(2023, 12, 6),
                  area="Azerbaijan", stated_by="Presidential Administration", reported_by="SIA.az")
    assert a.key == same.key != other.key
    assert len({c.key for c in read_claims(AZERBAIJAN)}) == 96


def test_a_file_that_is_not_csv_is_refused_naming_the_line() -> None:
    huge = "x" * 200_000  # beyond the csv module's field limit: no claim has such a cell
    text = f"as_of,metric,value,unit,area,stated_by\n2024-01-01,victims_total,3,persons,A,{huge}\n"
    with pytest.raises(ClaimFileError, match=r"row 2, file: not CSV: field larger than"):
        parse_claims(text, "huge.csv")


def test_a_line_break_inside_quotes_stays_in_its_cell() -> None:
    text = ('as_of,metric,value,unit,area,stated_by,note\n'
            '2024-01-01,victims_total,3,persons,Azerbaijan,PGO,"two\nlines"\n')
    assert parse_claims(text)[0].note == "two\nlines"
