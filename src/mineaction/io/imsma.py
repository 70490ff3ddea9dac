# SPDX-License-Identifier: GPL-3.0-or-later
"""Exchange with IMSMA Core: a GeoPackage with a layer per IMSMA item type (issue 23).

The layout (layers, fields, value lists) is the one table of io/imsma_fields.py, which
docs/imsma.md shows. Links between items are IMSMA Core's own: each item's `imsma_id`
("accident_34") and `imsma_links`, the comma-separated imsma_ids of the items it is linked
to, written on both sides, as IMSMA Core's linking tool writes them.

Export: every hazard, activity, released part, accident, victim and risk-education
session. A record keeps the imsma_id it came with (its external_id, when that is an IMSMA
id); one without gets a stable id made from its own id, so exports of the same record
agree.

Import: all or nothing. Every layer is read and checked before anything is written: the
value lists, the links (a victim's accident must be in the file or already in the
dataset), the domain model's rules. Any problem is reported with file, layer, row and
field, and nothing is written. Then one transaction adds the new records and updates the
changed ones (their previous versions kept, as for any re-import); unchanged records are
left alone. A record keeps IMSMA's imsma_id as its external_id, in the dataset given
(default: the file's name), so a later export of the same items updates them.

Why not the mapping pipeline (io/pipeline.py): it reads one table per import and links a
row only to a parent made from the same row; IMSMA's links run between layers, by the
file's own ids, and must resolve before any record is written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from pydantic import ValidationError

from mineaction.audit.log import log_read
from mineaction.domain.models import ENTITIES, Record
from mineaction.io.errors import ReadError
from mineaction.io.imsma_fields import (
    BY_NAME,
    LAYERS,
    ImsmaField,
    ImsmaLayer,
    all_fields,
    field_kinds,
)
from mineaction.io.readers import GEOMETRY, ROW, read_table
from mineaction.io.writers import write_layers
from mineaction.store import codec
from mineaction.store.base import Store, WriteEvent
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, entity_table

# IMSMA Core's ids: an item type and a number ("hazard_poly_145"), at most 50 characters.
IMSMA_ID = re.compile(r"^[a-z][a-z0-9_]*_\d+$")
IMSMA_ID_LENGTH = 50


def imsma_id_of(layer: ImsmaLayer, record: Record, taken: set[str]) -> str:
    """The record's imsma_id: the IMSMA id it came with, else one made from its own id
    (48 bits of its UUID as a number: stable, and unique in practice)."""
    ext = record.external_id
    if ext and IMSMA_ID.match(ext) and len(ext) <= IMSMA_ID_LENGTH and ext not in taken:
        return ext
    return f"{layer.id_prefix}{int(record.id.hex[:12], 16)}"


# --- export ---------------------------------------------------------------------------------


def _cell(spec: ImsmaField, value: Any) -> Any:
    """A record's value as the IMSMA field holds it."""
    if value is None:
        return None
    if spec.values:
        labels = spec.to_imsma()
        if spec.multiple:
            codes = sorted(v.value if isinstance(v, Enum) else str(v) for v in value)
            return ", ".join(labels[c] for c in codes) or None
        return labels[value.value if isinstance(value, Enum) else str(value)]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def export_imsma(store: Store, out: str | Path, *, include_personal_data: bool = False,
                 actor: str | None = None) -> dict[str, int]:
    """Write every record of the IMSMA item types to `out` (a .gpkg), a layer each;
    returns the rows per layer. Victims' personal data only when asked (and then the
    read is logged in the audit trail, as for any export)."""
    records = {layer.name: sorted(store.query(Query(kind=layer.kind, limit=None)).items,
                                  key=lambda r: str(r.id)) for layer in LAYERS}
    ids: dict[uuid.UUID, str] = {}
    taken: set[str] = set()
    for layer in LAYERS:
        for record in records[layer.name]:
            ids[record.id] = imsma_id_of(layer, record, taken)
            taken.add(ids[record.id])
    # Links on both sides, as IMSMA Core's linking tool writes them.
    links: dict[uuid.UUID, list[str]] = {}
    for layer in LAYERS:
        for record in records[layer.name]:
            for link_field, _ in layer.links:
                parent = getattr(record, link_field)
                if parent is not None and parent in ids:
                    links.setdefault(record.id, []).append(ids[parent])
                    links.setdefault(parent, []).append(ids[record.id])
    frames: dict[str, pd.DataFrame] = {}
    for layer in LAYERS:
        model = ENTITIES[layer.kind]
        personal = model.personal_fields()
        fields = [f for f in all_fields(layer)
                  if include_personal_data or f.field not in personal]
        rows = []
        for record in records[layer.name]:
            row: dict[str, Any] = {"imsma_id": ids[record.id],
                                   "imsma_links": ",".join(links.get(record.id, [])) or None}
            row.update({f.name: _cell(f, getattr(record, f.field)) for f in fields})
            if layer.geometry:
                row[GEOMETRY] = getattr(record, "geometry", None)
            rows.append(row)
        columns = ["imsma_id", "imsma_links", *(f.name for f in fields),
                   *([GEOMETRY] if layer.geometry else [])]
        frames[layer.name] = pd.DataFrame(rows, columns=columns, dtype=object)
        if include_personal_data and personal:
            given = [r for r in records[layer.name]
                     if any(getattr(r, p) is not None for p in personal)]
            log_read(store, actor, layer.kind, [str(r.id) for r in given], sorted(personal))
    write_layers(out, frames, geometry_types={
        layer.name: layer.geometry for layer in LAYERS if layer.geometry},
        field_kinds={layer.name: field_kinds(layer) for layer in LAYERS})
    return {name: len(frame) for name, frame in frames.items()}


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImsmaProblem:
    layer: str
    row: int
    field: str
    message: str

    def describe(self, file_name: str) -> str:
        return (f"{file_name}, layer {self.layer}, row {self.row}, field {self.field}: "
                f"{self.message}")


