# SPDX-License-Identifier: GPL-3.0-or-later
"""The contamination-risk model (issue 19) as a service: train, evaluate, and score a grid,
points or hazards, for the command line now and the API later.

Who: every read of events goes through the principal's access (access/visibility.py), so a
field user's model learns from approved records and their own, never from other users'
drafts; the command line acts as administrator and sees every record.

Time: `until` is the training cut-off: the model sees only events dated before it. Training
is out-of-time inside that (validate.out_of_time): features from the events before
until - horizon, labels = the cells with an event in [until - horizon, until). A model
trained so is applied at a later cut-off (by default the end of the data) and answers
"at least one event in the cell in the next `horizon` years".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mineaction.access.roles import Policy, Principal
from mineaction.services.errors import FieldError, Invalid, NotFoundError
from mineaction.services.records import Records
from mineaction.store.base import Store
from mineaction.store.query import Query

if TYPE_CHECKING:
    import pandas as pd

    from mineaction.analysis.risk.features import Context, FeatureConfig
    from mineaction.analysis.risk.grid import Grid, Projection
    from mineaction.analysis.risk.model import Model

Stage = Callable[[str], None]
Progress = Callable[[int], None]
# Calibration hold-out and spatial-block folds: blocks wider than the features' reach
# (10 km), so a held-out cell's neighbours are mostly held out too.
BLOCK_M = 20_000.0
FOLDS = ("time", "blocks", "admin")
# Shares of the area (highest scores first) at which capture curves are measured: fine
# below 10%, where a programme can act, coarse above. `evaluate`'s curves and the
# held-out curve `train` saves for the annual report (reports/risk_section.py).
CAPTURE_AREAS = tuple(np.r_[np.linspace(0.001, 0.1, 100), np.linspace(0.11, 1.0, 90)].tolist())
# Within this distance of the centre LAEA's scale error stays small (grid.py); events
# farther than this from the rest are coordinate errors, not a programme's area.
FAR_KM = 2_000.0


@dataclass(frozen=True)
class TrainParams:
    """LightGBM settings; the defaults are the reported model's of bench/risk_bench.py:
    small trees, every negative cell, 100 cells a leaf, history features monotone, a
    positive cell weighted by its number of events, and the rank mix with the same settings
    on the event history alone (model.train_mix). `mix_history` False: one model on every
    feature. `train_within_km`: the models learn only from the cells within that distance
    of a past event (`dist_any_km`; None: every cell); every cell is still scored.
    `extra_trees`: LightGBM's extremely randomised trees for every model fitted."""

    rounds: int = 300
    num_leaves: int = 15
    min_child: int = 100
    negative_ratio: float = 1.0
    seed: int = 0
    monotone: bool = True
    weight_events: bool = True
    mix_history: bool = True
    # None: every cell. 30 km was tried on the inner splits of bench/risk_bench.py and not
    # kept (docs/risk-model.md): AP up on both, the top-5% capture down on both
    train_within_km: float | None = None
    # LightGBM's extremely randomised trees (a random threshold per feature at each split),
    # both members: kept in the fifth round (docs/risk-model.md), where it raised the mix's
    # AP and top-5% capture on both inner splits, mean of three seeds
    extra_trees: bool = True


@dataclass
class Trained:
    model: Model
    meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class Prediction:
    grid: Grid
    scores: pd.DataFrame  # probability, raw, why, percentile; one row per kept cell
    cutoff: float


def data_end(ev: pd.DataFrame) -> float:
    """The end of the latest year with an event: events through 2014 -> 2015.0."""
    return float(math.floor(float(ev["t"].max())) + 1.0)


