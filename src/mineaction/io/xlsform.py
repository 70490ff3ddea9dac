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


def N_(message: str) -> str:  # noqa: N802 -- gettext's "mark, don't translate"
    """Marks a form's text for the report catalogues, which translate it (the catalogue
    tool extracts this module's marked texts, reports/catalog.py)."""
    return message


FORMS: dict[str, FormDef] = {f.name: f for f in (
    FormDef(
        "hazard_survey", "Hazard survey (non-technical survey)",
        Section("hazard", "hazard", N_("Hazardous area"), (
            Q("name", label=N_("Name of the hazardous area")),
            Q("hazard_kind", label=N_("Suspected or confirmed")),
            Q("hazard_status", label=N_("Status")),
            Q("geometry", required=True, label=N_("Walk or draw the polygon of the area"),
              hint=N_("Take the corners with the GPS; the accuracy is kept.")),
            Q("admin_area_pcode", label=N_("Administrative area code (P-code)")),
            Q("contamination", label=N_("Contamination")),
            Q("evidence_kind", label=N_("Evidence")),
            Q("evidence_description", label=N_("Describe the evidence")),
            Q("blockages", label=N_("What the hazard blocks")),
            Q("beneficiaries", label=N_("People who would benefit from its release")),
            Q("priority", label=N_("Priority (1 highest, 5 lowest)")),
            Q("date_reported", required=True, label=N_("Date of the survey")),
        )),
        attachments=(Attachment("photo", "image", N_("Photo of the area")),
                     Attachment("sketch", "file", N_("Sketch map or document"))),
    ),
    FormDef(
        "completion_report", "Completion report (land release)",
        Section("activity", "activity", N_("Activity"), (
            Q("name", label=N_("Task name or number")),
            Q("activity_kind", label=N_("Activity")),
            Q("activity_status", label=N_("Status")),
            Q("start_date", required=True, label=N_("Start date")),
            Q("end_date", label=N_("End date")),
            Q("clearance_depth_cm", label=N_("Clearance depth (cm)")),
        )),
        (Section("released_part", "released_parts", N_("Released part"), (
            Q("method", label=N_("Released by")),
            Q("geometry", required=True, label=N_("Polygon of the released part")),
            Q("release_date", label=N_("Date released")),
        ), link="activity_id"),),
        attachments=(Attachment("photo", "image", N_("Photo")),
                     Attachment("certificate", "file", N_("Signed completion certificate"))),
    ),
    FormDef(
        "accident", "Accident and its victims",
        Section("accident", "accident", N_("Accident"), (
            Q("accident_date", required=True, label=N_("Date of the accident")),
            Q("date_precision", label=N_("How precise is the date")),
            Q("geometry", label=N_("Place of the accident (GPS)"),
              hint=N_("The GPS accuracy is kept with the point.")),
            Q("location_precision", label=N_("How precise is the place")),
            Q("admin_area_pcode", label=N_("Administrative area code (P-code)")),
            Q("place_name", label=N_("Place name")),
            Q("area_type", label=N_("Rural or urban")),
            Q("accident_kind", label=N_("Kind of accident")),
            Q("device_category", label=N_("Device")),
            Q("device_model", label=N_("Device model")),
            Q("narrative", label=N_("What happened"), appearance="multiline"),
        )),
        (Section("victim", "victims", N_("Victim"), (
            Q("outcome", label=N_("Killed or injured")),
            Q("sex", label=N_("Sex")),
            Q("age", label=N_("Age (years)")),
            Q("role", label=N_("Civilian or military status")),
            Q("activity", label=N_("Activity at the time of the accident")),
            Q("activity_text", label=N_("Activity, in words")),
            Q("injuries", label=N_("Injuries")),
            Q("name", label=N_("Name (personal data)")),
        ), link="accident_id"),),
        attachments=(Attachment("photo", "image", N_("Photo of the place")),),
    ),
    FormDef(
        "risk_education", "Explosive ordnance risk education session",
        Section("risk_education", "session", N_("Session"), (
            Q("session_date", required=True, label=N_("Date of the session")),
            Q("geometry", label=N_("Place of the session (GPS)")),
            Q("admin_area_pcode", label=N_("Administrative area code (P-code)")),
            Q("place_name", label=N_("Place name")),
            Q("method", label=N_("Method (talk, theatre, radio ...)")),
            Q("girls", label=N_("Girls")),
            Q("boys", label=N_("Boys")),
            Q("women", label=N_("Women")),
            Q("men", label=N_("Men")),
            Q("unknown_audience", label=N_("Participants of unknown sex or age")),
        )),
        attachments=(Attachment("attendance", "image", N_("Photo of the attendance sheet")),),
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


def _constraint_message(spec: ColumnSpec) -> tuple[str, dict[str, str]]:
    """The message of a question's constraint: a text to translate, and its values."""
    ge = _number(spec.ge) if spec.ge is not None else ""
    le = _number(spec.le) if spec.le is not None else ""
    if ge and le:
        return N_("From {ge} to {le}"), {"ge": ge, "le": le}
    if ge:
        return N_("At least {ge}"), {"ge": ge}
    if le:
        return N_("At most {le}"), {"le": le}
    return N_("At most {n} characters"), {"n": str(spec.max_length)}


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
                message, values = _constraint_message(spec)
                for (code, _), col in zip(langs, _label_columns("constraint_message", langs),
                                          strict=True):
                    row[col] = (labels.text(code, message) or message).format(**values)
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