class ImsmaRejected(Exception):
    """The file has problems: nothing was imported."""

    def __init__(self, file: str, problems: list[ImsmaProblem]) -> None:
        self.file = file
        self.problems = problems
        n = len(problems)
        super().__init__(f"{Path(file).name}: {n} problem{'s' if n != 1 else ''}; "
                         "nothing was imported")

    def lines(self) -> list[str]:
        return [p.describe(Path(self.file).name) for p in self.problems]


@dataclass
class ImsmaCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept_deleted: int = 0


@dataclass
class ImsmaReport:
    file: str
    dataset: str
    dry_run: bool
    layers: dict[str, ImsmaCounts] = field(default_factory=dict)
    ignored_layers: list[str] = field(default_factory=list)
    committed: bool = False


@dataclass
class _Row:
    """One row of the file, read: its record's values, key and links."""

    layer: ImsmaLayer
    row: int
    imsma_id: str
    links: list[str]
    values: dict[str, Any]  # mineaction field -> value (only the file's columns)
    columns: dict[str, str]  # mineaction field -> the IMSMA field it came from
    record_id: str | None = None
    existing: Record | None = None
    deleted: bool = False  # a person (or an earlier import) deleted it: it stays deleted
    record: Record | None = None
    has_links: bool = True  # the layer has an imsma_links field (else links stay as stored)


def _value(spec: ImsmaField, text: str | None) -> tuple[Any, str | None]:
    """A cell's text as the mineaction value, or an error message."""
    if text is None or not str(text).strip():
        return ([] if spec.multiple else None), None
    if not spec.values:
        return text, None
    known = spec.from_imsma()
    parts = [p.strip() for p in str(text).split(",")] if spec.multiple else [str(text)]
    codes = []
    for part in parts:
        code = known.get(part.strip().casefold())
        if code is None:
            allowed = ", ".join(imsma for _, imsma in spec.values)
            return None, f"{part!r} is not in the value list of {spec.name}: {allowed}"
        codes.append(code)
    return (codes if spec.multiple else codes[0]), None


