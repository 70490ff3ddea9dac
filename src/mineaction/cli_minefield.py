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
from mineaction.cli_i18n import _, num

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
        fail(_("{text} is not a record id (a UUID)").format(text=repr(text)), 2)
        raise  # pragma: no cover


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def _header(*columns: tuple[str, str]) -> str:
    """A table's header line: each (word, format spec), the word in the language, padded
    to its column."""
    return " ".join(format(word, spec) for word, spec in columns)


def _print_plan(out: dict[str, Any]) -> None:
    traverse = out["traverse"]
    typer.echo(_("record {name}").format(name=out["record"]["name"])
               + (_(" (hazard {hazard})").format(hazard=out["hazard"]) if out.get("hazard")
                  else ""))
    typer.echo(_header((_("point"), "<8"), (_("role"), "<12"), (_("from"), "<6"),
                       (_("entered"), "<24"), (_("latitude"), ">12"), (_("longitude"), ">12")))
    paces = _("paces")
    for f in traverse["points"]:
        p = f["properties"]
        e = p["entered"]
        entered = "" if e is None else (
            f"{e['bearing']:g}{UNITS[e['bearing_unit']]} {e['bearing_reference']}, "
            f"{e['distance']:g} {'m' if e['distance_unit'] == 'metres' else paces}")
        lon, lat = f["geometry"]["coordinates"]
        typer.echo(f"{p['name']:<8} {p['role'] or '':<12} {p['from'] or '':<6} {entered:<24} "
                   f"{lat:>12.7f} {lon:>12.7f}")
    c = traverse["closure"]
    if c is None:
        typer.echo(_("not closed: no perimeter"))
    else:
        typer.echo(_("closure error {error} m (bearing {bearing}°), precision {precision} "
                     "over {length} m").format(
            error=f"{c['error_m']:.4f}", bearing=f"{c['bearing_deg']:.0f}",
            precision=c["precision"] or _("exact"), length=f"{c['length_m']:,.1f}"))
        area = c["adjusted_area_m2"] if c["adjusted"] else c["area_m2"]
        typer.echo(_("area {area} m²").format(area=f"{area:,.1f}")
                   + (_(" (compass-rule adjusted)") if c["adjusted"] else ""))
    typer.echo(_("{points} points, {rows} rows, {sources} sources, {attachments} attachments")
               .format(points=len(out["points"]), rows=len(out["rows"]),
                       sources=len(out["sources"]), attachments=len(out["attachments"])))

    for w in out["warnings"]:
        typer.echo(_("warning: {warning}").format(warning=w))


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
        typer.echo(_("dry run: nothing written"))
        return
    with open_audited(store) as s:
        service, who = _service(s)
        created = _run(lambda: service.create(who, plan))
    if json_out:
        typer.echo(json.dumps(created, indent=1, default=str))
        return
    typer.echo(_("written: minefield record {id} (draft)").format(id=created["record"]["id"]))


