# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction minefield`: minefield records (issue 18). Import a record file (YAML, see
docs/minefield-records.md), show a record, and measure how accurate it was against what
clearance found. The command line acts as the store's administrator, and what it writes
is audited in its name (cli:<system user>), through services/minefields.py as the API."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import (
    DEFAULT_STORE,
    StoreOption,
    cli_principal,
    fail,
    open_audited,
    run_service,
)

minefield_app = typer.Typer(help="Minefield records: import, show, and how accurate they were.",
                            no_args_is_help=True)
JSON_OPTION = Annotated[bool, typer.Option("--json", help="As JSON.")]
UNITS = {"degrees": "°", "mils": " mil", "gradians": " gon"}


def register(app: typer.Typer) -> None:
    """Add the minefield commands to the `mineaction` command (once they exist)."""
    if minefield_app.registered_commands:
        app.add_typer(minefield_app, name="minefield")


def _service(store: Any) -> Any:
    from mineaction.access.roles import Policy
    from mineaction.services.minefields import Minefields

    return Minefields(store, Policy()), cli_principal()


_run = run_service


def _record_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        fail(f"{text!r} is not a record id (a UUID)", 2)
        raise  # pragma: no cover


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def _print_plan(out: dict[str, Any]) -> None:
    traverse = out["traverse"]
    typer.echo(f"record {out['record']['name']}"
               + (f" (hazard {out['hazard']})" if out.get("hazard") else ""))
    typer.echo(f"{'point':<8} {'role':<12} {'from':<6} {'entered':<24} {'latitude':>12} "
               f"{'longitude':>12}")
    for f in traverse["points"]:
        p = f["properties"]
        e = p["entered"]
        entered = "" if e is None else (
            f"{e['bearing']:g}{UNITS[e['bearing_unit']]} {e['bearing_reference']}, "
            f"{e['distance']:g} {'m' if e['distance_unit'] == 'metres' else 'paces'}")
        lon, lat = f["geometry"]["coordinates"]
        typer.echo(f"{p['name']:<8} {p['role'] or '':<12} {p['from'] or '':<6} {entered:<24} "
                   f"{lat:>12.7f} {lon:>12.7f}")
    c = traverse["closure"]
    if c is None:
        typer.echo("not closed: no perimeter")
    else:
        typer.echo(f"closure error {c['error_m']:.4f} m (bearing {c['bearing_deg']:.0f}°), "
                   f"precision {c['precision'] or 'exact'} over {c['length_m']:,.1f} m")
        area = c["adjusted_area_m2"] if c["adjusted"] else c["area_m2"]
        typer.echo(f"area {area:,.1f} m²" + (" (compass-rule adjusted)" if c["adjusted"]
                                               else ""))
    typer.echo(f"{len(out['points'])} points, {len(out['rows'])} rows, "
               f"{len(out['sources'])} sources, {len(out['attachments'])} attachments")
    for w in out["warnings"]:
        typer.echo(f"warning: {w}")


