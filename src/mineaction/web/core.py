"""What the web pages need beyond the API, as plain functions over the store and the
principal (docs/style.md 1): map layers in a compact form, dashboard figures, linked records,
coordinate parsing and polygon areas. The routers in this package only parse and shape.

Map layers read the tables directly rather than through `Records.list`: the map asks for
every accident at once (100,000 on a national store), which the API's pages of at most
`max_page_size` records would need a hundred round trips for. The same visibility rules
are applied here: the public sees approved records only, with accident locations
generalised as the API generalises them; field users see approved records and their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from mineaction.analysis.casualties import casualties
from mineaction.auth.roles import Policy, Principal, Role, may_review, sees_personal_data
from mineaction.domain.models import ENTITIES
from mineaction.geo import gpkg_binary
from mineaction.geo.coordinates import (
    CoordinateError,
    format_dms,
    parse_coordinate,
    to_mgrs,
    to_utm,
)
from mineaction.geo.geodesic import geodesic_area_m2
from mineaction.store.base import Store
from mineaction.store.schema import entity_table

# Point layers travel as columns (ids, lons, lats, ...), not GeoJSON: a third of the bytes
# for 100,000 accidents, and the browser builds its features in one loop.
POINT_LAYERS = {
    "accidents": ("accident", "accident_date", ("accident_kind", "device_category")),
    "finds": ("find", "find_date", ("device_category", "device_model", "quantity")),
    "risk-education": ("risk_education", "session_date", ("method", "place_name")),
}
AREA_LAYERS = {
    "hazards": ("hazard", "date_reported",
                ("name", "hazard_kind", "hazard_status", "area_m2")),
    "land-release": ("released_part", "release_date", ("method", "area_m2")),
    "admin-areas": ("admin_area", None, ("pcode", "name", "level")),
}
LAYER_COLLECTIONS = {"accidents": "accidents", "finds": "finds",
                     "risk-education": "risk-education", "hazards": "hazards",
                     "land-release": "released-parts", "admin-areas": "admin-areas"}


@dataclass(frozen=True)
class MapFilters:
    date_from: date | None = None
    date_to: date | None = None
    admin_area: str | None = None
    status: tuple[str, ...] | None = None
    device: str | None = None
    role: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    admin_level: int = 1


def _visibility(table: sa.Table, p: Principal, policy: Policy,
                status: tuple[str, ...] | None) -> list[Any]:
    """The rows `p` may see, as SQL conditions (auth/roles.py may_read_record)."""
    cond: list[Any] = [table.c.deleted_at.is_(None)]
    if p.is_public:
        cond.append(table.c.status == "approved")
    elif p.role == Role.field:
        cond.append(sa.or_(table.c.status == "approved", table.c.created_by == p.username))
    if status:
        cond.append(table.c.status.in_(list(status)))
    if (not policy.cross_organisation_visibility and not may_review(p) and p.organisation_id
            and "organisation_id" in table.c):
        cond.append(sa.or_(table.c.organisation_id.is_(None),
                           table.c.organisation_id == p.organisation_id))
    return cond


def _filters(table: sa.Table, date_col: str | None, f: MapFilters) -> list[Any]:
    cond: list[Any] = []
    if date_col and f.date_from:
        cond.append(table.c[date_col] >= f.date_from)
    if date_col and f.date_to:
        cond.append(table.c[date_col] <= f.date_to)
    if f.admin_area:
        col = table.c.get("admin_area_pcode")
        if col is None:
            col = table.c.get("pcode")
        if col is not None:
            cond.append(col.startswith(f.admin_area))
    if f.device and "device_category" in table.c:
        cond.append(table.c.device_category == f.device)
    if f.device and "contamination" in table.c:
        padded = sa.literal(",") + sa.func.coalesce(table.c.contamination, "") + sa.literal(",")
        cond.append(padded.like(f"%,{f.device},%"))
    return cond


def _bbox_filter(geoms: list[Any], bbox: tuple[float, float, float, float] | None
                 ) -> list[bool] | None:
    if bbox is None:
        return None
    box = shapely.box(*bbox)
    return [g is not None and g.intersects(box) for g in geoms]


def _xy_columns(store: Store, table: sa.Table) -> list[Any]:
    """Columns giving a point's coordinates without building a geometry per row, which
    costs more than the rest of the query for 100,000 accidents: PostGIS answers x and y;
    on GeoPackage the raw BLOBs are read in one numpy pass (`_xy`)."""
    if store.dialect == "gpkg":
        return [table.c.geometry.label("blob")]
    return [sa.func.ST_X(table.c.geometry).label("x"),
            sa.func.ST_Y(table.c.geometry).label("y")]


def _xy(col: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if "blob" in col:
        return gpkg_binary.points_xy(list(col["blob"]))
    return (np.asarray(col["x"], dtype=float), np.asarray(col["y"], dtype=float))


def point_layer(store: Store, p: Principal, policy: Policy, layer: str, f: MapFilters,
                public_decimals: int = 1) -> dict[str, Any]:
    """Every visible point of a layer, as columns: {ids, lon, lat, <fields>...}. Accidents
    carry their casualties (killed, injured) for sizing."""
    kind, date_col, fields = POINT_LAYERS[layer]
    table = entity_table(ENTITIES[kind])
    cond = _visibility(table, p, policy, f.status) + _filters(table, date_col, f)
    cols = [table.c.fid, table.c.status, *_xy_columns(store, table),
            *(table.c[n] for n in fields)]
    if date_col:
        cols.append(sa.cast(table.c[date_col], sa.Text).label(date_col))
    cond.append(table.c.geometry.is_not(None))
    if f.bbox is not None:
        cond.append(store._bbox_condition(table, f.bbox))
    source: Any = table
    victims = entity_table(ENTITIES["victim"])
    if kind == "accident":
        vcond = [victims.c.deleted_at.is_(None)]
        if p.is_public:
            vcond.append(victims.c.status == "approved")
        if f.role:
            cond.append(table.c.id.in_(sa.select(victims.c.accident_id).where(
                victims.c.role == f.role, *vcond)))
        counts = (sa.select(
            victims.c.accident_id.label("aid"),
            sa.func.sum(sa.case((victims.c.outcome == "killed", 1), else_=0)).label("k"),
            sa.func.sum(sa.case((victims.c.outcome != "killed", 1), else_=0)).label("i"))
            .where(*vcond).group_by(victims.c.accident_id).subquery())
        cols += [counts.c.k, counts.c.i]
        source = source.outerjoin(counts, counts.c.aid == table.c.id)
    stmt = sa.select(*cols).select_from(source).where(*cond).order_by(table.c.fid)
    rows = _raw_rows(store, stmt)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(cols)
    col = dict(zip([c.key for c in cols], columns, strict=True))
    x, y = _xy(col)
    # Empty points have no place on the map (the R-tree has no entry for them either).
    keep = ~(np.isnan(x) | np.isnan(y))
    if not keep.all():
        picked = np.flatnonzero(keep).tolist()
        col = {k: [v[i] for i in picked] for k, v in col.items()}
        x, y = x[keep], y[keep]
        rows = picked
    decimals = public_decimals if p.is_public and kind == "accident" else 6
    # Public accident locations are generalised as the API does (api/records.py).
    lon = np.round(x, decimals).tolist()
    lat = np.round(y, decimals).tolist()
    # Records are named by fid (a few digits, not a 36-character UUID: 100,000 of them
    # are 3.6 MB) and opened through /web/go/<layer>/<fid>; repeated text travels once.
    out: dict[str, Any] = {"layer": layer, "collection": LAYER_COLLECTIONS[layer],
                           "count": len(rows), "fid": list(col["fid"]), "lon": lon,
                           "lat": lat, "coded": {}}
    for name in ("status", *fields, *([date_col] if date_col else [])):
        # pandas' hash table, in C: a dict.setdefault a row took a quarter of a second.
        codes, values = pd.factorize(np.asarray(col[name], dtype=object),
                                     use_na_sentinel=False)
        out["coded"]["date" if name == date_col else name] = {
            "values": [None if v is None or v != v else v for v in values.tolist()],
            "codes": codes.tolist()}
    if kind == "accident":
        out["killed"] = [int(v or 0) for v in col["k"]]
        out["injured"] = [int(v or 0) for v in col["i"]]
    return out


def _raw_rows(store: Store, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the database driver: SQLAlchemy's Row objects and result
    processors cost a second per 100,000 rows, more than the query."""
    with store.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        if compiled.positiontup is not None:
            args: Any = [params[k] for k in compiled.positiontup]
        else:
            args = params
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(str(compiled), args)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def fid_to_id(store: Store, layer: str, fid: int) -> str | None:
    kind = (POINT_LAYERS.get(layer) or AREA_LAYERS.get(layer) or (None,))[0]
    if kind is None:
        return None
    table = entity_table(ENTITIES[kind])
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table.c.id).where(table.c.fid == fid)).scalar()


