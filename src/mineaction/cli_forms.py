# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction forms` (issue 21, item 6): build the field forms (XLSForm, for ODK Central
and KoboToolbox) from the domain model, and import their submissions as those servers
export them. The forms and the import read one definition per form (io/xlsform.py);
labels come from the report catalogues (reports/form_labels.py). See docs/field-forms.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption, cli_actor, fail, open_audited
from mineaction.cli_i18n import _, num

forms_app = typer.Typer(help="Field forms for ODK and KoboToolbox: build them, import their "
                        "submissions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `forms build` and `forms import` to the `mineaction` command."""
    app.add_typer(forms_app, name="forms")


def _form_names() -> str:
    from mineaction.io.xlsform import FORMS

    return ", ".join(FORMS)


@forms_app.command("build")
def build(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder to write the forms to (one <form>.xlsx each).")] = Path("forms"),
    form: Annotated[str | None, typer.Option(
        "--form", help="Only this form: hazard_survey, completion_report, accident or "
        "risk_education.")] = None,
    language: Annotated[list[str] | None, typer.Option(
        "--language", help="Label languages (repeat the option; English is always one). "
        "Default: every language the reports have.")] = None,
) -> None:
    """Write the field forms as XLSForm workbooks, generated from the data model: the
    questions of each form, their types, required flags and bounds, and choice lists with
    the store's own codes, labelled in every language the reports have. A label that a
    language has no translation for is written in English, and listed.

    Exit status: 0 when the forms were written, 2 for an unknown form or language."""
    from mineaction.io.xlsform import FORMS, write_xlsform
    from mineaction.reports.form_labels import CatalogueLabels
    from mineaction.reports.i18n import available_languages

    if form is not None and form not in FORMS:
        fail(_("no form {form}; the forms are {forms}").format(form=repr(form),
                                                              forms=_form_names()), 2)
    unknown = [lang for lang in language or [] if lang not in available_languages()]
    if unknown:
        fail(_("no translation for {unknown}; the languages are {languages}").format(
            unknown=", ".join(unknown), languages=", ".join(available_languages())), 2)
    labels = CatalogueLabels(language or None)
    names = [form] if form else list(FORMS)
    for name in names:
        path = out / f"{name}.xlsx"
        sheets = write_xlsform(FORMS[name], path, labels)
        missing = sorted({u.split(":", 1)[0] for u in sheets.untranslated})
        typer.echo(_("{path}: {title} (form id {form_id}, version {version}, {rows} rows, "
                     "{choices} choices)").format(
            path=path, title=FORMS[name].title, form_id=sheets.settings["form_id"],
            version=sheets.settings["version"], rows=len(sheets.survey),
            choices=len(sheets.choices)))
        for lang in missing:
            texts = [u.split(": ", 1)[1] for u in sheets.untranslated if u.startswith(lang)]
            instead = _("words made from the codes") if lang == "en" else _("English instead")
            shown = ", ".join(texts[:6]) + (" ..." if len(texts) > 6 else "")
            typer.echo(_("  {lang}: {n} labels without a translation ({instead}): {shown}")
                       .format(lang=lang, n=len(texts), instead=instead, shown=shown))


@forms_app.command("import")
def import_submissions(
    file: Annotated[Path | None, typer.Argument(
        help="The export: ODK Central's CSV zip (.zip), or KoboToolbox's XLSX or CSV "
        "(none with --central).", show_default=False)] = None,
    form: Annotated[str | None, typer.Option(
        "--form", help="Which form the submissions are of (default: told from the file's "
        "name or columns).")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="Dataset name (default forms-<form>): a later export of the same form into "
        "the same dataset updates the records rather than duplicating them.")] = None,
    media: Annotated[Path | None, typer.Option(
        "--media", help="Folder of the photos and files the submissions name (default: "
        "the zip's media/, or a media folder beside the export).")] = None,
    dry_run: Annotated[bool, typer.Option(
        help="Check everything and report what would change; write nothing.")] = False,
    # A plain text option: the enumeration's module would load the data model at start-up.
    status: Annotated[str, typer.Option(
        help="Workflow status of the imported records (draft, submitted, approved or "
        "rejected): submitted, for review, unless said otherwise.")] = "submitted",
    central: Annotated[str | None, typer.Option(
        "--central", help="Pull the submissions (with their media) from this ODK Central "
        "server, e.g. https://central.example.org, rather than from FILE; needs --form and "
        "--project. The account: MINEACTION_CENTRAL_EMAIL and MINEACTION_CENTRAL_PASSWORD "
        "(asked for when not set).")] = None,
    project: Annotated[int | None, typer.Option(
        "--project", help="With --central: the project's number (in its URL).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Import the submissions of a field form, all or nothing: the main records with
    their repeat records (an accident's victims, a completion report's released parts)
    linked to them, GPS points (with their accuracy kept as the original coordinates)
    and shapes, and the photos and files kept with their record.

    Exit status: 0 when imported (or checked, with --dry-run), 1 when the submissions
    have errors (each printed with its file, row, field and column; nothing is written)
    or the Central server refused or could not be reached, 2 for a file that is not an
    export of a form or a usage error."""
    import tempfile

    from mineaction.domain.enums import WorkflowStatus

    if status not in {s.value for s in WorkflowStatus}:
        fail(_("--status {status}: give one of {statuses}").format(
            status=repr(status), statuses=", ".join(s.value for s in WorkflowStatus)), 2)
    if (file is None) == (central is None):
        fail(_("give the export FILE, or --central with --form and --project"), 2)
    with tempfile.TemporaryDirectory(prefix="mineaction-central-") as tmp:
        shown = str(file)
        if central is not None:
            file = _pull(central, project, form, Path(tmp))
            shown = _("{central} (project {project})").format(central=central, project=project)
        assert file is not None
        _import(file, shown, form, dataset, media, dry_run, status, store)


def _pull(central: str, project: int | None, form: str | None, folder: Path) -> Path:
    import os

    from mineaction.io.central import CentralError, download_export
    from mineaction.io.xlsform import FORMS

    if form is None or project is None:
        fail(_("--central needs --form (which form) and --project (the project's number)"), 2)
    assert form is not None and project is not None
    if form not in FORMS:
        fail(_("no form {form}; the forms are {forms}").format(form=repr(form),
                                                              forms=_form_names()), 2)
    email = os.environ.get("MINEACTION_CENTRAL_EMAIL") or typer.prompt(_("Central email"))
    password = os.environ.get("MINEACTION_CENTRAL_PASSWORD") or typer.prompt(
        _("Central password"), hide_input=True)
    form_id = FORMS[form].form_id
    try:
        path = download_export(central, project, form_id, email, password,
                               folder / f"{form_id}.zip")
    except CentralError as exc:
        fail(str(exc))
    typer.echo(_("downloaded {form_id} of project {project} from {central}").format(
        form_id=form_id, project=project, central=central))
    return path


def _import(file: Path, shown: str, form: str | None, dataset: str | None, media: Path | None,
            dry_run: bool, status: str, store: str) -> None:
    from mineaction.io.errors import FileError
    from mineaction.io.mapping import MappingError
    from mineaction.io.submissions import (
        SubmissionsError,
        SubmissionsRejected,
        import_submissions,
    )

    if not file.is_file():
        fail(_("{file}: file not found").format(file=file), 2)
    with open_audited(store, create=True) as s:
        try:
            result = import_submissions(s, file, form_name=form, dataset=dataset,
                                        media_dir=media, dry_run=dry_run,
                                        status=status,
                                        user=cli_actor())
        except SubmissionsRejected as exc:
            for error in exc.errors[:50]:
                typer.echo(str(error), err=True)
            if len(exc.errors) > 50:
                typer.echo(_("... and {n} more errors").format(n=len(exc.errors) - 50),

                           err=True)
            fail(str(exc))
        except (SubmissionsError, MappingError, FileError) as exc:
            fail(str(exc), 2)
    report = result.report
    verb = _("would import (dry run, nothing written)") if report.dry_run else _("imported")
    typer.echo(_("{source}: form {form}, {verb} in {seconds} s (dataset {dataset})").format(
        source=shown, form=result.form, verb=verb, seconds=f"{report.seconds:.1f}",
        dataset=report.dataset))
    for k in report.kinds.values():
        typer.echo(_("  {kind} added {added}, changed {changed}, unchanged {unchanged}").format(
            kind=f"{k.kind:<14}", added=num(k.added), changed=num(k.changed),
            unchanged=num(k.unchanged)))
    typer.echo(_("  attachments    {verb} {n}").format(
        verb=_("would add") if report.dry_run else _("added"), n=num(result.attachments)))
    for note in result.notes:
        typer.echo(_("  note: {note}").format(note=note))

