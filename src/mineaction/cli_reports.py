"""`mineaction report ...` and `mineaction publish`: thin shells over mineaction.reports.
There is one `report` command per kind declared in reports/kinds.py, with one option per
parameter of it.

Registered in cli.py with:
    from mineaction.cli_reports import publish, report_app
    app.add_typer(report_app, name="report")
    app.command("publish")(publish)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption, admin_area_meant
from mineaction.cli_common import fail as _fail
from mineaction.cli_i18n import _
from mineaction.reports.kinds import REPORTS, ParameterError, ReportKind

report_app = typer.Typer(
    help="Reports as PDF or HTML: " + ", ".join(k.title.lower() for k in REPORTS.values()) + ".",
    no_args_is_help=True)


OutArgument = Annotated[Path, typer.Argument(help="Output file (.pdf or .html).")]
# the languages are the catalogues found in reports/locales (reports/i18n.py), not listed
# here: a wrong --lang names them (#22)
LangOption = Annotated[str, typer.Option(help="Report language: en or any language with a "
                                         "report catalogue (es, az, ru, uk, ar ...).")]
AreaOption = Annotated[str | None, typer.Option(help="Admin area pcode (and all under it).")]


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"


FormatOption = Annotated[ReportFormat | None, typer.Option(
    "--format", help="pdf or html. Default: from OUT's suffix, else pdf.")]


def _open(location: str) -> Any:
    from mineaction.store import open_store
    from mineaction.store.errors import StoreError

    try:
        return open_store(location)
    except StoreError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- any driver error: say where, not a traceback
        _fail(_("cannot open store {location}: {problem}").format(location=location,
                                                                  problem=exc))


RiskModelOption = Annotated[Path | None, typer.Option(
    "--risk-model", help="A risk model directory (`mineaction risk train --out`): the "
    "report describes it, how it was validated and its curves.")]


def _risk_model(directory: Path | None) -> dict[str, Any]:
    """The options that show a risk model in a report: its saved meta, read for the
    command line's reader (the store's administrator), or none."""
    if directory is None:
        return {}
    from mineaction.access.roles import Policy
    from mineaction.access.visibility import Access
    from mineaction.analysis.risk.artifact import ArtifactError, load
    from mineaction.cli_common import cli_principal

    try:
        meta = load(directory)[1]
    except ArtifactError as exc:
        _fail(f"--risk-model: {exc}", 2)
    return {"risk_model": meta, "reader": Access(cli_principal(), Policy())}


def _render(kind: str, out: Path, fmt: ReportFormat | None, lang: str, store: str,
            risk_model: Path | None = None, **options: Any) -> None:
    from mineaction.reports.i18n import available_languages
    from mineaction.reports.render import render

    if lang not in available_languages():
        _fail(_("--lang {lang}: choose from {languages}").format(
            lang=lang, languages=", ".join(available_languages())), 2)
    report = REPORTS[kind]
    try:
        options = report.options(options)
    except ParameterError as exc:
        param = report.param(exc.parameter)
        _fail(f"{param.option if param else exc.parameter}: {exc.detail}", 2)
    chosen = fmt.value if fmt else ("html" if out.suffix.lower() in (".html", ".htm")
                                    else "pdf")
    shown = _risk_model(risk_model)
    with _open(store) as s:
        if "admin_area" in options:
            options["admin_area"] = admin_area_meant(s, options["admin_area"])
        try:
            render(s, kind, out, format=chosen, lang=lang, **shown, **options)
        except ValueError as exc:
            _fail(str(exc), 2)
    typer.echo(_("wrote {out}").format(out=out))


def _report_command(kind: ReportKind) -> Callable[..., None]:
    """The `mineaction report <kind>` command: OUT, one option per parameter of the kind
    (required ones without a default), --risk-model for a kind that shows one, then
    --lang, --format and --store."""

    def command(out: Path, lang: str, format: ReportFormat | None, store: str,
                **params: Any) -> None:
        _render(kind.name, out, format, lang, store, **params)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=OutArgument)]
    for p in kind.params:
        low, high = p.bounds or (None, None)
        option = typer.Option(p.option, help=p.help, min=low, max=high)
        parameters.append(inspect.Parameter(
            p.name, keyword, annotation=Annotated[p.type if p.required else p.type | None,
                                                  option],
            default=inspect.Parameter.empty if p.required else None))
    if kind.shows_risk_model:
        parameters.append(inspect.Parameter("risk_model", keyword, annotation=RiskModelOption,
                                            default=None))
    parameters += [inspect.Parameter("lang", keyword, annotation=LangOption, default="en"),
                   inspect.Parameter("format", keyword, annotation=FormatOption, default=None),
                   inspect.Parameter("store", keyword, annotation=StoreOption,
                                     default=DEFAULT_STORE)]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = command.__qualname__ = kind.name
    command.__doc__ = kind.summary
    return command


for _kind in REPORTS.values():
    report_app.command(_kind.name)(_report_command(_kind))


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
        admin_area = admin_area_meant(s, admin_area)
        try:
            descriptor = write_package(s, out_dir, threshold=threshold, admin_area=admin_area,
                                       title=title)
        except ValueError as exc:
            _fail(str(exc), 2)
    for resource in descriptor["resources"]:
        typer.echo(f"  {resource['path']}")
    typer.echo(_("wrote {n} files and datapackage.json to {out}").format(
        n=len(descriptor["resources"]), out=out_dir))


