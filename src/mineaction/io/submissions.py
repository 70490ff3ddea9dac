# SPDX-License-Identifier: GPL-3.0-or-later
"""Import of field form submissions (issue 21, item 6): ODK Central's and KoboToolbox's
exports of the forms io/xlsform.py generates.

The exports are read by io/form_exports.py (ODK Central's CSV zip, KoboToolbox's XLSX
and CSV, group prefixes, split GPS columns, repeats and media files).

Which column is which field comes from the form's one definition (io/xlsform.FORMS), the
same the generator writes the form from. The rows are then flattened (one row per repeat
record, its submission's answers beside it) into a file the import pipeline
(io/pipeline.py) takes with a mapping made from the same definition: validation, errors
by row and field, dry run and all-or-nothing are the pipeline's. Its errors are put back
in terms of the export: file, row, field and column as the user sees them.

The submission's main record keeps its instanceID (KEY, `_uuid`) as external id, a repeat
record its own KEY, so a later export of the same form updates rather than duplicates.
A GPS point's text, accuracy included, is kept as the record's original coordinates where
the entity has that field. Attachments land in the store's attachments table beside their
record, in the import's transaction.
"""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import re
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from mineaction.domain.columns import ColumnSpec
from mineaction.io.form_exports import (
    GEO_PARTS,
    Columns,
    Export,
    SubmissionsError,
    Table,
    guess_export_form,
    key_column,
    locate,
    parse_geopoint,
    parse_geoshape,
    read_export,
)
from mineaction.io.mapping import FieldRule, Group, Mapping, Target
from mineaction.io.minefield import MAX_ATTACHMENT_BYTES
from mineaction.io.pipeline import ImportRejected, ImportReport, import_file
from mineaction.io.transform import RowError
from mineaction.io.xlsform import FORMS, FormDef, Section
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, entity_table

__all__ = ["SubmissionsError", "parse_geopoint", "parse_geoshape"]

KEY = "__key"
CHILD_KEY = "__child_key"
REPEAT = "__repeat"
NO_REPEAT = "-"  # the `when` value of a submission with no repeat record at all


@dataclass(frozen=True)
class SubmissionError:
    file: str
    row: int
    field: str
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"field {self.field}" + (f" (column {self.column!r})" if self.column else "")
        return f"{self.file}, row {self.row}, {where}: {self.message}"


class SubmissionsRejected(Exception):
    """Nothing was written: the submissions have errors."""

    def __init__(self, origin: str, errors: list[SubmissionError]) -> None:
        self.errors = errors
        n = len(errors)
        super().__init__(f"{origin}: {n} error{'s' if n != 1 else ''}; nothing was imported")


@dataclass
class SubmissionsReport:
    form: str
    report: ImportReport
    attachments: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Answers:
    """One row of a section, as field -> text the pipeline reads, and its origin."""

    table: str
    row: int
    values: dict[str, str]
    columns: dict[str, str]  # field -> the export's column it came from
    fields: frozenset[str]  # the section's fields (for telling whose error an error is)
    files: list[tuple[str, str]] = field(default_factory=list)  # (question, file name)


def read_answers(table: Table, row_no: int, row: dict[str, str], section: Section,
                 located: Columns, attachments: Iterable[str],
                 errors: list[SubmissionError]) -> Answers:
    names = {*_fields(section), *([section.link] if section.link else [])}
    out = Answers(table.name, row_no, {}, {}, frozenset(names))
    for q in section.questions:
        spec: ColumnSpec = section.spec(q)
        column = located.field_column.get(q.field)
        text = row.get(column, "") if column else ""
        if spec.kind == "geometry":
            parts = located.gps_parts.get(q.field, {})
            if not text and parts:
                text = " ".join(row.get(parts[p], "") for p in GEO_PARTS
                                if row.get(parts.get(p, ""), "")).strip()
                column = parts.get("latitude")
            if text:
                try:
                    is_point = spec.geometry is not None and spec.geometry.accepts == ("Point",)
                    out.values[q.field] = parse_geopoint(text) if is_point \
                        else parse_geoshape(text)
                except ValueError as exc:
                    errors.append(SubmissionError(table.name, row_no, q.field, str(exc),
                                                  column))
                if "original_coordinates" in section.model.model_fields:
                    out.values["original_coordinates"] = text  # the accuracy with it
                accuracy = _point_accuracy(text)
                if accuracy is not None and "location_accuracy_m" in section.model.model_fields:
                    out.values["location_accuracy_m"] = accuracy
        elif spec.kind == "enum_set":
            text = ",".join(text.split())
        elif spec.kind == "date" and re.match(r"^\d{4}-\d\d-\d\dT", text):
            text = text[:10]  # Kobo writes dates of date questions as date-times sometimes
        if spec.kind != "geometry" and text:
            out.values[q.field] = text
        if column:
            out.columns[q.field] = column
    for name in attachments:
        column = located.field_column.get(name)
        if column and row.get(column):
            out.files.append((name, row[column]))
            out.columns[name] = column
    return out


