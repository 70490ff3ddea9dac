# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction priorities build|show|sensitivity` and `mineaction season-plan` (issue 20):
rank the open hazards by weighted criteria (services/priorities.py), and plan a season's
clearance over a saved list (services/season_plan.py), as the API does. The command line
acts as the store's administrator. Heavy imports (pymcdm, PuLP, matplotlib) stay inside
the commands: `mineaction --help` does not pay for them."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import (
    DEFAULT_STORE,
    OutputFormat,
    StoreOption,
    cli_principal,
    date_option,
    emit,
    fail,
    open_audited,
    service_error_text,
)
from mineaction.cli_i18n import _

priorities_app = typer.Typer(
    help="Rank open hazards by weighted criteria (GICHD priority setting): build, show, "
    "sensitivity.", no_args_is_help=True)


class Preset(StrEnum):
    humanitarian = "humanitarian"
    development = "development"
    equal = "equal"


class Method(StrEnum):
    promethee = "promethee"
    weighted_sum = "weighted-sum"


class SeasonAction(StrEnum):
    replan = "replan"


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            fail(_("{option} {item}: give name=value").format(option=option, item=repr(item)), 2)
        out[name.strip()] = value.strip()
    return out


def _services(s: Any) -> Any:
    from mineaction.access.roles import Policy
    from mineaction.services.priorities import Priorities

    return Priorities(s, Policy())


def _invalid(exc: Any) -> None:
    fail(service_error_text(exc), 2)


def _show(content: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(content, ensure_ascii=False, indent=1, default=str))
        return
    used = content["criteria_used"]
    rows = [{"rank": h["rank"], "name": h.get("name") or "", "hazard_id": h["hazard_id"],
             "score": round(h["score"], 4),
             **{c: round(h["criteria"].get(c, 0.0), 3) for c in used}}
            for h in content["hazards"]]
    emit(rows, ["rank", "name", "hazard_id", "score", *used], OutputFormat.table, fit=True)
    weights = ", ".join(f"{c} {w:.2f}" for c, w in content["weights"].items() if w > 0)
    # the method, preset and criteria are codes (as --method, --preset and --weight take them)
    preset = content.get("preset") or _("custom")
    typer.echo(f"{content['method']} ({preset}): {weights}")

    if content.get("criteria_missing"):
        typer.echo(_("no data for: {criteria} (left out)").format(
            criteria=", ".join(content["criteria_missing"])))
    if content.get("saved"):
        typer.echo(_("saved as {id}").format(id=content["id"]))


