"""Land-release statistics on the SYNTHETIC fixture (tests/analysis/landrelease_fixture.py),
on both stores. Expected figures are computed here from the fixture's records in Python,
not from our SQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from mineaction.analysis import landrelease as lr
from mineaction.store import Store

RECORDS: dict = {}
ACTS: dict = {}
HAZARDS: dict = {}
ORGS: dict = {}


@pytest.fixture(autouse=True, scope="module")
def _records(landrelease_records: dict) -> None:
    """The fixture's records (same seed, same values; ids differ from the stored ones,
    which these tests never compare)."""
    RECORDS.update(landrelease_records)
    ACTS.update({a.id: a for a in RECORDS["activity"]})
    HAZARDS.update({h.id: h for h in RECORDS["hazard"]})
    ORGS.update({o.id: o for o in RECORDS["organisation"]})


def test_released_area_by_year_and_method(landrelease: Store) -> None:
    expected: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in RECORDS["released_part"]:
        expected[str(p.release_date.year)][p.method.value] += p.area_m2
    rows = lr.released_area(landrelease, ["year"])
    assert [r["year"] for r in rows] == sorted(expected)
    for r in rows:
        for method in ("cancelled", "reduced", "cleared"):
            assert r[f"{method}_m2"] == pytest.approx(expected[r["year"]][method], rel=1e-9)
        assert r["total_m2"] == pytest.approx(sum(expected[r["year"]].values()), rel=1e-9)


def test_released_area_by_organisation_and_admin_area(landrelease: Store) -> None:
    by_org: dict[str, float] = defaultdict(float)
    by_dep: dict[str, float] = defaultdict(float)
    for p in RECORDS["released_part"]:
        act = ACTS[p.activity_id]
        by_org[ORGS[act.organisation_id].acronym] += p.area_m2
        by_dep[HAZARDS[act.hazard_id].admin_area_pcode[:2]] += p.area_m2
    got = {r["organisation"]: r["total_m2"]
           for r in lr.released_area(landrelease, ["organisation"])}
    assert got == pytest.approx(dict(by_org))
    got = {r["admin-area"]: r["total_m2"]
           for r in lr.released_area(landrelease, ["admin-area"], admin_level=1)}
    assert got == pytest.approx(dict(by_dep))
    caqueta = lr.released_area(landrelease, [], admin_area="18")[0]["total_m2"]
    assert caqueta == pytest.approx(by_dep["18"])


def test_remaining_area_over_time(landrelease: Store) -> None:
    when = date(2019, 12, 31)
    released: dict[object, float] = defaultdict(float)
    for p in RECORDS["released_part"]:
        if p.release_date <= when:
            released[ACTS[p.activity_id].hazard_id] += p.area_m2
    open_now = [h for h in RECORDS["hazard"] if h.date_reported <= when
                and (h.date_closed is None or h.date_closed > when)]
    expected = sum(max(h.area_m2 - released[h.id], 0.0) for h in open_now)
    rows = lr.remaining_area(landrelease, [date(2016, 12, 31), when, date(2022, 12, 31)])
    assert rows[0] == {"date": "2016-12-31", "open_hazards": 0, "remaining_m2": 0.0}
    assert rows[1]["open_hazards"] == len(open_now)
    assert rows[1]["remaining_m2"] == pytest.approx(expected)
    # At the end only the never-cleared third remains, less what survey released.
    still_open = [h for h in RECORDS["hazard"] if h.date_closed is None]
    assert rows[2]["open_hazards"] == len(still_open) == 8


def test_finds_found_and_destroyed(landrelease: Store) -> None:
    found: dict[str, int] = defaultdict(int)
    destroyed: dict[str, int] = defaultdict(int)
    for f in RECORDS["find"]:
        found[f.device_category.value] += f.quantity
        if f.disposal.value in lr.DESTROYED:
            destroyed[f.device_category.value] += f.quantity
    rows = {r["device"]: r for r in lr.finds(landrelease, ["device"])}
    assert {k: r["found"] for k, r in rows.items()} == dict(found)
    assert {k: r["destroyed"] for k, r in rows.items()} == {k: destroyed[k] for k in found}
    groups = {r["device-group"] for r in lr.finds(landrelease, ["device-group"])}
    assert groups == {"antipersonnel_mine", "other_erw"}


def test_clearance_efficiency(landrelease: Store) -> None:
    cleared = {p.activity_id: p.area_m2 for p in RECORDS["released_part"]
               if p.method.value == "cleared"}
    items: dict[object, int] = defaultdict(int)
    for f in RECORDS["find"]:
        items[f.activity_id] += f.quantity
    total_m2 = sum(cleared.values())
    empty_m2 = sum(m2 for a, m2 in cleared.items() if items[a] == 0)
    got = lr.clearance_efficiency(landrelease)
    assert got["clearance_activities"] == len(cleared) == 16
    assert got["cleared_m2"] == pytest.approx(total_m2)
    assert got["items_found"] == sum(items.values())
    assert got["items_per_ha"] == pytest.approx(sum(items.values()) / (total_m2 / 1e4), abs=1e-3)
    assert got["pct_cleared_nothing_found"] == round(100 * empty_m2 / total_m2, 1)


def test_hazards_opened_closed_and_open(landrelease: Store) -> None:
    rows = {r["year"]: r for r in lr.hazards_opened_closed(landrelease)}
    for year in rows:
        assert rows[year]["opened"] == sum(
            1 for h in RECORDS["hazard"] if str(h.date_reported.year) == year)
        assert rows[year]["closed"] == sum(
            1 for h in RECORDS["hazard"] if h.date_closed and str(h.date_closed.year) == year)
    summary = lr.open_hazards(landrelease)
    still_open = [h for h in RECORDS["hazard"] if h.hazard_status.value in ("open", "worked_on")]
    assert summary["hazards"] == len(still_open)
    assert summary["area_m2"] == pytest.approx(sum(h.area_m2 for h in still_open))
    uxo = next(d for d in summary["by_contamination"] if d["device"] == "uxo")
    assert uxo["hazards"] == sum(1 for h in still_open if "uxo" in h.contamination)


def test_risk_education_by_sex_and_age(landrelease: Store) -> None:
    rows = lr.risk_education(landrelease, ["year"])
    sessions = RECORDS["risk_education"]
    assert sum(r["sessions"] for r in rows) == len(sessions)
    assert sum(r["girls"] for r in rows) == sum(s.girls for s in sessions)
    assert sum(r["female"] for r in rows) == sum(s.girls + s.women for s in sessions)
    assert sum(r["beneficiaries"] for r in rows) == sum(s.beneficiaries for s in sessions)
    by_org = lr.risk_education(landrelease, ["organisation"])
    assert {r["organisation"] for r in by_org} == {"DNGO", "HDB", "CLTD"}


def test_drafts_do_not_count(landrelease: Store) -> None:
    assert lr.released_area(landrelease, ["year"], statuses=("draft",)) == []
