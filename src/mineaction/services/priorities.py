# SPDX-License-Identifier: GPL-3.0-or-later
"""Priority lists of open hazards (issue 20): measure each hazard's indicators
(analysis/priorities.py, CRITERIA) from the records and the user's layers, rank them with
the chosen weights and method, and keep each list with everything it was made from.

Who: building a list is for approvers and administrators (a list is a decision, as
deciding on links is: services/reconcile.py); anyone signed in reads the saved lists,
seeing only the hazards their access lets them see; the public, none.

What is read: approved, open (open or worked on) hazards and approved accidents, through
the builder's access (access/visibility.py), accidents several sources report counted
once (store/links.py). A saved list keeps the indicator values, the weights, the method
and the layers' names and sizes, so it can be shown, compared and re-analysed
(`sensitivity`) without the data it came from; saving is audited.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from mineaction.access.roles import Policy, Principal, may_review
from mineaction.access.visibility import Access
from mineaction.analysis import priorities as pr
from mineaction.analysis.jsonable import jsonable
from mineaction.services.errors import Forbidden, Invalid, NotFoundError, Unauthorized
from mineaction.services.records import Records
from mineaction.store.base import Store, WriteEvent
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, Timestamp

NEAR_M = 5_000.0  # accidents and settlements "nearby" (the indicators say 5 km)
PLAN_NEAR_M = 1_000.0
NONE_FAR_KM = 50.0  # distance or years standing for "none"
OPEN = ("open", "worked_on")
DEFAULT_PRODUCTIVITY = 100.0  # m² a day: manual clearance, a rough mid-range
MAX_HAZARDS = 5_000  # PROMETHEE compares every pair: n² memory
LAYER_ROLES = ("settlements", "reconstruction")

PRIORITY_LISTS = sa.Table(
    "priority_lists",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("created_by", sa.Text),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("preset", sa.Text),
    sa.Column("hazards", sa.Integer, nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # JSON: inputs, weights and result
    sqlite_autoincrement=True,
    info={"unlisted": True},
)


@dataclass(frozen=True)
class Layer:
    """A user layer: its name (`settlements`, or starting with `reconstruction`), where
    it came from, and its features as (shapely geometry in lon/lat, properties)."""

    name: str
    source: str
    features: tuple[tuple[Any, dict[str, Any]], ...]


def _role(name: str) -> str:
    for role in LAYER_ROLES:
        if name == role or name.startswith(role):
            return role
    raise Invalid(f"layer {name!r}: name it settlements, or reconstruction (or "
                  "reconstruction-...)")


def read_layer(name: str, path: str | Path) -> Layer:
    """A layer from a vector file GDAL reads, or a CSV with lon and lat columns."""
    import shapely

    _role(name)
    path = Path(path)
    if not path.exists():
        raise Invalid(f"layer {name}: no file {path}")
    features: list[tuple[Any, dict[str, Any]]] = []
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        from shapely.geometry import Point

        with path.open(newline="", encoding="utf-8-sig") as handle:
            for n, row in enumerate(csv.DictReader(handle), start=2):
                low = {k.strip().lower(): v for k, v in row.items() if k}
                try:
                    lon = float(low.get("lon") or low.get("longitude") or "")
                    lat = float(low.get("lat") or low.get("latitude") or "")
                except ValueError:
                    raise Invalid(f"layer {name}: row {n} has no lon/lat numbers") from None
                features.append((Point(lon, lat), low))
        return Layer(name, path.name, tuple(features))
    from pyogrio.errors import DataSourceError
    from pyogrio.raw import read as read_raw

    try:
        meta, _fids, wkb, fields = read_raw(str(path))
    except (DataSourceError, OSError) as exc:
        raise Invalid(f"layer {name}: not a file GDAL reads: {exc}") from None
    geoms = list(shapely.from_wkb(wkb)) if wkb is not None else []
    crs = meta.get("crs")
    if crs and crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
        from pyproj import Transformer

        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geoms = list(shapely.transform(np.array(geoms, dtype=object),
                                       lambda c: np.column_stack(to_lonlat.transform(
                                           c[:, 0], c[:, 1]))))
    names = [str(n).lower() for n in meta["fields"]]
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        features.append((g, {n: fields[j][i] for j, n in enumerate(names)}))
    return Layer(name, path.name, tuple(features))


UPLOAD_SUFFIXES = (".geojson", ".json", ".csv")


def layer_from_upload(name: str, filename: str, data: bytes) -> Layer:
    """A layer a user uploaded in the web page: GeoJSON or CSV with lon and lat columns,
    read here in Python (an upload is never handed to GDAL's many drivers from a web
    form; a GeoPackage or Shapefile goes through the command line's `--layer`)."""
    import tempfile

    base = Path(filename or "").name or "upload"
    suffix = Path(base).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise Invalid(f"layer {name}: {base} is not GeoJSON (.geojson, .json) or CSV (.csv)")
    if suffix == ".csv":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "layer.csv"
            path.write_bytes(data)
            return replace(read_layer(name, path), source=base)
    try:
        collection = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"layer {name}: {base} is not JSON: {exc}") from None
    if not isinstance(collection, dict):
        raise Invalid(f"layer {name}: {base}: a GeoJSON FeatureCollection, please")
    return replace(layer_from_geojson(name, collection), source=base)


