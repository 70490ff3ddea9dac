# SPDX-License-Identifier: GPL-3.0-or-later
"""Features per cell (or per any list of points) at a cut-off T: event history, admin area
and user-supplied covariate layers. What each column means: `registry.REGISTRY`.

History features see only events dated strictly before T: the table of events is filtered
once, at the top of `compute`, and nothing after that can reach later events. That is the
whole defence against leaking the future into training, so it is kept in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from mineaction.analysis.risk.grid import Floats, Projection

EVENT_KINDS = ("accident", "find", "hazard", "released")
MEASURES = ("distance", "boundary", "count")
LAYER_MARGIN_KM = 1000.0  # layers are read within the events' box widened by the cap + this


@dataclass(frozen=True)
class Covariate:
    """One user-supplied vector layer. `measure`: distance (any geometry; 0 inside a
    polygon), boundary (distance to the polygons' outlines, inside and out: the coast from a
    land layer, the nearest border from admin areas) or count (points within each radius).
    `where`: an OGR SQL filter, e.g. "featurecla = 'River'". `radii_km`: the count's radii
    when not the history's (`FeatureConfig.radii_km`): a sparse layer needs wider ones."""

    name: str
    path: str
    measure: str = "distance"
    where: str | None = None
    description: str = ""
    radii_km: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"covariate {self.name!r}: measure {self.measure!r} is not one "
                             f"of {', '.join(MEASURES)}")


@dataclass(frozen=True)
class AdminLayer:
    """Admin-area polygons: `code` names the lower level (municipality), `parent` the upper
    one (department) used as the categorical `admin_code`."""

    path: str
    code: str
    parent: str | None = None


@dataclass(frozen=True)
class FeatureConfig:
    kinds: tuple[str, ...] = EVENT_KINDS
    radii_km: tuple[float, ...] = (1.0, 5.0, 10.0)
    half_life_years: float = 3.0
    recent_years: float = 2.0
    max_distance_km: float = 300.0
    max_age_years: float = 30.0
    densify_m: float = 250.0
    admin: AdminLayer | None = None
    covariates: tuple[Covariate, ...] = field(default_factory=tuple)
    # kernel densities of past events (registry kde_*, trend_*): none unless configured
    kde_bandwidths_km: tuple[float, ...] = ()
    trend_years: float = 5.0
    admin_trend: bool = False
    # more views of the same history (registry active_*, decay_*, years_with_events_*,
    # dist_recent_*): none unless configured
    activity_years: tuple[float, ...] = ()
    decay_half_lives_years: tuple[float, ...] = ()
    event_years: bool = False
    recent_distance: bool = False


def load_config(path: str | Path) -> FeatureConfig:
    """Features from YAML, so a new covariate is a line of configuration, not code:

        radii_km: [1, 5, 10]
        admin: {path: admin/municipalities.geojson, code: MPIO_CDPMP, parent: DPTO_CCDGO}
        covariates:
          - {name: settlement, path: places.geojson, where: "pop_max >= 5000"}
          - {name: river, path: rivers.geojson}

    Relative paths are relative to the YAML file."""
    import yaml  # type: ignore[import-untyped]

    path = Path(path)
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    base = path.parent

    def resolve(p: str) -> str:
        return str(p if Path(p).is_absolute() else (base / p).resolve())

    admin = raw.pop("admin", None)
    covs = raw.pop("covariates", None) or []
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in raw.items()}
    if admin:
        kwargs["admin"] = AdminLayer(**{**admin, "path": resolve(admin["path"])})
    kwargs["covariates"] = tuple(
        Covariate(**{**c, "path": resolve(c["path"]),
                     **({"radii_km": tuple(c["radii_km"])} if c.get("radii_km") else {})})
        for c in covs)
    return FeatureConfig(**kwargs)


def _r_label(r: float) -> str:
    return f"{r:g}"


