"""Import benchmark: AICMA-shaped victims CSV -> store, against GDAL converting the same CSV.

    python bench/import_bench.py [--rows 1000000] [--workdir DIR] [--postgis URL|auto]

Generates the seeded synthetic victims register (bench/synthetic.py) as a CSV, then, each
in its own fresh Python process (so peak memory is the contender's own, read from
getrusage(RUSAGE_SELF).ru_maxrss at the end of the child):

  mineaction   open_store(<new>.gpkg) + import_file(..., mapping=load_mapping("aicma-victims")):
               reads, maps, validates every row, groups victims into accidents, writes two
               tables with indexes and R-tree, in one transaction;
  GDAL         pyogrio.raw.read(csv, X_POSSIBLE_NAMES=longitudcabecera,
               Y_POSSIBLE_NAMES=latitudcabecera) + pyogrio.raw.write(<new>.gpkg): a plain
               format conversion (one layer, every column as text, points, R-tree);
  PostGIS      (with --postgis) the mineaction import into a PostGIS store, in a scratch
               database created for the run and dropped after it.

Times are of the work itself (open/read to close/write), not of interpreter start-up and
imports, which are reported separately as process seconds. Targets of the foundation issue
(mineaction -> GeoPackage): >= 50,000 rows/s, within 3x GDAL's time, peak RSS < 1 GiB.
Figures go to bench/results/import_bench.json for a full-size run (--json to choose).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

NAME = "import_bench"
DEFAULT_ROWS = 1_000_000
MAPPING = "aicma-victims"
TARGET_ROWS_PER_S = 50_000
TARGET_X_GDAL = 3.0
TARGET_PEAK_MIB = 1024.0


# -- children -------------------------------------------------------------------------------
def child_mineaction(csv: str, target: str, postgis: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    import sqlalchemy as sa

    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file
    from mineaction.store import open_store

    imports = time.perf_counter() - t0
    if not postgis:
        common.remove_sqlite(Path(target))
    mapping = load_mapping(MAPPING)
    cpu = common.cpu_seconds()
    started = time.perf_counter()
    store = open_store(target)
    try:
        report = import_file(store, csv, mapping=mapping)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    cpu = common.cpu_seconds() - cpu
    peak = common.peak_rss_mib()  # before the checks below, which read nothing big
    if not report.committed or report.errors:
        raise SystemExit(f"import not committed: {len(report.errors)} errors, e.g. "
                         f"{report.error_lines(3)}")
    # Count what landed, with a fresh connection.
    store = open_store(target, initialise=False)
    try:
        with store.engine.connect() as conn:
            counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("victims", "accidents")}
    finally:
        store.close()
    return {
        "seconds": seconds, "cpu_seconds": cpu, "import_seconds_reported": report.seconds,
        "imports_seconds": imports, "rows_read": report.rows_read,
        "added": {k: v.added for k, v in report.kinds.items()},
        "rejected": sum(v.rejected for v in report.kinds.values()),
        "flags": len(report.flags), "rows_in_store": counts, "peak_rss_mib": peak,
        "output_bytes": _size(target) if not postgis else None,
    }


def child_gdal(csv: str, target: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pyogrio
    import pyogrio.raw

    imports = time.perf_counter() - t0
    common.remove_sqlite(Path(target))
    cpu = common.cpu_seconds()
    started = time.perf_counter()
    meta, _fids, geometry, field_data = pyogrio.raw.read(
        csv, X_POSSIBLE_NAMES="longitudcabecera", Y_POSSIBLE_NAMES="latitudcabecera")
    read_seconds = time.perf_counter() - started
    pyogrio.raw.write(target, geometry, field_data, meta["fields"], layer="victims",
                      driver="GPKG", geometry_type="Point", crs="EPSG:4326",
                      encoding="UTF-8")
    seconds = time.perf_counter() - started
    cpu = common.cpu_seconds() - cpu
    peak = common.peak_rss_mib()
    del geometry, field_data
    info = pyogrio.read_info(target, layer="victims", force_feature_count=True)
    return {
        "seconds": seconds, "cpu_seconds": cpu, "read_seconds": read_seconds,
        "imports_seconds": imports,
        "rows_read": int(len(_fids) if _fids is not None else info["features"]),
        "rows_in_store": {"victims": int(info["features"])}, "peak_rss_mib": peak,
        "output_bytes": _size(target),
    }


def child_gdal_arrow(csv: str, target: str) -> dict[str, Any]:
    """GDAL's columnar path (Arrow C stream both ways, no Python object per cell): the
    fastest way pyogrio converts, for reference beside the raw read + write."""
    t0 = time.perf_counter()
    import pyogrio

    imports = time.perf_counter() - t0
    common.remove_sqlite(Path(target))
    cpu = common.cpu_seconds()
    started = time.perf_counter()
    meta, table = pyogrio.read_arrow(
        csv, X_POSSIBLE_NAMES="longitudcabecera", Y_POSSIBLE_NAMES="latitudcabecera")
    read_seconds = time.perf_counter() - started
    pyogrio.write_arrow(table, target, layer="victims", driver="GPKG", geometry_type="Point",
                        crs="EPSG:4326", encoding="UTF-8",
                        geometry_name=meta.get("geometry_name") or "wkb_geometry")
    seconds = time.perf_counter() - started
    cpu = common.cpu_seconds() - cpu
    peak = common.peak_rss_mib()
    rows = table.num_rows
    del table
    info = pyogrio.read_info(target, layer="victims", force_feature_count=True)
    return {
        "seconds": seconds, "cpu_seconds": cpu, "read_seconds": read_seconds,
        "imports_seconds": imports, "rows_read": int(rows),
        "rows_in_store": {"victims": int(info["features"])}, "peak_rss_mib": peak,
        "output_bytes": _size(target),
    }


def _size(path: str) -> int:
    return sum(p.stat().st_size for p in (Path(path), Path(path + "-wal")) if p.exists())


# -- the run --------------------------------------------------------------------------------
def make_csv(rows: int, seed: int, work: Path) -> tuple[Path, float, bool]:
    """The seeded CSV (the same seed gives the same bytes, so a CSV already in --workdir
    is reused). Written as synthetic.py's command line writes it."""
    path = work / f"victims-{rows}-seed{seed}.csv"
    if path.exists():
        return path, 0.0, True
    import synthetic

    partial = path.with_suffix(".csv.partial")
    started = time.perf_counter()
    frame = synthetic.victims(rows, seed)
    frame.to_csv(partial, index=False)
    del frame
    partial.rename(path)
    return path, time.perf_counter() - started, False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"victim rows to generate (default {DEFAULT_ROWS:,})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="where the CSV and stores go (kept); default a "
                        "temporary directory, removed at the end")
    parser.add_argument("--postgis", metavar="URL|auto|none",
                        help="also import into PostGIS: a postgresql:// URL (a scratch "
                        "database is created beside it and dropped), or 'auto' to start a "
                        "throwaway cluster with scripts/pg-test-cluster.sh (default none)")
    parser.add_argument("--json", help="where to write the figures (default "
                        "bench/results/import_bench.json at full size, else the workdir)")
    parser.add_argument("--child", choices=["mineaction", "gdal", "gdal-arrow", "postgis"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "gdal":
            out = child_gdal(args.csv, args.target)
        elif args.child == "gdal-arrow":
            out = child_gdal_arrow(args.csv, args.target)
        else:
            out = child_mineaction(args.csv, args.target, postgis=args.child == "postgis")
        print(json.dumps(out))
        return 0

    me = Path(__file__).resolve()
    load_before = common.load_average()
    # The commit (and whether src/ has uncommitted edits) as the children will import it.
    machine = common.machine()
    with common.workdir(args.workdir, NAME) as work:
        csv, gen_seconds, reused = make_csv(args.rows, args.seed, work)
        csv_mib = csv.stat().st_size / 2**20
        print(f"CSV: {csv} ({args.rows:,} rows, {csv_mib:.1f} MiB, seed {args.seed}; "
              + ("reused)" if reused else f"generated in {gen_seconds:.1f} s)"), flush=True)

        results: dict[str, dict[str, Any]] = {}
        print("running mineaction -> GeoPackage ...", flush=True)
        results["mineaction_gpkg"] = common.run_child(
            me, ["--child", "mineaction", "--csv", str(csv),
                 "--target", str(work / "mineaction.gpkg")])
        print("running GDAL (pyogrio raw read + write) -> GeoPackage ...", flush=True)
        results["gdal_gpkg"] = common.run_child(
            me, ["--child", "gdal", "--csv", str(csv), "--target", str(work / "gdal.gpkg")])
        try:
            import pyarrow  # noqa: F401 -- read_arrow/write_arrow need it (not a dependency)

            print("running GDAL (pyogrio read_arrow + write_arrow) -> GeoPackage ...",
                  flush=True)
            results["gdal_arrow_gpkg"] = common.run_child(
                me, ["--child", "gdal-arrow", "--csv", str(csv),
                     "--target", str(work / "gdal-arrow.gpkg")])
        except ImportError:
            print("pyarrow not installed: GDAL's Arrow path left out")
        pg_note = None
        pg_version = None
        if args.postgis and args.postgis != "none":
            with common.PostGIS(args.postgis, work / "pgcluster") as pg:
                pg_note = pg.note
                print(pg_note, flush=True)
                if pg.url:
                    pg_version = pg.server_version()
                    with pg.fresh_database("mineaction_import_bench") as url:
                        print("running mineaction -> PostGIS ...", flush=True)
                        results["mineaction_postgis"] = common.run_child(
                            me, ["--child", "postgis", "--csv", str(csv), "--target", url])

        load_after = common.load_average()
        gdal_s = results["gdal_gpkg"]["seconds"]
        gdal_cpu = results["gdal_gpkg"]["cpu_seconds"]
        labels = {
            "mineaction_gpkg": "mineaction -> GeoPackage (aicma-victims mapping)",
            "gdal_gpkg": "GDAL pyogrio raw read+write -> GeoPackage",
            "gdal_arrow_gpkg": "GDAL pyogrio arrow read+write -> GeoPackage",
            "mineaction_postgis": "mineaction -> PostGIS (aicma-victims mapping)",
        }
        rows_out = []
        for key, r in results.items():
            r["rows_per_s"] = args.rows / r["seconds"]
            r["x_gdal_time"] = r["seconds"] / gdal_s
            r["x_gdal_cpu"] = r["cpu_seconds"] / gdal_cpu
            r["rows_per_cpu_s"] = args.rows / r["cpu_seconds"]
            landed = " + ".join(f"{v:,} {k}" for k, v in r["rows_in_store"].items())
            rows_out.append([labels[key], r["seconds"], r["rows_per_s"], r["peak_rss_mib"],
                             r["x_gdal_time"], r["cpu_seconds"], r["x_gdal_cpu"],
                             r["process_seconds"], landed])
        mine = results["mineaction_gpkg"]
        cpu_rate = args.rows / mine["cpu_seconds"]
        # Each target on wall time (what a user waits) and on CPU time (what the same run
        # would take with the cores to itself: both contenders are single-threaded).
        checks = [
            (f">= {TARGET_ROWS_PER_S:,} rows/s",
             f"{mine['rows_per_s']:,.0f} rows/s", mine["rows_per_s"] >= TARGET_ROWS_PER_S,
             f"{cpu_rate:,.0f} rows/CPU-s", cpu_rate >= TARGET_ROWS_PER_S),
            (f"within {TARGET_X_GDAL:g}x GDAL's time",
             f"{mine['x_gdal_time']:.2f}x", mine["x_gdal_time"] <= TARGET_X_GDAL,
             f"{mine['x_gdal_cpu']:.2f}x", mine["x_gdal_cpu"] <= TARGET_X_GDAL),
            ("peak memory < 1 GiB", f"{mine['peak_rss_mib']:,.0f} MiB",
             mine["peak_rss_mib"] < TARGET_PEAK_MIB, None, None),
        ]
        if pg_version:
            machine["versions"]["postgis"] = pg_version

        print()
        print(f"Import of {args.rows:,} AICMA-shaped victim rows ({csv_mib:.1f} MiB CSV, seed "
              f"{args.seed}); {machine['cores']} cores, {machine['cpu']}")
        print(common.table(["contender", "seconds", "rows/s", "peak MiB", "x GDAL time",
                            "CPU s", "x GDAL CPU", "process s", "rows written"], rows_out))
        print()
        print("targets (mineaction -> GeoPackage):")
        print(common.table(
            ["target", "wall time", "verdict", "CPU time", "verdict"],
            [[t, m, common.verdict(ok), mc, None if okc is None else common.verdict(okc)]
             for t, m, ok, mc, okc in checks]))
        if "gdal_arrow_gpkg" in results:
            arrow = results["gdal_arrow_gpkg"]
            print(f"for reference, against GDAL's Arrow path: "
                  f"{mine['seconds'] / arrow['seconds']:.2f}x its wall time, "
                  f"{mine['cpu_seconds'] / arrow['cpu_seconds']:.2f}x its CPU time")
        if load_before and load_before[0] > (machine["cores"] or 1):
            print(f"WARNING: load average {load_before[0]} at the start exceeds the "
                  f"{machine['cores']} cores: wall times are inflated by other processes.")
        if pg_note:
            print(pg_note)
        print("seconds: wall time of the import/conversion itself; rows/s: CSV rows / seconds;"
              " CPU s: user+system CPU of the contender's process over the same span (the\n"
              "PostGIS server's CPU not included); process s: the whole child process, "
              "interpreter start-up and imports included.")
        print(f"load average before / after: {load_before} / {load_after} (other processes "
              "competing for the cores inflate wall times, not CPU times)")

        data = {
            "benchmark": NAME, "when": common.stamp(), "rows": args.rows, "seed": args.seed,
            "csv_mib": round(csv_mib, 1), "mapping": MAPPING, "machine": machine,
            "contenders": {k: _rounded(v) for k, v in results.items()},
            "targets": [{"target": t, "measured": m, "verdict": common.verdict(ok),
                         "measured_cpu": mc,
                         "verdict_cpu": None if okc is None else common.verdict(okc)}
                        for t, m, ok, mc, okc in checks],
            "postgis": pg_note, "load_average_before_after": [load_before, load_after],
        }
        out = common.results_path(NAME, args.json, args.rows == DEFAULT_ROWS,
                                  work if args.workdir else None)
        common.write_results(out, data)
    return 0


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}


if __name__ == "__main__":
    raise SystemExit(main())
