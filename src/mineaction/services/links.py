"""Records linked to a record, as the principal may see them: its parents, its children,
its sources, and the options of a form's pick list. Every lookup goes through access/
(`Access.rows` for which records, `Access.hidden` for which fields), so a page never shows
the title of a record the principal could not open, nor a field it could not read.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mineaction.access.visibility import Access
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY, children_of, parent_fields
from mineaction.services.records import log_personal_read
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import entity_table

# Every link field -> the kind it points at (domain/registry.py).
PARENTS = parent_fields()
# Kinds a form's pick lists choose from: parents, and the sources of any record.
PICKED = frozenset({*PARENTS.values(), "source"})
# What names a record in a list of links, and what sums it up (whichever a kind has).
LABELS = ("name", "title", "place_name", "device_model")
SUMMARY = ("hazard_kind", "activity_kind", "accident_kind", "method", "outcome", "role",
           "accident_date", "find_date", "hazard_status")
# Text a pick list searches in (whichever of them a kind has and the principal may read).
PICK_SEARCHED = ("name", "title", "place_name", "pcode", "acronym", "device_model",
                 "external_id")


def short_rows(store: Store, access: Access, kind: str, ids: list[str]
               ) -> dict[str, dict[str, Any]]:
    """A one-line description of each record of `ids` the principal may see, by id:
    {label, summary, status}. Fields it may not read are not read; a personal field
    shown (a victim's name to a role that reads them) is a logged read."""
    if not ids or not access.may_list(kind):
        return {}
    fields = ENTITIES[kind].model_fields
    wanted = {"id", "status", *(n for n in (*LABELS, *SUMMARY) if n in fields)}
    omit = frozenset(fields) - wanted | access.hidden(kind)
    rows, _ = store.query_rows(Query(kind=kind, ids=tuple(ids), limit=None,
                                     visible=access.rows(kind)), omit=omit)
    log_personal_read(store, access, kind, rows)
    out = {}
    for r in rows:
        label = next((str(r[n]) for n in LABELS if r.get(n)), "")
        summary = " · ".join(str(r[n]) for n in SUMMARY if r.get(n) is not None)
        out[r["id"]] = {"label": label, "summary": summary, "status": r["status"]}
    return out


def short(store: Store, access: Access, kind: str, record_id: str) -> dict[str, Any] | None:
    """`short_rows` of one record; None when the principal may not see it (or it does
    not exist)."""
    return short_rows(store, access, kind, [str(record_id)]).get(str(record_id))


def children(store: Store, access: Access, kind: str, record_id: str, limit: int = 200
             ) -> list[tuple[str, list[dict[str, Any]]]]:
    """Records pointing at this one, by kind, as short rows the principal may see."""
    out = []
    for child, field in children_of(kind):
        if not access.may_list(child):
            continue
        table = entity_table(ENTITIES[child])
        cond = access.sql(table, child) + [table.c[field] == record_id]
        with store.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.select(table.c.id).where(*cond)
                                              .order_by(table.c.fid).limit(limit))]
        shorts = short_rows(store, access, child, ids)
        out.append((child, [{"id": rid, **shorts[rid]} for rid in ids if rid in shorts]))
    return out


def parents(store: Store, access: Access, record: dict[str, Any]
            ) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(kind, collection, id, short or None) of each record this one links to; None
    when the principal may not see it (shown as a bare link) or it no longer exists."""
    out = []
    for field, kind in PARENTS.items():
        value = record.get(field)
        if value:
            out.append((kind, REGISTRY[kind].collection, str(value),
                        short(store, access, kind, str(value))))
    return out


def sources(store: Store, access: Access, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's sources the principal may see, with their reliability; the others by
    id only (a link it may not follow)."""
    ids = [str(s) for s in record.get("source_ids") or []]
    rows: dict[str, dict[str, Any]] = {}
    if ids:
        found, _ = store.query_rows(Query(kind="source", ids=tuple(ids), limit=None,
                                          visible=access.rows("source")),
                                    omit=access.hidden("source"))
        rows = {r["id"]: r for r in found}
    out = []
    for sid in ids:
        r = rows.get(sid)
        out.append({"id": sid, "title": None} if r is None else
                   {"id": sid, "title": r.get("title"), "kind": r.get("source_kind"),
                    "reliability": r.get("reliability"), "credibility": r.get("credibility")})
    return out


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_search(table: sa.Table, access: Access, kind: str, q: str,
                columns: tuple[str, ...]) -> Any:
    """A condition: one of `columns` that the principal may read contains `q` (case
    aside), or the id is `q`. Hidden fields are never searched: a match would tell what
    they hold, one character at a time (issue 15, 2)."""
    like = _like(q.strip().lower())
    text: list[Any] = [sa.func.lower(table.c[c]).like(like, escape="\\") for c in columns
            if c in table.c and access.readable(kind, c)]
    text.append(table.c.id.startswith(q.strip(), autoescape=True))
    return sa.or_(*text)


def pick(store: Store, access: Access, kind: str, q: str, limit: int = 10
         ) -> list[dict[str, Any]]:
    """Records of `kind` the principal may see whose name (or title, place, pcode,
    acronym, external id, among the fields it may read) contains `q`, or whose id starts
    with it: the options of a form's pick list, most recently changed first."""
    if not access.may_list(kind):
        return []
    table = entity_table(ENTITIES[kind])
    cond = access.sql(table, kind)
    if q.strip():
        cond.append(text_search(table, access, kind, q, PICK_SEARCHED))
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(table.c.id).where(*cond)
                                          .order_by(table.c.updated_at.desc(), table.c.fid)
                                          .limit(limit))]
    shorts = short_rows(store, access, kind, ids)
    return [{"id": rid, **shorts[rid]} for rid in ids if rid in shorts]


def pick_text(row: dict[str, Any]) -> str:
    """How a picked record reads in its box: label, summary, and its workflow status."""
    bits = [b for b in (row.get("label"), row.get("summary")) if b]
    return " · ".join(bits or [row["id"]]) + f" ({row['status']})"


def link_labels(store: Store, access: Access, record: dict[str, Any]) -> dict[str, Any]:
    """What a form shows of the records its record links to, for those the principal may
    see: the text of each parent by field, and of each source as [(id, text)] under
    source_ids (a source it may not see stays linked, shown by its id only)."""
    out: dict[str, Any] = {}
    for kind, _, rid, row in parents(store, access, record):
        if row is not None:
            field = next(f for f, k in PARENTS.items() if k == kind and
                         str(record.get(f)) == rid)
            out[field] = pick_text({"id": rid, **row})
    ids = [str(s) for s in record.get("source_ids") or []]
    shorts = short_rows(store, access, "source", ids)
    out["source_ids"] = [(sid, pick_text({"id": sid, **shorts[sid]}) if sid in shorts else sid)
                         for sid in ids]
    return out
