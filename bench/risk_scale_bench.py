# SPDX-License-Identifier: GPL-3.0-or-later
"""Contamination-risk model at scale (issue 19): 1,000,000 and 10,000,000-cell grids.

    python bench/risk_scale_bench.py              # full size, ~10 min on 2 cores
    python bench/risk_scale_bench.py --quick --workdir /tmp/rsb    # smoke, ~25 s

Seeded synthetic events over a country-sized square (1,000 x 1,000 km, an equal-area
projection centred on Colombia): 40,000 accidents, finds and hazards in 1990-2014,
clustered around a few hundred hotspots that flare up and die down over the years, over a
uniform background; 1,100 synthetic municipalities in 32 departments (Voronoi cells);
settlements, towns, roads and rivers as covariate layers. No real data is needed.

Three figures, each contender in a fresh process of its own (wall time, CPU time, peak
memory of the process and of every process it started, sampled with psutil), beside a
peer measured in the same run:

1. features + scores for 1,000,000 cells (1 km) with Dask (`distributed.score_grid`, a
   LocalCluster of one worker per core, cluster start-up included): target < 60 s; peer:
   the plain in-process path, `features.compute` + `RiskModel.predict` on all cells at once.
   The two results must be equal value for value;
2. training on 1,000,000 cells (features in chunks as float32, `distributed.feature_table`,
   then `risk train`'s model on all of them, services/risk.py `fit`: the rank mix of
   LightGBM on every feature and on the event history alone, 80% of the cells fitted, 20%
   held out for the isotonic calibration):
   target < 5 min; peer: statsmodels logistic regression (`model.train_logistic`) on the
   same features of the same cells;
3. 10,000,000 cells (316 m) through Dask on this machine, the scores streamed into a
   GeoTIFF chunk by chunk (never a 10M-row table of features): target: it finishes without
   running out of memory; peer: the same chunks one after another in one process, no Dask.
   Both GeoTIFFs must be equal.

Figures: bench/results/risk_scale_bench.json (full size) or --workdir / --json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

from mineaction.analysis.risk import (  # noqa: E402
    distributed,
    features,
    grid,
    metrics,
    model,
    validate,
)
from mineaction.services import risk as risk_service  # noqa: E402

NAME = "risk_scale_bench"
LON0, LAT0 = -73.5, 4.5  # the projection's centre: Colombia
TRAIN_CUTOFF, LABEL_END, SCORE_CUTOFF, TEST_END = 2005.0, 2010.0, 2010.0, 2015.0
FULL = {"side_km": 1000.0, "cells": 1_000_000, "big_cells": 10_000_000, "events": 40_000,
        "municipalities": 1_100, "rounds": 300, "chunk_cells": 250_000}
QUICK = {"side_km": 100.0, "cells": 10_000, "big_cells": 40_000, "events": 2_000,
         "municipalities": 40, "rounds": 30, "chunk_cells": 10_000}
CONFIG = features.FeatureConfig(kinds=("accident", "find", "hazard"), radii_km=(1.0, 5.0, 10.0),
                                half_life_years=3.0)
# `risk train`'s default settings (services/risk.py TrainParams), recorded in the JSON
PARAMS = {k: v for k, v in vars(risk_service.TrainParams()).items() if k != "seed"}


# -- the synthetic country ----------------------------------------------------------------
def synthetic_context(side_km: float, n_events: int, n_municipalities: int, seed: int
                      ) -> features.Context:
    """Events, admin areas and covariate layers over a square of `side_km`, all seeded."""
    import shapely

    rng = np.random.default_rng(seed)
    proj = grid.Projection(grid.laea_crs(LON0, LAT0))
    half = side_km * 500.0
    scale = side_km / 1000.0  # hotspots shrink with a smaller (quick) country
    # hotspots: along a few conflict corridors (random walks) and anywhere, each with a
    # spread, a weight (a few dominate) and years of activity
    n_hot = max(20, int(400 * min(1.0, scale * 4)))
    corridors = np.cumsum(rng.normal(0, 40_000 * scale, (6, n_hot // 6 + 1, 2)), axis=1)
    corridors += rng.uniform(-half * 0.6, half * 0.6, (6, 1, 2))
    along = corridors.reshape(-1, 2)[: int(n_hot * 0.6)]
    anywhere = rng.uniform(-half, half, (n_hot - len(along), 2))
    centre = np.clip(np.r_[along, anywhere], -half * 0.95, half * 0.95)
    spread = np.exp(rng.normal(np.log(8_000 * max(scale, 0.2)), 0.5, n_hot))
    weight = rng.pareto(1.2, n_hot) + 0.1
    start = rng.uniform(1990, 2012, n_hot)
    stop = np.minimum(start + rng.exponential(6.0, n_hot) + 1.0, 2015.0)
    kind_mix = rng.dirichlet([3.5, 4.0, 2.5], n_hot)
    kinds = np.array(["accident", "find", "hazard"])
    n_bg = n_events // 20
    n_cl = n_events - n_bg
    hot = rng.choice(n_hot, n_cl, p=weight / weight.sum())
    xy = centre[hot] + rng.normal(0, 1, (n_cl, 2)) * spread[hot, None]
    t = start[hot] + rng.random(n_cl) * (stop[hot] - start[hot])
    kind = kinds[(rng.random(n_cl)[:, None] > np.cumsum(kind_mix[hot], axis=1)).sum(axis=1)
                 .clip(0, 2)]
    xy = np.r_[xy, rng.uniform(-half, half, (n_bg, 2))]
    t = np.r_[t, rng.uniform(1990, 2015, n_bg)]
    kind = np.r_[kind, rng.choice(kinds, n_bg)]
    xy = np.clip(xy, -half + 1, half - 1)
    t = np.floor(t)  # year-only dates, as AICMA's: 1 January of the year
    lon, lat = proj.inverse(xy[:, 0], xy[:, 1])
    ev = pd.DataFrame({"kind": kind, "lon": lon, "lat": lat, "t": t,
                       "x": xy[:, 0], "y": xy[:, 1]})

    # municipalities: Voronoi cells of seeds, denser where the events are; departments:
    # the nearest of 32 seeds
    box = shapely.box(-half, -half, half, half)
    seeds = np.r_[rng.uniform(-half, half, (n_municipalities // 2, 2)),
                  xy[rng.choice(len(xy), n_municipalities - n_municipalities // 2)]
                  + rng.normal(0, 5_000 * scale, (n_municipalities - n_municipalities // 2, 2))]
    seeds = np.clip(seeds, -half + 1, half - 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=box))
    polys = shapely.intersection(cells, box)
    polys = polys[~shapely.is_empty(polys)]
    centroids = shapely.get_coordinates(shapely.centroid(polys))
    dept_seeds = rng.uniform(-half, half, (32, 2))
    dept = ((centroids[:, None, :] - dept_seeds[None]) ** 2).sum(axis=2).argmin(axis=1)
    admin = features.AdminAreas(np.asarray(polys, dtype=object),
                                np.array([f"M{i:04d}" for i in range(len(polys))]),
                                np.array([f"D{d:02d}" for d in dept]),
                                np.asarray(shapely.area(polys), float) / 1e6)
    ev["area"] = admin.locate(ev["x"].to_numpy(), ev["y"].to_numpy())

    # covariates: settlements (half near hotspots), towns, roads between towns, rivers
    n_set = max(200, int(3_000 * scale ** 2 * 10)) if scale < 1 else 3_000
    settle = np.clip(np.r_[rng.uniform(-half, half, (n_set // 2, 2)),
                           centre[rng.choice(n_hot, n_set - n_set // 2)]
                           + rng.normal(0, 15_000 * scale, (n_set - n_set // 2, 2))],
                     -half, half)
    towns = settle[rng.choice(n_set, max(5, n_set // 75), replace=False)]
    near = ((towns[:, None] - towns[None]) ** 2).sum(axis=2).argsort(axis=1)[:, 1:4]
    roads = shapely.linestrings(np.stack([np.repeat(towns, 3, axis=0),
                                          towns[near.ravel()]], axis=1))
    steps = rng.normal(0, 8_000 * scale, (30, 120, 2)) + [0, -6_000 * scale]
    rivers = shapely.linestrings(np.clip(np.cumsum(steps, axis=1)
                                         + rng.uniform(-half, half, (30, 1, 2)), -half, half))

    def lines(name: str, geoms: Any) -> features.CovariateLayer:
        verts = shapely.get_coordinates(shapely.segmentize(geoms, CONFIG.densify_m))
        return features.CovariateLayer(features.Covariate(name, "synthetic"), verts, None)

    layers = (features.CovariateLayer(features.Covariate("settlement", "synthetic"),
                                      settle, None),
              features.CovariateLayer(features.Covariate("town", "synthetic"), towns, None),
              lines("road", roads), lines("river", rivers))
    return features.Context(proj, ev, CONFIG, admin, layers)


def square_grid(ctx: features.Context, side_km: float, cells: int) -> grid.Grid:
    """The whole square in cells of side_km / sqrt(cells): 1,000 x 1,000 of 1 km for
    a million; 3,163 x 3,163 of 316 m (10,004,569) for ten million."""
    half = side_km * 500.0
    return grid.rectangle(ctx.projection, (-half, -half, half, half),
                          side_km * 1000.0 / np.sqrt(cells))


def labels(g: grid.Grid, ev: pd.DataFrame, start: float, end: float) -> Any:
    t = ev["t"].to_numpy(float)
    sel = (t >= start) & (t < end)
    cell = g.locate(ev["x"].to_numpy()[sel], ev["y"].to_numpy()[sel])
    counts = np.bincount(g.index_of(cell[cell >= 0]), minlength=len(g)).astype(float)
    return counts


# -- memory -------------------------------------------------------------------------------
class PeakMemory(threading.Thread):
    """Samples (every 0.1 s) the resident memory of this process and of every process it
    started (Dask's workers): the peak of their sum, of this process, of the largest child.
    ru_maxrss alone would miss the workers, and tracemalloc sees neither numpy's nor
    LightGBM's own allocations."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self.me = psutil.Process()
        self.total = self.own = self.child = 0.0
        self.children_seen: set[int] = set()
        self.stop_event = threading.Event()

    def sample(self) -> None:
        import psutil

        own = self.me.memory_info().rss
        child_max, total = 0, own
        for p in self.me.children(recursive=True):
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            self.children_seen.add(p.pid)
            total += rss
            child_max = max(child_max, rss)
        mib = 1024 * 1024
        self.total = max(self.total, total / mib)
        self.own = max(self.own, own / mib)
        self.child = max(self.child, child_max / mib)

    def run(self) -> None:
        while not self.stop_event.wait(0.1):
            self.sample()

    def figures(self) -> dict[str, float]:
        self.stop_event.set()
        self.sample()
        own = max(self.own, common.peak_rss_mib())
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {"peak_total_mib": round(max(self.total, own), 1),
                "peak_client_mib": round(own, 1),
                "peak_largest_worker_mib": round(max(self.child, kids), 1)}


# -- the children: one contender each -----------------------------------------------------
def child(which: str, size: dict[str, Any], workdir: Path, seed: int, scheduler: Any = None
          ) -> dict[str, Any]:
    """One contender; `scheduler`: where the Dask contenders run (None: a LocalCluster of
    their own, started and closed within the measured time)."""
    t0 = time.perf_counter()
    ctx = synthetic_context(size["side_km"], size["events"], size["municipalities"], seed)
    big = which.startswith("big_")
    g = square_grid(ctx, size["side_km"], size["big_cells"] if big else size["cells"])
    setup_s = time.perf_counter() - t0
    mem = PeakMemory()
    mem.start()
    cpu0 = common.cpu_seconds()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"cells": len(g), "cell_m": round(g.cell_m, 2),
                           "events": len(ctx.events), "setup_s": round(setup_s, 2)}
    chunk = size["chunk_cells"]
    if which in ("train_lightgbm", "train_logistic"):
        X = distributed.feature_table(ctx, g, TRAIN_CUTOFF, chunk_cells=chunk, progress=False)
        counts = labels(g, ctx.events, TRAIN_CUTOFF, LABEL_END)
        y = counts > 0
        out["features_s"] = round(time.perf_counter() - t0, 2)
        out["features"] = X.shape[1]
        out["positive_cells"] = int(y.sum())
        t1 = time.perf_counter()
        if which == "train_lightgbm":
            # what `risk train` fits (services/risk.py fit, its default settings): with the
            # admin areas and covariate layers here, the rank mix of two boosters
            held = validate.spatial_blocks(g.x, g.y, 20_000.0, 5, seed=seed) == 0
            m = risk_service.fit(X, counts, held, risk_service.TrainParams(
                rounds=size["rounds"], seed=seed))
            out["boosters"] = len(getattr(m, "members", [m]))
            out["rows_fitted"] = m.info["rows_fitted"]
            out["rows_calibration"] = m.info["rows_calibration"]
            (workdir / "model.pkl").write_bytes(pickle.dumps(m))
        else:
            model.train_logistic(X, y)
            out["rows_fitted"] = len(X)
        out["fit_s"] = round(time.perf_counter() - t1, 2)
    elif which in ("score_dask", "score_plain"):
        m = pickle.loads((workdir / "model.pkl").read_bytes())
        if which == "score_dask":
            _, prob = distributed.score_grid(m, ctx, g, SCORE_CUTOFF, chunk_cells=chunk,
                                             scheduler=scheduler, workers=os.cpu_count(),
                                             progress=False)
            out["workers"] = os.cpu_count()
        else:
            X = features.compute(ctx, g.x, g.y, SCORE_CUTOFF)
            prob = m.predict(X)
        np.save(workdir / f"{which}.npy", prob)
    elif which in ("big_dask", "big_loop"):
        m = pickle.loads((workdir / "model.pkl").read_bytes())
        results = distributed.iter_scores(
            m, ctx, g, SCORE_CUTOFF, chunk_cells=chunk, progress=False,
            scheduler=scheduler if which == "big_dask" else "synchronous",
            workers=os.cpu_count())
        out["written"] = distributed.write_geotiff(workdir / f"{which}.tif", g, results)
        out["chunks"] = len(distributed.chunks(g, chunk))
        out["geotiff_mib"] = round((workdir / f"{which}.tif").stat().st_size / 2**20, 1)
        if which == "big_dask":
            out["workers"] = os.cpu_count()
    else:
        raise SystemExit(f"unknown child {which}")
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["cpu_s_client"] = round(common.cpu_seconds() - cpu0, 2)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the workers' CPU time: counted once they have exited (their cluster closed)
    out["cpu_s_workers"] = round(kids.ru_utime + kids.ru_stime - kids0.ru_utime
                                 - kids0.ru_stime, 2)
    out["cpu_s"] = round(out["cpu_s_client"] + out["cpu_s_workers"], 2)
    out.update(mem.figures())
    return out


