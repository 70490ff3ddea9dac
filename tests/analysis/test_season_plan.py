"""Season plans (issue 20, analysis/season_plan.py): an instance small enough to solve by
hand, the budget and the calendar respected, travel bounded, re-planning that keeps
finished and started work, and the Gantt chart and map drawn."""

from __future__ import annotations

from datetime import date

import pytest

from mineaction.analysis import season_plan as sp

# Monday 11 to Friday 22 January 2027: ten working days, Monday to Friday.
SEASON = sp.Calendar(date(2027, 1, 11), date(2027, 1, 22))
TEAM = sp.Team("T", productivity_m2_day=1000, cost_per_day=100, lon=0.0, lat=0.0)


def _tasks() -> list[sp.Task]:
    # At the team's base: no travel. 6, 5 and 4 days of work; weights 1, 2/3, 1/3.
    w = sp.priority_weights(3)
    return [sp.Task("h1", "H1", 0.0, 0.0, 6000, 1, w[0]),
            sp.Task("h2", "H2", 0.0, 0.0, 5000, 2, w[1]),
            sp.Task("h3", "H3", 0.0, 0.0, 4000, 3, w[2])]


def _ids(plan: sp.Plan) -> list[str]:
    return [t.hazard_id for t in plan.tasks]


def test_the_optimum_found_by_hand() -> None:
    """Ten days: {H1, H3} takes 10 days and releases 6000 * 1 + 4000 / 3 = 7333.3 m²
    weighted; {H1, H2} takes 11 (too many); {H2, H3} 9 days, 3333.3 + 1333.3; {H1}
    alone 6000. So H1 then H3."""
    assert sp.priority_weights(3) == pytest.approx([1, 2 / 3, 1 / 3])
    plan = sp.plan(_tasks(), [TEAM], SEASON)
    assert plan.status == "Optimal"
    assert plan.working_days == 10
    assert _ids(plan) == ["h1", "h3"]
    assert plan.objective == pytest.approx(6000 + 4000 / 3)
    h1, h3 = plan.tasks
    assert (h1.start_date, h1.end_date) == ("2027-01-11", "2027-01-18")  # 6 working days
    assert (h3.start_date, h3.end_date) == ("2027-01-19", "2027-01-22")
    assert [u["hazard_id"] for u in plan.unassigned] == ["h2"]
    assert plan.totals()["cost"] == pytest.approx(1000.0)


def test_the_budget_is_respected() -> None:
    """900 buys nine team-days: {H1, H3} (10 days) no longer fits; {H1} alone (6000)
    beats {H2, H3} (4666.7)."""
    plan = sp.plan(_tasks(), [TEAM], SEASON, budget=900)
    assert _ids(plan) == ["h1"]
    assert plan.totals()["cost"] <= 900


def test_the_calendar_is_respected() -> None:
    # A holiday and a Sunday-to-Thursday week leave fewer days.
    holiday = sp.Calendar(SEASON.start, SEASON.end, holidays=frozenset({date(2027, 1, 12)}))
    assert len(holiday.days()) == 9
    plan = sp.plan(_tasks(), [TEAM], holiday)
    assert _ids(plan) == ["h1"]
    assert all(t.end_day <= 9 for t in plan.tasks)
    assert all(date.fromisoformat(t.end_date) <= SEASON.end for t in plan.tasks)
    sun_thu = sp.parse_workdays("sun-thu")
    assert sun_thu == frozenset({6, 0, 1, 2, 3})
    assert sp.parse_workdays("mon-fri") == frozenset(range(5))
    with pytest.raises(sp.PlanError):
        sp.parse_workdays("weekdays")


