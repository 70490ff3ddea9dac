# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks over the whole store (issue 18): `mineaction check-geometry`.

The command line acts as the store's administrator, so it reports every fault; what
each role of the API and the web sees is decided in services/geometry_qa.py, which this
calls too. The exit status tells a script whether the store is clean (0) or not (1), as
linters do; 2 is a usage error (a wrong option, no store)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption, fail, open_audited
from mineaction.cli_i18n import _, num


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


CSV_COLUMNS = ("code", "kind", "record_id", "label", "message", "lon", "lat", "repair",
               "related")


def check_geometry(
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Check only these records, by collection: hazards, accidents, "
        "finds, places, released-parts, risk-education, admin-areas ... (repeat for "
        "several). Default: every collection with a geometry.")] = None,
    format: Annotated[Format, typer.Option(
        "--format", help="table (grouped by fault, for reading), csv (one fault a "
        "line) or json (counts, thresholds and faults).")] = Format.table,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Check the geometries of the whole store, after the faults GICHD's geocheck lists:
    invalid or self-intersecting polygons, rings with fewer than 3 distinct vertices,
    repeated closing points and duplicate points, duplicate records and ids, ids with
    stray spaces, overlapping hazards, slivers, vertices more than 5 km apart, points far
    from their admin area. Prints the faults grouped by kind of fault, with counts and a
    suggested repair for each (nothing is changed).

    Exit status: 0 when no fault is found, 1 when faults are found, 2 for a usage error.
    """
    from mineaction.access.roles import Policy
    from mineaction.services.geometry_qa import GeometryChecks, by_collection

    collections = by_collection()
    unknown = [k for k in kind or () if k not in collections]
    if unknown:
        fail(_("--kind {kind}: no geometry to check there; one of {kinds}").format(
            kind=repr(unknown[0]), kinds=", ".join(collections)), 2)
    kinds = [collections[k] for k in dict.fromkeys(kind)] if kind else None
    with open_audited(store) as s:
        try:
            report = GeometryChecks(s, Policy()).report(kinds)
        except ValueError as exc:
            fail(str(exc), 2)
    if format == Format.json:
        _json(report)
    elif format == Format.csv:
        _csv(report)
    else:
        _table(report)
    if report.faults:
        raise typer.Exit(1)


def _json(report: Any) -> None:
    from mineaction.analysis.geometry_qa import thresholds

    groups = report.by_code()
    typer.echo(json.dumps({
        "checked": report.checked, "thresholds": thresholds(),
        "counts": {code: len(faults) for code, faults in groups.items()},
        "faults": [f.to_dict() for faults in groups.values() for f in faults],
    }, ensure_ascii=False, indent=1))


def _csv(report: Any) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for faults in report.by_code().values():
        for f in faults:
            lon, lat = f.where or (None, None)
            writer.writerow([f.code, f.kind, f.record_id, f.label or "", f.message,
                             lon, lat, f.repair, " ".join(f.related)])


def _table(report: Any) -> None:
    from mineaction.analysis.geometry_qa import CODES, thresholds
    from mineaction.services.geometry_qa import by_collection

    collection = {v: k for k, v in by_collection().items()}
    checked = ", ".join(f"{num(n)} {collection.get(k, k)}" for k, n in report.checked.items())
    groups = report.by_code()
    records = len({(f.kind, f.record_id) for f in report.faults})
    typer.echo(_("Geometry QA: {faults} faults in {records} records (checked {checked}).")
               .format(faults=num(len(report.faults)), records=num(records),
                       checked=checked or _("nothing")))
    t = thresholds()
    typer.echo(_("Thresholds: overlap above {overlap} m²; sliver below {sliver} "
                 "area/perimeter²; vertices over {segment} m apart; points over {far} m "
                 "outside their admin area (all geodesic).").format(
        overlap=f"{t['overlap_tolerance_m2']:g}", sliver=f"{t['sliver_ratio']:g}",
        segment=f"{t['max_segment_m']:,.0f}", far=f"{t['far_from_admin_m']:,.0f}"))
    # The faults' descriptions, messages and repairs come from analysis/geometry_qa.py,
    # in English (the web pages translate them through the web catalogue).
    for code, faults in groups.items():
        typer.echo(f"\n{code}: {CODES[code]} ({num(len(faults))})")
        for f in faults:
            at = (_(" at {lon}, {lat}").format(lon=f"{f.where[0]:.6f}", lat=f"{f.where[1]:.6f}")
                  if f.where else "")
            name = f"{f.label!r} " if f.label is not None else ""
            typer.echo(f"  {f.kind} {name}({f.record_id}){at}")
            typer.echo(f"    {f.message}")
            typer.echo(_("    repair: {repair}").format(repair=f.repair))
    if not report.faults:
        typer.echo(_("No faults found."))



def register(app: typer.Typer) -> None:
    """Add the check commands to the `mineaction` command."""
    app.command("check-geometry")(check_geometry)