def run(which: str, args: argparse.Namespace, workdir: Path, client: Any = None
        ) -> dict[str, Any]:
    extra = ["--quick"] if args.quick else []
    load = common.load_average()
    print(f"  {which} ...", flush=True)
    if args.in_process:  # the smoke run: no fresh interpreters, memory figures not separate
        res = child(which, QUICK if args.quick else FULL, workdir, args.seed, client)
    else:
        res = common.run_child(Path(__file__), ["--child", which, "--workdir", str(workdir),
                                                "--seed", str(args.seed), *extra])
    res["load_before"] = load
    print(f"  {which}: {res['seconds']} s, peak {res['peak_total_mib']:.0f} MiB", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a small country (10,000 and 40,000 cells) for the smoke test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--processes", action="store_true",
                    help="with --quick: each contender in a fresh process all the same")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    # --quick runs the contenders in this process (a fresh interpreter each costs seconds):
    # its memory figures are then cumulative, not per contender
    args.in_process = args.quick and not args.processes
    size = QUICK if args.quick else FULL
    if args.child:
        print(json.dumps(child(args.child, size, Path(args.workdir), args.seed)))
        return 0

    started = time.perf_counter()
    with common.workdir(args.workdir, NAME) as wd:
        speed = common.machine_speed_ms()
        print(f"risk at scale ({'quick' if args.quick else 'full'}): {size}; one core's "
              f"speed figure {speed} ms; load {common.load_average()}")
        steal0 = common.cpu_times()
        r: dict[str, dict[str, Any]] = {}
        # in one process (--quick), the two Dask contenders share one LocalCluster
        with distributed.connect(None if args.in_process else "synchronous") as client:
            for which in ("train_lightgbm", "train_logistic", "score_dask", "score_plain",
                          "big_dask", "big_loop"):
                r[which] = run(which, args, wd, client)
        steal = common.steal_percent(steal0, common.cpu_times())
        equal_1m = bool(np.array_equal(np.load(wd / "score_dask.npy"),
                                       np.load(wd / "score_plain.npy")))
        quality = scored_quality(size, wd, args.seed)
        equal_10m = geotiffs_equal(wd / "big_dask.tif", wd / "big_loop.tif")

    tl, tp = r["train_lightgbm"], r["train_logistic"]
    sd, sp = r["score_dask"], r["score_plain"]
    bd, bl = r["big_dask"], r["big_loop"]
    memory_gib = (common.machine().get("memory_gib") or 0.0)
    big_ok = bd["written"] == bd["cells"] and bd["peak_total_mib"] < memory_gib * 1024 * 0.8
    data: dict[str, Any] = {
        "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
        "machine_speed_ms": speed, "steal_percent": steal,
        "note": ("2 shared cores: other developers ran tests on the same machine during "
                 "this run (load average before each step in its figures); compare ratios "
                 "between contenders, re-run on an idle machine for absolute times"),
        "contenders_in_separate_processes": not args.in_process,
        "setup": {**size, "seed": args.seed, "events": sd["events"],
                  "train_cutoff": TRAIN_CUTOFF, "labels": [TRAIN_CUTOFF, LABEL_END],
                  "score_cutoff": SCORE_CUTOFF, "lightgbm": PARAMS,
                  "features": tl["features"]},
        "scores_1m": {
            "dask": sd, "plain_peer": sp, "equal": equal_1m,
            "time_ratio_to_peer": round(sd["seconds"] / sp["seconds"], 2),
            "cpu_ratio_to_peer": round(sd["cpu_s"] / max(sp["cpu_s"], 1e-9), 2),
            "memory_ratio_to_peer": round(sd["peak_total_mib"] / sp["peak_total_mib"], 2),
            "target": "< 60 s", "verdict": common.verdict(sd["seconds"] < 60 and equal_1m),
            "peer_verdict": common.verdict(sp["seconds"] < 60), "quality": quality},
        "training_1m": {
            "lightgbm": tl, "logistic_peer": tp,
            "time_ratio_to_peer": round(tl["seconds"] / tp["seconds"], 2),
            "cpu_ratio_to_peer": round(tl["cpu_s"] / max(tp["cpu_s"], 1e-9), 2),
            "fit_ratio_to_peer": round(tl["fit_s"] / tp["fit_s"], 2),
            "memory_ratio_to_peer": round(tl["peak_total_mib"] / tp["peak_total_mib"], 2),
            "target": "< 300 s", "verdict": common.verdict(tl["seconds"] < 300)},
        "grid_10m": {
            "dask": bd, "loop_peer": bl, "equal": equal_10m,
            "time_ratio_to_peer": round(bd["seconds"] / bl["seconds"], 2),
            "cpu_ratio_to_peer": round(bd["cpu_s"] / max(bl["cpu_s"], 1e-9), 2),
            "memory_ratio_to_peer": round(bd["peak_total_mib"] / bl["peak_total_mib"], 2),
            "target": "finishes without running out of memory on this 2-core machine",
            "verdict": common.verdict(big_ok and equal_10m)},
        "total_s": round(time.perf_counter() - started, 2),
    }
    print()
    print(common.table(
        ["", "cells", "seconds", "x peer", "CPU s (all)", "peak MiB (all)",
         "largest worker MiB", "target", ""],
        [("1M features + scores, Dask (ours)", sd["cells"], sd["seconds"],
          data["scores_1m"]["time_ratio_to_peer"], sd["cpu_s"], sd["peak_total_mib"],
          sd["peak_largest_worker_mib"], "< 60 s", data["scores_1m"]["verdict"]),
         ("1M plain, all at once (peer)", sp["cells"], sp["seconds"], 1.0, sp["cpu_s"],
          sp["peak_total_mib"], "-", "", data["scores_1m"]["peer_verdict"]),
         ("1M training, LightGBM (ours)", tl["cells"], tl["seconds"],
          data["training_1m"]["time_ratio_to_peer"], tl["cpu_s"], tl["peak_total_mib"],
          "-", "< 300 s", data["training_1m"]["verdict"]),
         ("1M training, logistic (peer)", tp["cells"], tp["seconds"], 1.0, tp["cpu_s"],
          tp["peak_total_mib"], "-", "", ""),
         ("10M scores -> GeoTIFF, Dask (ours)", bd["cells"], bd["seconds"],
          data["grid_10m"]["time_ratio_to_peer"], bd["cpu_s"], bd["peak_total_mib"],
          bd["peak_largest_worker_mib"], "no OOM", data["grid_10m"]["verdict"]),
         ("10M chunks in one process (peer)", bl["cells"], bl["seconds"], 1.0,
          bl["cpu_s"], bl["peak_total_mib"], "-", "", "")]))
    print(f"training: features {tl['features_s']} s + LightGBM fit {tl['fit_s']} s "
          f"({tl['rows_fitted']:,} rows fitted, {tl['rows_calibration']:,} for calibration); "
          f"logistic: features {tp['features_s']} s + fit {tp['fit_s']} s "
          f"(fit {data['training_1m']['fit_ratio_to_peer']}x the logistic's)")
    print(f"results equal to the peer's: 1M {equal_1m}, 10M GeoTIFF {equal_10m}; "
          f"1M scores out of time: ROC-AUC {quality['roc_auc']:.3f} "
          f"(distance baseline {quality['baseline_distance_roc_auc']:.3f}), AP "
          f"{quality['average_precision']:.4f} "
          f"({quality['baseline_distance_average_precision']:.4f})")
    print(f"total {data['total_s']} s; steal {steal}%; load {common.load_average()}")
    full = not args.quick
    common.write_results(common.results_path(NAME, args.json, full,
                                             Path(args.workdir) if args.workdir else None),
                         data)
    return 0


