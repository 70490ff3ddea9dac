"""Query benchmark: bbox and within-distance latency on 1,000,000 accident points.

Against GDAL's own GeoPackage R-tree on the same points.

    python bench/query_bench.py [--rows 1000000] [--queries 500] [--workdir DIR]
                                [--postgis URL|auto|none]

Builds an embedded store (GeoPackage) with the seeded accident points of bench/synthetic.py,
loaded through the store's bulk API (transaction + encode_points + bulk_insert +
refresh_spatial_metadata), and beside it a GeoPackage of the same points written by GDAL
(pyogrio.raw.write). Then, after a warm-up, times one query at a time:

  bbox    store.query(Query(kind="accident", bbox=<~0.05 degree box>, limit=100)) over random
          boxes centred near random accidents (so they hit data), the same boxes for all;
  near    store.query(Query(kind="accident", near=Near(Point(lon, lat), 1000), limit=100))
          at random accident locations: geodesic distance, exact;
  GDAL    pyogrio.raw.read(gdal.gpkg, bbox=box, max_features=100), and pyogrio.read_arrow
          the same way: GDAL's own R-tree, the peer for the bbox query.

mineaction's figures are for what the API returns: up to 100 validated Accident records
(pydantic), with their sources looked up. GDAL's are for raw column arrays. Every pyogrio
call opens and closes the file; store.query uses a pooled connection.

PostGIS runs beside it: at the URL given (a scratch database is created and dropped), or,
when running as root with no URL, in a throwaway cluster started with
scripts/pg-test-cluster.sh (--postgis none skips it). Target of the foundation issue:
p50 under 5 ms on the embedded store. Figures go to bench/results/query_bench.json for a
full-size run (--json to choose).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402
import synthetic  # noqa: E402

NAME = "query_bench"
DEFAULT_ROWS = 1_000_000
DEFAULT_QUERIES = 500
CHUNK = 100_000
BOX_DEG = 0.05
NEAR_M = 1000.0
LIMIT = 100
TARGET_P50_MS = 5.0
DATASET = "bench-points"


# -- building the stores --------------------------------------------------------------------
def load_store(store: Any, lon: np.ndarray, lat: np.ndarray) -> float:
    """The points into the store's accident table through the bulk API; seconds taken."""
    from mineaction.domain.models import new_ids

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    constants = {
        "dataset": DATASET, "status": "approved", "version": 1, "created_at": stamp,
        "updated_at": stamp, "date_precision": "month", "location_precision": "settlement",
        "area_type": "rural", "accident_kind": "mine", "device_category": "ap_mine",
    }
    names = ["id", "external_id", "geometry"]
    started = time.perf_counter()
    with store.transaction() as conn:
        for start in range(0, len(lon), CHUNK):
            end = min(start + CHUNK, len(lon))
            rows = list(zip(new_ids(end - start), [f"pt{i}" for i in range(start, end)],
                            store.encode_points(lon[start:end], lat[start:end]), strict=True))
            store.bulk_insert(conn, "accident", names, rows, constants)
        store.refresh_spatial_metadata(conn, ["accident"])
    return time.perf_counter() - started


def write_gdal(path: Path, lon: np.ndarray, lat: np.ndarray) -> float:
    import pyogrio.raw
    import shapely

    from mineaction.domain.models import new_ids

    common.remove_sqlite(path)
    n = len(lon)
    started = time.perf_counter()
    geometry = shapely.to_wkb(shapely.points(lon, lat), flavor="iso")
    fields = ["id", "external_id", "dataset", "status"]
    data = [np.array(new_ids(n), dtype=object),
            np.array([f"pt{i}" for i in range(n)], dtype=object),
            np.full(n, DATASET, dtype=object), np.full(n, "approved", dtype=object)]
    pyogrio.raw.write(str(path), geometry, data, fields, layer="accidents", driver="GPKG",
                      geometry_type="Point", crs="EPSG:4326", encoding="UTF-8")
    return time.perf_counter() - started


# -- timing ---------------------------------------------------------------------------------
def timed(fn: Callable[[Any], int], args: list[Any], warmup: list[Any]) -> dict[str, Any]:
    for a in warmup:
        fn(a)
    ms = np.empty(len(args))
    cpu_ms = np.empty(len(args))
    hits = np.empty(len(args), dtype=np.int64)
    for i, a in enumerate(args):
        c = time.process_time()
        t = time.perf_counter()
        hits[i] = fn(a)
        ms[i] = (time.perf_counter() - t) * 1000
        cpu_ms[i] = (time.process_time() - c) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"queries": len(args), "p50_ms": float(p50), "p95_ms": float(p95),
            "p99_ms": float(p99), "mean_ms": float(ms.mean()), "max_ms": float(ms.max()),
            "cpu_p50_ms": float(np.percentile(cpu_ms, 50)), "mean_rows": float(hits.mean()),
            "hits": hits.tolist()}


