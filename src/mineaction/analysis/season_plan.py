# SPDX-License-Identifier: GPL-3.0-or-later
"""A season's clearance plan (issue 20): which team clears which prioritised hazard, in
what order and when, within the season's working days and the budget.

Two steps, each simple enough to check by hand:

1. Assignment, a mixed-integer programme solved by CBC through PuLP: x[t, h] = 1 when
   team t clears hazard h (whole hazards; each at most once). It maximises the released
   area weighted by priority, sum of x[t, h] * weight[h] * area[h], where weight[h] is
   1 for the first-ranked hazard down to 1/n for the last, so a large low-priority
   hazard does not crowd out a smaller urgent one without paying for it in area. Each
   assignment costs the team its clearance days (area / productivity) plus a round trip
   from its base to the hazard; a team's days fit its working days in the season and the
   team-days times each team's day rate fit the budget.
2. Sequencing, per team: the highest-priority hazard first, then always the nearest one
   left (nearest neighbour). The round trip charged in step 1 bounds what any order of
   visits travels (triangle inequality: the leg h_i -> h_j is at most h_i -> base ->
   h_j), so the sequenced plan always fits the days and the budget the programme kept.

Travel is the geodesic distance at the team's speed over its working hours: straight
lines, not roads, so it is a floor on real travel that the round trip's margin absorbs.

Re-planning (`replan`) keeps what is done and in progress as reported, and re-optimises
the rest from the report's date with the days and budget left.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mineaction.geo.geodesic import geodesic_distance_m

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PlanError(ValueError):
    """Teams, a calendar or progress that cannot be planned with; the message says why."""


@dataclass(frozen=True)
class Team:
    name: str
    productivity_m2_day: float
    cost_per_day: float
    lon: float
    lat: float
    speed_km_h: float = 30.0
    hours_per_day: float = 8.0

    def __post_init__(self) -> None:
        for label, v in (("productivity_m2_day", self.productivity_m2_day),
                         ("speed_km_h", self.speed_km_h),
                         ("hours_per_day", self.hours_per_day)):
            if not math.isfinite(v) or v <= 0:
                raise PlanError(f"team {self.name}: {label} must be > 0, not {v}")
        if not math.isfinite(self.cost_per_day) or self.cost_per_day < 0:
            raise PlanError(f"team {self.name}: cost_per_day must be >= 0")
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise PlanError(f"team {self.name}: base must be lon -180..180, lat -90..90")

    def travel_days(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        km = geodesic_distance_m(a[0], a[1], b[0], b[1]) / 1000.0
        return km / (self.speed_km_h * self.hours_per_day)

    def work_days(self, area_m2: float) -> float:
        return area_m2 / self.productivity_m2_day


@dataclass(frozen=True)
class Task:
    hazard_id: str
    name: str
    lon: float
    lat: float
    area_m2: float
    rank: int
    weight: float  # 1 for the first-ranked hazard, down to 1/n


@dataclass(frozen=True)
class Calendar:
    start: date
    end: date
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PlanError(f"the season ends ({self.end}) before it starts ({self.start})")
        if not self.workdays:
            raise PlanError("no working day in the week")

    def days(self, since: date | None = None) -> list[date]:
        """The working days of the season, from `since` when given."""
        d, out = max(self.start, since or self.start), []
        while d <= self.end:
            if d.weekday() in self.workdays and d not in self.holidays:
                out.append(d)
            d += timedelta(days=1)
        return out


def parse_workdays(text: str) -> frozenset[int]:
    """'mon-fri', 'sun-thu' or 'mon,tue,wed' as weekday numbers (Monday = 0)."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        if a[:3] not in DAY_NAMES or (b and b[:3] not in DAY_NAMES):
            raise PlanError(f"working days {text!r}: use day names, e.g. mon-fri or sun-thu")
        i, j = DAY_NAMES.index(a[:3]), DAY_NAMES.index((b or a)[:3])
        out.update((i + k) % 7 for k in range((j - i) % 7 + 1))
    return frozenset(out)


@dataclass(frozen=True)
class Progress:
    hazard_id: str
    status: str  # done | in_progress | not_started
    cleared_m2: float | None = None
    days_worked: float | None = None


