"""Map layers for the web map: every visible point or polygon of a layer at once.

They read the tables directly rather than through `Records.list`: the map asks for every
accident at once (100,000 on a national store), which the API's pages of at most
`max_page_size` records would need a hundred round trips for. Which rows and how exactly
placed is still asked of access/ (`Access.rows`, `Access.generalised`), as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from mineaction.access.visibility import Access
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.geo import gpkg_binary
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
# The collection each layer's records are in (their pages are /records/<collection>/id).
LAYER_COLLECTIONS = {layer: REGISTRY[kind].collection
                     for layer, (kind, _, _) in {**POINT_LAYERS, **AREA_LAYERS}.items()}


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


def point_layer(store: Store, access: Access, layer: str, f: MapFilters) -> dict[str, Any]:
    """Every visible point of a layer, as columns: {ids, lon, lat, <fields>...}. Accidents
    carry their casualties (killed, injured) for sizing."""
    kind, date_col, fields = POINT_LAYERS[layer]
    table = entity_table(ENTITIES[kind])
    cond = access.sql(table, kind, f.status) + _filters(table, date_col, f)
    cols = [table.c.fid, table.c.status, *_xy_columns(store, table),
            *(table.c[n] for n in fields)]
    if date_col:
        text: Any = sa.cast(table.c[date_col], sa.Text)
        if access.dates_to_year(kind):
            text = sa.func.substr(text, 1, 4)
        cols.append(text.label(date_col))
    cond.append(table.c.geometry.is_not(None))
    if f.bbox is not None:
        cond.append(store.bbox_condition(table, f.bbox))
    source: Any = table
    victims = entity_table(ENTITIES["victim"])
    if kind == "accident" and f.role:
        # Accidents with a casualty of this role, among the victims counted: the public
        # counts approved victims (as its statistics do).
        counted = access.sql(victims, "victim") if access.may_list("victim") else [
            victims.c.status == "approved"]
        cond.append(table.c.id.in_(sa.select(victims.c.accident_id).where(
            victims.c.role == f.role, *counted)))
    # Casualties per accident only for those who see victims record by record: the
    # public's map would otherwise give each accident's killed and injured (issue 15, 3).
    if kind == "accident" and access.may_list("victim"):
        vcond = access.sql(victims, "victim")
        counts = (sa.select(
            victims.c.accident_id.label("aid"),
            sa.func.sum(sa.case((victims.c.outcome == "killed", 1), else_=0)).label("k"),
            sa.func.sum(sa.case((victims.c.outcome != "killed", 1), else_=0)).label("i"))
            .where(*vcond).group_by(victims.c.accident_id).subquery())
        cols += [counts.c.k, counts.c.i]
        source = source.outerjoin(counts, counts.c.aid == table.c.id)
    stmt = sa.select(*cols).select_from(source).where(*cond).order_by(table.c.fid)
    rows: list[Any] = _raw_rows(store, stmt)
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
    decimals = access.public_decimals if access.generalised(kind) else 6
    # Public accident locations are generalised as the API does (access/visibility.py).
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
    if "k" in col:
        out["killed"] = [int(v or 0) for v in col["k"]]
        out["injured"] = [int(v or 0) for v in col["i"]]
    return out


def _raw_rows(store: Store, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the database driver: SQLAlchemy's Row objects and result
    processors cost a second per 100,000 rows, more than the query."""
    with store.engine.connect() as conn:
        # IN lists (statuses) are expanded into the SQL, as SQLAlchemy's execution would.
        compiled = stmt.compile(dialect=conn.dialect,
                                compile_kwargs={"render_postcompile": True})
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


def fid_to_id(store: Store, access: Access, layer: str, fid: int) -> str | None:
    """The id of the record a map feature names by fid, if the principal may see it."""
    kind = (POINT_LAYERS.get(layer) or AREA_LAYERS.get(layer) or (None,))[0]
    if kind is None or not access.may_list(kind):
        return None
    table = entity_table(ENTITIES[kind])
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table.c.id).where(
            table.c.fid == fid, *access.sql(table, kind))).scalar()


def area_layer(store: Store, access: Access, layer: str, f: MapFilters) -> dict[str, Any]:
    """Polygons of a layer as a GeoJSON FeatureCollection (properties: id, status, ...)."""
    kind, date_col, fields = AREA_LAYERS[layer]
    table = entity_table(ENTITIES[kind])
    if kind == "admin_area":
        cond = access.sql(table, kind) + [table.c.level == f.admin_level]
        if f.admin_area:
            cond.append(table.c.pcode.startswith(f.admin_area))
    else:
        cond = access.sql(table, kind, f.status) + _filters(table, date_col, f)
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
        geom = within_budget(geom)
        props = {"id": r.id, "status": r.status, "collection": LAYER_COLLECTIONS[layer]}
        props.update({n: getattr(r, n) for n in fields})
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def data_version(store: Store, kinds: tuple[str, ...]) -> str:
    """Changes whenever a record of `kinds` is added, changed or deleted: an insert
    raises the largest fid (never reused), an update a record's version, a delete lowers
    the count."""
    return ";".join("{}:{}:{}:{}".format(kind, *store.table_marks(kind)) for kind in kinds)


# Most vertices a polygon is drawn with: a survey's polygon has far fewer; one of
# 100,000 (the most a record may have) would make every map load of its layer megabytes.
MAP_VERTICES = 2_000