def store_queries(store: Any) -> tuple[Callable[[Any], int], Callable[[Any], int]]:
    from shapely.geometry import Point

    from mineaction.store.query import Near, Query

    def bbox(box: Any) -> int:
        return len(store.query(Query(kind="accident", bbox=tuple(box), limit=LIMIT)).items)

    def near(pt: Any) -> int:
        q = Query(kind="accident", near=Near(Point(pt[0], pt[1]), NEAR_M), limit=LIMIT)
        return len(store.query(q).items)

    return bbox, near


def gdal_queries(path: Path) -> dict[str, Callable[[Any], int]]:
    import pyogrio
    import pyogrio.raw

    def raw(box: Any) -> int:
        _meta, _fids, geometry, _data = pyogrio.raw.read(
            str(path), layer="accidents", bbox=tuple(box), max_features=LIMIT)
        return len(geometry)

    out = {"raw": raw}
    try:
        import pyarrow  # noqa: F401 -- read_arrow needs it; not a mineaction dependency

        def arrow(box: Any) -> int:
            _meta, table = pyogrio.read_arrow(str(path), layer="accidents", bbox=tuple(box),
                                              max_features=LIMIT)
            return table.num_rows

        out["arrow"] = arrow
    except ImportError:
        pass
    return out


def pg_analyze(store: Any) -> None:
    """Fresh planner statistics, as autovacuum would gather soon after a load."""
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE accidents")