def _read_rows(path: Path, problems: list[ImsmaProblem]) -> tuple[list[_Row], list[str]]:
    try:
        present = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL: not a GeoPackage, unreadable
        raise ReadError(path, f"cannot read it as a GeoPackage: {exc}") from exc
    ignored = [name for name in present if name not in BY_NAME]
    rows: list[_Row] = []
    for layer in LAYERS:
        if layer.name not in present:
            continue
        frame = read_table(path, layer=layer.name)
        if "imsma_id" not in frame.columns:
            problems.append(ImsmaProblem(layer.name, 0, "imsma_id",
                                         "the layer has no imsma_id field"))
            continue
        fields = [f for f in all_fields(layer) if f.name in frame.columns]
        for cells in frame.to_dict("records"):
            number = int(cells[ROW])
            ident = str(cells.get("imsma_id") or "").strip()
            if not ident:
                problems.append(ImsmaProblem(layer.name, number, "imsma_id", "is empty"))
                continue
            links = [t.strip() for t in str(cells.get("imsma_links") or "").split(",")
                     if t.strip()]
            values: dict[str, Any] = {}
            for spec in fields:
                value, problem = _value(spec, cells.get(spec.name))
                if problem is not None:
                    problems.append(ImsmaProblem(layer.name, number, spec.name, problem))
                values[spec.field] = value
            if layer.geometry and GEOMETRY in cells:
                geometry = cells[GEOMETRY]
                values["geometry"] = geometry if isinstance(geometry, shapely.Geometry) \
                    else None
            rows.append(_Row(layer, number, ident, links, values,
                             {f.field: f.name for f in fields},
                             has_links="imsma_links" in frame.columns))
    return rows, ignored


def _longest_prefix(ident: str) -> ImsmaLayer | None:
    layers = [x for x in LAYERS if ident.startswith(x.id_prefix)]
    return max(layers, key=lambda x: len(x.id_prefix)) if layers else None


def _resolve_links(store: Store, rows: list[_Row], dataset: str,
                   problems: list[ImsmaProblem]) -> None:
    """Each link field from the imsma_links of both sides: the parent's id, which must be
    in the file or in the dataset; one parent at most."""
    in_file = {r.imsma_id: r for r in rows}
    listed_by: dict[str, list[_Row]] = {}
    for r in rows:
        for target in r.links:
            listed_by.setdefault(target, []).append(r)
    stored: dict[str, dict[str, tuple[str, int, str, str | None]]] = {}

    def in_store(kind: str) -> dict[str, tuple[str, int, str, str | None]]:
        if kind not in stored:
            with store.engine.connect() as conn:
                stored[kind] = store.existing_keys(conn, kind, dataset)
        return stored[kind]

    for r in rows:
        for link_field, parent_layer in r.layer.links:
            parents: dict[str, str] = {}
            for target in r.links:
                found = in_file.get(target)
                if found is not None:
                    if found.layer.name == parent_layer and found.record_id:
                        parents[target] = found.record_id
                    continue
                guess = _longest_prefix(target)
                if guess is None or guess.name != parent_layer:
                    continue  # another item type IMSMA links (organisation, device ...)
                known = in_store(guess.kind).get(target)
                stored_id = known[0] if known is not None and known[3] is None \
                    else _made_id_in_store(store, guess, target)
                if stored_id is None:
                    problems.append(ImsmaProblem(
                        r.layer.name, r.row, "imsma_links",
                        f"links to {target}, which is neither in the file's layer "
                        f"{parent_layer} nor in dataset {dataset!r}"))
                    continue
                parents[target] = stored_id
            for other in listed_by.get(r.imsma_id, []):
                if other.layer.name == parent_layer and other.record_id:
                    parents[other.imsma_id] = other.record_id
            if len(set(parents.values())) > 1:
                problems.append(ImsmaProblem(
                    r.layer.name, r.row, "imsma_links",
                    f"links to {len(parents)} {parent_layer} items "
                    f"({', '.join(sorted(parents))}); a {r.layer.kind} has one"))
            elif parents:
                r.values[link_field] = next(iter(parents.values()))
            elif r.has_links or r.existing is None:
                r.values[link_field] = None