@dataclass
class Scheduled:
    hazard_id: str
    name: str
    team: str
    order: int
    status: str  # planned | in_progress | done
    area_m2: float
    rank: int
    travel_days: float
    work_days: float
    start_day: float  # working days from the season's start
    end_day: float
    start_date: str
    end_date: str
    cost: float
    lon: float
    lat: float


@dataclass
class Plan:
    start: date
    end: date
    working_days: int
    budget: float | None
    status: str  # the solver's
    objective: float
    tasks: list[Scheduled] = field(default_factory=list)
    unassigned: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    as_of: date | None = None
    workdays: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    holidays: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        return {"area_m2": round(sum(t.area_m2 for t in self.tasks), 1),
                "cost": round(sum(t.cost for t in self.tasks), 2),
                "tasks": len(self.tasks), "unassigned": len(self.unassigned)}

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "working_days": self.working_days, "budget": self.budget,
                "status": self.status, "objective": round(self.objective, 6),
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "workdays": self.workdays, "holidays": self.holidays,
                "totals": self.totals(), "teams": self.teams,
                "tasks": [asdict(t) for t in self.tasks], "unassigned": self.unassigned}


def priority_weights(n: int) -> list[float]:
    """Weight of ranks 1..n: 1, (n-1)/n, ..., 1/n."""
    return [(n - r) / n for r in range(n)] if n else []


def _solve(tasks: Sequence[Task], teams: Sequence[Team], capacity: Mapping[str, float],
           origin: Mapping[str, tuple[float, float]], budget: float | None,
           time_limit_s: int) -> tuple[dict[str, str], str, float]:
    """hazard id -> team name, the solver's status, the objective."""
    import pulp

    prob = pulp.LpProblem("season_plan", pulp.LpMaximize)
    charge = {(t.name, h.hazard_id): t.work_days(h.area_m2)
              + 2.0 * t.travel_days(origin[t.name], (h.lon, h.lat))
              for t in teams for h in tasks}
    pairs = [(t, h) for t in teams for h in tasks
             if charge[t.name, h.hazard_id] <= capacity[t.name] + 1e-9]
    x = {(t.name, h.hazard_id): prob.add_variable(f"x_{i}", cat="Binary")
         for i, (t, h) in enumerate(pairs)}
    if not x:
        return {}, "Optimal", 0.0
    max_cost = max(charge[k] * next(t.cost_per_day for t in teams if t.name == k[0])
                   for k in x) or 1.0
    # Released area by priority; a tiny cost term picks the cheaper of equal plans
    # (bounded far below one m² of weighted area).
    prob += pulp.lpSum(x[t.name, h.hazard_id] * (h.weight * h.area_m2
                       - 1e-6 * charge[t.name, h.hazard_id] * t.cost_per_day / max_cost)
                       for t, h in pairs)
    for i, h in enumerate(tasks):
        mine = [x[t.name, h.hazard_id] for t in teams if (t.name, h.hazard_id) in x]
        if mine:
            prob += pulp.lpSum(mine) <= 1, f"once_{i}"
    for j, t in enumerate(teams):
        mine_t = [(x[t.name, h.hazard_id], charge[t.name, h.hazard_id]) for h in tasks
                  if (t.name, h.hazard_id) in x]
        if mine_t:
            prob += pulp.lpSum(v * c for v, c in mine_t) <= capacity[t.name], f"days_{j}"
    if budget is not None:
        prob += pulp.lpSum(x[t.name, h.hazard_id] * charge[t.name, h.hazard_id]
                           * t.cost_per_day for t, h in pairs) <= budget, "budget"
    prob.solve(_cbc(time_limit_s))
    status = pulp.LpStatus[prob.status]
    chosen = {h: t for (t, h), v in x.items() if (v.value() or 0) > 0.5}
    objective = sum(next(k.weight * k.area_m2 for k in tasks if k.hazard_id == h)
                    for h in chosen)
    return chosen, status, objective


def _cbc(time_limit_s: int) -> Any:
    """CBC through COIN_CMD: PuLP 3.3 deprecates PULP_CBC_CMD (gone in 4.0); the binary is
    the one the PuLP wheel ships, unless a `cbc` is on PATH."""
    import shutil

    from pulp import COIN_CMD
    from pulp.apis.coin_api import pulp_cbc_path

    return COIN_CMD(path=shutil.which("cbc") or pulp_cbc_path, msg=False,
                    timeLimit=time_limit_s)