# -- the run --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"accident points (default {DEFAULT_ROWS:,})")
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES,
                        help=f"timed queries of each kind (default {DEFAULT_QUERIES})")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed queries first (default a tenth of --queries, >= 5)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", help="where the stores go (kept); default a temporary "
                        "directory, removed at the end")
    parser.add_argument("--postgis", metavar="URL|auto|none",
                        help="PostGIS beside the embedded store: a postgresql:// URL (a "
                        "scratch database is created and dropped), 'auto' (throwaway cluster)"
                        " or 'none'. Default: auto when running as root, else none")
    parser.add_argument("--json", help="where to write the figures (default "
                        "bench/results/query_bench.json at full size, else the workdir)")
    args = parser.parse_args(argv)
    warmup_n = args.warmup if args.warmup is not None else max(5, args.queries // 10)
    pg_choice = args.postgis or ("auto" if os.geteuid() == 0 else "none")

    from mineaction.store import open_store

    lon, lat = synthetic.accident_points(args.rows, args.seed)
    rng = np.random.default_rng(args.seed + 1)

    def boxes(k: int) -> list[tuple[float, float, float, float]]:
        pick = rng.integers(0, args.rows, k)
        cx = lon[pick] + rng.uniform(-BOX_DEG / 2, BOX_DEG / 2, k)
        cy = lat[pick] + rng.uniform(-BOX_DEG / 2, BOX_DEG / 2, k)
        h = BOX_DEG / 2
        return [(float(x - h), float(y - h), float(x + h), float(y + h))
                for x, y in zip(cx, cy, strict=True)]

    def points(k: int) -> list[tuple[float, float]]:
        pick = rng.integers(0, args.rows, k)
        return [(float(lon[i]), float(lat[i])) for i in pick]

    bbox_warm, bbox_args = boxes(warmup_n), boxes(args.queries)
    near_warm, near_args = points(warmup_n), points(args.queries)

    load_before = common.load_average()
    machine = common.machine()  # the commit as imported now, not as the tree is at the end
    results: dict[str, dict[str, Any]] = {}
    builds: dict[str, dict[str, Any]] = {}
    pg_note = "PostGIS skipped (--postgis none, or not root and no URL given)"
    pg_version = None
    with common.workdir(args.workdir, NAME) as work:
        # Embedded store.
        gpkg = work / "query.gpkg"
        common.remove_sqlite(gpkg)
        print(f"loading {args.rows:,} points into the embedded store ...", flush=True)
        store = open_store(gpkg)
        try:
            seconds = load_store(store, lon, lat)
            builds["mineaction_gpkg"] = {"seconds": seconds, "rows_per_s": args.rows / seconds}
            bbox_fn, near_fn = store_queries(store)
            results["mineaction_gpkg bbox"] = timed(bbox_fn, bbox_args, bbox_warm)
            results["mineaction_gpkg near"] = timed(near_fn, near_args, near_warm)
        finally:
            store.close()

        # GDAL peer.
        gdal_path = work / "gdal.gpkg"
        print("writing the same points with GDAL ...", flush=True)
        seconds = write_gdal(gdal_path, lon, lat)
        builds["gdal_gpkg"] = {"seconds": seconds, "rows_per_s": args.rows / seconds}
        for flavour, fn in gdal_queries(gdal_path).items():
            results[f"gdal_{flavour} bbox"] = timed(fn, bbox_args, bbox_warm)

        # PostGIS.
        if pg_choice != "none":
            with common.PostGIS(pg_choice, work / "pgcluster") as pg:
                pg_note = pg.note
                print(pg_note, flush=True)
                if pg.url:
                    pg_version = pg.server_version()
                    with pg.fresh_database("mineaction_query_bench") as url:
                        print(f"loading {args.rows:,} points into PostGIS ...", flush=True)
                        store = open_store(url)
                        try:
                            seconds = load_store(store, lon, lat)
                            pg_analyze(store)
                            builds["mineaction_postgis"] = {"seconds": seconds,
                                                            "rows_per_s": args.rows / seconds}
                            bbox_fn, near_fn = store_queries(store)
                            results["mineaction_postgis bbox"] = timed(bbox_fn, bbox_args,
                                                                       bbox_warm)
                            results["mineaction_postgis near"] = timed(near_fn, near_args,
                                                                       near_warm)
                        finally:
                            store.close()

        report(args, results, builds, pg_note, pg_version, work,
               (load_before, common.load_average()), machine)
    return 0


def report(args: Any, results: dict[str, dict[str, Any]], builds: dict[str, dict[str, Any]],
           pg_note: str, pg_version: str | None, work: Path,
           load: tuple[Any, Any], machine: dict[str, Any]) -> None:
    # Same boxes, same limit: the row counts must agree with GDAL's.
    gdal_hits = np.array(results["gdal_raw bbox"]["hits"])
    agree = {}
    for key in ("mineaction_gpkg bbox", "mineaction_postgis bbox"):
        if key in results:
            agree[key] = int((np.array(results[key]["hits"]) == gdal_hits).sum())
    gdal_p50 = results["gdal_raw bbox"]["p50_ms"]
    labels = {
        "mineaction_gpkg bbox": "mineaction GeoPackage  bbox",
        "mineaction_gpkg near": "mineaction GeoPackage  near 1 km",
        "gdal_raw bbox": "GDAL pyogrio.raw.read  bbox",
        "gdal_arrow bbox": "GDAL pyogrio.read_arrow bbox",
        "mineaction_postgis bbox": "mineaction PostGIS     bbox",
        "mineaction_postgis near": "mineaction PostGIS     near 1 km",
    }
    rows = []
    for key, r in results.items():
        r["p50_x_gdal_raw_bbox"] = r["p50_ms"] / gdal_p50
        rows.append([labels[key], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_rows"],
                     r["p50_x_gdal_raw_bbox"], r["cpu_p50_ms"]])
    checks = [(f"p50 < {TARGET_P50_MS:g} ms, embedded store, {what}",
               f"{results[key]['p50_ms']:.2f} ms", results[key]["p50_ms"] < TARGET_P50_MS,
               f"{results[key]['cpu_p50_ms']:.2f} ms",
               results[key]["cpu_p50_ms"] < TARGET_P50_MS)
              for key, what in (("mineaction_gpkg bbox", "bbox"),
                                ("mineaction_gpkg near", "near 1 km"))]
    if pg_version:
        machine["versions"]["postgis"] = pg_version

    print()
    print(f"Queries on {args.rows:,} accident points (seed {args.seed}), {args.queries} timed "
          f"queries each, limit {LIMIT}, bbox {BOX_DEG} degrees, near {NEAR_M:g} m; "
          f"{machine['cores']} cores, {machine['cpu']}")
    print(common.table(["query", "p50 ms", "p95 ms", "p99 ms", "rows/query",
                        "p50 x GDAL bbox", "CPU p50 ms"], rows))
    print("ms: wall time per query; CPU p50 ms: this process's CPU time per query (the "
          "PostGIS server's not included),\nhardly affected by other processes competing "
          "for the cores.")
    print()
    print(common.table(["load", "seconds", "rows/s"],
                       [[k, b["seconds"], b["rows_per_s"]] for k, b in builds.items()]))
    print()
    print("targets:")
    print(common.table(["target", "wall p50", "verdict", "CPU p50", "verdict"],
                       [[t, m, common.verdict(ok), mc, common.verdict(okc)]
                        for t, m, ok, mc, okc in checks]))
    if load[0] and load[0][0] > (machine["cores"] or 1):
        print(f"WARNING: load average {load[0][0]} at the start exceeds the "
              f"{machine['cores']} cores: wall times are inflated by other processes.")
    for key, n in agree.items():
        print(f"{key}: same row count as GDAL on {n} of {len(gdal_hits)} boxes")
    print(pg_note)
    print(f"load average before / after: {load[0]} / {load[1]}")

    for r in results.values():
        r.pop("hits")
    data = {
        "benchmark": NAME, "when": common.stamp(), "rows": args.rows, "seed": args.seed,
        "queries": args.queries, "limit": LIMIT, "bbox_degrees": BOX_DEG, "near_m": NEAR_M,
        "machine": machine,
        "queries_results": {k: {n: (round(v, 3) if isinstance(v, float) else v)
                                for n, v in r.items()} for k, r in results.items()},
        "loads": {k: {n: round(v, 2) for n, v in b.items()} for k, b in builds.items()},
        "bbox_rowcount_agrees_with_gdal": agree,
        "targets": [{"target": t, "measured": m, "verdict": common.verdict(ok),
                     "measured_cpu": mc, "verdict_cpu": common.verdict(okc)}
                    for t, m, ok, mc, okc in checks],
        "postgis": pg_note, "load_average_before_after": list(load),
    }
    out = common.results_path(NAME, args.json, args.rows == DEFAULT_ROWS,
                              work if args.workdir else None)
    common.write_results(out, data)


if __name__ == "__main__":
    raise SystemExit(main())