def area_layer(store: Store, p: Principal, policy: Policy, layer: str, f: MapFilters
               ) -> dict[str, Any]:
    """Polygons of a layer as a GeoJSON FeatureCollection (properties: id, status, ...)."""
    kind, date_col, fields = AREA_LAYERS[layer]
    table = entity_table(ENTITIES[kind])
    if kind == "admin_area":
        cond = [table.c.deleted_at.is_(None), table.c.level == f.admin_level]
        if f.admin_area:
            cond.append(table.c.pcode.startswith(f.admin_area))
    else:
        cond = _visibility(table, p, policy, f.status) + _filters(table, date_col, f)
    stmt = (sa.select(table.c.id, table.c.status, table.c.geometry,
                      *(table.c[n] for n in fields))
            .where(table.c.geometry.is_not(None), *cond).order_by(table.c.fid))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    geoms = [r.geometry for r in rows]
    keep = _bbox_filter(geoms, f.bbox)
    features = []
    for i, r in enumerate(rows):
        if keep is not None and not keep[i]:
            continue
        geom = r.geometry
        if kind == "admin_area":
            # Outlines for orientation: ~100 m of simplification is invisible at the
            # zooms where a whole country's municipalities are drawn.
            geom = geom.simplify(0.001, preserve_topology=True)
        props = {"id": r.id, "status": r.status, "collection": LAYER_COLLECTIONS[layer]}
        props.update({n: getattr(r, n) for n in fields})
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


