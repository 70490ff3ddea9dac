"""Request and response types per entity, derived from the domain models, so the OpenAPI
document is generated from the same types the store validates against (never hand-written).

Input types leave out what the store keeps (status, version, timestamps, authors): status
changes go through the workflow endpoints, versions through If-Match. They check shape and
types at the door; the domain model then checks the whole record (cross-field rules,
geometry validity).
"""

from __future__ import annotations

import copy
import math
from functools import cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    create_model,
    model_validator,
)

from mineaction.domain.codes import PREFIXES
from mineaction.domain.geometry import GeometryKind, _to_shapely
from mineaction.domain.models import ENTITIES, Record
from mineaction.services.records import BOOKKEEPING


def _safe_geometry(value: Any) -> Any:
    """The domain's GeoJSON/WKT reader, with every failure reported as a validation error:
    shapely raises more than ValueError on malformed input (GeometryTypeError for an
    unknown type, IndexError for empty coordinates), which must be a 422, never a 500."""
    try:
        return _to_shapely(value)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any reader failure is the input's fault
        raise ValueError(f"not a valid geometry: {exc}") from None


def _fields(model: type[Record], *, optional: bool, with_id: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in BOOKKEEPING or (name == "id" and not with_id):
            continue
        info = copy.copy(info)
        info.metadata = [PlainValidator(_safe_geometry) if isinstance(m, PlainValidator)
                         and any(isinstance(k, GeometryKind) for k in info.metadata) else m
                         for m in info.metadata]
        annotation = info.annotation
        if optional or name == "id":
            info.default, info.default_factory = None, None
            annotation = annotation | None  # type: ignore[operator]
        out[name] = (annotation, info)
    return out


INT_LIMIT = 2**31 - 1  # PostgreSQL INTEGER; SQLite's is wider


def _storable(value: Any, path: str = "") -> None:
    """Values every store can hold: no NUL in text (PostgreSQL refuses it), integers within
    32 bits, finite numbers. Checked here so they are a 422, not a driver error."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: text cannot contain NUL characters")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > INT_LIMIT:
            raise ValueError(f"{path or 'value'}: integer out of range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'value'}: number must be finite")
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k, path)
            _storable(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            _storable(v, path)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _values_storable(cls, data: Any) -> Any:
        _storable(data)
        return data


@cache
def input_model(kind: str, mode: str) -> type[BaseModel]:
    """mode: create (id optional), replace (PUT), patch (every field optional)."""
    model = ENTITIES[kind]
    fields = _fields(model, optional=mode == "patch", with_id=mode == "create")
    name = f"{model.__name__}{mode.capitalize()}"
    return create_model(name, __base__=_Input, **fields)


class Link(BaseModel):
    rel: str
    href: str
    type: str | None = None


@cache
def output_model(kind: str) -> type[BaseModel]:
    """A record as reads and writes answer it: the domain model's fields and, for the
    kinds that have one, the record code the store makes (domain/codes.py), which inputs
    leave out as they leave out the status and the version. Named as the domain model:
    the OpenAPI document's schema for a hazard is "Hazard"."""
    model = ENTITIES[kind]
    if kind not in PREFIXES:
        return model
    return create_model(model.__name__, __base__=model, __doc__=model.__doc__,
                        code=(str | None, Field(None, description=(
                            "The record's code in this store (HAZ-CO-05-000123): kind, "
                            "country, first-level admin area, number. Made by the store; "
                            "the number never changes nor passes to another record."))))


@cache
def page_model(kind: str) -> type[BaseModel]:
    model = output_model(kind)
    return create_model(f"{model.__name__}Page", items=(list[model], ...),  # type: ignore[valid-type]
                        next_cursor=(str | None, None), links=(list[Link], []))


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000, description="Why (required to reject).")


class VersionInfo(BaseModel):
    version: int
    action: str
    superseded_at: str | None
    superseded_by: str | None
    data: dict[str, Any]


class Change(BaseModel):
    field: str
    from_: Any = Field(None, alias="from")
    to: Any = None


class Diff(BaseModel):
    from_version: int
    to_version: int
    changes: list[Change]


class Review(BaseModel):
    version: int
    action: str
    reason: str | None
    by: str | None
    at: str