def layer_from_geojson(name: str, collection: Mapping[str, Any]) -> Layer:
    """A layer given over the API: a GeoJSON FeatureCollection in lon/lat."""
    import shapely
    from shapely.geometry import shape

    _role(name)
    if collection.get("type") != "FeatureCollection":
        raise Invalid(f"layer {name}: a GeoJSON FeatureCollection, please")
    features = []
    for n, f in enumerate(collection.get("features") or []):
        try:
            g = shape(f["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError,
                shapely.errors.ShapelyError) as exc:
            raise Invalid(f"layer {name}: feature {n}: not a geometry: {exc}") from None
        props = {str(k).lower(): v for k, v in (f.get("properties") or {}).items()}
        features.append((g, props))
    return Layer(name, "request", tuple(features))


def _number(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) else 0.0


def _blockages(v: Any) -> set[str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return set()
    if isinstance(v, str):
        return {s.strip() for s in v.split(",") if s.strip()}
    return {str(s) for s in v}


class _Near:
    """Distances in metres from one hazard to many points, in an azimuthal equidistant
    projection centred on the hazard (exact from the centre; ~0.4 mm a km off it at 5 km,
    geo/geodesic.py distance_to_geometry_m)."""

    def __init__(self, geometry: Any) -> None:
        import shapely

        from mineaction.geo.geodesic import centred_projection

        c = geometry.representative_point()
        self._xy = centred_projection("aeqd", c.x, c.y)
        self.shape = shapely.transform(shapely.segmentize(geometry, 0.01), self._xy)

    def to(self, geometries: Sequence[Any]) -> Any:
        import shapely

        if not len(geometries):
            return np.zeros(0)
        projected = shapely.transform(np.array(geometries, dtype=object), self._xy)
        return shapely.distance(self.shape, projected)


def _candidates(tree: Any, geometry: Any, distance_m: float) -> list[int]:
    from mineaction.geo.geodesic import degrees_buffer_for_distance

    minx, miny, maxx, maxy = geometry.bounds
    dlon, dlat = degrees_buffer_for_distance(max(abs(miny), abs(maxy)), distance_m)
    from shapely.geometry import box

    return [int(i) for i in tree.query(box(minx - dlon, miny - dlat, maxx + dlon,
                                           maxy + dlat))]


def measure(hazards: Sequence[Mapping[str, Any]], accidents: Sequence[Mapping[str, Any]],
            victims_by_accident: Mapping[str, int], layers: Sequence[Layer], *,
            productivity_m2_day: float, reference: date,
            risk: Callable[[Any], float | None] | None = None
            ) -> list[dict[str, float | None]]:
    """Each hazard's indicator values (analysis/priorities.py INDICATORS)."""
    from shapely import STRtree

    from mineaction.geo.geodesic import geodesic_area_m2

    acc_geoms = [a["geometry"] for a in accidents]
    acc_tree = STRtree(acc_geoms)
    settlements = [f for lay in layers if _role(lay.name) == "settlements"
                   for f in lay.features]
    plans = [f for lay in layers if _role(lay.name) == "reconstruction" for f in lay.features]
    set_tree = STRtree([g for g, _ in settlements])
    has_returnees = any("returnees" in p for _, p in settlements)
    out: list[dict[str, float | None]] = []
    for h in hazards:
        g = h["geometry"]
        near = _Near(g)
        row: dict[str, float | None] = {}
        # casualties
        idx = _candidates(acc_tree, g, NEAR_M)
        d = near.to([acc_geoms[i] for i in idx])
        close = [accidents[i] for i, dist in zip(idx, d, strict=True) if dist <= NEAR_M]
        row["accidents_5km"] = float(len(close))
        row["casualties_5km"] = float(sum(victims_by_accident.get(str(a["id"]), 0)
                                          for a in close))
        row["accidents_in_hazard"] = float(sum(1 for a in accidents
                                               if str(a.get("hazard_id")) == str(h["id"])))
        dates = [a["accident_date"] for a in close if a.get("accident_date")]
        newest = max((x if isinstance(x, date) else date.fromisoformat(str(x)[:10])
                      for x in dates), default=None)
        row["years_since_accident"] = (round((reference - newest).days / 365.25, 3)
                                       if newest else NONE_FAR_KM)
        # blockages
        b = _blockages(h.get("blockages"))
        row["blocked_kinds"] = float(len(b))
        row["blocks_basic_needs"] = float(bool(b & {"housing", "water"}))
        row["blocks_livelihood"] = float(bool(b & {"agriculture", "grazing"}))
        row["blocks_access"] = float(bool(b & {"roads", "infrastructure", "services"}))
        # population
        row["beneficiaries"] = _number(h.get("beneficiaries"))
        if settlements:
            idx = _candidates(set_tree, g, NEAR_M)
            d = near.to([settlements[i][0] for i in idx])
            inside = [settlements[i][1] for i, dist in zip(idx, d, strict=True)
                      if dist <= NEAR_M]
            row["population_5km"] = sum(_number(p.get("population")) for p in inside)
            row["returnees_5km"] = (sum(_number(p.get("returnees")) for p in inside)
                                    if has_returnees else None)
        else:
            row["population_5km"] = row["returnees_5km"] = None
        # reconstruction
        if plans:
            dist = near.to([f[0] for f in plans])
            row["plan_overlap"] = float(any(g.intersects(f[0]) for f in plans))
            row["plans_1km"] = float((dist <= PLAN_NEAR_M).sum())
            row["plan_distance_km"] = round(min(float(dist.min()) / 1000.0, NONE_FAR_KM), 4)
        else:
            row["plan_overlap"] = row["plans_1km"] = row["plan_distance_km"] = None
        # risk
        row["risk_probability"] = risk(g.representative_point()) if risk else None
        row["confirmed"] = float(str(h.get("hazard_kind")) == "CHA")
        row["direct_evidence"] = float(str(h.get("evidence_kind")) == "direct")
        # cost
        area = _number(h.get("area_m2")) or (
            geodesic_area_m2(g) if g.geom_type in ("Polygon", "MultiPolygon") else 0.0)
        row["area_m2"] = round(area, 1)
        row["team_days"] = round(area / productivity_m2_day, 3)
        out.append(row)
    return out


def saved_content(store: Store, table: sa.Table, key: str, what: str) -> dict[str, Any]:
    """The JSON content of a saved priority list or season plan, or NotFoundError."""
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(table.c.content).where(table.c.id == str(key))).scalar()
    if text is None:
        raise NotFoundError(f"no {what} with id {key}")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _signed_in(p: Principal) -> None:
    if p.is_public:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})