# -- coordinates and areas -------------------------------------------------------------
def coordinate_json(text: str, hint: str | None = None) -> dict[str, Any]:
    """A coordinate as written, read into WGS84 and written back in every notation."""
    try:
        c = parse_coordinate(text, hint=hint)
    except (CoordinateError, ValueError) as exc:
        return {"ok": False, "message": str(exc)}
    out: dict[str, Any] = {"ok": True, "lat": round(c.lat, 7), "lon": round(c.lon, 7),
                           "system": c.system, "original": c.original,
                           "dd": f"{c.lat:.6f}, {c.lon:.6f}", "dms": format_dms(c.lat, c.lon)}
    try:
        zone, hemi, e, n = to_utm(c.lat, c.lon)
        out["utm"] = f"{zone}{hemi} {e:.0f}E {n:.0f}N"
        out["mgrs"] = to_mgrs(c.lat, c.lon)
    except CoordinateError:  # polar: no UTM/MGRS
        out["utm"] = out["mgrs"] = None
    return out


def area_json(geometry: dict[str, Any]) -> dict[str, Any]:
    """Area on the WGS84 ellipsoid of a drawn polygon, in m2 and ha, with its validity."""
    try:
        geom = shapely.geometry.shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return {"ok": False, "message": f"not a GeoJSON geometry: {exc}"}
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return {"ok": False, "message": f"expected a polygon, got {geom.geom_type}"}
    if not geom.is_valid:
        from shapely.validation import explain_validity

        return {"ok": False, "message": f"the polygon is not valid: {explain_validity(geom)}"}
    m2 = geodesic_area_m2(geom)
    return {"ok": True, "area_m2": round(m2, 2), "area_ha": round(m2 / 10_000, 4)}