def history_names(config: FeatureConfig) -> list[str]:
    names = []
    for kind in (*config.kinds, "any"):
        names.append(f"dist_{kind}_km")
        for r in config.radii_km:
            names += [f"count_{kind}_{_r_label(r)}km", f"wcount_{kind}_{_r_label(r)}km"]
    for r in config.radii_km:
        names += [f"recent_any_{_r_label(r)}km", f"years_since_any_{_r_label(r)}km"]
    for r in config.radii_km:
        lab = _r_label(r)
        names += [f"active_{_r_label(a)}y_any_{lab}km" for a in config.activity_years]
        names += [f"decay_{_r_label(h)}y_any_{lab}km" for h in config.decay_half_lives_years]
        if config.event_years:
            names.append(f"years_with_events_any_{lab}km")
    if config.recent_distance:
        names.append("dist_recent_any_km")
    return names


def history(x: Floats, y: Floats, ex: Floats, ey: Floats, kind: NDArray[Any], t: Floats,
            cutoff: float, config: FeatureConfig, chunk: int = 2000) -> pd.DataFrame:
    """Event-history features of points (x, y) from events (ex, ey, kind, t), all in one
    projected metric CRS. Only events with t < cutoff are used (the rule of the registry)."""
    before = np.asarray(t, float) < cutoff
    ex, ey = np.asarray(ex, float)[before], np.asarray(ey, float)[before]
    kind, t = np.asarray(kind)[before], np.asarray(t, float)[before]
    n = len(x)
    cols: dict[str, Floats] = {}
    cap = config.max_distance_km
    # nearest distance, per kind and for all kinds together
    for k in (*config.kinds, "any"):
        sel = np.ones(len(kind), bool) if k == "any" else kind == k
        if sel.any():
            d, _ = cKDTree(np.c_[ex[sel], ey[sel]]).query(np.c_[x, y], k=1)
            cols[f"dist_{k}_km"] = np.minimum(d / 1000.0, cap)
        else:
            cols[f"dist_{k}_km"] = np.full(n, cap)
    if config.recent_distance:
        # the nearest event of the last `recent_years`: where the activity is now, which an
        # old cluster's distance hides
        sel = cutoff - t <= config.recent_years
        cols["dist_recent_any_km"] = (
            np.minimum(cKDTree(np.c_[ex[sel], ey[sel]]).query(np.c_[x, y], k=1)[0] / 1000.0,
                       cap) if sel.any() else np.full(n, cap))
    # counts: every (event, point) pair within the largest radius, in chunks of events so
    # memory stays at a few pairs per event and point, then sums per point
    radii = sorted(config.radii_km)
    rmax_m = radii[-1] * 1000.0
    age = cutoff - t
    weight = 0.5 ** (age / config.half_life_years)
    recent = age <= config.recent_years
    kind_codes = {k: i for i, k in enumerate(config.kinds)}
    nk = len(config.kinds)
    # kinds the configuration does not name go to one extra bucket: they still count in "any"
    kcode = np.array([kind_codes.get(str(v), nk) for v in kind], dtype=np.int64)
    counts = np.zeros((len(radii), nk + 1, n))
    wcounts = np.zeros((len(radii), nk + 1, n))
    recents = np.zeros((len(radii), n))
    latest = np.full((len(radii), n), -np.inf)
    act_y, hls = config.activity_years, config.decay_half_lives_years
    actives = np.zeros((len(radii), len(act_y), n))
    decays = np.zeros((len(radii), len(hls), n))
    decay_w = [0.5 ** (age / h) for h in hls]
    # calendar years with an event, one bit a year over the last 64 (older ones share bit 0)
    year_bit = np.left_shift(np.uint64(1), np.clip(
        np.floor(t) - (np.floor(cutoff) - 63), 0, 63).astype(np.uint64))
    year_bits = np.zeros((len(radii), n), np.uint64) if config.event_years else None
    tree = cKDTree(np.c_[x, y])
    for s in range(0, len(ex), chunk):
        hits = tree.query_ball_point(np.c_[ex[s:s + chunk], ey[s:s + chunk]], r=rmax_m)
        lens = np.fromiter((len(h) for h in hits), np.int64, len(hits))
        if lens.sum() == 0:
            continue
        pt = np.fromiter((i for h in hits for i in h), np.int64, int(lens.sum()))
        ev = np.repeat(np.arange(s, s + len(hits)), lens)
        dist = np.hypot(x[pt] - ex[ev], y[pt] - ey[ev])
        for ri, r in enumerate(radii):
            inr = dist <= r * 1000.0
            p, e = pt[inr], ev[inr]
            for ki in range(nk + 1):
                m = kcode[e] == ki
                counts[ri, ki] += np.bincount(p[m], minlength=n)
                wcounts[ri, ki] += np.bincount(p[m], weights=weight[e[m]], minlength=n)
            recents[ri] += np.bincount(p[recent[e]], minlength=n)
            np.maximum.at(latest[ri], p, t[e])
            for ai, a in enumerate(act_y):
                m = age[e] <= a
                actives[ri, ai] += np.bincount(p[m], minlength=n)
            for hi, w in enumerate(decay_w):
                decays[ri, hi] += np.bincount(p, weights=w[e], minlength=n)
            if year_bits is not None:
                np.bitwise_or.at(year_bits[ri], p, year_bit[e])
    for ri, r in enumerate(radii):
        lab = _r_label(r)
        for ki, k in enumerate(config.kinds):
            cols[f"count_{k}_{lab}km"] = counts[ri, ki]
            cols[f"wcount_{k}_{lab}km"] = wcounts[ri, ki]
        cols[f"count_any_{lab}km"] = counts[ri].sum(axis=0)
        cols[f"wcount_any_{lab}km"] = wcounts[ri].sum(axis=0)
        cols[f"recent_any_{lab}km"] = recents[ri]
        cols[f"years_since_any_{lab}km"] = np.minimum(cutoff - latest[ri],
                                                      config.max_age_years)
        for ai, a in enumerate(act_y):
            cols[f"active_{_r_label(a)}y_any_{lab}km"] = actives[ri, ai]
        for hi, h in enumerate(hls):
            cols[f"decay_{_r_label(h)}y_any_{lab}km"] = decays[ri, hi]
        if year_bits is not None:
            cols[f"years_with_events_any_{lab}km"] = _popcount(year_bits[ri])
    return pd.DataFrame({c: cols[c] for c in history_names(config)})