# -- flattening for the pipeline -------------------------------------------------------------

@dataclass
class Flat:
    header: list[str]
    rows: list[dict[str, str]]
    origin: list[tuple[Answers, Answers | None]]  # per flat row: submission, repeat record
    files: dict[str, list[tuple[str, str]]]  # submission key -> its attachments


def _point_accuracy(text: str) -> str | None:
    """The accuracy in metres of an ODK GPS point ("lat lon alt accuracy"), None for a
    shape or a point without one."""
    parts = text.split()
    if ";" in text or len(parts) != 4:
        return None
    try:
        return parts[3] if float(parts[3]) >= 0 else None
    except ValueError:
        return None


def _fields(section: Section) -> list[str]:
    names = [q.field for q in section.questions]
    if any(section.spec(q).kind == "geometry" for q in section.questions):
        names += [name for name in ("original_coordinates", "location_accuracy_m")
                  if name in section.model.model_fields]
    return names


def flatten(export: Export, form: FormDef) -> tuple[Flat, list[SubmissionError]]:
    """One row per repeat record (its submission's answers beside it), or per submission
    that has none; errors for what only the export can tell (GPS text, missing parents,
    missing files)."""
    errors: list[SubmissionError] = []
    main = export.main
    key_name = key_column(main)
    if key_name is None:
        raise SubmissionsError(f"{main.name}: no submission key column (KEY, "
                               "meta-instanceID or _uuid): export the submissions with "
                               "their metadata")
    attach = [a.name for a in form.attachments]
    located = locate(main, form.main, attach)
    if not located.field_column and not located.gps_parts:
        raise SubmissionsError(f"{main.name}: none of its columns is a question of form "
                               f"{form.name}; give the right --form")
    submissions: dict[str, Answers] = {}
    by_index: dict[str, str] = {}
    for row_no, row in main.rows:
        key = row.get(key_name, "")
        if not key:
            errors.append(SubmissionError(main.name, row_no, "external_id",
                                          "the submission has no key", key_name))
            continue
        answers = read_answers(main, row_no, row, form.main, located, attach, errors)
        if key in submissions:
            errors.append(SubmissionError(main.name, row_no, "external_id",
                                          f"submission {key!r} appears twice", key_name))
        submissions[key] = answers
        if row.get("_index"):
            by_index[row["_index"]] = key
        for name, file_name in answers.files:
            if file_name not in export.media:
                errors.append(SubmissionError(
                    main.name, row_no, name, f"the file {file_name!r} is not in the export's "
                    "media (the zip's media/ folder, or a media folder beside the export)",
                    answers.columns.get(name)))
            elif len(export.media[file_name]()) > MAX_ATTACHMENT_BYTES:
                errors.append(SubmissionError(
                    main.name, row_no, name, f"the file {file_name!r} is larger than "
                    f"{MAX_ATTACHMENT_BYTES // 2**20} MB", answers.columns.get(name)))
    children: dict[str, list[tuple[str, str, Answers]]] = {}
    for repeat in form.repeats:
        table = export.repeats.get(repeat.name)
        if table is None:
            continue
        where = locate(table, repeat)
        for row_no, row in table.rows:
            if row.get("PARENT_KEY"):
                parent, column = row["PARENT_KEY"], "PARENT_KEY"
            elif row.get("_parent_index"):
                parent, column = by_index.get(row["_parent_index"], ""), "_parent_index"
                if not parent:
                    errors.append(SubmissionError(
                        table.name, row_no, repeat.link or "parent",
                        f"its submission (_index {row['_parent_index']}) is not in "
                        f"{main.name}", column))
                    continue
            else:
                errors.append(SubmissionError(table.name, row_no, repeat.link or "parent",
                                              "no PARENT_KEY or _parent_index column to "
                                              "link it to its submission"))
                continue
            if parent not in submissions:
                errors.append(SubmissionError(
                    table.name, row_no, repeat.link or "parent",
                    f"its submission {parent!r} is not in {main.name}", column))
                continue
            answers = read_answers(table, row_no, row, repeat, where, (), errors)
            siblings = children.setdefault(parent, [])
            # Kobo has no key for a repeat's row (its _index is the row's place in this
            # export): its place within its submission is, as in Central's KEYs.
            nth = 1 + sum(1 for name, _, _ in siblings if name == repeat.name)
            child_key = row.get("KEY") or f"{parent}/{repeat.name}[{nth}]"
            siblings.append((repeat.name, child_key, answers))
    main_fields = _fields(form.main)
    header = [KEY, CHILD_KEY, REPEAT, *main_fields]
    for repeat in form.repeats:
        header += [f"{repeat.name}.{f}" for f in _fields(repeat)]
    flat = Flat(header, [], [], {})
    for key, answers in submissions.items():
        base = {KEY: key, **{f: answers.values.get(f, "") for f in main_fields}}
        flat.files[key] = answers.files
        kids = children.get(key, [])
        if not kids:
            flat.rows.append({**base, REPEAT: NO_REPEAT, CHILD_KEY: ""})
            flat.origin.append((answers, None))
        for repeat_name, child_key, child in kids:
            values = {f"{repeat_name}.{k}": v for k, v in child.values.items()}
            flat.rows.append({**base, REPEAT: repeat_name, CHILD_KEY: child_key, **values})
            flat.origin.append((answers, child))
    return flat, errors


