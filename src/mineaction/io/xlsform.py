# SPDX-License-Identifier: GPL-3.0-or-later
"""Field forms (issue 21, item 6): XLSForm workbooks for ODK Collect and KoboToolbox,
generated from the domain model, and the one definition of each form that both the
generator and the submission importer (io/submissions.py) read.

A form definition names the model fields it asks, in order, and whether each is required
(by default as the model says). Everything else comes from the model through its column
specs (domain/columns.py): the question type (a select from an enumeration, a whole number
with its bounds, a date, a GPS point or shape), the constraints, and the choices, which are
the enumeration's own codes, so a new enum value reaches every form without an edit here.
Labels come from a `Labels` provider: the command line passes one backed by the report
catalogues (reports/form_labels.py; io/ may not import reports/), tests and callers without
translations get English words made from the codes.
"""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from mineaction.domain.columns import ColumnSpec, column
from mineaction.domain.models import ENTITIES, Record

# A geometry field that takes points only is a GPS point; areas (or either) a GPS shape.
POINT_ONLY = ("Point",)


@dataclass(frozen=True)
class Question:
    """A model field asked by a form. `required` None: as the model says."""

    field: str
    required: bool | None = None
    label: str | None = None  # English; None: from the field's name
    hint: str | None = None
    appearance: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A photo or document taken with the form; kept with the submission's main record."""

    name: str
    media: Literal["image", "file"]
    label: str


@dataclass(frozen=True)
class Section:
    """The questions of one entity: the form's main record, or a repeat of child records
    pointing at it through `link` (victim.accident_id, released_part.activity_id)."""

    kind: str
    name: str
    label: str
    questions: tuple[Question, ...]
    link: str | None = None

    @property
    def model(self) -> type[Record]:
        return ENTITIES[self.kind]

    def spec(self, question: Question) -> ColumnSpec:
        return column(self.model, question.field)

    def required(self, question: Question) -> bool:
        return self.spec(question).required if question.required is None \
            else question.required