def _popcount(bits: NDArray[np.uint64]) -> Floats:
    """Set bits of each 64-bit word."""
    as_bytes = bits.view(np.uint8).reshape(len(bits), 8)
    return np.asarray(np.unpackbits(as_bytes, axis=1).sum(axis=1), float)


# -- kernel densities ---------------------------------------------------------------------
TREND_FLOOR = 1e-3  # events per km2 added to both windows of a trend: about 1 in 1,000 km2


def kernel_density(x: Floats, y: Floats, ex: Floats, ey: Floats, w: Floats,
                   bandwidth_km: float) -> Floats:
    """Gaussian kernel density of weighted events at points (x, y), in weight per km2:
    events summed onto a raster of a quarter of the bandwidth (at least 250 m), smoothed
    with a Gaussian of that bandwidth (scipy.ndimage, truncated at 4 sigma), read at the
    raster cell of each point (an error of at most an eighth of the bandwidth). Reaches 50
    km cheaply, where pairs of (event, cell) would number hundreds of millions."""
    from scipy.ndimage import gaussian_filter

    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.zeros(len(x))
    if len(ex) == 0 or len(x) == 0:
        return out
    b = bandwidth_km * 1000.0
    res = max(b / 4.0, 250.0)
    pad = 4.0 * b + res
    # The raster's corner on a multiple of its cell size: a point falls in the same raster
    # cell, and reads the same density, whether it is scored alone, in a chunk or in a
    # nationwide grid (the corner followed the query's extent, so `risk score` at a cell's
    # centre could differ from `risk predict` over the grid).
    x0 = np.floor((min(x.min(), float(np.min(ex))) - pad) / res) * res
    y0 = np.floor((min(y.min(), float(np.min(ey))) - pad) / res) * res
    nx = int(np.ceil((max(x.max(), float(np.max(ex))) + pad - x0) / res)) + 1
    ny = int(np.ceil((max(y.max(), float(np.max(ey))) + pad - y0) / res)) + 1
    ix = np.floor((np.asarray(ex, float) - x0) / res).astype(np.int64)
    iy = np.floor((np.asarray(ey, float) - y0) / res).astype(np.int64)
    raster = np.bincount(iy * nx + ix, weights=np.asarray(w, float),
                         minlength=nx * ny).reshape(ny, nx).astype(np.float32)
    smooth = gaussian_filter(raster, sigma=b / res, mode="constant", truncate=4.0)
    px = np.floor((x - x0) / res).astype(np.int64)
    py = np.floor((y - y0) / res).astype(np.int64)
    return np.asarray(smooth[py, px], float) / (res / 1000.0) ** 2


