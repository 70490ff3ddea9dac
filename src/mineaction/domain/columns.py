"""Column view of the entities: one ColumnSpec per model field.

The stores build their tables from these specs, and the bulk importer validates whole
columns against them. Validating a million rows one pydantic model at a time costs about
10 us a row (measured: 10 s for the AICMA-shaped victims of the benchmark), which alone would
break the import target of 50,000 rows/s; checking a column at a time with the same rules
costs a fraction of that. tests/io/test_transform.py holds these column checks to the
models' verdicts field by field, on generated records. Rules across fields are not repeated
here: both paths call the same functions (domain/rules.py).
"""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache

import annotated_types

from mineaction.domain.geometry import GeometryKind
from mineaction.domain.models import ENTITIES, Record


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str  # uuid, text, int, float, bool, date, datetime, enum, enum_set, list, geometry
    required: bool = False
    nullable: bool = True
    enum_values: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    geometry: GeometryKind | None = None
    personal: bool = False
    default: object = None
    extra: dict[str, object] = field(default_factory=dict)


def _strip_optional(annotation: object) -> tuple[object, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
    return annotation, False


Values = tuple[str, ...]


def _kind_of(annotation: object) -> tuple[str, Values]:
    origin = typing.get_origin(annotation)
    if origin in (set, frozenset, list):
        (inner,) = typing.get_args(annotation)
        if isinstance(inner, type) and issubclass(inner, StrEnum):
            return "enum_set", tuple(m.value for m in inner)
        return "list", ()
    if isinstance(annotation, type):
        if issubclass(annotation, StrEnum):
            return "enum", tuple(m.value for m in annotation)
        for py, name in (
            (bool, "bool"),
            (int, "int"),
            (float, "float"),
            (datetime, "datetime"),
            (date, "date"),
            (uuid.UUID, "uuid"),
            (str, "text"),
        ):
            if issubclass(annotation, py):
                return name, ()
    raise TypeError(f"no column kind for {annotation!r}")


@cache
def columns(model: type[Record]) -> tuple[ColumnSpec, ...]:
    specs = []
    for name, info in model.model_fields.items():
        geometry = next((m for m in info.metadata if isinstance(m, GeometryKind)), None)
        annotation, nullable = _strip_optional(info.annotation)
        kind: str = "geometry"
        values: Values = ()
        if geometry is not None:
            nullable = True
        metadata = list(info.metadata)
        if typing.get_origin(annotation) is typing.Annotated:
            # Optional[Annotated[int, Field(ge=0)]]: pydantic keeps the inner constraints
            # inside the annotation rather than in info.metadata.
            annotation, *inner = typing.get_args(annotation)
            for item in inner:
                metadata.extend(getattr(item, "metadata", [item]))
        if geometry is None:
            kind, values = _kind_of(annotation)
        bounds: dict[str, float | int | None] = {}
        for meta in metadata:
            if isinstance(meta, annotated_types.Ge):
                bounds["ge"] = meta.ge  # type: ignore[assignment]
            elif isinstance(meta, annotated_types.Le):
                bounds["le"] = meta.le  # type: ignore[assignment]
            elif isinstance(meta, annotated_types.MinLen):
                bounds["min_length"] = meta.min_length
            elif isinstance(meta, annotated_types.MaxLen):
                bounds["max_length"] = meta.max_length
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = None if info.is_required() else info.get_default(call_default_factory=False)
        if isinstance(default, StrEnum):
            default = default.value
        specs.append(
            ColumnSpec(
                name=name,
                kind=kind,
                required=info.is_required(),
                nullable=nullable,
                enum_values=values,
                geometry=geometry,
                personal=bool(extra.get("personal")),
                default=default if isinstance(default, str | int | float | bool) else None,
                **bounds,  # type: ignore[arg-type]
            )
        )
    return tuple(specs)


def column(model: type[Record], name: str) -> ColumnSpec:
    for spec in columns(model):
        if spec.name == name:
            return spec
    raise KeyError(f"{model.kind} has no field {name!r}")


@cache  # asked on every API read (issue 3's benchmark); models do not change
def geometry_column(model: type[Record]) -> ColumnSpec | None:
    return next((c for c in columns(model) if c.kind == "geometry"), None)


def spatial_entities() -> list[type[Record]]:
    return [m for m in ENTITIES.values() if geometry_column(m) is not None]