def _made_id_in_store(store: Store, layer: ImsmaLayer, target: str) -> str | None:
    """The stored record an imsma_id made by `imsma_id_of` stands for (its number is the
    first 48 bits of the record's UUID), if exactly one record of the layer's kind has
    them: a file mineaction exported links so to records it did not include."""
    number = target.removeprefix(layer.id_prefix)
    if not number.isdigit() or int(number) >= 2**48:
        return None
    hexa = f"{int(number):012x}"
    table = entity_table(layer.kind)
    with store.engine.connect() as conn:
        found: Sequence[Any] = conn.execute(sa.select(table.c.id).where(
            table.c.id.like(f"{hexa[:8]}-{hexa[8:12]}-%")).limit(2)).scalars().all()
    return str(found[0]) if len(found) == 1 else None


def _assign_ids(store: Store, rows: list[_Row], dataset: str,
                problems: list[ImsmaProblem]) -> None:
    """Each row's record id: mineaction's own (ma_id) if the file carries it, else the
    record the dataset holds under the imsma_id, else a new one; and its stored version."""
    seen: dict[str, _Row] = {}
    for r in rows:
        if r.imsma_id in seen:
            problems.append(ImsmaProblem(r.layer.name, r.row, "imsma_id",
                                         f"{r.imsma_id!r} is also in layer "
                                         f"{seen[r.imsma_id].layer.name}, row "
                                         f"{seen[r.imsma_id].row}"))
        seen[r.imsma_id] = r
    by_kind: dict[str, list[_Row]] = {}
    for r in rows:
        by_kind.setdefault(r.layer.kind, []).append(r)
    for kind, kind_rows in by_kind.items():
        with store.engine.connect() as conn:
            keys = store.existing_keys(conn, kind, dataset)
        for r in kind_rows:
            own = r.values.pop("id", None)
            if "dataset" not in r.columns:  # IMSMA's own file: its ids are the keys
                r.values["dataset"], r.values["external_id"] = dataset, r.imsma_id
            if own:
                try:
                    r.record_id = str(uuid.UUID(str(own)))
                except ValueError:
                    problems.append(ImsmaProblem(r.layer.name, r.row, "ma_id",
                                                 f"{own!r} is not a UUID"))
                continue
            key = r.values.get("external_id")
            known = keys.get(str(key)) if r.values.get("dataset") == dataset else None
            r.record_id = known[0] if known else str(uuid.uuid4())
        ids = [r.record_id for r in kind_rows if r.record_id]
        found = {str(rec.id): rec for rec in _records(store, kind, ids)}
        gone = _deleted(store, kind, ids)
        for r in kind_rows:
            r.existing = found.get(r.record_id or "")
            r.deleted = r.record_id in gone


def _deleted(store: Store, kind: str, ids: list[str]) -> set[str]:
    """Those of `ids` whose records were deleted (their tombstones)."""
    table = METADATA.tables["deleted_records"]
    out: set[str] = set()
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            query = sa.select(table.c.record_id).where(table.c.record_kind == kind,
                                                       table.c.record_id.in_(part))
            out.update(map(str, conn.execute(query).scalars()))
    return out


def _records(store: Store, kind: str, ids: list[str]) -> Iterable[Record]:
    for start in range(0, len(ids), 500):
        part = tuple(ids[start:start + 500])
        yield from store.query(Query(kind=kind, ids=part, limit=None)).items


def _build(rows: list[_Row], status: str, problems: list[ImsmaProblem]) -> None:
    """The record of each row, checked by the domain model: the stored record with the
    file's fields over it (fields the file lacks stay as they are), or a new one."""
    reported = {(p.layer, p.row, p.field) for p in problems}
    for r in rows:
        model = ENTITIES[r.layer.kind]
        if r.existing is not None:
            # A changed record gets the import's status, as through a mapping; a file
            # of mineaction's carries each record's own (ma_status).
            data = {**r.existing.model_dump(), "status": status}
        else:
            data = {"status": status}
        data.update(r.values)
        data["id"] = r.record_id or str(uuid.uuid4())
        try:
            r.record = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else ""
                message = str(err["msg"]).removeprefix("Value error, ")
                if not name and ": " in message:
                    name, message = message.split(": ", 1)
                column = {**{"id": "ma_id"}, **r.columns}.get(name, name)
                if (r.layer.name, r.row, column) not in reported:  # said once is enough
                    problems.append(ImsmaProblem(r.layer.name, r.row, column, message))


