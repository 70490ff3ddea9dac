"""`mineaction report ...` and `mineaction publish`: thin shells over mineaction.reports.

Registered in cli.py with:
    from mineaction.cli_reports import publish, report_app
    app.add_typer(report_app, name="report")
    app.command("publish")(publish)
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

report_app = typer.Typer(
    help="Reports as PDF or HTML: annual country report, admin-area fact sheet, monthly "
    "operations report.", no_args_is_help=True)

StoreOption = Annotated[str, typer.Option("--store", envvar="MINEACTION_STORE",
                                          help="GeoPackage file or postgresql:// URL.")]
DEFAULT_STORE = "mineaction.gpkg"
OutArgument = Annotated[Path, typer.Argument(help="Output file (.pdf or .html).")]
LangOption = Annotated[str, typer.Option(help="Report language: en, es (any with a "
                                         "catalogue in reports/locales).")]
AreaOption = Annotated[str | None, typer.Option(help="Admin area pcode (and all under it).")]


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"


FormatOption = Annotated[ReportFormat | None, typer.Option(
    "--format", help="pdf or html. Default: from OUT's suffix, else pdf.")]


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _open(location: str) -> Any:
    from mineaction.store import open_store
    from mineaction.store.errors import StoreError

    try:
        return open_store(location)
    except StoreError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- any driver error: say where, not a traceback
        _fail(f"cannot open store {location}: {exc}")


def _render(kind: str, out: Path, fmt: ReportFormat | None, lang: str, store: str,
            **options: Any) -> None:
    from mineaction.reports.i18n import available_languages
    from mineaction.reports.render import render

    if lang not in available_languages():
        _fail(f"--lang {lang}: choose from {', '.join(available_languages())}", 2)
    chosen = fmt.value if fmt else ("html" if out.suffix.lower() in (".html", ".htm")
                                    else "pdf")
    with _open(store) as s:
        try:
            render(s, kind, out, format=chosen, lang=lang, **options)
        except ValueError as exc:
            _fail(str(exc), 2)
    typer.echo(f"wrote {out}")


@report_app.command("annual")
def annual(
    out: OutArgument,
    year: Annotated[int, typer.Option(help="Calendar year reported on.")],
    admin_area: AreaOption = None,
    lang: LangOption = "en",
    format: FormatOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Annual report in the layout of a Landmine Monitor country profile: casualties,
    contamination, land release, risk education, methods and sources."""
    _render("annual", out, format, lang, store, year=year, admin_area=admin_area)


@report_app.command("factsheet")
def factsheet(
    out: OutArgument,
    admin_area: Annotated[str, typer.Option(help="Admin area pcode, e.g. 05.")],
    year: Annotated[int | None, typer.Option(help="Up to this year (default: all).")] = None,
    lang: LangOption = "en",
    format: FormatOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """One-page fact sheet for an admin area."""
    _render("factsheet", out, format, lang, store, admin_area=admin_area, year=year)


@report_app.command("monthly")
def monthly(
    out: OutArgument,
    month: Annotated[str, typer.Option(help="Month reported on, YYYY-MM.")],
    admin_area: AreaOption = None,
    lang: LangOption = "en",
    format: FormatOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Monthly operations report: accidents, casualties, land release, finds, hazards
    opened and closed, risk education."""
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        _fail(f"--month {month!r}: give YYYY-MM", 2)
    _render("monthly", out, format, lang, store, month=first, admin_area=admin_area)


def publish(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the open-data package.")],
    threshold: Annotated[int, typer.Option(
        help="Suppress counts from 1 to THRESHOLD-1 (small groups could identify people). "
        "1 suppresses nothing.")] = 5,
    admin_area: AreaOption = None,
    title: Annotated[str, typer.Option(help="Package title.")] = "Mine action open data",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write a public open-data package from approved records: HXL-tagged CSVs of
    aggregated casualties (no personal data), hazard polygons as GeoJSON and GeoPackage,
    and a Frictionless datapackage.json with licence and sources."""
    from mineaction.reports.publish import publish as write_package

    with _open(store) as s:
        try:
            descriptor = write_package(s, out_dir, threshold=threshold, admin_area=admin_area,
                                       title=title)
        except ValueError as exc:
            _fail(str(exc), 2)
    for resource in descriptor["resources"]:
        typer.echo(f"  {resource['path']}")
    typer.echo(f"wrote {len(descriptor['resources'])} files and datapackage.json to {out_dir}")