def kde_names(config: FeatureConfig) -> list[str]:
    names = []
    for b in config.kde_bandwidths_km:
        lab = _r_label(b)
        names += [f"kde_any_{lab}km", f"kde_recent_any_{lab}km", f"trend_any_{lab}km"]
    return names


def kde_features(x: Floats, y: Floats, ex: Floats, ey: Floats, t: Floats, cutoff: float,
                 config: FeatureConfig) -> pd.DataFrame:
    """kde_any_{b}km (recency-weighted), kde_recent_any_{b}km (the last `trend_years`) and
    trend_any_{b}km (log of the last `trend_years` against the `trend_years` before them)
    for every configured bandwidth; only events with t < cutoff (the rule of the registry)."""
    before = np.asarray(t, float) < cutoff
    ex, ey = np.asarray(ex, float)[before], np.asarray(ey, float)[before]
    age = cutoff - np.asarray(t, float)[before]
    weight = 0.5 ** (age / config.half_life_years)
    ty = config.trend_years
    recent, prior = age <= ty, (age > ty) & (age <= 2 * ty)
    cols: dict[str, Floats] = {}
    for b in config.kde_bandwidths_km:
        lab = _r_label(b)
        cols[f"kde_any_{lab}km"] = kernel_density(x, y, ex, ey, weight, b)
        rec = kernel_density(x, y, ex[recent], ey[recent], np.ones(int(recent.sum())), b)
        pri = kernel_density(x, y, ex[prior], ey[prior], np.ones(int(prior.sum())), b)
        cols[f"kde_recent_any_{lab}km"] = rec
        cols[f"trend_any_{lab}km"] = np.log((rec + TREND_FLOOR) / (pri + TREND_FLOOR))
    return pd.DataFrame({c: cols[c] for c in kde_names(config)})


# -- admin areas --------------------------------------------------------------------------
@dataclass
class AdminAreas:
    """Admin polygons projected once: code and parent per polygon, equal-area km2."""

    polygons: NDArray[Any]
    codes: NDArray[Any]
    parents: NDArray[Any]
    area_km2: Floats

    @classmethod
    def load(cls, layer: AdminLayer, projection: Projection) -> AdminAreas:
        import shapely

        from mineaction.analysis.risk import vector

        table, geoms = vector.read(layer.path)
        proj = project_geoms(geoms, projection)
        parents = table[layer.parent].astype(str).to_numpy() if layer.parent else \
            table[layer.code].astype(str).to_numpy()
        return cls(proj, table[layer.code].astype(str).to_numpy(), parents,
                   np.asarray(shapely.area(proj), float) / 1e6)

    def locate(self, x: Floats, y: Floats) -> NDArray[np.int64]:
        """Index of the polygon holding each point; -1 outside all."""
        import shapely

        tree = shapely.STRtree(self.polygons)
        pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
        src, poly = tree.query(pts, predicate="intersects")
        out = np.full(len(pts), -1, np.int64)
        out[src[::-1]] = poly[::-1]  # on a shared border the first polygon wins
        return out