# -- dashboard ---------------------------------------------------------------------------
def dashboard(store: Store, p: Principal, *, include_submitted: bool,
              min_count: int | None = None) -> dict[str, Any]:
    """Figures of the dashboard. The public counts approved records only; signed-in users
    may count records awaiting approval too (an import through the web lands as
    submitted), and the page says which. The public's casualty counts below `min_count`
    are hidden (None) with their complementary cells, as in /api/v1/stats."""
    statuses: tuple[str, ...] = ("approved",)
    if include_submitted and not p.is_public:
        statuses = ("approved", "submitted")
    by_year = casualties(store, ["year", "outcome"], statuses=statuses)
    years: dict[str, dict[str, int]] = {}
    for r in by_year.rows:
        year = r["year"] or "unknown"
        row = years.setdefault(year, {"killed": 0, "injured": 0, "unknown": 0})
        row["killed"] += r["killed"]
        row["injured"] += r["injured"]
        row["unknown"] += r["unknown_outcome"]
    by_role = casualties(store, ["role"], statuses=statuses)
    total = by_year.total()
    hazards = entity_table(ENTITIES["hazard"])
    stmt = (sa.select(hazards.c.hazard_status, hazards.c.hazard_kind, sa.func.count(),
                      sa.func.sum(sa.func.coalesce(hazards.c.area_m2, 0.0)))
            .where(hazards.c.deleted_at.is_(None), hazards.c.status.in_(list(statuses)))
            .group_by(hazards.c.hazard_status, hazards.c.hazard_kind))
    hz: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for status, kind, n, m2 in conn.execute(stmt):
            row = hz.setdefault(status, {"count": 0, "area_m2": 0.0, "SHA": 0, "CHA": 0})
            row["count"] += int(n)
            row["area_m2"] += float(m2 or 0)
            row[kind] = row.get(kind, 0) + int(n)
    open_states = ("open", "worked_on")
    from mineaction.analysis.landrelease import remaining_area

    remaining = remaining_area(store, [date.today()], statuses=statuses)[0]
    out: dict[str, Any] = {
        "statuses": list(statuses),
        "casualties": {"total": total["casualties"], "killed": total["killed"],
                       "injured": total["injured"], "unknown": total["unknown_outcome"],
                       "by_year": [{"year": y, **v} for y, v in sorted(years.items())],
                       "by_role": [{"role": r["role"] or "unknown", "casualties": r["casualties"],
                                    "killed": r["killed"], "injured": r["injured"]}
                                   for r in by_role.rows]},
        "hazards": {"by_status": hz,
                    "open": sum(v["count"] for k, v in hz.items() if k in open_states),
                    "closed": sum(v["count"] for k, v in hz.items() if k not in open_states),
                    "remaining_m2": remaining["remaining_m2"]},
        "awaiting": None,
    }
    if not p.is_public:
        out["awaiting"] = awaiting_approval(store, p)
    elif min_count is not None:
        _suppress_casualties(out["casualties"], min_count)
    return out


def _suppress_casualties(c: dict[str, Any], min_count: int) -> None:
    """Hide the public's small counts: years and roles each add up to the total shown."""
    from mineaction.reports.suppression import suppress_rows

    # The dashboard says "unknown" where the statistics say "unknown_outcome".
    def hidden(rows: list[dict[str, Any]], dims: list[str]) -> list[dict[str, Any]]:
        stats = [{("unknown_outcome" if k == "unknown" else k): v for k, v in r.items()}
                 for r in rows]
        for r in stats:
            if "casualties" not in r:
                r["casualties"] = r["killed"] + r["injured"] + r["unknown_outcome"]
        return [{("unknown" if k == "unknown_outcome" else k): v for k, v in r.items()}
                for r in suppress_rows(stats, dims, min_count)]

    c["by_year"] = hidden(c["by_year"], ["year"])
    c["by_role"] = hidden(c["by_role"], ["role"])
    total = hidden([{k: c[k] for k in ("killed", "injured", "unknown")}
                    | {"casualties": c["total"]}], [])[0]
    c.update(total=total["casualties"], killed=total["killed"], injured=total["injured"],
             unknown=total["unknown"], suppressed_below=min_count)


def awaiting_approval(store: Store, p: Principal, limit: int = 10) -> dict[str, Any]:
    """Submitted records: a count per kind and the most recent few."""
    counts: dict[str, int] = {}
    recent: list[dict[str, Any]] = []
    from mineaction.api.routers.records import COLLECTIONS

    with store.engine.connect() as conn:
        for kind, model in ENTITIES.items():
            table = entity_table(model)
            cond = [table.c.deleted_at.is_(None), table.c.status == "submitted"]
            if p.role == Role.field:
                cond.append(table.c.created_by == p.username)
            n = conn.execute(sa.select(sa.func.count()).where(*cond)).scalar() or 0
            if not n:
                continue
            counts[kind] = int(n)
            for rid, at, by in conn.execute(
                    sa.select(table.c.id, table.c.updated_at, table.c.updated_by)
                    .where(*cond).order_by(table.c.updated_at.desc()).limit(limit)):
                recent.append({"kind": kind, "collection": COLLECTIONS[kind], "id": rid,
                               "updated_at": at.isoformat() if at else None, "by": by})
    recent.sort(key=lambda r: r["updated_at"] or "", reverse=True)
    return {"counts": counts, "total": sum(counts.values()), "recent": recent[:limit]}


