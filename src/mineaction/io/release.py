# SPDX-License-Identifier: GPL-3.0-or-later
"""A later release of a register without ids, matched to the dataset's records (issue 17,
item 2a).

Keys from content (io/keys.py) find every row whose mapped values are unchanged. What is left
after that are rows with a new key (new victims, or old ones whose values were revised) and
stored records no row has (gone, or revised). mineaction.linkage matches those two sets one
to one: a revised row is the record it revises, which keeps its id and its history (the
planned insert becomes an update of that record); a pair the model is unsure of goes to the
review queue (store/links.py) with both records kept, so that it is neither counted twice
(statistics count one entity) nor lost; the rest are new, or no longer in the file.

Parents first (accidents made from their victims' rows), then their children, whose link to
a revised parent is turned to the parent's old id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mineaction.domain.models import ENTITIES
from mineaction.io.stage import StagedKind, WriteOp
from mineaction.store import codec
from mineaction.store.base import Store
from mineaction.store.query import Query

UPPER, LOWER = 0.95, 0.6  # the default thresholds; saved with each run (linkage_runs)
MATCHED_KINDS = ("accident", "victim")
ACCIDENT_FIELDS = ("accident_date", "date_precision", "admin_area_pcode", "place_name",
                   "narrative", "device_category", "accident_kind", "geometry")


@dataclass
class KindMatch:
    """What the matching decided for one kind."""

    kind: str
    remap: dict[str, str] = field(default_factory=dict)  # planned new id -> stored id
    rekey_only: set[str] = field(default_factory=set)  # new ids whose content is unchanged
    review: list[dict[str, Any]] = field(default_factory=list)  # link rows to write
    kept: set[str] = field(default_factory=set)  # stored ids matched or in review
    model: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ReleaseMatches:
    kinds: dict[str, KindMatch] = field(default_factory=dict)

    def remap(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k in self.kinds.values():
            out.update(k.remap)
        return out


def match_releases(store: Store, staged: dict[str, StagedKind], ops: list[WriteOp],
                   content_keyed: set[str], dataset: str) -> ReleaseMatches:
    """Match, per content-keyed kind, the rows planned as new to the stored records no row
    has. `ops` are the import's planned writes (read, not changed, here)."""
    from mineaction.linkage.release import match_release

    result = ReleaseMatches()
    planned = _planned_inserts(ops)
    for kind in MATCHED_KINDS:
        stage = staged.get(kind)
        if stage is None or kind not in content_keyed or not stage.existing:
            continue
        new_ids = {i for i in planned.get(kind, {}) if i not in _existing_ids(stage)}
        missing = [known[0] for ext, known in stage.existing.items()
                   if ext not in stage.ids and known[3] is None]
        if not new_ids or not missing:
            continue
        incoming = _frame([planned[kind][i] for i in sorted(new_ids)], kind, planned, store,
                          result.remap())
        current = _stored_frame(store, kind, missing)
        if not len(incoming) or not len(current):
            continue
        match = match_release(current, incoming, kind, upper=UPPER, lower=LOWER)
        km = KindMatch(kind, model=match.model, counts=match.counts())
        digests = {known[0]: known[2] for known in stage.existing.values()}
        exts = {known[0]: ext for ext, known in stage.existing.items()}
        for r in match.rows.itertuples(index=False):
            new_id = str(incoming.iloc[int(r.row)]["id"])
            if r.status in ("unchanged", "changed"):
                old_id = str(r.id)
                km.remap[new_id] = old_id
                km.kept.add(old_id)
                cells = _content_cells(planned[kind][new_id], kind, result.remap() | km.remap,
                                       exts[old_id])
                if codec.content_digest(cells) == digests[old_id]:
                    km.rekey_only.add(new_id)
            elif r.status == "review":
                old_id = str(r.id)
                km.kept.add(old_id)
                km.review.append({
                    "kind": kind, "scope": "release", "a_id": old_id, "b_id": new_id,
                    "a_dataset": dataset, "b_dataset": dataset,
                    "probability": float(r.probability), "status": "review",
                    "detail": {"changed_fields": list(r.changed_fields or ())}})
        result.kinds[kind] = km
    return result