def _same(a: Record, b: Record, *, status: bool) -> bool:
    """Equal content (as the store holds it; geometry exactly), and workflow status if
    `status` (a file that carries each record's status)."""
    model = type(a)
    ra, rb = codec.record_to_row(a), codec.record_to_row(b)
    for name in [*codec.content_columns(model), *(["status"] if status else [])]:
        x, y = ra.get(name), rb.get(name)
        if isinstance(x, shapely.Geometry) or isinstance(y, shapely.Geometry):
            if x is None or y is None or not shapely.equals_exact(x, y, 1e-9):
                return False
        elif x != y:
            return False
    return True


def import_imsma(store: Store, path: str | Path, *, dataset: str | None = None,
                 dry_run: bool = False, status: str = "approved",
                 user: str | None = None) -> ImsmaReport:
    """Import an IMSMA Core GeoPackage, all or nothing (module docstring). Raises
    ImsmaRejected listing every problem; nothing is written then."""
    path = Path(path)
    started = datetime.now(UTC)
    dataset = dataset or path.stem
    report = ImsmaReport(file=str(path), dataset=dataset, dry_run=dry_run)
    problems: list[ImsmaProblem] = []
    rows, report.ignored_layers = _read_rows(path, problems)
    _assign_ids(store, rows, dataset, problems)
    _resolve_links(store, rows, dataset, problems)
    _build(rows, status, problems)
    if problems:
        raise ImsmaRejected(str(path), problems)
    added: list[Record] = []
    changed: list[Record] = []
    for layer in LAYERS:
        report.layers[layer.name] = ImsmaCounts()
    for r in rows:
        assert r.record is not None
        counts = report.layers[r.layer.name]
        if r.deleted:
            counts.kept_deleted += 1  # as a re-import through a mapping does
        elif r.existing is None:
            counts.added += 1
            added.append(r.record)
        elif _same(r.existing, r.record, status="status" in r.columns):
            counts.unchanged += 1
        else:
            counts.changed += 1
            changed.append(r.record)
    if dry_run:
        return report
    stamp = datetime.now(UTC)
    kinds = sorted({r.kind for r in added} | {new.kind for new in changed})
    with store.transaction() as conn:
        for record in added:
            row = codec.record_to_row(record.model_copy(update={
                "created_at": stamp, "updated_at": stamp, "created_by": user,
                "updated_by": user, "version": 1}))
            conn.execute(entity_table(record.kind).insert().values(**row))
        for new in changed:
            store.keep_versions(conn, new.kind, [str(new.id)], "import", user)
            row = codec.record_to_row(new)
            for frozen in ("id", "created_at", "created_by", "version"):
                row.pop(frozen)
            row.update(updated_at=stamp, updated_by=user)
            table = entity_table(new.kind)
            conn.execute(table.update().where(table.c.id == str(new.id))
                         .values(version=table.c.version + 1, **row))
        store.notify(conn, WriteEvent("import", ",".join(kinds), None, None, user, summary={
            "file": path.name, "dataset": dataset, "format": "imsma",
            "layers": {k: vars(v) for k, v in report.layers.items()}}))
        store.refresh_spatial_metadata(conn, kinds)
        _record_run(conn, report, started, stamp, len(rows), kinds)
    report.committed = bool(added or changed)
    return report


def _record_run(conn: sa.Connection, report: ImsmaReport, started: datetime,
                finished: datetime, rows: int, kinds: list[str]) -> None:
    """The import in the store's list of import runs, as the mapping pipeline records its
    runs (`mineaction info`, the import history)."""
    totals = {k: sum(getattr(c, k) for c in report.layers.values())
              for k in ("added", "changed", "unchanged")}
    conn.execute(METADATA.tables["import_runs"].insert().values(
        id=str(uuid.uuid4()), kind=",".join(kinds) or "-", dataset=report.dataset,
        file_name=Path(report.file).name, mapping="imsma", started_at=started,
        finished_at=finished, rows_read=rows, removed=0, rejected=0, flagged=0, **totals))


__all__ = ["ImsmaProblem", "ImsmaRejected", "ImsmaReport", "export_imsma", "import_imsma"]