def within_budget(geom: Any, budget: int = MAP_VERTICES) -> Any:
    """`geom` as the map draws it: unchanged when small; else simplified from about a
    metre (1e-5 degrees), doubling the tolerance until it fits `budget` vertices. The
    record keeps its geometry; only the map's copy is lighter (issue 15, 11)."""
    if geom is None or shapely.get_num_coordinates(geom) <= budget:
        return geom
    tolerance = 1e-5
    simpler = geom
    while shapely.get_num_coordinates(simpler) > budget and tolerance < 1:
        simpler = geom.simplify(tolerance, preserve_topology=True)
        tolerance *= 2
    return simpler


Extent = tuple[float, float, float, float]
# Where the map opens is decided from records' points; one far from the rest (a sign
# error, swapped coordinates) must not pull it out to the whole world (issue 16, 8).
OUTLIER_MADS = 8.0
OUTLIER_MIN_DEGREES = 1.0
START_SAMPLE = 20_000  # records of a kind read at most to place the map


# start_extent's answers until the store is written to: each form's place check and
# each map view ask for it, and without admin areas it reads thousands of geometries.
_EXTENTS: dict[tuple[Any, ...], Extent | None] = {}
_EXTENT_KINDS = ("admin_area", "accident", "hazard", "find")


def start_extent(store: Store, access: Access, country: str | None = None) -> Extent | None:
    """Where the map opens: the configured country; else the admin areas the store
    holds; else where the principal's approved records are, leaving out points far
    from the rest. None when there is nothing to go by."""
    if country:
        return _extent(store, access, country)
    marker = store.change_marker()  # read first: a write meanwhile is seen next time
    if marker is None:
        return _extent(store, access, None)
    key = (store.location, marker, *(access.cache_key(k) for k in _EXTENT_KINDS))
    if key not in _EXTENTS:
        if len(_EXTENTS) > 64:
            _EXTENTS.clear()
        _EXTENTS[key] = _extent(store, access, None)
    return _EXTENTS[key]


def _extent(store: Store, access: Access, country: str | None) -> Extent | None:
    if country:
        from mineaction.geo.countries import SLACK_DEGREES, country_outline

        minx, miny, maxx, maxy = country_outline(country).bounds
        return (minx + SLACK_DEGREES, miny + SLACK_DEGREES, maxx - SLACK_DEGREES,
                maxy - SLACK_DEGREES)
    areas = entity_table(ENTITIES["admin_area"])
    with store.engine.connect() as conn:
        geoms = [r[0] for r in conn.execute(sa.select(areas.c.geometry).where(
            *access.sql(areas, "admin_area", ("approved",)),
            areas.c.geometry.is_not(None), areas.c.level <= 1))]
    if geoms:
        return tuple(float(v) for v in shapely.total_bounds(geoms))  # type: ignore[return-value]
    xs: list[float] = []
    ys: list[float] = []
    for kind in ("accident", "hazard", "find"):
        table = entity_table(ENTITIES[kind])
        with store.engine.connect() as conn:
            cond = [*access.sql(table, kind, ("approved",)), table.c.geometry.is_not(None)]
            n = int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(*cond)).scalar() or 0)
            if n > START_SAMPLE:  # a sample spread over the table tells the extent
                cond.append(table.c.fid % (n // START_SAMPLE + 1) == 0)
            found: list[Any] = list(conn.execute(sa.select(table.c.geometry).where(*cond)))
            for (geom,) in found:
                point = geom.representative_point() if geom.geom_type != "Point" else geom
                xs.append(point.x)
                ys.append(point.y)
    return robust_extent(np.asarray(xs), np.asarray(ys))


def robust_extent(x: np.ndarray, y: np.ndarray) -> Extent | None:
    """The extent of the points, leaving out those far from the rest: more than
    OUTLIER_MADS median absolute deviations (and OUTLIER_MIN_DEGREES) from the median on
    either axis."""
    if not len(x):
        return None
    keep = np.ones(len(x), bool)
    for values in (x, y):
        median = np.median(values)
        spread = max(OUTLIER_MADS * float(np.median(np.abs(values - median))),
                     OUTLIER_MIN_DEGREES)
        keep &= np.abs(values - median) <= spread
    return (float(x[keep].min()), float(y[keep].min()), float(x[keep].max()),
            float(y[keep].max()))


# How far outside the area the store covers a point may be before it is questioned.
PLACE_MARGIN_DEGREES = 0.5


def place_warnings(store: Store, access: Access, country: str | None, lon: float,
                   lat: float) -> list[str]:
    """Reasons to doubt a location typed or drawn in a form, with the likely mistake
    (a sign, swapped coordinates) when one explains it: outside the configured country,
    or far outside the area the store's records cover (geo/validation.py)."""
    from mineaction.geo.validation import plausibility_problems

    if country:
        from mineaction.geo.countries import country_outline

        return plausibility_problems(lon, lat, area=country_outline(country))
    extent = start_extent(store, access)
    if extent is None:
        return plausibility_problems(lon, lat)
    m = PLACE_MARGIN_DEGREES
    return plausibility_problems(lon, lat, extent=(extent[0] - m, extent[1] - m,
                                                  extent[2] + m, extent[3] + m))