def admin_features(cell_area: NDArray[np.int64], event_area: NDArray[np.int64], t: Floats,
                   cutoff: float, admin: AdminAreas, config: FeatureConfig) -> pd.DataFrame:
    """admin_code, admin_wdensity, admin_recent_density (registry); cells outside every
    area get the code one past the last and densities 0. `cell_area` and
    `event_area` are polygon indices from `AdminAreas.locate`."""
    before = np.asarray(t, float) < cutoff
    ea, te = event_area[before], np.asarray(t, float)[before]
    inside = ea >= 0
    npoly = len(admin.codes)
    w = 0.5 ** ((cutoff - te[inside]) / config.half_life_years)
    wsum = np.bincount(ea[inside], weights=w, minlength=npoly)
    rsum = np.bincount(ea[inside & (cutoff - te <= config.recent_years)], minlength=npoly)
    area = np.maximum(admin.area_km2, 1e-6)
    parent_codes = {p: i for i, p in enumerate(sorted(set(admin.parents)))}
    parent_of = np.array([parent_codes[p] for p in admin.parents], np.int64)
    ok = cell_area >= 0
    ci = np.where(ok, cell_area, 0)
    out = pd.DataFrame({
        # outside every area: a code of its own (LightGBM reads negative codes as missing)
        "admin_code": np.where(ok, parent_of[ci], len(parent_codes)),
        "admin_wdensity": np.where(ok, (wsum / area)[ci], 0.0),
        "admin_recent_density": np.where(ok, (rsum / area)[ci], 0.0),
    })
    if config.admin_trend:
        age = cutoff - te[inside]
        ty = config.trend_years
        rec = np.bincount(ea[inside][age <= ty], minlength=npoly)
        pri = np.bincount(ea[inside][(age > ty) & (age <= 2 * ty)], minlength=npoly)
        trend = np.log((rec + 1.0) / (pri + 1.0))
        out["admin_trend"] = np.where(ok, trend[ci], 0.0)
    return out


# -- covariate layers ---------------------------------------------------------------------
def project_geoms(geoms: NDArray[Any], projection: Projection) -> NDArray[Any]:
    import shapely

    def fwd(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = projection.forward(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y]).astype(np.float64)

    return np.asarray(shapely.transform(geoms, fwd), dtype=object)


@dataclass
class CovariateLayer:
    """A covariate layer read and projected once, ready for any number of points."""

    spec: Covariate
    vertices: Floats  # (n, 2) points or densified vertices
    polygons: Any  # union of polygon parts (for "0 inside"), or None

    @classmethod
    def load(cls, spec: Covariate, projection: Projection, densify_m: float,
             bbox: tuple[float, float, float, float] | None = None) -> CovariateLayer:
        """`bbox` (lon/lat): only what lies in it is kept, outlines cut at its edge (the cut
        adds no outline of its own), so a world layer (Natural Earth's land) costs what its
        part near the events costs and is never projected far from the projection's centre."""
        import shapely

        from mineaction.analysis.risk import vector

        _table, geoms = vector.read(spec.path, bbox=bbox, where=spec.where)
        geoms = geoms[~shapely.is_missing(geoms)]
        is_poly = np.isin(shapely.get_type_id(geoms), (3, 6))
        polys = geoms[is_poly]
        lines = geoms.copy()
        lines[is_poly] = shapely.boundary(polys)
        if bbox is not None:
            # outlines first, then the cut: a cut polygon's new edge is not a coast
            lines = shapely.clip_by_rect(lines, *bbox)
            polys = shapely.clip_by_rect(polys, *bbox)
            lines = lines[~shapely.is_empty(lines)]
            polys = polys[~shapely.is_empty(polys)]
        polys = list(project_geoms(polys, projection)) if len(polys) else []
        lines = list(project_geoms(lines, projection)) if len(lines) else []
        dens = shapely.segmentize(np.asarray(lines, dtype=object), densify_m)
        verts = shapely.get_coordinates(dens)
        # boundary: the outlines are the feature (a coast, a border), so no 0 inside
        union = shapely.union_all(polys) if polys and spec.measure != "boundary" else None
        if union is not None:
            shapely.prepare(union)
        return cls(spec, verts, union)

    def features(self, x: Floats, y: Floats, radii_km: tuple[float, ...],
                 cap_km: float) -> pd.DataFrame:
        import shapely

        name = self.spec.name
        if self.spec.measure == "count":
            if len(self.vertices) == 0:
                return pd.DataFrame({f"cov_{name}_count_{_r_label(r)}km": np.zeros(len(x))
                                     for r in (self.spec.radii_km or radii_km)})
            tree = cKDTree(self.vertices)
            return pd.DataFrame({
                f"cov_{name}_count_{_r_label(r)}km": tree.query_ball_point(
                    np.c_[x, y], r=r * 1000.0, return_length=True).astype(float)
                for r in (self.spec.radii_km or radii_km)})
        if len(self.vertices) == 0:
            return pd.DataFrame({f"cov_{name}_km": np.full(len(x), cap_km)})
        tree = cKDTree(self.vertices)
        d, _ = tree.query(np.c_[x, y], k=1)
        d = np.minimum(d / 1000.0, cap_km)
        if self.polygons is not None:
            d = np.where(shapely.contains_xy(self.polygons, x, y), 0.0, d)
        return pd.DataFrame({f"cov_{name}_km": d})