def _column(name: str) -> FieldRule:
    return FieldRule.model_validate({"from": name})


def form_mapping(form: FormDef) -> Mapping:
    """The pipeline mapping of a flattened export, from the form's definition."""
    main_rules = {f: _column(f) for f in _fields(form.main)}
    targets = [Target(kind=form.main.kind, when={REPEAT: [NO_REPEAT]},
                      external_id=_column(KEY), fields=main_rules)]
    for repeat in form.repeats:
        assert repeat.link is not None
        fields = {f: _column(f"{repeat.name}.{f}") for f in _fields(repeat)}
        if repeat.model.model_fields[repeat.link].is_required():
            # The pipeline sets the link to the parent's id once the parent is staged, after
            # its check that required fields are given: a placeholder passes that check.
            fields[repeat.link] = FieldRule(constant=str(uuid.UUID(int=0)))
        targets.append(Target(
            kind=repeat.kind, when={REPEAT: [repeat.name]},
            external_id=_column(CHILD_KEY), fields=fields,
            group=Group(kind=form.main.kind, key=[KEY], link=repeat.link,
                        fields=main_rules)))
    return Mapping(name=f"form-{form.name}", description=form.title, targets=targets)


def _translate(error: RowError, flat: Flat) -> SubmissionError:
    """A pipeline error on the flattened file, as the export's file, row and column."""
    submission, child = flat.origin[error.row - 2]  # the flat file's first row is row 2
    column = error.column or ""
    # A repeat record's own columns are "<repeat>.<field>" (and its key CHILD_KEY); the
    # model's column checks name no column, but fields of the repeat's entity only.
    mine = "." in column or column == CHILD_KEY or (
        not column and error.field in (child.fields if child else ()) and error.field
        not in submission.fields)
    origin = child if child is not None and mine else submission
    name = "geometry" if error.field == "original_coordinates" else error.field
    return SubmissionError(origin.table, origin.row, error.field, error.message,
                           origin.columns.get(name))


# -- the import ------------------------------------------------------------------------------

