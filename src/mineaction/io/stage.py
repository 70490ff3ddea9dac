"""Staging mapped rows for the store: store-ready cells, the added / changed / unchanged
decision against what the dataset already holds, and the bulk writes that follow from it,
planned while the file is read and made later in one short transaction (issue 15)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES, new_ids
from mineaction.io.transform import Mapped, Points
from mineaction.store import codec
from mineaction.store.base import Store


@dataclass
class StagedKind:
    """What one import has done so far to one entity kind of its dataset."""

    kind: str
    # ext id -> (id, version, digest, deletion: None, "edit" or "import"); see existing_keys
    existing: dict[str, tuple[str, int, str, str | None]]
    bookkeeping: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)  # external_id -> id, staged this run
    # Remembering every staged key costs ~150 bytes a row; it is needed only to link
    # children to parents, to find duplicate keys, and to tell which stored rows are gone.
    remember_all: bool = True
    failed: set[str] = field(default_factory=set)
    ordinals: Counter[int] = field(default_factory=Counter)
    report: Any = None
    # Keys made from the rows' content (no id column): a later release is matched to the
    # stored records (io/release.py).
    content_keyed: bool = False

    def __post_init__(self) -> None:
        from mineaction.io.pipeline import KindReport

        self.report = KindReport(self.kind)


def _cells(values: Any, ok: np.ndarray) -> list[Any]:
    """A column as plain Python values (sqlite3 and psycopg take no numpy scalars)."""
    series = values[ok] if isinstance(values, pd.Series) else pd.Series(values)[ok]
    if series.dtype.kind == "f":
        return [None if v != v else v for v in series.to_numpy().tolist()]
    return series.to_numpy(dtype=object, na_value=None).tolist()


def _content_cells(store: Store, mapped: Mapped, ok: np.ndarray, dataset: str,
                   ext_ids: list[str]) -> dict[str, list[Any]]:
    model = ENTITIES[mapped.kind]
    geom = geometry_column(model)
    n = int(ok.sum())
    cols: dict[str, list[Any]] = {}
    for spec in codec.stored_columns(model):
        name = spec.name
        if name in codec.BOOKKEEPING:
            continue
        if name == "dataset":
            cols[name] = [dataset] * n
        elif name == "external_id":
            cols[name] = ext_ids
        elif geom is not None and name == geom.name and name in mapped.values:
            value = mapped.values[name]
            if isinstance(value, Points):
                part = value.take(ok)
                cols[name] = store.encode_points(part.lon, part.lat)
            else:
                cols[name] = [None if g is None else store.encode_geometry(g)
                              for g in value[ok]]
        elif name in mapped.values:
            cols[name] = _cells(mapped.values[name], ok)
        else:
            cols[name] = [spec.default] * n
    return cols


@dataclass
class WriteOp:
    """One bulk write an import will make: planned while the file is read (no lock held),
    made in the import's short write transaction (`apply`)."""

    kind: str
    # "insert", "update", "undelete" (drop the tombstones of `ids`) or "rekey" (rows:
    # (external_id, id): a record's new content key, io/release.py)
    action: str
    names: list[str]
    rows: list[tuple[Any, ...]]
    constants: dict[str, Any] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # update: the records to keep versions of
    by: str | None = None


def apply(store: Store, conn: Any, op: WriteOp) -> None:
    """Make one planned write, in the import's write transaction."""
    if op.action == "insert":
        store.bulk_insert(conn, op.kind, op.names, op.rows, op.constants)
    elif op.action == "undelete":
        store.forget_deletions(conn, op.ids)
    elif op.action == "rekey":
        store.bulk_rekey(conn, op.kind, op.rows)
    else:
        store.keep_versions(conn, op.kind, op.ids, "import", op.by)
        store.bulk_update(conn, op.kind, op.names, op.rows)


def plan_chunk(store: Store, mapped: Mapped, ok: np.ndarray, ext_ids: np.ndarray,
               dataset: str, stage: StagedKind, emit: Callable[[WriteOp], None]
               ) -> tuple[list[str], np.ndarray]:
    """Plan the writes of the chunk's valid rows (handed to ``emit``); returns their record
    ids, in order, and which of them will be written (added or changed) rather than found
    unchanged. The decision is against ``stage.existing``, read before: the pipeline checks
    that it still holds when it writes."""
    model = ENTITIES[mapped.kind]
    exts = ext_ids.tolist()
    cols = _content_cells(store, mapped, ok, dataset, exts)
    content = codec.content_columns(model)
    fresh = iter(new_ids(sum(1 for e in exts if e not in stage.existing)))
    ids: list[str] = []
    insert_at: list[int] = []
    update_at: list[int] = []
    restore_at: list[int] = []
    for i, ext in enumerate(exts):
        known = stage.existing.get(ext)
        if known is None:
            ids.append(next(fresh))
            insert_at.append(i)
            continue
        ids.append(known[0])
        if known[3] == "import":  # only an earlier release lacked it: back, under its id
            restore_at.append(i)
            continue
        if known[3] is not None:  # a person deleted it: a re-import does not undo that
            stage.report.kept_deleted += 1
            continue
        # Only rows already in the store are digested: a first import digests nothing.
        if codec.content_digest([cols[c][i] for c in content]) == known[2]:
            stage.report.unchanged += 1
        else:
            update_at.append(i)
    if stage.remember_all or stage.existing:
        stage.ids.update(zip(exts, ids, strict=True))
    stage.report.added += len(insert_at) + len(restore_at)
    stage.report.restored += len(restore_at)
    stage.report.changed += len(update_at)
    book = stage.bookkeeping
    if insert_at:
        constants = {k: book[k] for k in ("status", "version", "created_at", "updated_at",
                                          "created_by", "updated_by")}
        names, columns = ["id"], [[ids[i] for i in insert_at]]
        for name in content:
            column = cols[name]
            picked = column if len(insert_at) == len(exts) else [column[i] for i in insert_at]
            # The same in every row: a literal, not a bind (binary cells stay binds).
            if name != "external_id" and len(set(picked)) == 1 \
                    and not isinstance(picked[0], bytes):
                constants[name] = picked[0]
            else:
                names.append(name)
                columns.append(picked)
        emit(WriteOp(mapped.kind, "insert", names, list(zip(*columns, strict=True)),
                     constants))
    if update_at:
        names = [*content, "status", "updated_at", "updated_by"]
        rows = [tuple(cols[c][i] for c in content)
                + (book["status"], book["updated_at"], book["updated_by"], ids[i])
                for i in update_at]
        emit(WriteOp(mapped.kind, "update", names, rows, ids=[ids[i] for i in update_at],
                     by=book["updated_by"]))
    if restore_at:
        # Each comes back one version after its deletion, so its history reads on.
        names = ["id", "version", *content]
        rows = [(ids[i], stage.existing[exts[i]][1] + 1, *(cols[c][i] for c in content))
                for i in restore_at]
        constants = {k: book[k] for k in ("status", "created_at", "updated_at", "created_by",
                                          "updated_by")}
        emit(WriteOp(mapped.kind, "insert", names, rows, constants))
        emit(WriteOp(mapped.kind, "undelete", [], [], ids=[ids[i] for i in restore_at]))
    written = np.zeros(len(exts), bool)
    written[insert_at] = True
    written[restore_at] = True
    written[update_at] = True
    return ids, written