def _date_of(days: Sequence[date], offset: float, *, end: bool) -> str:
    """The calendar date of a point `offset` working days into `days`."""
    if not days:
        return ""
    i = math.ceil(offset - 1e-9) - 1 if end else math.floor(offset + 1e-9)
    return days[min(max(i, 0), len(days) - 1)].isoformat()


def _sequence(team: Team, tasks: list[Task], here: tuple[float, float], cursor: float,
              days: Sequence[date], first_order: int) -> list[Scheduled]:
    out: list[Scheduled] = []
    left = sorted(tasks, key=lambda k: k.rank)
    order = first_order
    while left:
        if not out:
            nxt = left[0]  # the highest priority first
        else:
            nxt = min(left, key=lambda k: (team.travel_days(here, (k.lon, k.lat)), k.rank))
        left.remove(nxt)
        travel = team.travel_days(here, (nxt.lon, nxt.lat))
        work = team.work_days(nxt.area_m2)
        start = cursor + travel
        end = start + work
        order += 1
        out.append(Scheduled(nxt.hazard_id, nxt.name, team.name, order, "planned",
                             nxt.area_m2, nxt.rank, round(travel, 4), round(work, 4),
                             round(start, 4), round(end, 4), _date_of(days, start, end=False),
                             _date_of(days, end, end=True),
                             round((travel + work) * team.cost_per_day, 2), nxt.lon, nxt.lat))
        here, cursor = (nxt.lon, nxt.lat), end
    return out


def _check(tasks: Sequence[Task], teams: Sequence[Team]) -> None:
    if not teams:
        raise PlanError("no teams to plan with")
    names = [t.name for t in teams]
    if len(set(names)) != len(names):
        raise PlanError("two teams have the same name")


def plan(tasks: Sequence[Task], teams: Sequence[Team], calendar: Calendar,
         budget: float | None = None, *, time_limit_s: int = 60) -> Plan:
    """The season's plan: assignment (MILP, CBC) then a nearest-neighbour order."""
    _check(tasks, teams)
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise PlanError("the budget must be a number >= 0")
    days = calendar.days()
    capacity = {t.name: float(len(days)) for t in teams}
    origin = {t.name: (t.lon, t.lat) for t in teams}
    return _plan(tasks, teams, calendar, days, capacity, origin, {t.name: 0.0 for t in teams},
                 budget, budget, [], time_limit_s, None)


def _plan(tasks: Sequence[Task], teams: Sequence[Team], calendar: Calendar,
          days: Sequence[date], capacity: Mapping[str, float],
          origin: Mapping[str, tuple[float, float]], cursor: Mapping[str, float],
          budget: float | None, budget_left: float | None, kept: list[Scheduled],
          time_limit_s: int, as_of: date | None) -> Plan:
    all_days = calendar.days()
    plannable = [h for h in tasks if h.area_m2 > 0]
    chosen, status, objective = _solve(plannable, teams, capacity, origin, budget_left,
                                       time_limit_s)
    scheduled = list(kept)
    for t in teams:
        mine = [h for h in plannable if chosen.get(h.hazard_id) == t.name]
        first = max((s.order for s in kept if s.team == t.name), default=0)
        scheduled.extend(_sequence(t, mine, origin[t.name], cursor[t.name], all_days, first))
    unassigned = [{"hazard_id": h.hazard_id, "name": h.name, "rank": h.rank,
                   "area_m2": h.area_m2,
                   "reason": "no area to clear recorded" if h.area_m2 <= 0 else
                   "does not fit the days or budget left"}
                  for h in tasks if h.hazard_id not in chosen]
    team_rows = []
    for t in teams:
        mine_s = [s for s in scheduled if s.team == t.name]
        team_rows.append({**asdict(t), "tasks": len(mine_s),
                          "days_used": round(max((s.end_day for s in mine_s), default=0.0), 3),
                          "cost": round(sum(s.cost for s in mine_s), 2)})
    return Plan(calendar.start, calendar.end, len(all_days), budget, status, objective,
                sorted(scheduled, key=lambda s: (s.team, s.order)), unassigned, team_rows,
                as_of, sorted(calendar.workdays),
                sorted(d.isoformat() for d in calendar.holidays))


