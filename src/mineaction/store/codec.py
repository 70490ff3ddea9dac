"""Conversion between domain records and store rows, shared by both stores.

Sets of enumeration codes are stored as comma-separated text and free-text lists as
'|'-separated text: QGIS shows and filters both ("contamination" LIKE '%ap_mine%'), which a
JSON array would make awkward.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from enum import Enum
from functools import cache
from typing import Any

from mineaction.domain.columns import ColumnSpec, columns
from mineaction.domain.models import STORED_ROWS, Record
from mineaction.store.schema import LINKED_FIELDS

# Fields that describe the record's life in the store rather than its content: a re-import
# that differs only in these is "unchanged".
BOOKKEEPING = frozenset(
    {"id", "status", "version", "created_at", "updated_at", "created_by", "updated_by"}
)


@cache
def stored_columns(model: type[Record]) -> list[ColumnSpec]:
    return [c for c in columns(model) if c.name not in LINKED_FIELDS]


@cache
def _read_plan(model: type[Record]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Column names to read, and the separator of each list-valued column."""
    specs = stored_columns(model)
    separators = {s.name: "," if s.kind == "enum_set" else "|" for s in specs
                  if s.kind in ("enum_set", "list")}
    return tuple(s.name for s in specs), separators


def content_columns(model: type[Record]) -> list[str]:
    return [c.name for c in stored_columns(model) if c.name not in BOOKKEEPING]


def to_cell(spec: ColumnSpec, value: Any) -> Any:
    """A model value as the store holds it (geometry stays shapely: the column type encodes)."""
    if value is None:
        return None
    if spec.kind == "enum_set":
        return ",".join(sorted(v.value if isinstance(v, Enum) else str(v) for v in value)) or None
    if spec.kind == "list":
        return "|".join(str(v) for v in value) or None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def from_cell(spec: ColumnSpec, value: Any) -> Any:
    if value is None:
        return [] if spec.kind in ("enum_set", "list") else None
    if spec.kind == "enum_set":
        return [v for v in str(value).split(",") if v]
    if spec.kind == "list":
        return [v for v in str(value).split("|") if v]
    return value


def record_to_row(record: Record) -> dict[str, Any]:
    model = type(record)
    return {spec.name: to_cell(spec, getattr(record, spec.name)) for spec in stored_columns(model)}


def row_to_record(model: type[Record], row: Any, source_ids: Iterable[str] = ()) -> Record:
    names, separators = _read_plan(model)
    data: dict[str, Any] = {}
    for name in names:
        value = row[name]
        if value is None:
            continue
        sep = separators.get(name)
        data[name] = [v for v in str(value).split(sep) if v] if sep else value
    data["source_ids"] = list(source_ids)
    # Validated (model_construct would not coerce types, and rows may have been edited in
    # QGIS), but without re-checking geometries the store wrote itself: see STORED_ROWS.
    token = STORED_ROWS.set(True)
    try:
        return model.model_validate(data)
    finally:
        STORED_ROWS.reset(token)


def content_digest(values: Sequence[Any]) -> str:
    """Digest of a record's content cells (content_columns order) as the store holds them.

    Used to tell changed from unchanged on re-import, on both sides: cells about to be
    written, and cells read back raw from the store. Both stores return what was written
    (text, numbers, ISO dates or date objects, which print the same, and the geometry in
    its store encoding), so equal content gives equal digests. Not stored: derivable."""
    text = "\x1f".join([str(v) for v in values])
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def to_cell_plain(value: Any) -> Any:
    """A filter value as stored: enum codes and UUIDs as text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
