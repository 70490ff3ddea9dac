# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction stats`: casualty statistics, and victims by source with the estimate of those
no source recorded."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.analysis.dimensions import DIMENSIONS
from mineaction.cli_common import (
    DEFAULT_STORE,
    AdminOption,
    DatasetOption,
    FromOption,
    OutputFormat,
    StoreOption,
    ToOption,
    admin_area_meant,
    cli_principal,
    date_option,
    emit,
    fail,
)
from mineaction.cli_common import open_audited as _open
from mineaction.cli_i18n import _, num

stats_app = typer.Typer(help="Statistics computed from the store.", no_args_is_help=True)

# What `--by` groups casualties by, from analysis/dimensions.py's declarations.
Dimension = StrEnum("Dimension", [(d.column_name, d.name) for d in DIMENSIONS.values()])  # type: ignore[misc]


@stats_app.command("casualties")
def stats_casualties(
    by: Annotated[list[Dimension] | None, typer.Option(
        help="Group by (repeatable, e.g. --by year --by role).")] = None,
    admin_level: Annotated[int | None, typer.Option(
        help="With --by admin-area: roll up to this admin level (needs admin areas "
        "imported).")] = None,
    admin_area: AdminOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    percent: Annotated[bool, typer.Option(
        "--percent", help="Add the Monitor's percentages: killed of known outcomes, and "
        "each category's share of those whose category is known.")] = False,
    records: Annotated[str | None, typer.Option(
        help="Drill down: list the victims behind one cell instead, given as "
        "dimension=value pairs, e.g. 'year=2006,admin-area=05001' (empty value = "
        "missing).")] = None,
    all_statuses: Annotated[bool, typer.Option(
        help="Count every record, not only approved ones.")] = False,
    per_record: Annotated[bool, typer.Option(
        help="Count every record, also those another source's record represents (by "
        "default each victim counts once however many sources report it).")] = False,
    dataset: DatasetOption = None,
    format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.table,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Casualties (killed, injured) as the Landmine Monitor counts them."""
    from mineaction.analysis.casualties import add_percentages, casualties

    dims = [d.value for d in by or []]
    if admin_level is not None and "admin-area" not in dims and records is None:
        fail(_("--admin-level rolls up admin areas: add --by admin-area"), 2)
    filters: dict[str, Any] = {
        "statuses": None if all_statuses else ("approved",), "admin_level": admin_level,
        "dataset": dataset, "admin_area": admin_area,
        "date_from": date_option(date_from, "--from"),
        "date_to": date_option(date_to, "--to")}
    with _open(store) as s:
        filters["admin_area"] = admin_area_meant(s, admin_area)
        if records is not None:
            cell = {}
            for part in filter(None, (p.strip() for p in records.split(","))):
                name, sep, value = part.partition("=")
                if not sep or name not in DIMENSIONS:
                    fail(_("--records {part}: give dimension=value with one of "
                           "{dimensions}").format(part=repr(part),
                                                  dimensions=", ".join(DIMENSIONS)), 2)
                cell[name] = value or None
            _list_cell(s, cell, filters, format)
            return
        table = casualties(s, dims, **filters, canonical=not per_record)
    rows = add_percentages(table) if percent else table.rows
    columns = list(rows[0]) if rows else table.columns
    if format == OutputFormat.table and dims:
        rows = [*rows, {**{c: "" for c in columns}, **table.total(), dims[0]: _("total")}]
    emit(rows, columns, format)


@stats_app.command("sources")
def stats_sources(
    kind: Annotated[str, typer.Option(help="victim or accident.")] = "victim",
    sources: Annotated[str | None, typer.Option(
        help="Datasets to compare, comma-separated (default: every dataset with such "
        "records).")] = None,
    all_statuses: Annotated[bool, typer.Option(
        help="Count every record, not only approved ones.")] = False,
    admin_area: AdminOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    chart: Annotated[Path | None, typer.Option(
        help="Also draw the UpSet chart of the overlaps to this file (.png or .svg).")
    ] = None,
    format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.table,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Victims by source: each source's count and what only it recorded, the victims
    recorded by exactly each combination of sources, the distinct victims, and from three
    sources the multiple-systems estimate of the victims no source recorded."""
    from mineaction.access.roles import Policy
    from mineaction.access.visibility import Access
    from mineaction.services.by_source import sources_chart, sources_view
    from mineaction.services.errors import ServiceError

    who = cli_principal()
    chosen = [x.strip() for x in sources.split(",") if x.strip()] if sources else None
    filters: dict[str, Any] = {
        "kind": kind, "statuses": None if all_statuses else ("approved",),
        "sources": chosen, "date_from": date_option(date_from, "--from"),
        "date_to": date_option(date_to, "--to")}
    with _open(store) as s:
        filters["admin_area"] = admin_area_meant(s, admin_area)
        access = Access(who, Policy())
        try:
            view = sources_view(s, access, **filters)
            if chart is not None:
                fmt = chart.suffix.lower().lstrip(".") or "png"
                chart.write_bytes(sources_chart(s, access, **filters, fmt=fmt))
        except ServiceError as exc:
            fail(str(exc), 2)
    if format == OutputFormat.json:
        typer.echo(json.dumps(view, default=str, indent=1))
        return
    per = [{"source": r["source"], "records": r["entities"],
            "only_this_source": r["only_this_source"]} for r in view["per_source"]]
    emit(per, ["source", "records", "only_this_source"], format)
    if format == OutputFormat.csv:
        return
    patterns = [{"recorded by": r["pattern"], "victims": r["count"]}
                for r in view["intersections"]]
    emit(patterns, ["recorded by", "victims"], format)
    typer.echo(_("distinct: {n}").format(n=num(view["distinct"])))
    counted = [{"counted by": r["source"], "accidents": r["accidents"],
                "killed": r["killed"], "injured": r["injured"]}
               for r in view.get("counted") or []]
    if counted:  # sources that count casualties per accident and list nobody
        emit(counted, ["counted by", "accidents", "killed", "injured"], format)
    est = view.get("estimate") or {}
    if est.get("available"):
        low, high = est["interval"]
        typer.echo(_("estimated in all, recorded or not: {estimate} ({confidence} interval "
                     "{low} to {high}); recorded by no source: about {unobserved}").format(
            estimate=f"{est['estimate']:,.0f}", confidence=f"{est['confidence']:.0%}",
            low=f"{low:,.0f}", high=f"{high:,.0f}", unobserved=f"{est['unobserved']:,.0f}"))
        # the model's terms, method, assumptions and notes are the analysis's (English)
        if est.get("method") == "accident_counts":
            typer.echo(_("model: accidents of unknown size, listed by {lists} and counted "
                         "by {counter} ({linked} of its {accidents} accidents linked to "
                         "listed ones; {method})").format(
                lists=", ".join(est["list_sources"]), counter=est["count_source"],
                linked=num(est["counted_accidents_linked"]),
                accidents=num(est["counted_accidents"]), method=est["interval_method"]))
        else:
            typer.echo(_("model: {terms} (chosen by {criterion}; {method})").format(
                terms=", ".join(est["model_terms"]) or _("independent sources"),
                criterion=est["criterion"].upper(), method=est["interval_method"]))
        typer.echo(_("assumptions: {assumptions}").format(assumptions=est["assumptions"]))
        for note in est.get("notes") or []:
            typer.echo(note)
    elif est:
        typer.echo(_("no estimate of the unrecorded: {reason}").format(reason=est.get("reason")))
    if chart is not None:
        typer.echo(_("wrote {out}").format(out=chart), err=True)


def _list_cell(s: Any, cell: dict[str, Any], filters: dict[str, Any],
               format: OutputFormat) -> None:
    """The victims a cell counted, with the fields that place them in it."""
    from mineaction.analysis.casualties import drilldown
    from mineaction.domain.models import Victim

    query = drilldown(s, cell, **filters)
    frame = s.read_frame(query) if query.ids else None
    columns = ["id", "accident_id", "outcome", "role", "sex", "age_band", "activity",
               "status"]
    assert not set(columns) & Victim.personal_fields()  # never printed here
    rows = [] if frame is None else [{c: r.get(c) for c in columns}
                                     for r in frame.to_dict("records")]
    emit(rows, columns, format)
    typer.echo(_("{n} victims").format(n=num(len(rows))), err=True)



def register(app: typer.Typer) -> None:
    app.add_typer(stats_app, name="stats")