@minefield_app.command("show")
def show(record: Annotated[str, typer.Argument(help="The record's id.")],
         json_out: JSON_OPTION = False, store: StoreOption = DEFAULT_STORE) -> None:
    """A minefield record: its fields, its points as entered and computed, its rows and
    attachments."""
    from mineaction.store.query import Query

    rid = _record_id(record)
    with open_audited(store) as s:
        service, who = _service(s)
        data, _version = _run(lambda: service.records.get(who, "minefield_record", rid))
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
                 "adjusted"):  # field names: the same in every language
        typer.echo(f"{name:<17} {'' if data.get(name) is None else data[name]}")
    typer.echo("\n" + _header((_("point"), "<8"), (_("role"), "<12"), (_("from"), "<6"),
                              (_("bearing"), ">9"), (_("distance"), ">9"),
                              (_("latitude"), ">12"), (_("longitude"), ">12")))
    for p in points:
        g = p.geometry
        typer.echo(f"{p.name or '':<8} {p.role.value:<12} {p.from_point or '':<6} "
                   f"{_fmt(p.bearing, 'g'):>9} {_fmt(p.distance, 'g'):>9} "
                   f"{_fmt(g.y if g else None, '.7f'):>12} {_fmt(g.x if g else None, '.7f'):>12}")
    for r in rows:
        typer.echo("\n" + _("row {label}: {start} → {end}, {mines} mines, spacing {spacing}, "
                            "{pattern}, {category}").format(
            label=r.label, start=r.start_point, end=r.end_point,
            mines=r.mines if r.mines is not None else "?",
            spacing=_fmt(r.spacing_m, "g", " m"), pattern=r.pattern.value,
            category=r.device_category.value)
                   + (f" {r.device_model}" if r.device_model else ""))
    for a in attachments:
        typer.echo("\n" + _("attachment {id}: {file} ({media_type}, {size} bytes, "
                            "sha256 {sha256}…)").format(
            id=a["id"], file=a["file_name"], media_type=a["media_type"], size=num(a["size"]),
            sha256=a["sha256"][:16]))


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
    typer.echo(_("record {id}: {devices} devices found ({finds} finds, {accidents} from "
                 "accidents), {expected} mines expected").format(
        id=out["record_id"], devices=out["finds"], finds=out["inputs"]["finds"],
        accidents=out["inputs"]["accidents"], expected=out["expected_mines"]))
    typer.echo(_("found inside the perimeter (±{buffer} m): {drawn} as drawn, {fitted} after "
                 "the fit").format(buffer=f"{out['perimeter_buffer_m']:g}",
                                   drawn=_share(out["share_inside_perimeter"]),
                                   fitted=_share(out["share_inside_perimeter_after_fit"])))
    typer.echo(_("expected mines found: {found} of {expected} ({share})").format(
        found=out["found_mines"], expected=out["expected_mines"],
        share=_share(out["share_expected_found"])))
    typer.echo(_("median offset: {drawn} as drawn, {fitted} after the fit").format(
        drawn=_fmt(out["median_offset_before_m"], ".2f", " m"),
        fitted=_fmt(out["median_offset_after_m"], ".2f", " m")))
    typer.echo(_("finds outside every row: {n}").format(n=len(out["finds_outside_rows"])))
    fit = out["fit"]
    if fit["status"] == "fitted":
        typer.echo(_("fit: rotation {rotation}° ± {rotation_se}°, shift {east} m east, "
                     "{north} m north (± {shift_se} m), {pairs} pairs, RMS {rms} m").format(
            rotation=f"{fit['rotation_deg']:.2f}", rotation_se=f"{fit['rotation_se_deg']:.2f}",
            east=f"{fit['shift_east_m']:.2f}", north=f"{fit['shift_north_m']:.2f}",
            shift_se=f"{fit['shift_se_m']:.2f}", pairs=fit["inliers"],
            rms=f"{fit['rms_m']:.2f}"))
    else:
        typer.echo(_("fit: none ({status})").format(status=fit["status"]))
    typer.echo("\n" + _header((_("row"), "<8"), (_("expected"), ">8"), (_("found"), ">6"),
                              (_("missing"), ">8"), (_("explained"), ">9"),
                              (_("unexplained"), ">11")))

    for r in out["rows"]:
        typer.echo(f"{r['row_id']:<8} {r['expected']:>8} {r['found']:>6} {r['missing']:>8} "
                   f"{r['explained']:>9} {r['unexplained']:>11}")
    # notes and residual-risk reasons are the analysis's own (analysis/), in English
    for note in out["notes"]:
        typer.echo(_("note: {note}").format(note=note))
    if out["residual_risk"]:
        typer.echo("\n" + _("RESIDUAL RISK:"))
        for reason in out["residual_risk_reasons"]:
            typer.echo(f"  {reason}")
        typer.echo(_("rule: {rule}").format(rule=out["rule"]))
    else:
        typer.echo("\n" + _("no residual risk"))