@priorities_app.command("build")
def build(
    preset: Annotated[Preset, typer.Option(
        "--preset", help="Starting weights: humanitarian (casualties and population), "
        "development (blocked assets and reconstruction) or equal.")] = Preset.humanitarian,
    weight: Annotated[list[str] | None, typer.Option(
        "--weight", help="A criterion's weight, criterion=value (repeatable): casualties, "
        "blockages, population, reconstruction, risk, cost. Weights are scaled to sum "
        "to 1.")] = None,
    method: Annotated[Method, typer.Option(
        "--method", help="PROMETHEE II (V-shape preference over each criterion's range) or "
        "a weighted sum of min-max normalised criteria; both by pymcdm.")
    ] = Method.promethee,
    layer: Annotated[list[str] | None, typer.Option(
        "--layer", help="A user layer, name=path (repeatable): settlements (points with "
        "population, optional returnees) or reconstruction... (planned projects); any "
        "vector file GDAL reads, or a CSV with lon and lat.")] = None,
    productivity: Annotated[float, typer.Option(
        "--productivity", help="Clearance productivity for the cost criterion, m² a "
        "team-day.")] = 100.0,
    as_json: Annotated[bool, typer.Option("--json", help="The list as JSON, with every "
                                          "indicator value.")] = False,
    save: Annotated[bool, typer.Option("--save", help="Keep the list in the store (audited) "
                                       "for `priorities show`, sensitivity and season "
                                       "plans.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Rank the open, approved hazards by six criteria after the GICHD's priority-setting
    guidance (casualties, blocked assets, population, reconstruction, risk, cost), each
    built from documented indicators (docs/priorities.md).

    Exit status: 0 when the list was built, 2 for a usage error, a layer that cannot be
    read or no hazards to rank.
    """
    from mineaction.services.errors import Invalid
    from mineaction.services.priorities import read_layer

    weights: dict[str, float] = {}
    for name, value in _pairs(weight, "--weight").items():
        try:
            weights[name] = float(value)
        except ValueError:
            fail(_("--weight {name}={value}: the weight is a number").format(name=name,
                                                                            value=value), 2)
    with open_audited(store) as s:
        try:
            layers = [read_layer(n, p) for n, p in _pairs(layer, "--layer").items()]
            content = _services(s).build(
                cli_principal(), preset=preset.value, weights=weights, method=method.value,
                layers=layers, productivity_m2_day=productivity, save=save)
        except Invalid as exc:
            _invalid(exc)
    _show(content, as_json)


@priorities_app.command("show")
def show(
    list_id: Annotated[str, typer.Argument(help="The id of a saved priority list.",
                                           show_default=False, metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="The list as JSON, with every "
                                          "indicator value.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """A saved priority list: ranks, scores, criterion values and the weights it used.

    Exit status: 0 when shown, 1 when there is no list with that id.
    """
    from mineaction.services.errors import NotFoundError

    with open_audited(store) as s:
        try:
            content = _services(s).get(cli_principal(), list_id)
        except NotFoundError as exc:
            fail(exc.message)
    _show(content, as_json)


@priorities_app.command("sensitivity")
def sensitivity(
    list_id: Annotated[str, typer.Argument(help="The id of a saved priority list.",
                                           show_default=False, metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="As JSON, with every hazard's "
                                          "rank under each change.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """How the saved list's ranks move when each criterion's weight changes by ±20% (the
    others rescaled to sum to 1): the largest rank change of any hazard, and Kendall's
    tau against the base ranking (1: same order).

    Exit status: 0 when shown, 1 when there is no list with that id.
    """
    from mineaction.services.errors import NotFoundError

    with open_audited(store) as s:
        try:
            result = _services(s).sensitivity(cli_principal(), list_id)
        except NotFoundError as exc:
            fail(exc.message)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        return
    rows = [{"criterion": r["criterion"], "weight": round(r["weight"], 3),
             "-20% max change": r["minus"]["max_rank_change"],
             "-20% tau": round(r["minus"]["kendall_tau"], 3),
             "+20% max change": r["plus"]["max_rank_change"],
             "+20% tau": round(r["plus"]["kendall_tau"], 3)} for r in result["criteria"]]
    emit(rows, list(rows[0]) if rows else ["criterion"], OutputFormat.table)


def season_plan(
    action: Annotated[SeasonAction | None, typer.Argument(
        help="replan: re-plan the saved plan PLAN_ID from --progress.", show_default=False)
    ] = None,
    plan_id: Annotated[str | None, typer.Argument(
        help="With replan: the id of the saved plan.", show_default=False)] = None,
    priorities: Annotated[str | None, typer.Option(
        "--priorities", help="The id of the saved priority list to plan over.")] = None,
    teams: Annotated[Path | None, typer.Option(
        "--teams", help="CSV of teams: team, productivity_m2_day, cost_per_day, base_lon, "
        "base_lat, optional speed_km_h (30) and hours_per_day (8).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day of the season, "
                                              "YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day of the season, "
                                            "YYYY-MM-DD.")] = None,
    budget: Annotated[float | None, typer.Option(
        "--budget", help="The most the season may cost: team-days times each team's "
        "cost_per_day.")] = None,
    workdays: Annotated[str, typer.Option(
        "--workdays", help="Working days of the week, e.g. mon-fri, sun-thu, mon-sat.")
    ] = "mon-fri",
    progress: Annotated[Path | None, typer.Option(
        "--progress", help="With replan: CSV of hazard_id, status (done, in_progress, "
        "not_started), optional cleared_m2 and days_worked.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="With replan: the date the progress is reported (default today).")
    ] = None,
    gantt: Annotated[Path | None, typer.Option(
        "--gantt", help="Write a Gantt chart of the plan here (.png, .svg or .pdf).")
    ] = None,
    plan_map: Annotated[Path | None, typer.Option(
        "--map", help="Write a map of the hazards coloured by team here (.png, .svg or "
        ".pdf).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Assign teams to the hazards of a saved priority list for a season: the most
    priority-weighted area the teams can release within the season's working days and
    the budget (a MILP solved by CBC), each team's hazards in nearest-neighbour order.
    `season-plan replan PLAN_ID --progress progress.csv` keeps what is done and in
    progress and re-plans the rest. Every plan is saved (audited) and its id printed.

    Exit status: 0 when a plan was made (even one that assigns nothing), 1 when the list
    or plan does not exist, 2 for a usage error or a file that cannot be read.
    """
    from mineaction.services.errors import Invalid, NotFoundError
    from mineaction.services.season_plan import SeasonPlans, read_progress, read_teams

    if action is SeasonAction.replan:
        if plan_id is None or progress is None:
            fail(_("replan takes the plan's id and --progress progress.csv"), 2)
    elif plan_id is not None or progress is not None:
        fail(_("a plan id and --progress go with `season-plan replan`"), 2)
    elif priorities is None or teams is None or start is None or end is None:
        fail(_("give --priorities, --teams, --start and --end"), 2)
    with open_audited(store) as s:
        plans = SeasonPlans(_services(s))
        p = cli_principal()
        try:
            if action is SeasonAction.replan:
                assert plan_id is not None and progress is not None
                content = plans.replan(p, plan_id, read_progress(progress),
                                       date_option(as_of, "--as-of"))
            else:
                assert teams is not None and priorities is not None
                first, last = date_option(start, "--start"), date_option(end, "--end")
                assert first is not None and last is not None
                content = plans.create(p, priorities, read_teams(teams), first, last,
                                       budget=budget, workdays=workdays)
            if gantt is not None:
                gantt.write_bytes(plans.gantt(p, content["id"], _fmt(gantt)))
            if plan_map is not None:
                plan_map.write_bytes(plans.map(p, content["id"], _fmt(plan_map)))
        except Invalid as exc:
            _invalid(exc)
        except NotFoundError as exc:
            fail(exc.message)
    _print_plan(content, as_json)


def _fmt(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg", "pdf"):
        fail(_("{path}: write a .png, .svg or .pdf").format(path=path), 2)
    return suffix


def _print_plan(content: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(content, ensure_ascii=False, indent=1, default=str))
        return
    plan = content["plan"]
    rows = [{"team": t["team"], "order": t["order"], "name": t["name"],
             "hazard_id": t["hazard_id"], "status": t["status"], "start": t["start_date"],
             "end": t["end_date"], "area_m2": round(t["area_m2"]), "cost": t["cost"]}
            for t in plan["tasks"]]
    emit(rows, ["team", "order", "name", "hazard_id", "status", "start", "end", "area_m2",
                "cost"], OutputFormat.table, fit=True)
    totals = plan["totals"]
    typer.echo(_("{tasks} hazards, {area} m², cost {cost}").format(
        tasks=totals["tasks"], area=f"{totals['area_m2']:,.0f}", cost=f"{totals['cost']:,.2f}")
               + (_(" of {budget}").format(budget=f"{plan['budget']:,.2f}")
                  if plan.get("budget") is not None else "")
               + _("; {n} left for a later season ({status})").format(
                   n=totals["unassigned"], status=plan["status"]))
    typer.echo(_("saved as {id}").format(id=content["id"]))



def register(app: typer.Typer) -> None:
    """Add `priorities` and `season-plan` to the `mineaction` command."""
    app.add_typer(priorities_app, name="priorities")
    app.command("season-plan")(season_plan)