@minefield_app.command("import")
def import_record(
    file: Annotated[Path, typer.Argument(help="The record file (YAML).", exists=True,
                                         dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Compute and check only: nothing is written.")] = False,
    json_out: JSON_OPTION = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Read a minefield record file: compute its traverse (every point's coordinates, the
    closure error and precision, the area), check it, and write the record with its
    points, rows, sources and attachments in one transaction."""
    from mineaction.io.minefield import MinefieldFileError, load_minefield_file, plan_json

    try:
        plan = load_minefield_file(file)
    except MinefieldFileError as exc:
        fail(str(exc), 2)
    out = plan_json(plan)
    if json_out and dry_run:
        typer.echo(json.dumps(out, indent=1, default=str))
        return
    if not json_out:
        _print_plan(out)
    if dry_run:
        typer.echo("dry run: nothing written")
        return
    with open_audited(store) as s:
        service, who = _service(s)
        created = _run(lambda: service.create(who, plan))
    if json_out:
        typer.echo(json.dumps(created, indent=1, default=str))
        return
    typer.echo(f"written: minefield record {created['record']['id']} (draft)")


@minefield_app.command("show")
def show(record: Annotated[str, typer.Argument(help="The record's id.")],
         json_out: JSON_OPTION = False, store: StoreOption = DEFAULT_STORE) -> None:
    """A minefield record: its fields, its points as entered and computed, its rows and
    attachments."""
    from mineaction.store.query import Query

    rid = _record_id(record)
    with open_audited(store) as s:
        service, who = _service(s)
        data, _ = _run(lambda: service.records.get(who, "minefield_record", rid))
        points = s.query(Query(kind="minefield_point", where={"record_id": str(rid)},
                               limit=None)).items
        rows = s.query(Query(kind="mine_row", where={"record_id": str(rid)},
                             limit=None)).items
        attachments = _run(lambda: service.attachments(who, rid))
    points = sorted(points, key=lambda p: p.sequence if p.sequence is not None else 0)
    if json_out:
        typer.echo(json.dumps({"record": data,
                               "points": [p.model_dump(mode="json") for p in points],
                               "rows": [r.model_dump(mode="json") for r in rows],
                               "attachments": attachments}, indent=1, default=str))
        return
    for name in ("id", "name", "hazard_id", "status", "date_laid", "laid_by",
                 "handed_over_by", "date_handed_over", "area_m2", "closure_error_m",
                 "adjusted"):
        typer.echo(f"{name:<17} {'' if data.get(name) is None else data[name]}")
    typer.echo(f"\n{'point':<8} {'role':<12} {'from':<6} {'bearing':>9} {'distance':>9} "
               f"{'latitude':>12} {'longitude':>12}")
    for p in points:
        g = p.geometry
        typer.echo(f"{p.name or '':<8} {p.role.value:<12} {p.from_point or '':<6} "
                   f"{_fmt(p.bearing, 'g'):>9} {_fmt(p.distance, 'g'):>9} "
                   f"{_fmt(g.y if g else None, '.7f'):>12} {_fmt(g.x if g else None, '.7f'):>12}")
    for r in rows:
        typer.echo(f"\nrow {r.label}: {r.start_point} → {r.end_point}, "
                   f"{r.mines if r.mines is not None else '?'} mines, spacing "
                   f"{_fmt(r.spacing_m, 'g', ' m')}, {r.pattern.value}, "
                   f"{r.device_category.value}"
                   + (f" {r.device_model}" if r.device_model else ""))
    for a in attachments:
        typer.echo(f"\nattachment {a['id']}: {a['file_name']} ({a['media_type']}, "
                   f"{a['size']:,} bytes, sha256 {a['sha256'][:16]}…)")


@minefield_app.command("assess")
def assess(record: Annotated[str, typer.Argument(help="The record's id.")],
           tolerance: Annotated[float, typer.Option(
               help="Metres around the perimeter a find still counts as inside.",
               min=0, max=1000)] = 5.0,
           accidents: Annotated[bool, typer.Option(
               help="Count accidents on the hazard or near the perimeter as devices too."
           )] = False,
           json_out: JSON_OPTION = False, store: StoreOption = DEFAULT_STORE) -> None:
    """How accurate the record was against the finds of its hazard: the indicators, each
    row's expected, found and missing mines, the best-fit shift and rotation, and
    residual risk with the rule. Exit status 3 when the record carries residual risk."""
    rid = _record_id(record)
    with open_audited(store) as s:
        service, who = _service(s)
        out = _run(lambda: service.assess(who, rid, tolerance, include_accidents=accidents))
    if json_out:
        typer.echo(json.dumps(out, indent=1, default=str))
    else:
        _print_accuracy(out)
    if out["residual_risk"]:
        raise typer.Exit(3)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_accuracy(out: dict[str, Any]) -> None:
    typer.echo(f"record {out['record_id']}: {out['finds']} devices found "
               f"({out['inputs']['finds']} finds, {out['inputs']['accidents']} from accidents)"
               f", {out['expected_mines']} mines expected")
    typer.echo(f"found inside the perimeter (±{out['perimeter_buffer_m']:g} m): "
               f"{_share(out['share_inside_perimeter'])} as drawn, "
               f"{_share(out['share_inside_perimeter_after_fit'])} after the fit")
    typer.echo(f"expected mines found: {out['found_mines']} of {out['expected_mines']} "
               f"({_share(out['share_expected_found'])})")
    typer.echo(f"median offset: {_fmt(out['median_offset_before_m'], '.2f', ' m')} as drawn, "
               f"{_fmt(out['median_offset_after_m'], '.2f', ' m')} after the fit")
    typer.echo(f"finds outside every row: {len(out['finds_outside_rows'])}")
    fit = out["fit"]
    if fit["status"] == "fitted":
        typer.echo(f"fit: rotation {fit['rotation_deg']:.2f}° ± {fit['rotation_se_deg']:.2f}°, "
                   f"shift {fit['shift_east_m']:.2f} m east, {fit['shift_north_m']:.2f} m "
                   f"north (± {fit['shift_se_m']:.2f} m), {fit['inliers']} pairs, RMS "
                   f"{fit['rms_m']:.2f} m")
    else:
        typer.echo(f"fit: none ({fit['status']})")
    typer.echo(f"\n{'row':<8} {'expected':>8} {'found':>6} {'missing':>8} {'explained':>9} "
               f"{'unexplained':>11}")
    for r in out["rows"]:
        typer.echo(f"{r['row_id']:<8} {r['expected']:>8} {r['found']:>6} {r['missing']:>8} "
                   f"{r['explained']:>9} {r['unexplained']:>11}")
    for note in out["notes"]:
        typer.echo(f"note: {note}")
    if out["residual_risk"]:
        typer.echo("\nRESIDUAL RISK:")
        for reason in out["residual_risk_reasons"]:
            typer.echo(f"  {reason}")
        typer.echo(f"rule: {out['rule']}")
    else:
        typer.echo("\nno residual risk")
