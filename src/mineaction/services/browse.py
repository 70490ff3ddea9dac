"""The web's record lists: search, filters, sort and pages with a total, over the records
the principal may see (access/), searching and sorting only on fields it may read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mineaction.access.visibility import Access
from mineaction.domain.codes import parse_code
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.services.links import text_search
from mineaction.services.records import log_personal_read
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import entity_table

# Text a list's search box looks in (whichever of them a kind has and the principal may
# read: a viewer's search never matches a victim's name).
SEARCHED = ("name", "title", "place_name", "pcode", "device_model", "narrative",
            "external_id", "acronym")


@dataclass(frozen=True)
class Browse:
    kind: str
    q: str | None = None
    status: tuple[str, ...] | None = None
    sort: str = "fid"
    desc: bool = False
    offset: int = 0
    limit: int = 50
    admin_area: str | None = None
    year: int | None = None
    equal: dict[str, Any] = field(default_factory=dict)  # field -> value (kind, outcome...)


def counts(store: Store, access: Access) -> dict[str, int]:
    """How many records of each kind the principal may see (kinds it sees at all)."""
    out = {}
    with store.engine.connect() as conn:
        for kind, model in ENTITIES.items():
            if access.may_list(kind):
                table = entity_table(model)
                out[kind] = int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    *access.sql(table, kind))).scalar() or 0)
    return out


def browse(store: Store, access: Access, b: Browse) -> tuple[list[dict[str, Any]], int]:
    """A page of records (as the principal may see them) and how many match in all."""
    kind = b.kind
    table = entity_table(ENTITIES[kind])
    cond = access.sql(table, kind, b.status)
    for name, value in b.equal.items():
        if value not in (None, "") and access.readable(kind, name):
            cond.append(table.c[name] == value)
    if b.admin_area and "admin_area_pcode" in table.c:
        cond.append(table.c.admin_area_pcode.startswith(b.admin_area, autoescape=True))
    if b.year is not None:
        cond.append(_in_year(kind, table, b.year))
    if b.q and b.q.strip():
        code = parse_code(b.q)
        if code is not None:
            # A record code (HAZ-CO-05-000123) names one record by its kind and number,
            # whatever its middle says (domain/codes.py): of another kind, none here.
            cond.append(table.c.fid == code[1] if code[0] == kind else sa.false())
        else:
            cond.append(text_search(table, access, kind, b.q, SEARCHED))
    # Sorting by a field reveals its order: only fields the principal may read.
    order = table.c[b.sort] if access.readable(kind, b.sort) else table.c.fid
    order_by = [order.desc() if b.desc else order.asc(), table.c.fid]
    with store.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(*cond)).scalar() or 0)
        ids = [r[0] for r in conn.execute(sa.select(table.c.id).where(*cond)
                                          .order_by(*order_by).limit(b.limit)
                                          .offset(b.offset))]
    if not ids:
        return [], total
    rows, _ = store.query_rows(Query(kind=kind, ids=tuple(ids), limit=None,
                                     visible=access.rows(kind)), omit=access.hidden(kind))
    log_personal_read(store, access, kind, rows)
    by_id = {r["id"]: access.present(kind, r) for r in rows}
    return [by_id[i] for i in ids if i in by_id], total


def _in_year(kind: str, table: sa.Table, year: int) -> Any:
    """Records of one calendar year: by their own date, victims by their accident's (the
    casualty statistics' year, so a dashboard figure and its list agree)."""
    if kind == "victim":
        from mineaction.analysis.casualties import FACTS

        return table.c.id.in_(sa.select(FACTS.c.victim_id).where(FACTS.c.year == str(year)))
    date_field = REGISTRY[kind].primary_date
    if date_field is None:
        return sa.false()
    column = table.c[date_field]
    return sa.and_(column >= date(year, 1, 1), column <= date(year, 12, 31))


# -- a list as a file (issue 21, 5) -------------------------------------------------------
EXPORT_MAX = 100_000  # records one download of a list holds
EXPORT_FORMATS = {  # format -> (suffix, media type)
    "csv": (".csv", "text/csv; charset=utf-8"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "hxl": (".csv", "text/csv; charset=utf-8"),
}


def export_list(store: Store, access: Access, b: Browse, fmt: str
                ) -> tuple[bytes, str, str, int]:
    """The whole list `b` selects (its filters, search and order; not its page), as the
    principal sees it, as a file: (bytes, media type, suffix, records). The same rows as
    the list page, through `browse`, so the same fields are hidden and generalised and a
    read of personal data is logged as the page logs it. At most EXPORT_MAX records: a
    larger one is refused, naming the command line's `mineaction export` instead."""
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    import pandas as pd

    from mineaction.io.hxl_profile import tags_for
    from mineaction.io.writers import write_table
    from mineaction.services.errors import Invalid

    if fmt not in EXPORT_FORMATS:
        raise Invalid(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    rows, total = browse(store, access, replace(b, offset=0, limit=EXPORT_MAX))
    if total > EXPORT_MAX:
        raise Invalid(f"{total:,} records: a download holds at most {EXPORT_MAX:,}; narrow "
                      "the list, or use `mineaction export`")
    frame = pd.DataFrame([{k: _cell(v) for k, v in r.items()} for r in rows])
    if "geometry" in frame.columns:
        from shapely.geometry import shape

        frame["geometry"] = [None if g is None else shape(g) for g in frame["geometry"]]
        if frame["geometry"].isna().all():
            frame = frame.drop(columns=["geometry"])
    suffix, media = EXPORT_FORMATS[fmt]
    tags = None
    if fmt == "hxl":
        names = [c for c in frame.columns if c != "geometry"]
        if "geometry" in frame.columns:
            points = all(g is None or g.geom_type == "Point" for g in frame["geometry"])
            names += ["longitude", "latitude"] if points else ["wkt"]
        tags = tags_for(b.kind, names)
    with tempfile.TemporaryDirectory(prefix="mineaction-list-") as folder:
        out = Path(folder) / f"{REGISTRY[b.kind].collection}{suffix}"
        write_table(out, frame, format=fmt, layer=ENTITIES[b.kind].table, hxl_tags=tags)
        return out.read_bytes(), media, suffix, len(frame)


def _cell(value: Any) -> Any:
    """A presented value as a table cell: lists and nested objects as their JSON text."""
    import json

    if isinstance(value, list | tuple) or (isinstance(value, dict) and "type" not in value):
        return json.dumps(value, ensure_ascii=False)
    return value