class Priorities:
    def __init__(self, store: Store, policy: Policy | None = None, public_decimals: int = 1,
                 records: Records | None = None,
                 risk_at: Callable[[Access, Any], dict[str, Any] | None] | None = None
                 ) -> None:
        self.store = store
        self.records = records or Records(store, policy or Policy(), public_decimals)
        self.risk_at = risk_at  # services/site_check.py risk_from(layer), when shown
        store.ensure_tables([PRIORITY_LISTS])

    @staticmethod
    def _approver(p: Principal) -> None:
        _signed_in(p)
        if not may_review(p):
            raise Forbidden("building priority lists and season plans is for approvers "
                            "and administrators")

    # -- building ---------------------------------------------------------------------------
    def build(self, p: Principal, *, preset: str | None = "humanitarian",
              weights: Mapping[str, float] | None = None, method: str = "promethee",
              layers: Iterable[Layer] = (), productivity_m2_day: float = DEFAULT_PRODUCTIVITY,
              reference: date | None = None, save: bool = False) -> dict[str, Any]:
        """Rank the open hazards `p` may see; with `save`, keep the list (audited)."""
        self._approver(p)
        try:
            w = pr.weights_from(preset, weights)
            if method not in pr.METHODS:
                raise pr.PriorityError(f"no method {method!r}; one of "
                                       f"{', '.join(pr.METHODS)}")
        except pr.PriorityError as exc:
            raise Invalid(str(exc)) from None
        if not math.isfinite(productivity_m2_day) or productivity_m2_day <= 0:
            raise Invalid("productivity must be more than 0 m² a day")
        layers = list(layers)
        reference = reference or datetime.now(UTC).date()
        access = self.records.access(p)
        hazards = self._read(access, "hazard", where={"hazard_status": list(OPEN)})
        hazards = [h for h in hazards if h.get("geometry") is not None]
        if not hazards:
            raise Invalid("no open, approved hazards with a place to rank")
        if len(hazards) > MAX_HAZARDS:
            raise Invalid(f"{len(hazards):,} hazards: rank at most {MAX_HAZARDS:,} at once")
        accidents = [a for a in self._read(access, "accident")
                     if a.get("geometry") is not None]
        accidents = self.store.without_represented("accident", accidents)
        victims = self._victims(access, [str(a["id"]) for a in accidents])
        risk = None
        if self.risk_at is not None:
            risk_at = self.risk_at

            def risk(point: Any) -> float | None:
                found = risk_at(access, point)
                return None if not found else _number(found.get("probability"))

        values = measure(hazards, accidents, victims, layers,
                         productivity_m2_day=productivity_m2_day, reference=reference,
                         risk=risk)
        ranking = pr.rank(values, w, method)
        content = self._content(hazards, values, ranking, preset, layers,
                                productivity_m2_day, reference, p)
        if save:
            self._save(content, p)
        return content

    def _read(self, access: Access, kind: str, where: dict[str, Any] | None = None
              ) -> list[dict[str, Any]]:
        if not access.may_list(kind):
            return []
        frame = self.store.read_frame(Query(kind=kind, status=("approved",),
                                            where=where or {}, limit=None,
                                            visible=access.rows(kind)))
        return [dict(r) for r in frame.to_dict("records")] if len(frame) else []

    def _victims(self, access: Access, accident_ids: list[str]) -> dict[str, int]:
        if not accident_ids or not access.may_list("victim"):
            return {}
        frame = self.store.read_frame(Query(kind="victim", where={"accident_id": accident_ids},
                                            limit=None, visible=access.rows("victim")))
        rows = frame.to_dict("records") if len(frame) else []
        out: dict[str, int] = {}
        for r in self.store.without_represented("victim", rows):
            out[str(r["accident_id"])] = out.get(str(r["accident_id"]), 0) + 1
        return out

    @staticmethod
    def _content(hazards: Sequence[Mapping[str, Any]], values: list[dict[str, float | None]],
                 ranking: pr.Ranking, preset: str | None, layers: Sequence[Layer],
                 productivity: float, reference: date, p: Principal) -> dict[str, Any]:
        rows = []
        for i, h in enumerate(hazards):
            point = h["geometry"].representative_point()
            rows.append({
                "hazard_id": str(h["id"]), "name": h.get("name"),
                "rank": ranking.ranks[i], "score": round(ranking.scores[i], 6),
                "criteria": {c: round(float(ranking.matrix[i, j]), 6)
                             for j, c in enumerate(ranking.used)},
                "indicators": values[i], "lon": round(point.x, 7), "lat": round(point.y, 7),
                "area_m2": values[i]["area_m2"]})
        rows.sort(key=lambda r: r["rank"])
        out: dict[str, Any] = jsonable({
            "id": str(uuid.uuid4()), "created_at": datetime.now(UTC).isoformat(),
            "created_by": p.username, "method": ranking.method, "preset": preset,
            "weights": ranking.weights, "criteria_used": ranking.used,
            "criteria_missing": ranking.missing,
            "parameters": {"productivity_m2_day": productivity,
                           "reference_date": reference.isoformat(),
                           "near_m": NEAR_M, "plan_near_m": PLAN_NEAR_M},
            "layers": {lay.name: {"source": lay.source, "features": len(lay.features)}
                       for lay in layers},
            "saved": False, "hazards": rows})
        return out

    def _save(self, content: dict[str, Any], p: Principal) -> None:
        content["saved"] = True
        with self.store.transaction() as conn:
            conn.execute(PRIORITY_LISTS.insert().values(
                id=content["id"], created_at=datetime.fromisoformat(content["created_at"]),
                created_by=p.username, method=content["method"], preset=content["preset"],
                hazards=len(content["hazards"]),
                content=json.dumps(content, ensure_ascii=False, default=str)))
            self.store.notify(conn, WriteEvent("prioritise", "priority_list", content["id"],
                                               None, p.username, summary={
                                                   "method": content["method"],
                                                   "preset": content["preset"],
                                                   "weights": content["weights"],
                                                   "hazards": len(content["hazards"]),
                                                   "layers": content["layers"]}))

    # -- reading ----------------------------------------------------------------------------
    def saved(self, p: Principal) -> list[dict[str, Any]]:
        _signed_in(p)
        t = PRIORITY_LISTS
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.created_at, t.c.created_by, t.c.method,
                                          t.c.preset, t.c.hazards)
                                .order_by(t.c.fid.desc())).mappings().all()
        return [{**dict(r), "created_at": _iso(r["created_at"])} for r in rows]

    def get(self, p: Principal, list_id: str) -> dict[str, Any]:
        """A saved list, with only the hazards `p` may see (the others' count told)."""
        _signed_in(p)
        content = self._load(list_id)
        access = self.records.access(p)
        ids = tuple(h["hazard_id"] for h in content["hazards"])
        frame = self.store.read_frame(Query(kind="hazard", ids=ids, limit=None,
                                            visible=access.rows("hazard")))
        seen = {str(i) for i in frame["id"]} if len(frame) else set()
        shown = [h for h in content["hazards"] if h["hazard_id"] in seen]
        return {**content, "hazards": shown, "hidden": len(ids) - len(shown)}

    def _load(self, list_id: str) -> dict[str, Any]:
        return saved_content(self.store, PRIORITY_LISTS, list_id, "priority list")

    def sensitivity(self, p: Principal, list_id: str, step: float = pr.SENSITIVITY_STEP
                    ) -> dict[str, Any]:
        """How the saved list's ranks move when each weight changes by ±step, recomputed
        from the indicator values it keeps."""
        _signed_in(p)
        content = self._load(list_id)
        hazards = content["hazards"]
        ranking = pr.rank([h["indicators"] for h in hazards], content["weights"],
                          content["method"])
        visible = {h["hazard_id"] for h in self.get(p, list_id)["hazards"]}
        rows = pr.sensitivity(ranking, step)
        for r in rows:  # ranks by hazard, of the hazards the reader sees
            for side in ("minus", "plus"):
                r[side]["ranks"] = {h["hazard_id"]: rk for h, rk in
                                    zip(hazards, r[side]["ranks"], strict=True)
                                    if h["hazard_id"] in visible}
        out: dict[str, Any] = jsonable({"id": content["id"], "method": content["method"],
                       "weights": content["weights"], "step": step,
                       "base": {h["hazard_id"]: rk for h, rk in
                                zip(hazards, ranking.ranks, strict=True)
                                if h["hazard_id"] in visible},
                       "criteria": rows})
        return out


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)