def _existing_ids(stage: StagedKind) -> set[str]:
    cached: set[str] | None = getattr(stage, "_existing_id_set", None)
    if cached is None:
        cached = {known[0] for known in stage.existing.values()}
        stage._existing_id_set = cached  # type: ignore[attr-defined]
    return cached


def _planned_inserts(ops: list[WriteOp]) -> dict[str, dict[str, dict[str, Any]]]:
    """kind -> id -> the cells (name -> value) each planned insert writes."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for op in ops:
        if op.action != "insert" or "version" in op.names:  # restores keep their ids
            continue
        into = out.setdefault(op.kind, {})
        for row in op.rows:
            cells = {**op.constants, **dict(zip(op.names, row, strict=True))}
            into[str(cells["id"])] = cells
    return out


def _content_cells(cells: dict[str, Any], kind: str, remap: dict[str, str],
                   external_id: str) -> list[Any]:
    """The content cells a planned row would give the stored record (its old key, its
    links turned to old ids), in content_columns order: what existing_keys digests."""
    out = []
    for name in codec.content_columns(ENTITIES[kind]):
        value = cells.get(name)
        if name == "external_id":
            value = external_id
        elif isinstance(value, str) and value in remap:
            value = remap[value]
        out.append(value)
    return out


def _frame(rows: list[dict[str, Any]], kind: str,
           planned: dict[str, dict[str, dict[str, Any]]], store: Store,
           remap: dict[str, str]) -> pd.DataFrame:
    """Planned rows as the linkage compares them (a victim with its accident's fields)."""
    frame = pd.DataFrame(rows)
    if kind == "victim" and len(frame) and "accident_id" in frame.columns:
        planned_accidents = planned.get("accident", {})
        stored_ids = sorted({str(a) for a in frame["accident_id"].dropna()
                             if str(a) not in planned_accidents} | {
            remap[str(a)] for a in frame["accident_id"].dropna() if str(a) in remap})
        stored = _accidents_by_id(store, stored_ids)
        fields = []
        for a in frame["accident_id"]:
            key = str(a) if a is not None else ""
            if key in remap:  # its accident was matched to a stored one: compare as revised
                fields.append(_accident_cells(planned_accidents.get(key) or stored.get(
                    remap[key], {}), store))
            elif key in planned_accidents:
                fields.append(_accident_cells(planned_accidents[key], store))
            else:
                fields.append(stored.get(key, {}))
        extra = pd.DataFrame(fields, index=frame.index)
        frame = pd.concat([frame.drop(columns=[c for c in extra.columns if c in frame.columns]),
                           extra], axis=1)
    elif kind == "accident" and len(frame):
        extra = pd.DataFrame([_accident_cells(r, store) for r in rows], index=frame.index)
        frame = pd.concat([frame.drop(columns=[c for c in extra.columns if c in frame.columns]),
                           extra], axis=1)
    return frame.reset_index(drop=True).assign(row=range(len(frame)))


def _accident_cells(cells: dict[str, Any], store: Store) -> dict[str, Any]:
    """An accident's compared fields from store-ready cells (its geometry decoded)."""
    out = {k: cells.get(k) for k in ACCIDENT_FIELDS if k != "geometry"}
    geom = cells.get("geometry")
    if geom is not None and not isinstance(geom, dict):
        try:
            point = store.decode_geometry(geom)
        except (ValueError, TypeError):
            point = None
        if point is not None and not point.is_empty:
            out["longitude"], out["latitude"] = point.x, point.y
    return out


def _accidents_by_id(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    frame = store.read_frame(Query(kind="accident", ids=tuple(ids), limit=None))
    out = {}
    for r in frame.to_dict("records"):
        geom = r.get("geometry")
        fields = {k: r.get(k) for k in ACCIDENT_FIELDS if k != "geometry"}
        if geom is not None and not geom.is_empty:
            fields["longitude"], fields["latitude"] = geom.x, geom.y
        out[str(r["id"])] = fields
    return out


def _stored_frame(store: Store, kind: str, ids: list[str]) -> pd.DataFrame:
    """Stored records as the linkage compares them."""
    parts = []
    for start in range(0, len(ids), 20_000):
        parts.append(store.read_frame(Query(kind=kind, ids=tuple(ids[start:start + 20_000]),
                                            limit=None)))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if kind == "victim" and len(frame):
        accidents = _accidents_by_id(store, sorted({str(a) for a in frame["accident_id"]
                                                    if a is not None}))
        extra = pd.DataFrame([accidents.get(str(a), {}) for a in frame["accident_id"]],
                             index=frame.index)
        frame = pd.concat([frame.drop(columns=[c for c in extra.columns if c in frame.columns]),
                           extra], axis=1)
    elif kind == "accident" and len(frame):
        geoms = frame.pop("geometry") if "geometry" in frame.columns else None
        if geoms is not None:
            frame["longitude"] = [g.x if g is not None and not g.is_empty else None
                                  for g in geoms]
            frame["latitude"] = [g.y if g is not None and not g.is_empty else None
                                 for g in geoms]
    return frame


def rewrite(ops: list[WriteOp], matches: ReleaseMatches, staged: dict[str, StagedKind]
            ) -> Iterator[WriteOp]:
    """The planned writes with the matches applied: a matched row updates the record it
    revises (or only takes its new key, when its content is the same) instead of being
    inserted, and links to a matched parent point at the parent's stored id."""
    remap = matches.remap()
    for op in ops:
        km = matches.kinds.get(op.kind)
        if remap and op.action in ("insert", "update"):
            op = _links_remapped(op, remap)
        if op.action != "insert" or km is None or not km.remap or "version" in op.names:
            yield op
            continue
        keep, changed, rekey = [], [], []
        id_at = op.names.index("id")
        for row in op.rows:
            new_id = str(row[id_at])
            if new_id not in km.remap:
                keep.append(row)
            elif new_id in km.rekey_only:
                rekey.append(row)
            else:
                changed.append(row)
        if keep:
            yield WriteOp(op.kind, "insert", op.names, keep, op.constants)
        book = staged[op.kind].bookkeeping
        if changed:
            content = [n for n in codec.content_columns(ENTITIES[op.kind])]
            names = [*content, "status", "updated_at", "updated_by"]
            rows, ids = [], []
            for row in changed:
                cells = {**op.constants, **dict(zip(op.names, row, strict=True))}
                old = km.remap[str(cells["id"])]
                rows.append(tuple(cells.get(c) for c in content)
                            + (book["status"], book["updated_at"], book["updated_by"], old))
                ids.append(old)
            yield WriteOp(op.kind, "update", names, rows, ids=ids, by=book["updated_by"])
        if rekey:
            rows = [(str(row[op.names.index("external_id")]), km.remap[str(row[id_at])])
                    for row in rekey]
            yield WriteOp(op.kind, "rekey", ["external_id"], rows)


def _links_remapped(op: WriteOp, remap: dict[str, str]) -> WriteOp:
    """A write whose link cells (e.g. a victim's accident_id) name a matched new parent,
    turned to that parent's stored id."""
    link_cols = [i for i, n in enumerate(op.names) if n.endswith("_id") and n != "id"
                 and n != "external_id"]
    constants = {k: remap.get(v, v) if isinstance(v, str) and k.endswith("_id") else v
                 for k, v in op.constants.items()}
    if not link_cols:
        return WriteOp(op.kind, op.action, op.names, op.rows, constants, op.ids, op.by)
    rows = []
    for row in op.rows:
        cells = list(row)
        for i in link_cols:
            if isinstance(cells[i], str) and cells[i] in remap:
                cells[i] = remap[cells[i]]
        rows.append(tuple(cells))
    return WriteOp(op.kind, op.action, op.names, rows, constants, op.ids, op.by)