def replan(previous: Mapping[str, Any], progress: Iterable[Progress], as_of: date,
           tasks: Sequence[Task], teams: Sequence[Team], calendar: Calendar, *,
           time_limit_s: int = 60) -> Plan:
    """Re-plan from `as_of`: done tasks stay as reported, in-progress tasks stay with their
    team (the area left first, from `as_of`), and the rest is re-optimised over the
    working days and the budget left. `previous` is a Plan's to_json()."""
    _check(tasks, teams)
    report = {p.hazard_id: p for p in progress}
    planned = {str(t["hazard_id"]): t for t in previous.get("tasks", [])}
    unknown = [h for h in report if h not in planned]
    if unknown:
        raise PlanError(f"progress for hazards the plan did not assign: {', '.join(unknown)}")
    by_name = {t.name: t for t in teams}
    all_days = calendar.days()
    left_days = calendar.days(as_of)
    offset = float(len(all_days) - len(left_days))  # working days already gone
    budget = previous.get("budget")
    spent = 0.0
    kept: list[Scheduled] = []
    here = {t.name: (t.lon, t.lat) for t in teams}
    cursor = {t.name: offset for t in teams}
    for hid, row in sorted(planned.items(), key=lambda kv: (kv[1]["team"], kv[1]["order"])):
        p = report.get(hid)
        if p is None or p.status == "not_started":
            continue
        team = by_name.get(str(row["team"]))
        if team is None:
            raise PlanError(f"hazard {hid} was planned for team {row['team']}, not among "
                            "the teams given")
        if p.status == "done":
            worked = p.days_worked if p.days_worked is not None else float(row["work_days"])
            spent += worked * team.cost_per_day
            kept.append(Scheduled(**{**row, "status": "done",
                                     "cost": round(worked * team.cost_per_day, 2)}))
            here[team.name] = (float(row["lon"]), float(row["lat"]))
        elif p.status == "in_progress":
            worked = p.days_worked or 0.0
            spent += worked * team.cost_per_day
            area_left = max(float(row["area_m2"]) - (p.cleared_m2 or 0.0), 0.0)
            work = team.work_days(area_left)
            start, end = cursor[team.name], cursor[team.name] + work
            kept.append(Scheduled(**{
                **row, "status": "in_progress", "travel_days": 0.0,
                "work_days": round(work, 4), "start_day": round(start, 4),
                "end_day": round(end, 4), "start_date": as_of.isoformat(),
                "end_date": _date_of(all_days, end, end=True),
                "cost": round((worked + work) * team.cost_per_day, 2)}))
            here[team.name] = (float(row["lon"]), float(row["lat"]))
            cursor[team.name] = end
            spent += work * team.cost_per_day  # committed: the team finishes it
        else:
            raise PlanError(f"hazard {hid}: status {p.status!r}; use done, in_progress or "
                            "not_started")
    capacity = {t.name: max(float(len(all_days)) - cursor[t.name], 0.0) for t in teams}
    fixed = {s.hazard_id for s in kept}
    rest = [h for h in tasks if h.hazard_id not in fixed]
    budget_left = None if budget is None else max(float(budget) - spent, 0.0)
    return _plan(rest, teams, calendar, all_days, capacity, here, cursor,
                 None if budget is None else float(budget), budget_left, kept, time_limit_s,
                 as_of)


# -- pictures ------------------------------------------------------------------------------
def _colours(names: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def _save(fig: Any, path: Path | None, fmt: str) -> bytes:
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=120)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def _fmt(path: Path | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".") if path is not None else ""
    return suffix if suffix in ("png", "svg", "pdf") else "png"