# -- linked records --------------------------------------------------------------------
# (child kind, its field pointing at the parent) for each parent kind.
CHILDREN = {
    "hazard": (("activity", "hazard_id"), ("accident", "hazard_id"), ("find", "hazard_id")),
    "activity": (("released_part", "activity_id"), ("find", "activity_id")),
    "accident": (("victim", "accident_id"),),
}
PARENTS = {"hazard_id": "hazard", "activity_id": "activity", "accident_id": "accident",
           "organisation_id": "organisation"}
# Kinds a form's pick lists choose from: parents, and the sources of any record.
PICKED = frozenset({*PARENTS.values(), "source"})


def children(store: Store, p: Principal, policy: Policy, kind: str, record_id: str,
             limit: int = 200) -> list[tuple[str, list[dict[str, Any]]]]:
    """Records pointing at this one, by kind, as short rows the principal may see."""
    out = []
    for child, field in CHILDREN.get(kind, ()):
        if p.is_public and child == "victim":
            continue
        table = entity_table(ENTITIES[child])
        cond = _visibility(table, p, policy, None) + [table.c[field] == record_id]
        with store.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.select(table.c.id).where(*cond)
                                              .order_by(table.c.fid).limit(limit))]
        out.append((child, [{"id": rid, **short(store, child, rid, p)} for rid in ids]))
    return out


# Text a pick list searches in (whichever of them a kind has).
PICK_SEARCHED = ("name", "title", "place_name", "pcode", "acronym", "device_model",
                 "external_id")


def pick(store: Store, p: Principal, policy: Policy, kind: str, q: str, limit: int = 10
         ) -> list[dict[str, Any]]:
    """Records of `kind` that `p` may see whose name (or title, place, pcode, acronym,
    external id) contains `q`, or whose id starts with it: the options of a form's pick
    list for a linked record, most recently changed first."""
    table = entity_table(ENTITIES[kind])
    cond = _visibility(table, p, policy, None)
    q = q.strip().lower()
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        text = [sa.func.lower(table.c[c]).like(like, escape="\\") for c in PICK_SEARCHED
                if c in table.c]
        text.append(table.c.id.startswith(q, autoescape=True))
        cond.append(sa.or_(*text))
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(table.c.id).where(*cond)
                                          .order_by(table.c.updated_at.desc(), table.c.fid)
                                          .limit(limit))]
    return [{"id": rid, **short(store, kind, rid, p)} for rid in ids]


def pick_text(row: dict[str, Any]) -> str:
    """How a picked record reads in its box: label, summary, and its workflow status."""
    bits = [b for b in (row.get("label"), row.get("summary")) if b]
    return " · ".join(bits or [row["id"]]) + f" ({row['status']})"


def link_labels(store: Store, p: Principal, policy: Policy, record: dict[str, Any]
                ) -> dict[str, Any]:
    """What a form shows of the records its record links to, for those `p` may see: the
    text of each parent by field, and of each source as [(id, text)] under source_ids."""

    def text(kind: str, rid: str) -> str | None:
        table = entity_table(ENTITIES[kind])
        with store.engine.connect() as conn:
            visible = conn.execute(sa.select(table.c.id).where(
                table.c.id == rid, *_visibility(table, p, policy, None))).first()
        return pick_text({"id": rid, **short(store, kind, rid, p)}) if visible else None

    out: dict[str, Any] = {}
    for name, kind in PARENTS.items():
        if record.get(name):
            label = text(kind, str(record[name]))
            if label:
                out[name] = label
    # A source the user may not see stays linked, shown by its id only.
    out["source_ids"] = [(str(sid), text("source", str(sid)) or str(sid))
                         for sid in record.get("source_ids") or []]
    return out


def short(store: Store, kind: str, record_id: str, p: Principal) -> dict[str, Any]:
    """A one-line description of a record for lists of links; a victim's name only for
    roles that see personal data."""
    r = store.get(kind, record_id)
    hidden = set() if sees_personal_data(p) else ENTITIES[kind].personal_fields()
    label = next((str(getattr(r, n)) for n in ("name", "title", "place_name", "device_model")
                  if n not in hidden and getattr(r, n, None)), "")
    bits = [str(getattr(r, n)) for n in ("hazard_kind", "activity_kind", "accident_kind",
                                          "method", "outcome", "role", "accident_date",
                                          "find_date", "hazard_status")
            if getattr(r, n, None) is not None]
    return {"label": label, "summary": " · ".join(bits), "status": r.status}


def fmt_area(m2: float | None) -> str:
    if m2 is None or (isinstance(m2, float) and math.isnan(m2)):
        return ""
    return f"{m2:,.0f} m² ({m2 / 10_000:,.2f} ha)"
