"""The `mineaction` command: a thin shell over the store, the import pipeline and analysis.

Every command takes --store (or MINEACTION_STORE): a GeoPackage path (default
./mineaction.gpkg) or a postgresql:// URL for the server store.
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from mineaction import __version__
from mineaction.cli_common import (
    DEFAULT_STORE,
    AdminOption,
    DatasetOption,
    FromOption,
    OutputFormat,
    StoreOption,
    ToOption,
    admin_area_meant,
    fail,
)
from mineaction.cli_common import cli_actor as _cli_actor
from mineaction.cli_common import emit as _emit
from mineaction.cli_common import open_audited as _open
from mineaction.cli_i18n import _, num

if TYPE_CHECKING:  # at run time, declared by _declare_heavy_names() when a command needs them
    from mineaction.domain.enums import WorkflowStatus
    from mineaction.io import formats


class _LazyCommands(TyperGroup):
    """The `mineaction` command, which builds a subcommand (its options, and the imports
    their types need) only when that subcommand runs, so that a command imports only what
    it uses and starts quickly (issue 16). `mineaction --help` lists the subcommands from
    their docstrings; `.commands` builds them all (for the docs and the tests)."""

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        self._built: dict[str, Any] = {}
        super().__init__(**attrs)

    @property
    def commands(self) -> dict[str, Any]:  # type: ignore[override]
        return {name: self._build(name) for name in self.list_commands(None)}  # type: ignore[arg-type]

    @commands.setter
    def commands(self, value: Any) -> None:
        self._built.update(value)

    def list_commands(self, ctx: Any) -> list[str]:
        return [*_lazy_commands()]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in _lazy_commands():
            return None
        if self._listing and cmd_name not in self._built:
            return _listed(cmd_name)
        return self._build(cmd_name)

    def _build(self, name: str) -> Any:
        if name not in self._built:
            single = typer.Typer(add_completion=False)
            single.callback()(_nothing)
            info = _lazy_commands()[name]
            if isinstance(info, typer.models.TyperInfo):
                single.registered_groups = [info]
            else:
                single.registered_commands = [info]
            try:
                built = typer.main.get_command(single)
            except NameError:  # an option's type is one of the heavy names: declare them
                _declare_heavy_names()
                built = typer.main.get_command(single)
            self._built[name] = built.commands[name]  # type: ignore[attr-defined]
        return self._built[name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _nothing() -> None:
    pass


def _lazy_commands() -> dict[str, Any]:
    """name -> what `commands` (below) registered: a command's or a group's info."""
    found: dict[str, Any] = {}
    for info in commands.registered_commands:
        found[info.name or typer.main.get_command_name(info.callback.__name__)] = info
    for group in commands.registered_groups:
        found[group.name or ""] = group
    return found


def _listed(name: str) -> Any:
    """A stand-in that `mineaction --help` lists: the name and the first line of help."""
    import inspect

    from typer.core import TyperCommand

    info = _lazy_commands()[name]
    if isinstance(info, typer.models.TyperInfo):
        doc = info.help or info.typer_instance.info.help
    else:
        doc = info.help or inspect.getdoc(info.callback)
    return TyperCommand(name=name, help=doc if isinstance(doc, str) else None,
                        hidden=bool(getattr(info, "hidden", False)))


app = typer.Typer(
    name="mineaction",
    cls=_LazyCommands,
    help="Information management for humanitarian mine action: hazards, land release, "
    "accidents and victims, on a laptop (GeoPackage) or a national server (PostGIS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# The subcommands, built one at a time by _LazyCommands.
commands = typer.Typer()



if TYPE_CHECKING:
    ExportFormat = StrEnum("ExportFormat",  # type: ignore[misc]
                           [(f.name, f.name) for f in formats.writable()] + [("imsma", "imsma")])
    COLLECTIONS = ""
    StatusOption = Annotated[list[WorkflowStatus] | None, typer.Option()]


def _declare_heavy_names() -> None:
    """The names some commands' options need, which import the domain model and numpy:
    declared when the first such command is built, not at start-up."""
    from mineaction.domain.enums import WorkflowStatus
    from mineaction.domain.registry import REGISTRY
    from mineaction.io import formats

    globals().update(
        WorkflowStatus=WorkflowStatus, formats=formats,
        # The file formats records can be exported to, from io/formats.py's declarations.
        # (+ imsma: IMSMA Core's layout, every layer in one GeoPackage; io/imsma.py, #23)
        ExportFormat=StrEnum("ExportFormat", [(f.name, f.name) for f in formats.writable()]
                             + [("imsma", "imsma")]),
        # The kinds of record, by the collection names users type (domain/registry.py).
        COLLECTIONS=", ".join(e.collection for e in REGISTRY.values()),
        StatusOption=Annotated[list[WorkflowStatus] | None, typer.Option(
            help="Workflow status (repeatable).")])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mineaction {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """mineaction command line."""


@commands.command()
def init(store: StoreOption = DEFAULT_STORE) -> None:
    """Create an empty store (or migrate an existing one to this version's schema)."""
    with _open(store, create=True) as s:
        typer.echo(_("store ready: {store} (schema version {version})").format(
            store=store, version=s.schema_version()))


def _why_deleted(reason: str) -> str:
    return {"edit": _("by a user"), "import": _("gone from a later release")}.get(reason, reason)


@commands.command()
def info(store: StoreOption = DEFAULT_STORE) -> None:
    """What the store holds: records per kind and status, and the imports made."""
    from mineaction.store.info import store_summary

    with _open(store, audited=False) as s:
        summary = store_summary(s)
    typer.echo(_("store: {store} ({dialect}, schema version {schema})").format(
        store=store, dialect=summary["dialect"], schema=summary["schema"]))
    for kind, by_status in summary["counts"].items():
        total = sum(by_status.values())
        # kinds and workflow statuses are codes, the same in every language
        detail = ", ".join(f"{k} {num(v)}" for k, v in sorted(by_status.items()))
        typer.echo(f"  {kind:<16} {num(total):>10}" + (f"  ({detail})" if detail else ""))
    if summary["deleted"]:
        typer.echo(_("deleted (not counted above; their history is kept):"))
        for kind, by_reason in summary["deleted"].items():
            detail = ", ".join(f"{_why_deleted(k)} {num(v)}"
                               for k, v in sorted(by_reason.items()))
            typer.echo(f"  {kind:<16} {num(sum(by_reason.values())):>10}  ({detail})")
    if summary["provenance"]:
        typer.echo(_("datasets and their sources (admiralty code):"))
        for p in summary["provenance"]:
            code = f"{p['reliability'] or '?'}{p['credibility'] or '?'}"
            typer.echo(f"  {p['dataset']:<28} {code}  {p['source']}")
    if summary["imports"]:
        typer.echo(_("recent imports:"))
        for run in summary["imports"]:
            typer.echo(_(
                "  {finished}  {file}  dataset {dataset}: +{added} ~{changed} ={unchanged} "
                "-{removed} rejected {rejected} flagged {flagged}").format(
                finished=f"{run['finished_at']:%Y-%m-%d %H:%M}", file=run["file_name"],
                dataset=run["dataset"], added=run["added"], changed=run["changed"],
                unchanged=run["unchanged"], removed=run["removed"], rejected=run["rejected"],
                flagged=run["flagged"]))


@commands.command()
def optimise(store: StoreOption = DEFAULT_STORE) -> None:
    """Reorganise the store for fast reads, after big imports.

    PostGIS: each layer's rows in the order of its spatial index, then every table
    vacuumed, with fresh planner statistics; each table is locked while it is
    rewritten. GeoPackage: the file rewritten compactly."""
    import sqlalchemy as sa

    with _open(store) as s:
        typer.echo(_("optimising {store} ...").format(store=store))
        try:
            s.optimise(lambda step, seconds: typer.echo(_("  {step} ({seconds} s)").format(
                step=step, seconds=f"{seconds:.1f}")))
        except sa.exc.DBAPIError as exc:  # e.g. not the tables' owner: CLUSTER refused
            fail(_("cannot optimise {store}: {problem}").format(
                store=store, problem=str(exc.orig).strip()))
    typer.echo(_("done"))


@commands.command("mappings")
def list_mappings() -> None:
    """List the mapping files shipped with mineaction."""
    from mineaction.io.mapping import load_mapping, shipped_mappings

    for name in shipped_mappings():
        m = load_mapping(name)
        kinds = ", ".join(t.kind for t in m.targets)
        typer.echo(f"{name:<24} {kinds:<28} {m.description}")


@commands.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help=f"File to import: {formats.read_formats_text()}.")],
    kind: Annotated[str | None, typer.Option(
        help=f"What the rows are: {COLLECTIONS}. Optional with a mapping that names its "
        "kinds.")] = None,
    mapping: Annotated[str | None, typer.Option(
        help="Shipped mapping name (see `mineaction mappings`) or a YAML mapping file. "
        "Without one, columns named like the fields are taken as they are.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="Dataset name: records are keyed by (dataset, external id). Default: the "
        "mapping's, else the file name.")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        help="Import the valid rows and write rejected rows with reasons to a file, "
        "instead of refusing the whole file.")] = False,
    rejected: Annotated[Path | None, typer.Option(
        help="Where --skip-invalid writes rejected rows (default FILE.rejected.csv).")] = None,
    dry_run: Annotated[bool, typer.Option(
        help="Check everything and report what would change; write nothing.")] = False,
    status: Annotated[WorkflowStatus, typer.Option(
        help="Workflow status of the imported records (the command line acts as the "
        "store's administrator).")] = "approved",  # type: ignore[assignment]
    delete_missing: Annotated[bool, typer.Option(
        help="Delete the records of the dataset that the file no longer has (their history "
        "is kept; a later file that has them again brings them back). Refused if that is "
        "more than half of a kind's records, unless --force.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With --delete-missing: delete even more than half of the "
        "dataset's records.")] = False,
    layer: Annotated[str | None, typer.Option(
        help="Layer to read from a GeoPackage or KML with several.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Sheet to read from an XLSX file.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="imsma: a GeoPackage in IMSMA Core's layout (a layer per item type, "
        "linked by imsma_id/imsma_links), every layer at once; no --kind or --mapping.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(
        help="Text encoding of a CSV (default: UTF-8, else Windows-1252).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Import a file into the store, all or nothing, and report what changed."""
    from mineaction.domain.enums import WorkflowStatus
    from mineaction.io.errors import FileError
    from mineaction.io.mapping import MappingError, entity_kind, load_mapping
    from mineaction.io.pipeline import DeleteMissingRefused, ImportRejected, import_file

    if not file.exists():
        fail(_("{file}: file not found").format(file=file), 2)
    if format is not None:
        if format.lower() != "imsma":
            fail(_("--format takes imsma only (other formats go by the file's suffix), not "
                   "{format}").format(format=repr(format)), 2)
        _import_imsma(file, store, dataset, dry_run, WorkflowStatus(status).value)
        return
    if kind is None and mapping is None:
        fail(_("give --kind (the columns are named like the fields) or --mapping"), 2)
    try:
        chosen = load_mapping(mapping) if mapping else None
        kind_name = entity_kind(kind) if kind else None
    except MappingError as exc:
        fail(str(exc), 2)
    with _open(store, create=True) as s, _progress(file) as progress:
        try:
            report = import_file(
                s, file, kind=kind_name, mapping=chosen, dataset=dataset,
                skip_invalid=skip_invalid, rejected_path=rejected, dry_run=dry_run,
                status=WorkflowStatus(status).value, delete_missing=delete_missing, force=force,
                progress=progress,
                layer=layer, sheet=sheet, encoding=encoding,
            )  # fmt: skip
        except ImportRejected as exc:
            progress.close()
            lines = exc.report.error_lines()
            for line in lines[:50]:
                typer.echo(line, err=True)
            if len(lines) > 50:
                typer.echo(_("... and {n} more errors").format(n=len(lines) - 50),
                           err=True)
            fail(_("{problem} (fix the file, or use --skip-invalid to import the valid rows)")
                 .format(problem=exc))
        except DeleteMissingRefused as exc:
            progress.close()
            fail(str(exc))
        except MappingError as exc:
            fail(f"{file.name}: {exc}")
        except FileError as exc:
            fail(str(exc))
    _print_report(report)


def _progress(file: Path) -> Any:
    from tqdm import tqdm

    class Bar:
        def __init__(self) -> None:
            self.bar = tqdm(desc=_("importing {file}").format(file=file.name),
                            unit=" " + _("rows"), unit_scale=True,
                            disable=None, file=sys.stderr)

        def __call__(self, n: int) -> None:
            self.bar.update(n)

        def close(self) -> None:
            self.bar.close()

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    return Bar()


def _print_report(report: Any) -> None:
    verb = _("would change (dry run, nothing written)") if report.dry_run else _("imported")
    typer.echo(_("{file}: {rows} rows read, {verb} in {seconds} s (dataset {dataset})").format(
        file=report.file, rows=num(report.rows_read), verb=verb,
        seconds=f"{report.seconds:.1f}", dataset=report.dataset))
    for k in report.kinds.values():
        gone = (_(", removed {n}").format(n=num(k.removed)) if report.deleted_missing
                else _(", no longer in the file {n} (kept; --delete-missing removes them)")
                .format(n=num(k.removed)) if k.removed else "")
        back = _(" ({n} of them deleted before)").format(n=num(k.restored)) if k.restored else ""
        kept = (_(", deleted by a user and left deleted {n}").format(n=num(k.kept_deleted))
                if k.kept_deleted else "")
        review = (_(", to review {n} (`mineaction reconcile queue`)").format(n=num(k.review))
                  if k.review else "")
        typer.echo(_("  {kind} added {added}{back}, changed {changed}, unchanged {unchanged}"
                     "{kept}{review}{gone}, rejected {rejected}").format(
            kind=f"{k.kind:<14}", added=num(k.added), back=back, changed=num(k.changed),
            unchanged=num(k.unchanged), kept=kept, review=review, gone=gone,
            rejected=num(k.rejected)))
        if k.matched:
            typer.echo(f"  {'':<14} " + _("rows without ids matched to the records they "
                                          "revise: {n} (the records keep their ids and "
                                          "history)").format(n=num(k.matched)))
    if report.unmatched_rows:
        rows = ", ".join(str(r) for r in report.unmatched_rows[:10])
        more = " ..." if len(report.unmatched_rows) > 10 else ""
        typer.echo(_("  {n} rows matched no target of the mapping and were not imported "
                     "(rows {rows})").format(n=num(len(report.unmatched_rows)),
                                             rows=rows + more))
    if report.errors:
        typer.echo(f"  {report.rejected_summary()}")
    if report.flags:
        typer.echo(_("  {n} records flagged for review:").format(n=num(len(report.flags))))
        for flag in report.flags[:20]:
            typer.echo(_("    row {row}: {kind} {id}: {message}").format(
                row=flag.row, kind=flag.kind, id=flag.record_id, message=flag.message))
        if len(report.flags) > 20:
            typer.echo(_("    ... and {n} more (see `mineaction flags`)").format(
                n=num(len(report.flags) - 20)))


@commands.command()
def flags(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 100,
    format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.table,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Records that imports flagged for review (e.g. a point outside the country)."""
    from mineaction.store.info import import_flags

    with _open(store) as s:
        rows = import_flags(s, limit=limit)
    columns = ["file_name", "row_number", "record_kind", "record_id", "field", "message"]
    _emit([{c: r[c] for c in columns} for r in rows], columns, format)


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        fail(_("--bbox {text}: give min_lon,min_lat,max_lon,max_lat").format(text=repr(text)), 2)
    return (minx, miny, maxx, maxy)


def _parse_near(text: str | None) -> Any:
    if not text:
        return None
    from shapely.geometry import Point

    from mineaction.store.query import Near

    try:
        lon, lat, metres = (float(v) for v in text.split(","))
    except ValueError:
        fail(_("--near {text}: give lon,lat,metres").format(text=repr(text)), 2)
    return Near(Point(lon, lat), metres)


def _query(kind: str, bbox: str | None, near: str | None, admin_area: str | None,
           date_from: str | None, date_to: str | None, status: list[WorkflowStatus] | None,
           dataset: str | None, limit: int | None, offset: int = 0) -> Any:
    from mineaction.io.mapping import MappingError, entity_kind
    from mineaction.store.query import Query

    try:
        kind_name = entity_kind(kind)
    except MappingError as exc:
        fail(str(exc), 2)
    try:
        start = date.fromisoformat(date_from) if date_from else None
        end = date.fromisoformat(date_to) if date_to else None
    except ValueError as exc:
        fail(_("dates are YYYY-MM-DD: {problem}").format(problem=exc), 2)
    return Query(kind=kind_name, bbox=_parse_bbox(bbox), near=_parse_near(near),
                 admin_area=admin_area, date_from=start, date_to=end,
                 status=tuple(s.value for s in status) if status else None,
                 dataset=dataset, limit=limit,
                 offset=offset)


def _with_admin_area(s: Any, q: Any) -> Any:
    import dataclasses

    return dataclasses.replace(q, admin_area=admin_area_meant(s, q.admin_area))


BboxOption = Annotated[str | None, typer.Option(help="min_lon,min_lat,max_lon,max_lat")]
NearOption = Annotated[str | None, typer.Option(help="lon,lat,metres: within that distance")]


@commands.command("list")
def list_records(
    kind: Annotated[str, typer.Argument(help=f"What to list: {COLLECTIONS}.")],
    bbox: BboxOption = None,
    near: NearOption = None,
    admin_area: AdminOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    status: StatusOption = None,
    dataset: DatasetOption = None,
    limit: Annotated[int, typer.Option(help="Rows per page.")] = 20,
    offset: Annotated[int, typer.Option(help="Rows to skip.")] = 0,
    format: Annotated[OutputFormat, typer.Option(help="Output format.")] = OutputFormat.table,
    count: Annotated[bool, typer.Option(help="Print only how many match.")] = False,
    columns: Annotated[str | None, typer.Option(
        help="Comma-separated fields to show, in this order (default: a few key fields "
        "in the table, all in csv and json).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Query records: by area, distance, admin area, date range, status; with paging.
    Victims' personal data is never printed here."""
    q = _query(kind, bbox, near, admin_area, date_from, date_to, status, dataset,
               None if count else limit, offset)
    with _open(store) as s:
        q = _with_admin_area(s, q)
        if count:
            typer.echo(f"{s.count(q):,}")
            return
        frame = s.read_frame(q, codes=True)
    from mineaction.domain.models import ENTITIES

    frame = frame.drop(columns=[c for c in ENTITIES[q.kind].personal_fields()
                                if c in frame.columns])
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in frame.columns]
        if unknown:
            fail(_("--columns: no field {fields} in {kind} records; choose from {choices}")
                 .format(fields=", ".join(unknown), kind=q.kind,
                         choices=", ".join(frame.columns)), 2)
        frame = frame[wanted]
    if "geometry" in frame.columns:
        frame["geometry"] = [None if g is None else g.wkt[:60] for g in frame["geometry"]]
    if format != OutputFormat.table or columns:
        _emit(frame.to_dict("records"), list(frame.columns), format, fit=True)
        return
    # The default table: a few key fields that fit an 80-column terminal, ids shortened.
    # A record's code (HAZ-CO-05-000123) in place of its shortened id, where it has one.
    shown = [("code" if c == "id" and "code" in frame.columns else c)
             for c in TABLE_COLUMNS.get(q.kind, ("id", "name"))]
    shown = [c for c in shown if c in frame.columns]
    rows = [{c: _short_id(r[c]) if c == "id" or c.endswith("_id") else r[c] for c in shown}
            for r in frame.to_dict("records")]
    _emit(rows, shown, format, fit=True)
    if rows:
        typer.echo(_("ids shortened; --columns to choose fields (e.g. --columns id), "
                     "--format csv or json for all"), err=True)


# What `list` shows by default for each kind: what tells the records apart at a glance.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accident": ("id", "accident_date", "admin_area_pcode", "accident_kind", "place_name"),
    "victim": ("id", "accident_id", "outcome", "role", "sex", "age_band"),
    "hazard": ("id", "name", "hazard_kind", "hazard_status", "admin_area_pcode", "area_m2"),
    "activity": ("id", "name", "activity_kind", "activity_status", "start_date", "end_date"),
    "released_part": ("id", "activity_id", "method", "release_date", "area_m2"),
    "find": ("id", "find_date", "device_category", "device_model", "quantity",
             "admin_area_pcode"),
    "risk_education": ("id", "session_date", "admin_area_pcode", "method", "place_name"),
    "admin_area": ("pcode", "name", "level", "parent_pcode"),
    "place": ("id", "name", "admin_area_pcode"),
    "organisation": ("id", "acronym", "organisation_kind", "name"),
    "source": ("id", "source_kind", "source_date", "reliability", "credibility", "title"),
}


# Columns of the default table that may be cut short to fit.
def _short_id(value: Any) -> Any:
    """A UUID's first 8 characters: enough to tell records apart on a screen."""
    return value[:8] if isinstance(value, str) and len(value) == 36 else value


@commands.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file; its suffix picks the format.")],
    kind: Annotated[str, typer.Option(help=f"What to export: {COLLECTIONS}.")] = "accidents",
    format: Annotated[ExportFormat | None, typer.Option(
        help=f"{formats.write_choices_text()}; or imsma: every hazard, hazard reduction, "
        "accident, victim and risk education record in IMSMA Core's layout, a layer each "
        "(a .gpkg; --kind and filters do not apply). Default: from the suffix.",
        case_sensitive=False)] = None,
    bbox: BboxOption = None,
    near: NearOption = None,
    admin_area: AdminOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    status: StatusOption = None,
    dataset: DatasetOption = None,
    include_personal_data: Annotated[bool, typer.Option(
        help="Include victims' names, birth dates, contacts, addresses and ethnic group. "
        "Personal data: share only with those entitled to it.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Export records to a file (filters as in `list`)."""
    from mineaction.io.errors import FileError
    from mineaction.io.export import export_records

    if format is not None and format.value == "imsma":
        _export_imsma(out, store, include_personal_data)
        return
    q = _query(kind, bbox, near, admin_area, date_from, date_to, status, dataset, None)
    with _open(store) as s:
        q = _with_admin_area(s, q)
        try:
            n = export_records(s, out, q, format=format.value if format else None,
                               include_personal_data=include_personal_data,
                               actor=_cli_actor())
        except FileError as exc:
            fail(str(exc))
    typer.echo(_("wrote {n} {kind} records to {out}").format(n=num(n), kind=q.kind, out=out))


def _export_imsma(out: Path, store: str, include_personal_data: bool) -> None:
    from mineaction.io.errors import FileError
    from mineaction.io.imsma import export_imsma

    with _open(store) as s:
        try:
            counts = export_imsma(s, out, include_personal_data=include_personal_data,
                                  actor=_cli_actor())
        except FileError as exc:
            fail(str(exc))
    typer.echo(_("wrote {out} in IMSMA Core's layout: {counts}").format(
        out=out, counts=", ".join(f"{layer} {num(n)}" for layer, n in counts.items())))


def _import_imsma(file: Path, store: str, dataset: str | None, dry_run: bool,
                  status: str) -> None:
    """`import --format imsma`: every layer, all or nothing (io/imsma.py, #23)."""
    from mineaction.io.errors import FileError
    from mineaction.io.imsma import ImsmaRejected, import_imsma

    with _open(store, create=True) as s:
        try:
            report = import_imsma(s, file, dataset=dataset, dry_run=dry_run, status=status,
                                  user=_cli_actor())
        except ImsmaRejected as exc:
            lines = exc.lines()
            for line in lines[:50]:
                typer.echo(line, err=True)
            if len(lines) > 50:
                typer.echo(_("... and {n} more problems").format(n=len(lines) - 50),

                           err=True)
            fail(str(exc))
        except FileError as exc:
            fail(str(exc))
    verb = _("would change (dry run, nothing written)") if dry_run else _("imported")
    typer.echo(_("{file}: IMSMA Core layout, {verb} (dataset {dataset})").format(
        file=file, verb=verb, dataset=report.dataset))
    for layer, c in report.layers.items():
        kept = (_(", deleted before and left deleted {n}").format(n=num(c.kept_deleted))
                if c.kept_deleted else "")
        typer.echo(_("  {layer} added {added}, changed {changed}, unchanged {unchanged}{kept}")
                   .format(layer=f"{layer:<22}", added=num(c.added), changed=num(c.changed),
                           unchanged=num(c.unchanged), kept=kept))
    if report.ignored_layers:
        typer.echo(_("  layers not read (no mineaction kind): {layers}").format(
            layers=", ".join(report.ignored_layers)))



def _register_shells() -> None:
    """Commands that live in their own modules (reports, server), added last so their
    imports stay out of the core commands' start-up."""
    from mineaction.cli_certificate import register as register_certificate_commands
    from mineaction.cli_checks import register as register_check_commands
    from mineaction.cli_claims import register as register_claims_commands
    from mineaction.cli_forms import register as register_forms_commands
    from mineaction.cli_minefield import register as register_minefield_commands
    from mineaction.cli_priorities import register as register_priority_commands
    from mineaction.cli_reconcile import register as register_reconcile_commands
    from mineaction.cli_reports import publish, report_app
    from mineaction.cli_risk import register as register_risk_commands
    from mineaction.cli_server import register as register_server_commands
    from mineaction.cli_site import register as register_site_commands
    from mineaction.cli_stats import register as register_stats_commands

    register_stats_commands(commands)
    commands.add_typer(report_app, name="report")
    commands.command("publish")(publish)
    register_server_commands(commands)
    register_reconcile_commands(commands)
    register_check_commands(commands)
    register_minefield_commands(commands)
    register_risk_commands(commands)
    register_site_commands(commands)
    register_priority_commands(commands)
    register_certificate_commands(commands)
    register_claims_commands(commands)
    register_forms_commands(commands)


_register_shells()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