def scored_quality(size: dict[str, Any], wd: Path, seed: int) -> dict[str, float]:
    """The 1M scores against the synthetic events of 2010-2014, beside the distance
    baseline: a sanity check that the synthetic model learned something, not a result."""
    ctx = synthetic_context(size["side_km"], size["events"], size["municipalities"], seed)
    g = square_grid(ctx, size["side_km"], size["cells"])
    y = labels(g, ctx.events, SCORE_CUTOFF, TEST_END) > 0
    prob = np.load(wd / "score_plain.npy")
    dist = features.compute(
        features.Context(ctx.projection, ctx.events, features.FeatureConfig(
            kinds=(), radii_km=(1.0,))), g.x, g.y, SCORE_CUTOFF)["dist_any_km"].to_numpy()
    return {"roc_auc": round(metrics.roc_auc(y, prob), 4),
            "average_precision": round(metrics.average_precision(y, prob), 4),
            "baseline_distance_roc_auc": round(metrics.roc_auc(y, -dist), 4),
            "baseline_distance_average_precision": round(
                metrics.average_precision(y, -dist), 4),
            "positive_cells": int(y.sum())}


def geotiffs_equal(a: Path, b: Path) -> bool:
    import rasterio

    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        return bool(np.array_equal(ra.read(1), rb.read(1)))


if __name__ == "__main__":
    raise SystemExit(main())
