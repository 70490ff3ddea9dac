"""Lists straight from rows to JSON-ready dicts, without a pydantic record per row.

Building and dumping a validated record costs ~0.2 ms a row: 20 ms of a 100-record page,
most of a list request (bench/api_bench.py). Rows were validated when written, so a list
reads them as stored and shapes them with the same codec the store uses; a single-record
GET still validates. The dicts equal `Record.model_dump(mode="json")`
(tests/api/test_api_records.py checks it on both stores).

This uses the store's query builder (`Store._select`), the one part shared with
`Store.query`; a public `Store.query_rows` is requested in issue 3's note so this module
can drop the private call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry import mapping

from mineaction.domain.models import ENTITIES
from mineaction.store import codec
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, entity_table


def _json_cell(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "geometry":
        return mapping(value)
    if kind == "datetime" and isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value


def query_rows(store: Store, q: Query) -> tuple[list[dict[str, Any]], int | None]:
    """(records as JSON-ready dicts, fid to page after or None), ordered by fid."""
    model = ENTITIES[q.kind]
    table = entity_table(model)
    stmt, post_filter = store._select(q)  # noqa: SLF001 -- see the module docstring
    stmt = stmt.order_by(table.c.fid)
    if post_filter is None and q.limit is not None:
        stmt = stmt.limit(q.limit + 1)
    specs = [(s.name, s.kind) for s in codec.stored_columns(model)]
    full = {s.name: s for s in codec.stored_columns(model)}
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
        if post_filter is not None:
            rows = [r for r in rows if post_filter(r)]
            if q.limit is not None:
                rows = rows[: q.limit + 1]
        more = q.limit is not None and len(rows) > q.limit
        rows = rows[: q.limit] if q.limit is not None else rows
        ids = [r["id"] for r in rows]
        sources: dict[str, list[str]] = {}
        if ids:
            links = METADATA.tables["record_sources"]
            for rid, sid in conn.execute(sa.select(links.c.record_id, links.c.source_id)
                                         .where(links.c.record_id.in_(ids))):
                sources.setdefault(rid, []).append(sid)
    out = []
    for r in rows:
        data: dict[str, Any] = {}
        for name, kind in specs:
            value = r[name]
            if kind in ("enum_set", "list"):
                value = codec.from_cell(full[name], value)
            data[name] = _json_cell(kind, value)
        data["source_ids"] = sources.get(r["id"], [])
        out.append(data)
    return out, (rows[-1]["fid"] if more and rows else None)
