# SPDX-License-Identifier: GPL-3.0-or-later
"""A new release against the current records (issue 17): small frames whose answer is known."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mineaction.linkage.release import match_release


def victims(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "accident_date": ["2006-01-01", "2006-03-01", "2007-05-01", "2008-09-01"],
        "date_precision": ["month"] * 4,
        "admin_area_pcode": ["05313", "05001", "18410", "50590"],
        "sex": ["male", "female", "male", "male"],
        "outcome": ["injured", "killed", "injured", "injured"],
        "role": ["civilian", "civilian", "security_forces", "civilian"],
        "activity": ["agriculture", "playing", "military_duty", "travelling"],
        "age_band": ["adult", "child", "adult", "adult"],
        "accident_kind": ["mine", "erw", "mine", "mine"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def current() -> pd.DataFrame:
    return victims().assign(id=["a", "b", "c", "d"])


def release(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(row=range(10, 10 + len(frame)))


def statuses(result: object) -> dict[int, tuple[str, object]]:
    rows = result.rows  # type: ignore[attr-defined]
    return {r: (s, i) for r, s, i in zip(rows["row"], rows["status"], rows["id"], strict=True)}


def test_reformatted_rows_are_unchanged_and_keep_their_ids() -> None:
    # Codes without their leading zero, mid-month dates of month-precision dates, other case.
    incoming = release(victims(
        admin_area_pcode=[5313, 5001, 18410, 50590],
        accident_date=["2006-01-15", "2006-03-31", "2007-05-02", "2008-09-30"],
        sex=["Male", "FEMALE", "male", " male "]))
    result = match_release(current(), incoming, "victim")
    assert statuses(result) == {10: ("unchanged", "a"), 11: ("unchanged", "b"),
                                12: ("unchanged", "c"), 13: ("unchanged", "d")}
    assert result.missing_ids == []
    assert result.counts() == {"unchanged": 4, "changed": 0, "review": 0, "new": 0,
                               "no_longer_present": 0}


def test_a_corrected_age_band_is_changed_with_that_field_and_keeps_the_id() -> None:
    incoming = release(victims(age_band=["adult", "adult", "adult", "adult"]))
    result = match_release(current(), incoming, "victim")
    row = result.rows.set_index("row").loc[11]
    assert (row["status"], row["id"]) == ("changed", "b")
    assert row["changed_fields"] == ("age_band",)
    assert result.counts()["unchanged"] == 3 and result.missing_ids == []


def test_new_rows_and_rows_no_longer_present() -> None:
    incoming = release(pd.concat([victims().iloc[[0, 1, 2]], victims(
        admin_area_pcode=["91001"] * 4, accident_date=["2019-01-01"] * 4).iloc[[0]]],
        ignore_index=True))
    result = match_release(current(), incoming, "victim")
    assert statuses(result)[13] == ("new", None)
    assert result.missing_ids == ["d"]


def test_a_pair_between_the_thresholds_goes_to_review_and_is_neither_lost_nor_new() -> None:
    # Three fields differ: the same place and month, but not clearly the same person.
    incoming = release(victims(outcome=["injured", "killed", "injured", "killed"],
                               role=["civilian", "civilian", "security_forces", "deminer"],
                               activity=["agriculture", "playing", "military_duty",
                                         "demining"]))
    result = match_release(current(), incoming, "victim", upper=0.999, lower=0.5)
    row = result.rows.set_index("row").loc[13]
    assert row["status"] == "review" and row["id"] == "d"
    assert 0.5 <= row["probability"] < 0.999
    assert set(row["changed_fields"]) == {"outcome", "role", "activity"}
    assert "d" not in result.missing_ids  # kept until a person decides
    assert result.counts()["new"] == 0


def test_one_to_one_with_duplicate_identical_rows() -> None:
    # Two identical victims stored, three identical rows incoming: two unchanged, one new.
    twins = victims().iloc[[0, 0]].assign(id=["t1", "t2"])
    incoming = release(victims().iloc[[0, 0, 0]])
    result = match_release(twins, incoming, "victim")
    counts = result.counts()
    assert (counts["unchanged"], counts["new"], counts["no_longer_present"]) == (2, 1, 0)
    matched = result.rows[result.rows["status"] == "unchanged"]["id"]
    assert sorted(matched) == ["t1", "t2"]


def test_each_current_record_is_taken_by_at_most_one_row() -> None:
    # Two incoming rows each one field away from the one stored record: only one takes it.
    stored = current().iloc[[0]]
    incoming = release(victims().iloc[[0, 0]].assign(outcome=["killed", "killed"],
                                                    sex=["male", "female"]))
    result = match_release(stored, incoming, "victim", lower=0.0)
    taken = result.rows[result.rows["status"] != "new"]
    assert list(taken["id"]) == ["a"]


def test_model_json_round_trips_and_gives_the_same_predictions() -> None:
    incoming = release(victims(age_band=["adult", "adult", "adult", "child"],
                               outcome=["injured", "killed", "killed", "injured"]))
    first = match_release(current(), incoming, "victim")
    saved = json.loads(json.dumps(first.model))
    again = match_release(current(), incoming, "victim", model=saved)
    pd.testing.assert_frame_equal(first.rows, again.rows)
    assert again.model["splink"]["comparisons"] == first.model["splink"]["comparisons"]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        match_release(current(), release(victims()), "victim", upper=0.5, lower=0.9)