def test_travel_is_charged_and_never_overruns() -> None:
    # Hazards 20 km east: 20 km at 30 km/h over 8 h is 1/12 of a day each way.
    far = [sp.Task(t.hazard_id, t.name, 0.18, 0.0, t.area_m2, t.rank, t.weight)
           for t in _tasks()]
    plan = sp.plan(far, [TEAM], SEASON)
    # 6 + 4 days of work and two round trips no longer fit ten days: the programme
    # takes H1 and... neither H2 (5) nor H3 (4 + 2/12 > 4) fits beside it.
    assert _ids(plan) == ["h1"]
    first = plan.tasks[0]
    assert first.travel_days == pytest.approx(0.0832, abs=1e-3)
    for t in plan.tasks:
        assert t.end_day <= plan.working_days


def test_two_teams_share_the_work() -> None:
    b = sp.Team("B", productivity_m2_day=500, cost_per_day=50, lon=0.0, lat=0.0)
    plan = sp.plan(_tasks(), [TEAM, b], SEASON)
    assert sorted(_ids(plan)) == ["h1", "h2", "h3"]
    for team in ("T", "B"):
        mine = [t for t in plan.tasks if t.team == team]
        assert sum(t.work_days + t.travel_days for t in mine) <= 10 + 1e-6


def test_replan_keeps_finished_work_and_reoptimises_the_rest() -> None:
    """H1 finished early (4 days, by Friday 15th): six days are left, room for one of
    H2 (5 days) and H3 (4); H2 weighs more, so H2 replaces H3."""
    plan = sp.plan(_tasks(), [TEAM], SEASON)
    progress = [sp.Progress("h1", "done", days_worked=4)]
    new = sp.replan(plan.to_json(), progress, date(2027, 1, 15), _tasks(), [TEAM], SEASON)
    by_id = {t.hazard_id: t for t in new.tasks}
    assert by_id["h1"].status == "done"
    assert by_id["h1"].start_date == "2027-01-11"  # kept as it was
    assert by_id["h2"].status == "planned"
    assert by_id["h2"].start_date == "2027-01-15"
    assert "h3" not in by_id
    assert new.as_of == date(2027, 1, 15)


def test_replan_keeps_work_in_progress_with_its_team() -> None:
    """H1 late: half done by Monday 18th (five days gone), 3 days left of it; two days
    remain after that, too few for H3."""
    plan = sp.plan(_tasks(), [TEAM], SEASON)
    progress = [sp.Progress("h1", "in_progress", cleared_m2=3000, days_worked=5)]
    new = sp.replan(plan.to_json(), progress, date(2027, 1, 18), _tasks(), [TEAM], SEASON)
    assert _ids(new) == ["h1"]
    h1 = new.tasks[0]
    assert h1.status == "in_progress" and h1.team == "T"
    assert h1.work_days == pytest.approx(3.0)
    assert (h1.start_date, h1.end_date) == ("2027-01-18", "2027-01-20")
    assert h1.cost == pytest.approx(800.0)


def test_replan_refuses_progress_on_hazards_it_did_not_plan() -> None:
    plan = sp.plan(_tasks(), [TEAM], SEASON)
    with pytest.raises(sp.PlanError, match="did not assign"):
        sp.replan(plan.to_json(), [sp.Progress("h2", "done")], date(2027, 1, 15), _tasks(),
                  [TEAM], SEASON)


def test_gantt_and_map_are_drawn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = sp.plan(_tasks(), [TEAM], SEASON).to_json()
    png = sp.gantt_chart(plan, tmp_path / "g.png")
    assert png.startswith(b"\x89PNG") and (tmp_path / "g.png").read_bytes() == png
    svg = sp.gantt_chart(plan, tmp_path / "g.svg")
    assert b"<svg" in svg
    assert sp.plan_map(plan, None, tmp_path / "m.png").startswith(b"\x89PNG")


def test_bad_teams_and_seasons_are_refused() -> None:
    with pytest.raises(sp.PlanError, match="productivity"):
        sp.Team("X", 0, 10, 0, 0)
    with pytest.raises(sp.PlanError, match="before it starts"):
        sp.Calendar(date(2027, 2, 1), date(2027, 1, 1))
    with pytest.raises(sp.PlanError, match="same name"):
        sp.plan(_tasks(), [TEAM, TEAM], SEASON)