def window_labels(g: Grid, ev: pd.DataFrame, start: float, end: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per kept cell: events dated in [start, end) (a count) and whether there is any
    (ev carries projected x, y: features.Context.events). As bench/risk_bench.py."""
    t = ev["t"].to_numpy(float)
    sel = (t >= start) & (t < end)
    cell = g.locate(ev["x"].to_numpy()[sel], ev["y"].to_numpy()[sel])
    inside = cell >= 0
    counts = np.bincount(g.index_of(cell[inside]), minlength=len(g)).astype(float)
    return counts, counts > 0


def far_events(ev: pd.DataFrame) -> np.ndarray:
    """Events more than FAR_KM from the median position of all: in a programme's records
    they are coordinate errors (AICMA has a find at +74.2 for -74.2), and one of them would
    stretch the grid's rectangle and move the equal-area projection's centre across the
    world."""
    lon = np.radians(ev["lon"].to_numpy(float))
    lat = np.radians(ev["lat"].to_numpy(float))
    lon0, lat0 = np.median(lon), np.median(lat)
    cos_d = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
    return np.asarray(np.degrees(np.arccos(np.clip(cos_d, -1, 1))) * 111.195 > FAR_KM)


def projection_of(meta: dict[str, Any]) -> Projection:
    import pyproj

    from mineaction.analysis.risk.grid import Projection

    return Projection(pyproj.CRS.from_wkt(meta["crs"]))


def _year(value: float) -> str:
    return f"{value:g}"


COORDINATE_NAMES = (("lon", "lat"), ("longitude", "latitude"), ("x", "y"))


def read_points(path: Path) -> tuple[Any, str, str, list[str]]:
    """`risk score`'s points file: its rows (a pandas frame of text), the longitude and
    latitude columns, and the id columns kept in the output. Every row is checked before
    any is scored; Invalid names the file, the row (data rows from 1) and the field."""
    import csv

    import pandas as pd

    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise Invalid(f"{path}: empty file; it needs a header with lon,lat")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Invalid(f"{path}: cannot be read as CSV: {exc}") from exc
    names = [h.strip() for h in header]
    lower = {n.lower(): n for n in names}
    pair = next(((lower[a], lower[b]) for a, b in COORDINATE_NAMES
                 if a in lower and b in lower), None)
    if pair is None:
        raise Invalid(f"{path}: no coordinate columns: the header needs lon,lat "
                          "(or longitude,latitude, or x,y)")
    ids = [n for n in names if n.lower() == "id" or n.lower().endswith("_id")]
    width = len(names)
    for i, row in enumerate(rows, start=1):
        if len(row) != width and any(c.strip() for c in row):
            raise Invalid(f"{path}: row {i} (line {i + 1}): {len(row)} fields where "
                              f"the header has {width}")
    rows = [r for r in rows if any(c.strip() for c in r)]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    for name, low, high in ((pair[0], -180.0, 180.0), (pair[1], -90.0, 90.0)):
        for i, text in enumerate(frame[name], start=1):
            value = (text or "").strip()
            try:
                number = float(value)
            except ValueError:
                why = "is empty" if not value else f"{value!r} is not a number"
                raise Invalid(f"{path}: row {i}: field {name}: {why}") from None
            if not (low <= number <= high) or not math.isfinite(number):
                raise Invalid(f"{path}: row {i}: field {name}: {value} is outside "
                                  f"{low:g} to {high:g}")
    return frame, pair[0], pair[1], ids


def members(columns: list[str], params: TrainParams) -> list[list[str]]:
    """The column lists `fit` trains a model on: every column, then the event history
    alone when `params.mix_history` and the history is not every column (the rank mix)."""
    from mineaction.analysis.risk import registry

    history = registry.event_history(columns)
    if params.mix_history and history and len(history) < len(columns):
        return [columns, history]
    return [columns]


def near_rows(X: pd.DataFrame, counts: np.ndarray, held: np.ndarray | None,
              within_km: float | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """The training rows within `within_km` of a past event (`dist_any_km`), with their
    counts and held-out flags; all of them when `within_km` is None, when there is no
    `dist_any_km` column, or when no row (or every row) is that near."""
    if within_km is None or "dist_any_km" not in X.columns:
        return X, counts, held
    near = X["dist_any_km"].to_numpy(float) <= within_km
    if near.all() or not near.any():
        return X, counts, held
    return (X.iloc[np.flatnonzero(near)].reset_index(drop=True), np.asarray(counts)[near],
            None if held is None else np.asarray(held)[near])


def fit(X: pd.DataFrame, counts: np.ndarray, held: np.ndarray | None, params: TrainParams,
        rounds_done: Progress | None = None) -> Model:
    """The model of `params` on the cells' event `counts` (a cell is positive with one or
    more; `held`: the calibration cells): one LightGBM, or the rank mix of one on every
    column and one on the event history alone when `params.mix_history` and the history is
    not every column. What `risk train` saves and bench/risk_bench.py reports."""
    from mineaction.analysis.risk import model

    callbacks = None if rounds_done is None else [lambda _env: rounds_done(1)]
    X, counts, held = near_rows(X, counts, held, params.train_within_km)
    label = np.asarray(counts, float) > 0
    settings: dict[str, Any] = {
        "categorical": ("admin_code",), "calibrate": held,
        "negative_ratio": params.negative_ratio, "rounds": params.rounds,
        "seed": params.seed, "callbacks": callbacks,
        "weight": np.where(label, counts, 1.0) if params.weight_events else None}
    lgb_params: dict[str, Any] = {"num_leaves": params.num_leaves,
                                  "min_child_samples": params.min_child,
                                  "extra_trees": params.extra_trees}
    columns = list(X.columns)
    each = members(columns, params)
    if len(each) > 1:
        return model.train_mix(X, label, each, monotone=params.monotone, params=lgb_params,
                               **settings)
    if params.monotone:
        lgb_params["monotone_constraints"] = model.monotone_constraints(columns)
    return model.train(X, label, params=lgb_params, **settings)


def capture_curves(scores: dict[str, np.ndarray], events: np.ndarray) -> dict[str, list[float]]:
    """Share of `events` in the top `CAPTURE_AREAS` of the area, per scoring: {"area":
    the shares of the area, name: the shares of events}, as plain lists (JSON)."""
    from mineaction.analysis.risk import metrics

    return {"area": list(CAPTURE_AREAS), **{
        name: list(metrics.capture(s, events, CAPTURE_AREAS).values())
        for name, s in scores.items()}}


class Risk:
    def __init__(self, store: Store, policy: Policy, records: Records | None = None) -> None:
        self.store = store
        self.policy = policy
        self.records = records if records is not None else Records(store, policy)

    # -- reading --------------------------------------------------------------------------
    def events(self, p: Principal) -> pd.DataFrame:
        """Accidents, finds, hazards and released parts `p` may see, one point each."""
        from mineaction.analysis.risk import events

        return events.from_store(self.store, visible=self.records.access(p).rows)

    def _events(self, p: Principal, notes: list[str] | None = None) -> pd.DataFrame:
        """`events`, without the ones implausibly far from the rest (see `far_events`),
        which `notes` is told about."""
        ev = self.events(p)
        if ev.empty:
            raise Invalid("no dated accidents, finds, hazards or released parts with a "
                          "position in the store: the model has nothing to learn from")
        far = far_events(ev)
        if far.any():
            first = ev[far].iloc[0]
            if notes is not None:
                notes.append(f"{int(far.sum())} event(s) more than {FAR_KM:,.0f} km from the "
                             f"middle of the others left out, e.g. a {first['kind']} at "
                             f"({first['lon']:.5f}, {first['lat']:.5f}): a sign or digit "
                             "error in its coordinates?")
            ev = ev[~far].reset_index(drop=True)
        return ev

    def _context(self, projection: Projection, ev: pd.DataFrame, config: FeatureConfig
                 ) -> Context:
        from mineaction.analysis.risk import features

        try:
            return features.Context.build(projection, ev, config)
        except (OSError, KeyError) as exc:
            raise Invalid(f"a layer of the feature configuration cannot be read: {exc}"
                          ) from exc

    # -- training -------------------------------------------------------------------------
    def train(self, p: Principal, config: FeatureConfig, *, until: float | None = None,
              horizon: float = 5.0, cell_m: float = 1000.0, within_km: float = 50.0,
              params: TrainParams = TrainParams(), stage: Stage | None = None,
              rounds_done: Progress | None = None,
              rounds_total: Progress | None = None) -> Trained:
        """Train on the events before `until` (default: the end of the data); see the
        module's docstring for the windows. The grid: cells within `within_km` of any
        event known at the features' cut-off. `stage` is told each step's name,
        `rounds_done` each LightGBM round, `rounds_total` how many rounds all the models
        will run, before the first."""
        from mineaction.analysis.risk import features, grid, validate

        say = stage or (lambda _: None)
        if horizon <= 0 or cell_m <= 0 or within_km <= 0:
            raise Invalid("--horizon, --cell-m and --within-km must be positive")
        say("reading events")
        notes: list[str] = []
        ev = self._events(p, notes)
        end = data_end(ev)
        if until is None:
            until = end
        elif until > end:
            notes.append(f"the data end with {_year(end - 1)}: a {_year(horizon)}-year "
                         f"window before {_year(until)} would run past them, so the model is "
                         f"trained on the latest complete window, events of "
                         f"{_year(end - horizon)} to {_year(end - 1)}")
            until = end
        train_w, _ = validate.out_of_time(until, until + horizon, horizon)
        known = ev[ev["t"].to_numpy(float) < train_w.cutoff]
        if known.empty:
            raise Invalid(f"no events before {_year(train_w.cutoff)} (the training cut-off "
                          f"{_year(until)} minus the {_year(horizon)}-year horizon): "
                          "nothing to compute features from; give a later --until or a "
                          "shorter --horizon")
        say("building the grid")
        before = ev[ev["t"].to_numpy(float) < until]
        projection = grid.Projection.centred_on(before["lon"].to_numpy(),
                                                before["lat"].to_numpy())
        g = grid.near_points(known["lon"].to_numpy(), known["lat"].to_numpy(), cell_m,
                             within_km * 1000.0, projection)
        ctx = self._context(projection, ev, config)
        say("computing features")
        X = features.compute(ctx, g.x, g.y, train_w.cutoff)
        counts, label = window_labels(g, ctx.events, train_w.cutoff, train_w.end)
        if not label.any():
            raise Invalid(f"no events of {_year(train_w.cutoff)} to {_year(until - 1)} fall "
                          f"on the grid ({len(g)} cells): nothing to learn; give a longer "
                          "--horizon or a larger --within-km")
        say("training LightGBM")
        held = validate.spatial_blocks(g.x, g.y, BLOCK_M, 5, seed=params.seed) == 0
        if rounds_total is not None:
            rounds_total(params.rounds * len(members(list(X.columns), params)))
        fitted = fit(X, counts, held, params, rounds_done)
        say("measuring on the held-out blocks")
        metrics: dict[str, Any] = {"cells": len(g), "positive_cells": int(label.sum()),
                                   "held_out_cells": int(held.sum())}
        if held.any() and label[held].any():
            Xh = X[held]
            held_scores = {"LightGBM": fitted.raw(Xh),
                           **{name: fn(Xh) for name, fn in validate.BASELINES.items()}}
            metrics["held_out"] = {
                "LightGBM": validate.evaluate(held_scores["LightGBM"], label[held],
                                              counts[held], prob=fitted.predict(Xh)),
                **{name: validate.evaluate(held_scores[name], label[held], counts[held])
                   for name in validate.BASELINES}}
            # Beside `held_out`, not in it (whose entries are the contenders): the capture
            # curves the annual report draws, and the blocks' size it states. Models saved
            # before these keys existed lack them; the report then draws what it has.
            metrics["held_out_block_m"] = BLOCK_M
            metrics["held_out_capture"] = capture_curves(held_scores, counts[held])
        else:
            notes.append("no event cell in the held-out blocks: the model is neither "
                         "calibrated nor measured (probabilities are LightGBM's raw ones)")
        meta = {
            "config": config, "crs": projection.crs.to_wkt(), "crs_proj": projection.crs.srs,
            "trained_until": float(until), "horizon_years": float(horizon),
            "feature_cutoff": float(train_w.cutoff), "data_end": end,
            "cell_m": float(cell_m), "within_km": float(within_km),
            "events": int(len(before)), "metrics": metrics, "notes": notes,
            "params": {"rounds": params.rounds, "num_leaves": params.num_leaves,
                       "min_child_samples": params.min_child,
                       "negative_ratio": params.negative_ratio, "seed": params.seed,
                       "monotone": params.monotone,
                       "train_within_km": params.train_within_km},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return Trained(fitted, meta, notes)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, p: Principal, config: FeatureConfig, *, until: float,
                 test_until: float, horizon: float | None = None, folds: str = "time",
                 cell_m: float = 1000.0, within_km: float = 50.0,
                 params: TrainParams = TrainParams(), stage: Stage | None = None
                 ) -> dict[str, Any]:
        """Out-of-time (train on events before `until`, test on [until, test_until)) beside
        the two baselines, as bench/risk_bench.py; with folds "blocks" or "admin" also
        leave-one-group-out on the test window's cells (20 km blocks in 5 folds, or the
        configuration's upper admin level, one area out at a time)."""
        from mineaction.analysis.risk import features, grid, validate

        say = stage or (lambda _: None)
        if folds not in FOLDS:
            raise Invalid(f"--folds must be one of {', '.join(FOLDS)}")
        if test_until <= until:
            raise Invalid("--test-until must be after --until")
        if folds == "admin" and config.admin is None:
            raise Invalid("--folds admin needs admin areas in the feature configuration "
                          "(admin: path, code, parent)")
        say("reading events")
        notes: list[str] = []
        ev = self._events(p, notes)
        end = data_end(ev)
        train_w, test_w = validate.out_of_time(until, test_until, horizon)
        if test_w.end > end:
            notes.append(f"the test window runs to {_year(test_w.end)} but the data end with "
                         f"{_year(end - 1)}: later events are missing from the test labels")
        known = ev[ev["t"].to_numpy(float) < until]
        if ev[ev["t"].to_numpy(float) < train_w.cutoff].empty:
            raise Invalid(f"no events before {_year(train_w.cutoff)}: nothing to train on")
        say("building the grid")
        projection = grid.Projection.centred_on(known["lon"].to_numpy(),
                                                known["lat"].to_numpy())
        g = grid.near_points(known["lon"].to_numpy(), known["lat"].to_numpy(), cell_m,
                             within_km * 1000.0, projection)
        ctx = self._context(projection, ev, config)
        cell_area = ctx.admin.locate(g.x, g.y) if ctx.admin is not None else None
        say("computing features")
        X_train = features.compute(ctx, g.x, g.y, train_w.cutoff, cell_area)
        c_train, y_train = window_labels(g, ctx.events, train_w.cutoff, train_w.end)
        X_test = features.compute(ctx, g.x, g.y, test_w.cutoff, cell_area)
        ev_test, y_test = window_labels(g, ctx.events, test_w.cutoff, test_w.end)
        if not y_train.any() or not y_test.any():
            raise Invalid("no event cell in the training or the test window: nothing to "
                          "measure")
        say("training LightGBM")
        held = validate.spatial_blocks(g.x, g.y, BLOCK_M, 5, seed=params.seed) == 0
        fitted = fit(X_train, c_train, held, params)
        raw = fitted.raw(X_test)
        scores: dict[str, np.ndarray] = {
            name: fn(X_test) for name, fn in validate.BASELINES.items()}
        scores["LightGBM"] = raw
        results: dict[str, Any] = {
            name: validate.evaluate(s, y_test, ev_test) for name, s in scores.items()
            if name != "LightGBM"}
        results["LightGBM"] = validate.evaluate(raw, y_test, ev_test,
                                                prob=fitted.predict(X_test))
        base = [r for n, r in results.items() if n != "LightGBM"]
        out: dict[str, Any] = {
            "setup": {"cells": len(g), "cell_m": cell_m, "within_km": within_km,
                      "train": {"features_before": train_w.cutoff,
                                "labels": [train_w.cutoff, train_w.end],
                                "positive_cells": int(y_train.sum())},
                      "test": {"features_before": test_w.cutoff,
                               "labels": [test_w.cutoff, test_w.end],
                               "positive_cells": int(y_test.sum()),
                               "events": float(ev_test.sum())},
                      "projection": projection.crs.srs},
            "out_of_time": results, "targets": validate.targets(results["LightGBM"], base),
            "capture_curves": capture_curves(scores, ev_test),
            "notes": notes,
        }
        if folds != "time":
            say(f"cross-validating ({folds})")
            if folds == "blocks":
                groups: np.ndarray = validate.spatial_blocks(g.x, g.y, BLOCK_M, 5,
                                                             seed=params.seed)
            else:
                if ctx.admin is None or cell_area is None:
                    raise Invalid("--folds admin needs admin areas in the feature "
                                  "configuration (admin: path, code, parent)")
                parents = np.asarray(ctx.admin.parents, dtype=object)
                groups = parents[np.maximum(cell_area, 0)]
                groups[cell_area < 0] = None  # outside every area: on neither side

            def fit_score(Xa: pd.DataFrame, ya: np.ndarray, Xb: pd.DataFrame) -> np.ndarray:
                return np.asarray(fit(Xa, ya, None, params).raw(Xb), float)

            out[folds] = validate.cross_validate(X_test, y_test, ev_test, groups, fit_score)
        return out

    # -- scoring --------------------------------------------------------------------------
    def cutoff(self, ev: pd.DataFrame, at: float | None) -> float:
        return data_end(ev) if at is None else float(at)

    def admin_area(self, p: Principal, code_or_name: str) -> Any:
        """The geometry (lon/lat) of the admin area with this pcode or name."""
        import shapely

        frame = self.store.read_frame(Query(kind="admin_area", limit=None,
                                            visible=self.records.access(p).rows("admin_area")))
        if frame.empty:
            raise NotFoundError("the store has no admin areas: import some, or give --bbox")
        wanted = code_or_name.strip()
        hit = frame[frame["pcode"].astype(str) == wanted]
        if hit.empty:
            hit = frame[frame["name"].astype(str).str.casefold() == wanted.casefold()]
        if hit.empty:
            raise NotFoundError(f"no admin area has the code or name {wanted!r}")
        if len(hit) > 1 and hit["pcode"].nunique() > 1:
            raise Invalid(f"{wanted!r} names {len(hit)} admin areas: give one of their codes "
                          f"({', '.join(sorted(hit['pcode'].astype(str)))})")
        geoms = [g for g in hit["geometry"] if g is not None and not g.is_empty]
        if not geoms:
            raise Invalid(f"admin area {wanted!r} has no geometry")
        return shapely.union_all(np.asarray(geoms, dtype=object))

    def area_grid(self, p: Principal, meta: dict[str, Any], ev: pd.DataFrame, cutoff: float,
                  *, bbox: Sequence[float] | None = None, admin_area: str | None = None,
                  near_km: float | None = None, cell_m: float | None = None) -> Grid:
        """The cells to score, in the model's projection: over a lon/lat box, inside an
        admin area (cell centre inside), or within `near_km` of any event before the
        cut-off."""
        import shapely

        from mineaction.analysis.risk import features, grid

        chosen = [bbox is not None, admin_area is not None, near_km is not None]
        if sum(chosen) != 1:
            raise Invalid("give exactly one of --bbox, --admin-area, --near-events")
        size = float(cell_m or meta["cell_m"])
        if size <= 0:
            raise Invalid("--cell-m must be positive")
        projection = projection_of(meta)
        if bbox is not None:
            lon_min, lat_min, lon_max, lat_max = (float(v) for v in bbox)
            if not (-180 <= lon_min < lon_max <= 180 and -90 <= lat_min < lat_max <= 90):
                raise Invalid("--bbox is lon_min,lat_min,lon_max,lat_max in degrees, "
                              "minimums first")
            return grid.over_bbox(lon_min, lat_min, lon_max, lat_max, size, projection)
        if admin_area is not None:
            area = features.project_geoms(np.asarray([self.admin_area(p, admin_area)],
                                                     dtype=object), projection)[0]
            full = grid.rectangle(projection, tuple(shapely.bounds(area)), size)
            shapely.prepare(area)
            kept = full.cell_id[shapely.contains_xy(area, full.x, full.y)]
            return grid.Grid(projection, size, full.x0, full.y0, full.nrows, full.ncols,
                             kept.astype(np.int64))
        assert near_km is not None
        if near_km <= 0:
            raise Invalid("--near-events must be a positive distance in km")
        known = ev[ev["t"].to_numpy(float) < cutoff]
        if known.empty:
            raise Invalid(f"no events before {_year(cutoff)} to be near")
        return grid.near_points(known["lon"].to_numpy(), known["lat"].to_numpy(), size,
                                near_km * 1000.0, projection)

    def predict(self, p: Principal, model: Model, meta: dict[str, Any], *,
                bbox: Sequence[float] | None = None, admin_area: str | None = None,
                near_km: float | None = None, cell_m: float | None = None,
                at: float | None = None, chunk_cells: int = 200_000,
                progress: Progress | None = None, on_grid: Callable[[int], None] | None = None
                ) -> Prediction:
        """Calibrated probability, raw score, top-5 contributions and percentile for each
        cell of the area, with features at `at` (default: the end of the data).
        `on_grid` is told the number of cells before scoring starts."""
        from mineaction.analysis.risk import scoring

        ev = self._events(p)
        cutoff = self.cutoff(ev, at)
        g = self.area_grid(p, meta, ev, cutoff, bbox=bbox, admin_area=admin_area,
                           near_km=near_km, cell_m=cell_m)
        if len(g) == 0:
            raise Invalid("the area holds no cell")
        if on_grid is not None:
            on_grid(len(g))
        ctx = self._context(projection_of(meta), ev, meta["config"])
        scores = scoring.score_cells(model, ctx, g.x, g.y, cutoff, chunk_cells=chunk_cells,
                                     explain=5, progress=progress)
        scores["percentile"] = scoring.percentile(scores["raw"].to_numpy(float))
        return Prediction(g, scores, cutoff)

    def predict_raster(self, p: Principal, model: Model, meta: dict[str, Any],
                       tif: str | Path, *, scheduler: str | None = None,
                       workers: int | None = None, bbox: Sequence[float] | None = None,
                       admin_area: str | None = None, near_km: float | None = None,
                       cell_m: float | None = None, at: float | None = None,
                       chunk_cells: int = 250_000, progress: bool | None = None
                       ) -> tuple[Grid, float, int]:
        """Calibrated probabilities of a grid of any size as a GeoTIFF, scored in chunks
        with Dask (analysis/risk/distributed.py): `scheduler` None for a cluster of this
        machine's cores, "threads" or "synchronous" in this process, or the address of
        an existing Dask scheduler. Only the chunks in flight are held in memory, so a
        nationwide grid fits; per-cell explanations are `predict`'s (areas one machine
        holds). Returns the grid, the cut-off and the cells written."""
        from mineaction.analysis.risk import distributed, outputs

        ev = self._events(p)
        cutoff = self.cutoff(ev, at)
        g = self.area_grid(p, meta, ev, cutoff, bbox=bbox, admin_area=admin_area,
                           near_km=near_km, cell_m=cell_m)
        if len(g) == 0:
            raise Invalid("the area holds no cell")
        ctx = self._context(projection_of(meta), ev, meta["config"])
        try:
            written = distributed.write_geotiff(tif, g, distributed.iter_scores(
                model, ctx, g, cutoff, chunk_cells=chunk_cells, scheduler=scheduler,
                workers=workers, progress=progress), nodata=outputs.NODATA)
        except distributed.SchedulerUnreachable as exc:
            raise Invalid(str(exc), field_errors=[FieldError(field="scheduler",
                                                             message=str(exc))]) from None
        return g, cutoff, written

    def score_points(self, p: Principal, model: Model, meta: dict[str, Any],
                     lon: np.ndarray, lat: np.ndarray, at: float | None = None
                     ) -> pd.DataFrame:
        """probability (calibrated) and raw score at each point, features at `at`."""
        from mineaction.analysis.risk import scoring

        ev = self._events(p)
        projection = projection_of(meta)
        ctx = self._context(projection, ev, meta["config"])
        x, y = projection.forward(np.asarray(lon, float), np.asarray(lat, float))
        return scoring.score_cells(model, ctx, x, y, self.cutoff(ev, at), explain=0)

    def score_hazards(self, p: Principal, model: Model, meta: dict[str, Any],
                      at: float | None = None) -> pd.DataFrame:
        """One score per hazard `p` may see, at its representative point (a polygon's point
        on surface), and its percentile among those hazards: for prioritisation."""
        import pandas as pd
        import shapely

        frame = self.store.read_frame(Query(kind="hazard", limit=None,
                                            visible=self.records.access(p).rows("hazard")))
        geoms = list(frame["geometry"]) if len(frame) else []
        has = np.array([g is not None and not g.is_empty for g in geoms], bool)
        if not has.any():
            return pd.DataFrame({"hazard_id": [], "score": [], "percentile": []})
        pts = shapely.point_on_surface(np.asarray([g for g, h in zip(geoms, has, strict=True)
                                                   if h], dtype=object))
        scored = self.score_points(p, model, meta, shapely.get_x(pts), shapely.get_y(pts), at)
        from mineaction.analysis.risk.scoring import percentile

        return pd.DataFrame({"hazard_id": frame["id"][has].astype(str).to_numpy(),
                             "score": scored["probability"].to_numpy(float),
                             "percentile": percentile(scored["raw"].to_numpy(float))})
