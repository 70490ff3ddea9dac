# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction claims`: published figures (issue 22): import an HXL-tagged CSV file of
them, list them, and check where they disagree with each other and with the records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import (
    DEFAULT_STORE,
    OutputFormat,
    StoreOption,
    cli_principal,
    emit,
    fail,
    run_service,
)
from mineaction.cli_common import open_audited as _open
from mineaction.cli_i18n import _, ngettext

claims_app = typer.Typer(help="Published figures (claims): import, list, check.",
                         no_args_is_help=True)

LIST_COLUMNS = ["key", "as_of", "metric", "value", "unit", "period_start", "period_end",
                "area", "stated_by", "reported_by"]
ToleranceOption = Annotated[float, typer.Option(
    help="Publishers (and the records) may differ by this fraction (0.05 = 5 %) before a "
    "finding.")]
SlackOption = Annotated[int, typer.Option(
    help="Days a cumulative figure's end and the next period's start may be apart.")]


@claims_app.command("import")
def claims_import(
    file: Annotated[Path, typer.Argument(help="CSV file of claims, with an HXL hashtag row "
                                         "(or the header names of docs/claims.md).")],
    store: StoreOption = DEFAULT_STORE,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Import published figures from a CSV file. The whole file or nothing: a bad row
    refuses it, naming the row, the field and the problem. Importing the same file again
    adds nothing (a claim is known by its content).

    Exit status: 0 when imported, 2 when the file is refused."""
    from mineaction.services import claims as service

    if not file.exists():
        fail(_("no file {file}").format(file=file), 2)
    s = _open(store, create=True)
    try:
        result = run_service(lambda: service.import_file(s, cli_principal(), file))
    finally:
        s.close()
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    else:
        typer.echo(_("{file}: {rows} claims read, {added} added, {unchanged} unchanged").format(
            file=result.file_name, rows=result.rows, added=result.added,
            unchanged=result.unchanged))


@claims_app.command("list")
def claims_list(
    metric: Annotated[str | None, typer.Option(help="Only this metric, e.g. "
                                               "victims_total.")] = None,
    area: Annotated[str | None, typer.Option(help="Only this area (its name as "
                                             "stated).")] = None,
    stated_by: Annotated[str | None, typer.Option(help="Only claims whose source's name "
                                                  "contains this.")] = None,
    store: StoreOption = DEFAULT_STORE,
    format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.table,
) -> None:
    """List the stored claims in the order they were stated (`--format csv`: every
    field, with the HXL hashtag row `claims import` reads).

    Exit status: 0, 2 for an unknown metric."""
    from mineaction.services import claims as service

    s = _open(store, audited=False)
    try:
        f = run_service(lambda: service.claim_filter(metric, area, stated_by))
        found, _total = service.list_claims(s, f)
    finally:
        s.close()
    if format == OutputFormat.csv:  # with the HXL hashtag row: `claims import` reads it
        from mineaction.io.claims import write_claims

        typer.echo(write_claims(found), nl=False)
        return
    emit([c.as_dict() for c in found], LIST_COLUMNS, format)


@claims_app.command("check")
def claims_check(
    file: Annotated[Path | None, typer.Argument(
        help="Check this CSV file of claims instead of the store's (no records "
        "check).")] = None,
    tolerance: ToleranceOption = 0.05,
    slack_days: SlackOption = 31,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with status 1 when anything is found.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the findings as "
                                           "JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Where published figures disagree: a cumulative figure plus the next period's
    against the next cumulative one; parts against totals; one statement reported with
    different values; cumulative figures that fall; publishers disagreeing beyond
    --tolerance; and (from the store) claims against the records' own victim counts.
    Each finding names the claims (key, value, who stated and reported it, address).

    Exit status: 0 when the check ran, whatever it found (1 with --strict when it found
    anything), 2 for a file that cannot be read or a bad option."""
    from mineaction.services import claims as service

    if file is not None:
        if not file.exists():
            fail(_("no file {file}").format(file=file), 2)
        findings = run_service(lambda: service.check_file(
            file, tolerance=tolerance, slack_days=slack_days))
    else:
        s = _open(store, audited=False)
        try:
            findings = run_service(lambda: service.check_store(
                s, cli_principal(), tolerance=tolerance, slack_days=slack_days))
        finally:
            s.close()
    if json_out:
        typer.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False,
                              indent=1))
    else:
        _print(findings)
    if strict and findings:
        raise typer.Exit(1)


def _print(findings: list[Any]) -> None:
    if not findings:
        typer.echo(_("no disagreement found"))
        return
    for f in findings:
        typer.echo(f"[{f.check}] {f.message}")
        for c in f.claims:
            url = c.url or _("(no address)")
            typer.echo(f"    {c.key}  {url}")

    # English says "finding(s)" for any number; other languages have their plural forms
    typer.echo(ngettext("{n} finding(s)", "{n} finding(s)", len(findings)).format(
        n=len(findings)))




def register(app: typer.Typer) -> None:
    """Add `claims` to the `mineaction` command."""
    app.add_typer(claims_app, name="claims")