def import_submissions(store: Store, path: Path, *, form_name: str | None = None,
                       dataset: str | None = None, media_dir: Path | None = None,
                       dry_run: bool = False, status: str = "submitted",
                       user: str | None = None) -> SubmissionsReport:
    """Import an export of a form's submissions, all or nothing: SubmissionsRejected (with
    every error, by the export's file, row, field and column) writes nothing."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionsError(f"{path}: file not found")
    if form_name is not None:
        if form_name not in FORMS:
            raise SubmissionsError(f"no form {form_name!r}; the forms are {', '.join(FORMS)}")
        form = FORMS[form_name]
    else:
        form = guess_export_form(path)
    export = read_export(path, form, media_dir)
    flat, errors = flatten(export, form)
    notes = []
    missing = [r.name for r in form.repeats if r.name not in export.repeats]
    if missing:
        notes.append(f"no {', '.join(missing)} table in the export: submissions imported "
                     "without their repeat records")
    dataset = dataset or f"forms-{form.name}"
    mapping = form_mapping(form)
    with tempfile.TemporaryDirectory(prefix="mineaction-forms-") as tmp:
        table = Path(tmp) / f"{form.name}.csv"
        with table.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=flat.header)
            writer.writeheader()
            writer.writerows(flat.rows)
        written = {"attachments": 0}

        def attach(conn: sa.Connection) -> None:
            written["attachments"] = _write_attachments(conn, store, form, flat, export,
                                                        dataset, user)

        try:
            report = import_file(store, table, mapping=mapping, dataset=dataset,
                                 dry_run=dry_run or bool(errors), status=status, user=user,
                                 after_write=attach)
        except ImportRejected as exc:
            errors += [_translate(e, flat) for e in exc.report.errors]
            raise SubmissionsRejected(export.origin, _in_file_order(errors)) from None
    if errors:
        raise SubmissionsRejected(export.origin, _in_file_order(errors))
    report.file = str(path)
    if report.dry_run:  # what would be attached
        written["attachments"] = sum(len(files) for files in flat.files.values())
    for section in form.sections():
        if "original_coordinates" not in section.model.model_fields and any(
                section.spec(q).kind == "geometry" for q in section.questions):
            notes.append(f"{section.kind} has no field for the GPS text: its geometry is "
                         "kept, the GPS accuracy is not")
    return SubmissionsReport(form.name, report, written["attachments"], notes)


def _in_file_order(errors: list[SubmissionError]) -> list[SubmissionError]:
    seen: set[tuple[str, int, str, str]] = set()
    out = []
    for e in sorted(errors, key=lambda e: (e.file, e.row, e.field)):
        k = (e.file, e.row, e.field, e.message)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def _write_attachments(conn: sa.Connection, store: Store, form: FormDef, flat: Flat,
                       export: Export, dataset: str, user: str | None) -> int:
    """The submissions' files, each beside its main record (once: a re-import of the same
    export adds no copies)."""
    wanted = {k: files for k, files in flat.files.items() if files}
    if not wanted:
        return 0
    table = entity_table(form.main.kind)
    ids: dict[str, str] = dict(conn.execute(sa.select(table.c.external_id, table.c.id).where(
        table.c.dataset == dataset, table.c.external_id.in_(list(wanted)))).all())
    attachments = METADATA.tables["attachments"]
    stamp = datetime.now(UTC)
    n = 0
    for key, files in wanted.items():
        record_id = ids.get(key)
        if record_id is None:
            continue
        for question, file_name in files:
            content = export.media[file_name]()  # present and small enough: see flatten
            digest = hashlib.sha256(content).hexdigest()
            known = conn.execute(sa.select(attachments.c.id).where(
                attachments.c.record_id == str(record_id),
                attachments.c.sha256 == digest)).first()
            if known is not None:
                continue
            media_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
            conn.execute(attachments.insert().values(
                id=str(uuid.uuid4()), record_kind=form.main.kind, record_id=str(record_id),
                file_name=file_name, media_type=media_type, size=len(content),
                sha256=digest, content=content, caption=question, added_at=stamp,
                added_by=user))
            n += 1
    return n