@dataclass(frozen=True)
class FormDef:
    name: str
    title: str
    main: Section
    repeats: tuple[Section, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    @property
    def form_id(self) -> str:
        return f"mineaction_{self.name}"

    def sections(self) -> tuple[Section, ...]:
        return (self.main, *self.repeats)


Q = Question

FORMS: dict[str, FormDef] = {f.name: f for f in (
    FormDef(
        "hazard_survey", "Hazard survey (non-technical survey)",
        Section("hazard", "hazard", "Hazardous area", (
            Q("name", label="Name of the hazardous area"),
            Q("hazard_kind", label="Suspected or confirmed"),
            Q("hazard_status", label="Status"),
            Q("geometry", required=True, label="Walk or draw the polygon of the area",
              hint="Take the corners with the GPS; the accuracy is kept."),
            Q("admin_area_pcode", label="Administrative area code (P-code)"),
            Q("contamination", label="Contamination"),
            Q("evidence_kind", label="Evidence"),
            Q("evidence_description", label="Describe the evidence"),
            Q("blockages", label="What the hazard blocks"),
            Q("beneficiaries", label="People who would benefit from its release"),
            Q("priority", label="Priority (1 highest, 5 lowest)"),
            Q("date_reported", required=True, label="Date of the survey"),
        )),
        attachments=(Attachment("photo", "image", "Photo of the area"),
                     Attachment("sketch", "file", "Sketch map or document")),
    ),
    FormDef(
        "completion_report", "Completion report (land release)",
        Section("activity", "activity", "Activity", (
            Q("name", label="Task name or number"),
            Q("activity_kind", label="Activity"),
            Q("activity_status", label="Status"),
            Q("start_date", required=True, label="Start date"),
            Q("end_date", label="End date"),
            Q("clearance_depth_cm", label="Clearance depth (cm)"),
        )),
        (Section("released_part", "released_parts", "Released part", (
            Q("method", label="Released by"),
            Q("geometry", required=True, label="Polygon of the released part"),
            Q("release_date", label="Date released"),
        ), link="activity_id"),),
        attachments=(Attachment("photo", "image", "Photo"),
                     Attachment("certificate", "file", "Signed completion certificate")),
    ),
    FormDef(
        "accident", "Accident and its victims",
        Section("accident", "accident", "Accident", (
            Q("accident_date", required=True, label="Date of the accident"),
            Q("date_precision", label="How precise is the date"),
            Q("geometry", label="Place of the accident (GPS)",
              hint="The GPS accuracy is kept with the point."),
            Q("location_precision", label="How precise is the place"),
            Q("admin_area_pcode", label="Administrative area code (P-code)"),
            Q("place_name", label="Place name"),
            Q("area_type", label="Rural or urban"),
            Q("accident_kind", label="Kind of accident"),
            Q("device_category", label="Device"),
            Q("device_model", label="Device model"),
            Q("narrative", label="What happened", appearance="multiline"),
        )),
        (Section("victim", "victims", "Victim", (
            Q("outcome", label="Killed or injured"),
            Q("sex", label="Sex"),
            Q("age", label="Age (years)"),
            Q("role", label="Civilian or military status"),
            Q("activity", label="Activity at the time of the accident"),
            Q("activity_text", label="Activity, in words"),
            Q("injuries", label="Injuries"),
            Q("name", label="Name (personal data)"),
        ), link="accident_id"),),
        attachments=(Attachment("photo", "image", "Photo of the place"),),
    ),
    FormDef(
        "risk_education", "Explosive ordnance risk education session",
        Section("risk_education", "session", "Session", (
            Q("session_date", required=True, label="Date of the session"),
            Q("geometry", label="Place of the session (GPS)"),
            Q("admin_area_pcode", label="Administrative area code (P-code)"),
            Q("place_name", label="Place name"),
            Q("method", label="Method (talk, theatre, radio ...)"),
            Q("girls", label="Girls"),
            Q("boys", label="Boys"),
            Q("women", label="Women"),
            Q("men", label="Men"),
            Q("unknown_audience", label="Participants of unknown sex or age"),
        )),
        attachments=(Attachment("attendance", "image", "Photo of the attendance sheet"),),
    ),
)}


class Labels(Protocol):
    """Words for a form, in each of `languages` ((code, name), English first)."""

    @property
    def languages(self) -> tuple[tuple[str, str], ...]: ...

    def choice(self, lang: str, list_name: str, code: str) -> str | None:
        """The label of an enumeration's code; None when the language has none."""

    def text(self, lang: str, english: str) -> str | None:
        """A question's label in `lang`; None when the language has none."""


def humanise(code: str) -> str:
    """English words from a code: "worked_on" -> "Worked on"; codes in capitals stay."""
    if code.isupper():
        return code
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


class EnglishLabels:
    """English only, words made from the codes: for callers without the catalogues."""

    languages: tuple[tuple[str, str], ...] = (("en", "English"),)

    def choice(self, lang: str, list_name: str, code: str) -> str | None:
        return humanise(code)

    def text(self, lang: str, english: str) -> str | None:
        return english


def enum_of(model: type[Record], name: str) -> type[StrEnum] | None:
    """The enumeration a field takes a value (or a set of values) of, if any."""
    annotation = model.model_fields[name].annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        inner = typing.get_args(candidate) if typing.get_origin(candidate) in (
            set, frozenset, list) else (candidate,)
        for item in inner:
            if isinstance(item, type) and issubclass(item, StrEnum):
                return item
    return None


def list_name(enum: type[StrEnum]) -> str:
    """The choice list of an enumeration: its class name in snake case (DeviceCategory ->
    device_category), shared by every question that takes it."""
    name = enum.__name__
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


def question_type(section: Section, question: Question) -> str:
    """The XLSForm type of a question, from its model field."""
    spec = section.spec(question)
    if spec.kind == "geometry":
        assert spec.geometry is not None
        return "geopoint" if spec.geometry.accepts == POINT_ONLY else "geoshape"
    if spec.kind in ("enum", "enum_set"):
        enum = enum_of(section.model, question.field)
        assert enum is not None
        verb = "select_one" if spec.kind == "enum" else "select_multiple"
        return f"{verb} {list_name(enum)}"
    simple = {"int": "integer", "float": "decimal", "date": "date", "text": "text",
              "datetime": "dateTime"}
    if spec.kind not in simple:
        raise ValueError(f"form field {section.kind}.{question.field} is a {spec.kind} field, "
                         "which a form cannot ask")
    return simple[spec.kind]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def constraint(spec: ColumnSpec) -> str:
    parts = []
    if spec.ge is not None:
        parts.append(f". >= {_number(spec.ge)}")
    if spec.le is not None:
        parts.append(f". <= {_number(spec.le)}")
    if spec.max_length is not None and spec.kind == "text":
        parts.append(f"string-length(.) <= {spec.max_length}")
    return " and ".join(parts)


def _constraint_message(spec: ColumnSpec) -> str:
    if spec.ge is not None and spec.le is not None:
        return f"From {_number(spec.ge)} to {_number(spec.le)}"
    if spec.ge is not None:
        return f"At least {_number(spec.ge)}"
    if spec.le is not None:
        return f"At most {_number(spec.le)}"
    return f"At most {spec.max_length} characters" if spec.max_length else ""


@dataclass
class Sheets:
    """A form's three XLSForm sheets as rows, and the labels no translation was found for."""

    survey: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    untranslated: list[str] = field(default_factory=list)  # "es: choice sex/female" ...


def _label_columns(prefix: str, languages: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{prefix}::{name} ({code})" for code, name in languages]


def build_sheets(form: FormDef, labels: Labels | None = None) -> Sheets:
    """The rows of a form's survey, choices and settings sheets."""
    labels = labels or EnglishLabels()
    langs = labels.languages
    out = Sheets()
    lists: dict[str, type[StrEnum]] = {}

    def words(english: str) -> dict[str, str]:
        row = {}
        for (code, _), col in zip(langs, _label_columns("label", langs), strict=True):
            text = labels.text(code, english)
            if text is None:
                out.untranslated.append(f"{code}: question {english!r}")
            row[col] = text or english
        return row

    def hint(english: str | None) -> dict[str, str]:
        if not english:
            return {}
        return {col: labels.text(code, english) or english
                for (code, _), col in zip(langs, _label_columns("hint", langs), strict=True)}

    def ask(section: Section) -> None:
        for q in section.questions:
            spec = section.spec(q)
            qtype = question_type(section, q)
            if qtype.startswith("select_"):
                enum = enum_of(section.model, q.field)
                assert enum is not None
                lists[list_name(enum)] = enum
            row = {"type": qtype, "name": q.field, **words(q.label or humanise(q.field)),
                   **hint(q.hint)}
            if section.required(q):
                row["required"] = "yes"
            rule = constraint(spec)
            if rule:
                row["constraint"] = rule
                message = _constraint_message(spec)
                for (code, _), col in zip(langs, _label_columns("constraint_message", langs),
                                          strict=True):
                    row[col] = labels.text(code, message) or message
            if q.appearance:
                row["appearance"] = q.appearance
            out.survey.append(row)

    ask(form.main)
    for attachment in form.attachments:
        # Photos scaled to 2000 px at most: full-size photos fill tablets and slow sending.
        sized = {"parameters": "max-pixels=2000"} if attachment.media == "image" else {}
        out.survey.append({"type": attachment.media, "name": attachment.name,
                           **words(attachment.label), **sized})
    for repeat in form.repeats:
        out.survey.append({"type": "begin_repeat", "name": repeat.name,
                           **words(repeat.label)})
        ask(repeat)
        out.survey.append({"type": "end_repeat", "name": repeat.name})
    for name, enum in lists.items():
        for member in enum:
            row = {"list_name": name, "name": member.value}
            for (code, _), col in zip(langs, _label_columns("label", langs), strict=True):
                text = labels.choice(code, name, member.value)
                if text is None:
                    out.untranslated.append(f"{code}: choice {name}/{member.value}")
                    text = labels.choice("en", name, member.value) or humanise(member.value)
                row[col] = text
            out.choices.append(row)
    default = _label_columns("label", langs)[0].removeprefix("label::")
    out.settings = {"form_title": form.title, "form_id": form.form_id,
                    "version": _version(out), "default_language": default}
    return out


def _version(sheets: Sheets) -> str:
    """A version that changes whenever the form does (a new enum value, a new label):
    ODK Central and KoboToolbox take a new version of a form only with a new version
    string."""
    digest = hashlib.sha256(repr((sheets.survey, sheets.choices)).encode()).hexdigest()
    return digest[:10]


def _columns(rows: Iterable[dict[str, str]], first: Sequence[str]) -> list[str]:
    seen: list[str] = list(first)
    for row in rows:
        seen.extend(k for k in row if k not in seen)
    return seen


def write_xlsform(form: FormDef, path: Path, labels: Labels | None = None) -> Sheets:
    """Write `form` as an XLSForm workbook at `path`; returns what was written."""
    from openpyxl import Workbook

    sheets = build_sheets(form, labels)
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    table: list[tuple[str, list[dict[str, str]], Sequence[str]]] = [
        ("survey", sheets.survey, ("type", "name")),
        ("choices", sheets.choices, ("list_name", "name")),
        ("settings", [sheets.settings], ()),
    ]
    for title, rows, first in table:
        sheet = survey if title == "survey" else book.create_sheet(title)
        header = _columns(rows, first)
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(c, "") for c in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return sheets


def form(name: str) -> FormDef:
    if name not in FORMS:
        raise KeyError(f"no form {name!r}; the forms are {', '.join(FORMS)}")
    return FORMS[name]
