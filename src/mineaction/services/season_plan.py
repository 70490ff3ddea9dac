# SPDX-License-Identifier: GPL-3.0-or-later
"""Season plans (issue 20): teams assigned to the hazards of a saved priority list within
the season's working days and budget (analysis/season_plan.py: an assignment MILP solved
by CBC, then a nearest-neighbour order per team), kept with their inputs, re-planned from
reported progress, drawn as a Gantt chart and a map.

Who: as for priority lists (services/priorities.py): making and re-planning a plan is for
approvers and administrators, reading it for anyone signed in, the public none. A plan is
made from the hazards of the list its maker may see; each plan saved is audited.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mineaction.access.roles import Principal
from mineaction.analysis import season_plan as sp
from mineaction.services.errors import Invalid
from mineaction.services.priorities import Priorities, _signed_in, saved_content
from mineaction.store.base import WriteEvent
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, Timestamp

SEASON_PLANS = sa.Table(
    "season_plans",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("priority_list_id", sa.Text, nullable=False),
    sa.Column("replans", sa.Text),  # the plan this one re-plans
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("created_by", sa.Text),
    sa.Column("content", sa.Text, nullable=False),  # JSON: inputs and the plan
    sqlite_autoincrement=True,
    info={"unlisted": True},
)
TEAM_COLUMNS = ("team", "productivity_m2_day", "cost_per_day", "base_lon", "base_lat")
PROGRESS_STATUSES = ("done", "in_progress", "not_started")


def _num(row: Mapping[str, str], name: str, where: str, default: float | None = None
         ) -> float:
    text = (row.get(name) or "").strip()
    if not text:
        if default is not None:
            return default
        raise Invalid(f"{where}: {name} is empty")
    try:
        v = float(text)
    except ValueError:
        raise Invalid(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise Invalid(f"{where}: {name} is not a number")
    return v


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise Invalid(f"no file {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{(k or "").strip().lower(): (v or "") for k, v in row.items()}
                for row in csv.DictReader(handle)]


def teams_from_rows(rows: Iterable[Mapping[str, Any]], where: str = "teams") -> list[sp.Team]:
    """Teams from rows with team, productivity_m2_day, cost_per_day, base_lon, base_lat
    and optional speed_km_h (30) and hours_per_day (8)."""
    teams = []
    for n, raw in enumerate(rows, start=1):
        row = {k: str(v) for k, v in raw.items() if v is not None}
        at = f"{where}, team {n}"
        name = (row.get("team") or row.get("name") or "").strip()
        if not name:
            raise Invalid(f"{at}: no team name (column team)")
        try:
            teams.append(sp.Team(
                name, _num(row, "productivity_m2_day", at), _num(row, "cost_per_day", at),
                _num(row, "base_lon", at), _num(row, "base_lat", at),
                _num(row, "speed_km_h", at, 30.0), _num(row, "hours_per_day", at, 8.0)))
        except sp.PlanError as exc:
            raise Invalid(str(exc)) from None
    if not teams:
        raise Invalid(f"{where}: no teams")
    return teams


def read_teams(path: Path) -> list[sp.Team]:
    return teams_from_rows(_rows(path), str(path))


def progress_from_rows(rows: Iterable[Mapping[str, Any]], where: str = "progress"
                       ) -> list[sp.Progress]:
    """Progress from rows with hazard_id, status (done, in_progress, not_started) and
    optional cleared_m2 and days_worked."""
    out = []
    for n, raw in enumerate(rows, start=1):
        row = {k: str(v) for k, v in raw.items() if v is not None}
        at = f"{where}, row {n}"
        status = (row.get("status") or "").strip().lower()
        if status not in PROGRESS_STATUSES:
            raise Invalid(f"{at}: status {status!r}; one of {', '.join(PROGRESS_STATUSES)}")
        hid = (row.get("hazard_id") or "").strip()
        if not hid:
            raise Invalid(f"{at}: no hazard_id")
        cleared = _num(row, "cleared_m2", at, -1.0)
        days = _num(row, "days_worked", at, -1.0)
        out.append(sp.Progress(hid, status, None if cleared < 0 else cleared,
                               None if days < 0 else days))
    return out


def read_progress(path: Path) -> list[sp.Progress]:
    return progress_from_rows(_rows(path), str(path))


class SeasonPlans:
    def __init__(self, priorities: Priorities) -> None:
        self.priorities = priorities
        self.store = priorities.store
        self.store.ensure_tables([SEASON_PLANS])

    def _tasks(self, p: Principal, list_id: str) -> tuple[dict[str, Any], list[sp.Task]]:
        content = self.priorities.get(p, list_id)  # only the hazards `p` may see
        hazards = content["hazards"]
        weights = sp.priority_weights(len(hazards))
        tasks = [sp.Task(h["hazard_id"], h.get("name") or "", float(h["lon"]), float(h["lat"]),
                         float(h.get("area_m2") or 0.0), i + 1, weights[i])
                 for i, h in enumerate(sorted(hazards, key=lambda h: h["rank"]))]
        return content, tasks

    def create(self, p: Principal, list_id: str, teams: Sequence[sp.Team], start: date,
               end: date, *, budget: float | None = None, workdays: str = "mon-fri",
               holidays: Sequence[date] = ()) -> dict[str, Any]:
        """Plan the season over the saved list `list_id`, and keep the plan (audited)."""
        self.priorities._approver(p)
        try:
            calendar = sp.Calendar(start, end, sp.parse_workdays(workdays),
                                   frozenset(holidays))
            _, tasks = self._tasks(p, list_id)
            plan = sp.plan(tasks, teams, calendar, budget)
        except sp.PlanError as exc:
            raise Invalid(str(exc)) from None
        return self._save(p, list_id, None, plan, {"workdays": workdays})

    def replan(self, p: Principal, plan_id: str, progress: Sequence[sp.Progress],
               as_of: date | None = None) -> dict[str, Any]:
        """Re-plan from `as_of` (today by default): done and in-progress tasks are kept,
        the rest re-optimised; kept as a new plan pointing at this one (audited)."""
        self.priorities._approver(p)
        previous = self._load(plan_id)
        inputs = previous["inputs"]
        teams = teams_from_rows(inputs["teams"])
        as_of = as_of or datetime.now(UTC).date()
        try:
            old = previous["plan"]
            calendar = sp.Calendar(date.fromisoformat(old["start"]),
                                   date.fromisoformat(old["end"]),
                                   frozenset(old["workdays"]),
                                   frozenset(date.fromisoformat(d) for d in old["holidays"]))
            _, tasks = self._tasks(p, previous["priority_list_id"])
            plan = sp.replan(old, progress, as_of, tasks, teams, calendar)
        except sp.PlanError as exc:
            raise Invalid(str(exc)) from None
        return self._save(p, previous["priority_list_id"], plan_id, plan,
                          {"workdays": inputs.get("workdays"),
                           "progress": [vars(x) for x in progress]})

    def _save(self, p: Principal, list_id: str, replans: str | None, plan: sp.Plan,
              extra: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = plan.to_json()
        plan_id = str(uuid.uuid4())
        content: dict[str, Any] = {"id": plan_id, "priority_list_id": list_id, "replans": replans,
                   "created_at": now.isoformat(), "created_by": p.username,
                   "inputs": {"teams": [{"team": t["name"], **{
                       k: t[k] for k in ("productivity_m2_day", "cost_per_day",
                                         "speed_km_h", "hours_per_day")},
                       "base_lon": t["lon"], "base_lat": t["lat"]} for t in body["teams"]],
                       "budget": plan.budget, "start": body["start"], "end": body["end"],
                       **extra},
                   "plan": body}
        with self.store.transaction() as conn:
            conn.execute(SEASON_PLANS.insert().values(
                id=plan_id, priority_list_id=list_id, replans=replans, created_at=now,
                created_by=p.username, content=json.dumps(content, default=str)))
            self.store.notify(conn, WriteEvent(
                "replan" if replans else "plan", "season_plan", plan_id, None,
                p.username, summary={"priority_list_id": list_id, "replans": replans,
                                     **body["totals"], "budget": plan.budget,
                                     "status": plan.status}))
        return content

    def _load(self, plan_id: str) -> dict[str, Any]:
        return saved_content(self.store, SEASON_PLANS, plan_id, "season plan")

    def get(self, p: Principal, plan_id: str) -> dict[str, Any]:
        """A saved plan, with only the hazards `p` may see."""
        _signed_in(p)
        content = self._load(plan_id)
        seen = self._visible(p, [t["hazard_id"] for t in content["plan"]["tasks"]]
                             + [u["hazard_id"] for u in content["plan"]["unassigned"]])
        plan = dict(content["plan"])
        plan["tasks"] = [t for t in plan["tasks"] if t["hazard_id"] in seen]
        plan["unassigned"] = [u for u in plan["unassigned"] if u["hazard_id"] in seen]
        return {**content, "plan": plan}

    def _visible(self, p: Principal, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        access = self.priorities.records.access(p)
        frame = self.store.read_frame(Query(kind="hazard", ids=tuple(ids), limit=None,
                                            visible=access.rows("hazard")))
        return {str(i) for i in frame["id"]} if len(frame) else set()

    def gantt(self, p: Principal, plan_id: str, fmt: str = "png") -> bytes:
        return sp.gantt_chart(self.get(p, plan_id)["plan"], fmt=fmt)

    def map(self, p: Principal, plan_id: str, fmt: str = "png") -> bytes:
        content = self.get(p, plan_id)
        plan = content["plan"]
        ids = tuple(t["hazard_id"] for t in plan["tasks"] + plan["unassigned"])
        access = self.priorities.records.access(p)
        frame = self.store.read_frame(Query(kind="hazard", ids=ids, limit=None,
                                            visible=access.rows("hazard"))) if ids else None
        geoms = ({str(r["id"]): r["geometry"] for r in frame.to_dict("records")
                  if r.get("geometry") is not None} if frame is not None and len(frame)
                 else {})
        return sp.plan_map(plan, geoms, fmt=fmt)