def gantt_chart(plan_json: Mapping[str, Any], path: Path | None = None,
                fmt: str | None = None) -> bytes:
    """A Gantt chart of the plan: a row per team, a bar per hazard (travel hatched),
    dated by the season's working days. PNG, SVG or PDF by `path`'s suffix or `fmt`."""
    from matplotlib.figure import Figure

    start, end = date.fromisoformat(plan_json["start"]), date.fromisoformat(plan_json["end"])
    teams = [str(t["name"]) for t in plan_json.get("teams", [])]
    colours = _colours(teams)
    fig = Figure(figsize=(10, 1.2 + 0.6 * max(len(teams), 1)))
    ax = fig.add_subplot()
    # Bars are drawn in working days; the axis is labelled with their dates.
    days = Calendar(start, end, frozenset(plan_json.get("workdays") or range(5)),
                    frozenset(date.fromisoformat(d) for d in plan_json.get("holidays", []))
                    ).days()
    for row, team in enumerate(teams):
        for t in (t for t in plan_json["tasks"] if t["team"] == team):
            travel = float(t["travel_days"])
            ax.barh(row, travel, left=float(t["start_day"]) - travel, color="white",
                    edgecolor=colours[team], hatch="///", height=0.6)
            ax.barh(row, float(t["end_day"]) - float(t["start_day"]),
                    left=float(t["start_day"]), height=0.6, color=colours[team],
                    alpha=0.45 if t["status"] == "done" else 0.9, edgecolor="black")
            ax.text(float(t["start_day"]), row, f" {t['name'] or t['hazard_id'][:8]}",
                    va="center", fontsize=7)
    ax.set_yticks(range(len(teams)), teams)
    ax.invert_yaxis()
    n = max(len(days), 1)
    ticks = list(range(0, n, max(n // 8, 1)))
    ax.set_xticks(ticks, [days[i].isoformat() if i < len(days) else "" for i in ticks],
                  rotation=30, ha="right", fontsize=8)
    ax.set_xlim(0, n)
    ax.set_xlabel("working days of the season (hatched: travel)")
    if plan_json.get("as_of"):
        cut = sum(1 for d in days if d < date.fromisoformat(plan_json["as_of"]))
        ax.axvline(cut, color="red", linestyle="--", linewidth=1)
    ax.set_title(f"Season plan {start} to {end}")
    return _save(fig, path, _fmt(path, fmt))


def plan_map(plan_json: Mapping[str, Any], geometries: Mapping[str, Any] | None = None,
             path: Path | None = None, fmt: str | None = None) -> bytes:
    """A map of the plan: hazards coloured by team (grey: not assigned), each team's
    route from its base in order. `geometries` maps hazard ids to shapely geometries
    (points are drawn where absent)."""
    from matplotlib.figure import Figure

    teams = [str(t["name"]) for t in plan_json.get("teams", [])]
    colours = _colours(teams)
    fig = Figure(figsize=(8, 8))
    ax = fig.add_subplot()
    geometries = geometries or {}

    def draw(hid: str, lon: float, lat: float, colour: Any) -> None:
        g = geometries.get(hid)
        if g is not None and g.geom_type in ("Polygon", "MultiPolygon"):
            for part in getattr(g, "geoms", [g]):
                x, y = part.exterior.xy
                ax.fill(x, y, color=colour, alpha=0.6, edgecolor="black", linewidth=0.5)
        else:
            ax.plot([lon], [lat], "o", color=colour, markersize=6)

    for t in plan_json.get("teams", []):
        mine = sorted((s for s in plan_json["tasks"] if s["team"] == t["name"]),
                      key=lambda s: s["order"])
        xs = [float(t["lon"])] + [float(s["lon"]) for s in mine]
        ys = [float(t["lat"])] + [float(s["lat"]) for s in mine]
        ax.plot(xs, ys, "-", color=colours[t["name"]], linewidth=1, alpha=0.7)
        ax.plot([float(t["lon"])], [float(t["lat"])], "s", color=colours[t["name"]],
                markersize=8, label=f"{t['name']} ({len(mine)})")
        for s in mine:
            draw(s["hazard_id"], float(s["lon"]), float(s["lat"]), colours[t["name"]])
    for u in plan_json.get("unassigned", []):
        g = geometries.get(u["hazard_id"])
        if g is not None:
            p = g.representative_point()
            draw(u["hazard_id"], p.x, p.y, "lightgrey")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="best", fontsize=8, title="team (hazards)")
    ax.set_title("Hazards by team (grey: not in this season's plan)")
    return _save(fig, path, _fmt(path, fmt))