def layer_bbox(lon: Floats, lat: Floats, cap_km: float
               ) -> tuple[float, float, float, float] | None:
    """The events' lon/lat box widened by the distance cap and 1,000 km more: a layer's
    part beyond it is farther than the cap from any point within 1,000 km of the events'
    box, so reading only the box changes no capped distance there (a grid far from every
    event is not a risk model's grid). None without events (read everything)."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    lon, lat = lon[ok], lat[ok]
    pad = (cap_km + LAYER_MARGIN_KM) / 111.0
    top = min(float(np.abs(lat).max()) + pad, 89.0)
    pad_lon = min(pad / max(np.cos(np.radians(top)), 0.05), 180.0)
    return (max(float(lon.min()) - pad_lon, -180.0), max(float(lat.min()) - pad, -90.0),
            min(float(lon.max()) + pad_lon, 180.0), min(float(lat.max()) + pad, 90.0))


# -- everything at once -------------------------------------------------------------------
@dataclass
class Context:
    """What `compute` needs besides the points: events projected once, and the admin and
    covariate layers loaded once, so several cut-offs reuse them."""

    projection: Projection
    events: pd.DataFrame  # kind, lon, lat, t (+ x, y, area added here)
    config: FeatureConfig
    admin: AdminAreas | None = None
    layers: tuple[CovariateLayer, ...] = ()

    @classmethod
    def build(cls, projection: Projection, events: pd.DataFrame, config: FeatureConfig
              ) -> Context:
        ev = events.copy()
        ev["x"], ev["y"] = projection.forward(ev["lon"].to_numpy(), ev["lat"].to_numpy())
        admin = AdminAreas.load(config.admin, projection) if config.admin else None
        if admin is not None:
            ev["area"] = admin.locate(ev["x"].to_numpy(), ev["y"].to_numpy())
        bbox = layer_bbox(ev["lon"].to_numpy(float), ev["lat"].to_numpy(float),
                          config.max_distance_km)
        layers = tuple(CovariateLayer.load(c, projection, config.densify_m, bbox)
                       for c in config.covariates)
        return cls(projection, ev, config, admin, layers)


def compute(ctx: Context, x: Floats, y: Floats, cutoff: float,
            cell_area: NDArray[np.int64] | None = None) -> pd.DataFrame:
    """All configured features for points (x, y) (projected) at cut-off T. `cell_area`
    (polygon index per point) may be passed when several cut-offs share the points."""
    ev = ctx.events
    known = ev[ev["t"].to_numpy(float) < cutoff]  # the cut-off, applied once for all
    parts = [history(x, y, known["x"].to_numpy(), known["y"].to_numpy(),
                     known["kind"].to_numpy(), known["t"].to_numpy(), cutoff, ctx.config)]
    if ctx.config.kde_bandwidths_km:
        parts.append(kde_features(x, y, known["x"].to_numpy(), known["y"].to_numpy(),
                                  known["t"].to_numpy(), cutoff, ctx.config))
    if ctx.admin is not None:
        if cell_area is None:
            cell_area = ctx.admin.locate(x, y)
        parts.append(admin_features(cell_area, known["area"].to_numpy(np.int64),
                                    known["t"].to_numpy(), cutoff, ctx.admin, ctx.config))
    for layer in ctx.layers:
        parts.append(layer.features(x, y, ctx.config.radii_km, ctx.config.max_distance_km))
    return pd.concat(parts, axis=1)
