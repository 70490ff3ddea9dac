"""Data-entry forms derived from the domain models, so a field added to a model appears in
its form: enumerations become dropdowns (or checkboxes for sets), dates date pickers,
numbers number inputs, geometry a map with a coordinate box. The browser sends the form as
JSON to the API, whose validation messages are shown next to the fields they name.
"""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from mineaction.domain.geometry import GeometryKind
from mineaction.domain.models import ENTITIES
from mineaction.reports.i18n import N_  # help texts translated in form.html (issue 22)

# Kept by the store or computed: never typed in.
SKIPPED = {"id", "status", "version", "created_at", "updated_at", "created_by", "updated_by",
           "area_m2", "original_coordinates"}
LONG_TEXT = {"narrative", "description", "evidence_description", "injuries", "address"}


@dataclass
class FieldSpec:
    name: str
    label: str
    # text, textarea, number, integer, date, select, checkboxes, geometry, list, uuid, sources
    widget: str
    required: bool = False
    options: list[str] = field(default_factory=list)
    personal: bool = False
    accepts: tuple[str, ...] = ()  # geometry types
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The inner type of `X | None` and whether None is allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = args[0] if len(args) == 1 else annotation
        if typing.get_origin(inner) is typing.Annotated:
            inner = typing.get_args(inner)[0]
        return inner, True
    return annotation, False


def label_of(name: str) -> str:
    text = name.replace("_id", "").replace("_m2", " (m²)").replace("_cm", " (cm)")
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def form_fields(kind: str, *, personal: bool) -> list[FieldSpec]:
    model = ENTITIES[kind]
    personal_names = model.personal_fields()
    out: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if name in SKIPPED or (name in personal_names and not personal):
            continue
        if name in ("dataset", "external_id"):
            continue  # set by imports
        if name == "source_ids":
            # Chosen from a pick list of the sources (web/static/js/picklist.js).
            out.append(FieldSpec(name=name, label="Sources", widget="sources",
                                 help=N_("Type part of a source's title to link it.")))
            continue
        geom = next((m for m in info.metadata if isinstance(m, GeometryKind)), None)
        annotation, _ = _unwrap(info.annotation)
        required = info.is_required()
        spec = FieldSpec(name=name, label=label_of(name), widget="text", required=required,
                         personal=name in personal_names)
        metadata = list(info.metadata)
        for arg in typing.get_args(info.annotation):
            if typing.get_origin(arg) is typing.Annotated:
                metadata += [getattr(m, "metadata", [m]) for m in typing.get_args(arg)[1:]][0]
        for m in metadata:
            if getattr(m, "ge", None) is not None:
                spec.minimum = m.ge
            if getattr(m, "le", None) is not None:
                spec.maximum = m.le
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if geom is not None:
            spec.widget, spec.accepts = "geometry", geom.accepts
            spec.label = "Location" if geom.accepts == ("Point",) else "Geometry"
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            spec.widget, spec.options = "select", [e.value for e in annotation]
        elif origin in (set, frozenset) and args and issubclass(args[0], Enum):
            spec.widget, spec.options = "checkboxes", [e.value for e in args[0]]
        elif origin is list:
            spec.widget, spec.help = "list", N_("Separate several with commas.")
        elif annotation is date:
            spec.widget = "date"
        elif annotation is datetime:
            spec.widget = "text"
        elif annotation is int:
            spec.widget = "integer"
        elif annotation is float:
            spec.widget = "number"
        elif annotation is uuid.UUID:
            spec.widget, spec.help = "uuid", N_("Id of the linked record.")
        elif name in LONG_TEXT:
            spec.widget = "textarea"
        # pydantic Annotated[int, Field(ge=0)] arrives as int with metadata: handled above.
        out.append(spec)
    return out


# What the accident form asks of each victim typed with it (issue 21, 3): the victim's own
# form less the link to the accident (the one being saved) and the source pick list.
VICTIM_WIDGETS = ("select", "integer", "number", "text", "textarea", "date")


def victim_fields(*, personal: bool) -> list[FieldSpec]:
    return [f for f in form_fields("victim", personal=personal)
            if f.name != "accident_id" and f.widget in VICTIM_WIDGETS]
