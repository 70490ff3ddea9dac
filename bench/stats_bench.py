"""Casualty statistics grouped by year x admin area over synthetic victims (default
1,000,000), on the GeoPackage and PostGIS stores, beside DuckDB running the same GROUP BY on
the same data as a CSV file (the peer). Issue 5's targets: within 2x DuckDB and under 1 s
on both stores.

    python bench/stats_bench.py [--victims 1000000] [--postgis auto|URL|none] [--repeat 5]

Data: bench/synthetic.py victims(n) (shaped like the AICMA register), written as CSV and
imported into each store through the real import pipeline with the shipped aicma-victims
mapping, exactly as a user would. Timings are the best of --repeat runs after one warm-up,
each on a new connection, results checked equal across all three.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
from synthetic import victims  # noqa: E402

NAME = "stats_bench"
DEFAULT_VICTIMS = 1_000_000

DUCKDB_SQL = """
SELECT CAST(ano AS VARCHAR) AS year, lpad(CAST(codigodanemunicipio AS VARCHAR), 5, '0') AS pcode,
       count(*) AS casualties,
       sum(CASE WHEN estado = 'Muerto' THEN 1 ELSE 0 END) AS killed,
       sum(CASE WHEN estado = 'Herido' THEN 1 ELSE 0 END) AS injured
FROM read_csv('{path}', header = true, all_varchar = true)
GROUP BY 1, 2
"""


def best_of(fn: Any, repeat: int) -> tuple[float, Any]:
    fn()  # warm-up: caches, query plans, imports
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def duckdb_run(csv_path: Path, repeat: int) -> tuple[float, dict[tuple[str, str], int]]:
    import duckdb

    sql = DUCKDB_SQL.format(path=str(csv_path).replace("'", "''"))

    def run() -> dict[tuple[str, str], int]:
        con = duckdb.connect()
        try:
            return {(y, p): n for y, p, n, _, _ in con.execute(sql).fetchall()}
        finally:
            con.close()

    return best_of(run, repeat)


def store_run(location: str, csv_path: Path, repeat: int) -> dict[str, Any]:
    from mineaction.analysis.casualties import casualties
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file
    from mineaction.store import open_store

    store = open_store(location)
    try:
        started = time.perf_counter()
        report = import_file(store, csv_path, mapping=load_mapping("aicma-victims"))
        load_s = time.perf_counter() - started
        assert report.committed and not report.errors

        def run() -> dict[tuple[str, str], int]:
            store.engine.dispose()  # a new connection each run, as a CLI call would have
            rows = casualties(store, ["year", "admin-area"]).rows
            return {(r["year"], r["admin-area"]): r["casualties"] for r in rows}

        seconds, result = best_of(run, repeat)
    finally:
        store.close()
    return {"load_seconds": round(load_s, 1), "seconds": seconds, "result": result,
            "load_average_after": common.load_average()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=int, default=DEFAULT_VICTIMS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="where data and stores go (kept); default a "
                        "temporary directory")
    parser.add_argument("--postgis", metavar="URL|auto|none", default="auto")
    parser.add_argument("--json", help="where to write the figures (default "
                        "bench/results/stats_bench.json at full size)")
    args = parser.parse_args(argv)

    with common.workdir(args.workdir, NAME) as work:
        csv_path = work / f"victims_{args.victims}.csv"
        if not csv_path.exists():
            print(f"generating {args.victims:,} synthetic victims ...", flush=True)
            victims(args.victims, args.seed).to_csv(csv_path, index=False)
        print("DuckDB on the CSV ...", flush=True)
        duck_s, expected = duckdb_run(csv_path, args.repeat)
        figures: dict[str, Any] = {"duckdb_csv": {"seconds": round(duck_s, 3),
                                                  "groups": len(expected),
                                                  "load_average_after": common.load_average()}}
        print("GeoPackage store ...", flush=True)
        common.remove_sqlite(work / "stats.gpkg")
        gpkg = store_run(str(work / "stats.gpkg"), csv_path, args.repeat)
        assert gpkg.pop("result") == expected, "GeoPackage result differs from DuckDB's"
        figures["gpkg"] = gpkg
        note = "PostGIS: not run (--postgis none)"
        if args.postgis != "none":
            with common.PostGIS(args.postgis, work / "pg") as pg:
                note = pg.note
                if pg.url:
                    print("PostGIS store ...", flush=True)
                    with common.scratch_database(pg.url, "stats_bench") as url:
                        postgis = store_run(url, csv_path, args.repeat)
                    assert postgis.pop("result") == expected, "PostGIS result differs"
                    postgis["server"] = pg.server_version()
                    figures["postgis"] = postgis
        rows = []
        for name, label in (("duckdb_csv", "DuckDB on the CSV (peer)"),
                            ("gpkg", "GeoPackage store"), ("postgis", "PostGIS store")):
            if name not in figures:
                continue
            f = figures[name]
            f["seconds"] = round(f["seconds"], 3)
            ratio = f["seconds"] / duck_s if duck_s else None
            f["x_duckdb"] = round(ratio, 2) if ratio else None
            ok = name == "duckdb_csv" or (f["seconds"] < 1.0 and (ratio or 0) <= 2.0)
            f["target_met"] = ok
            rows.append((label, f["seconds"], ratio, f.get("load_seconds"), common.verdict(ok)))
        print()
        print(f"casualties grouped by year x admin area, {args.victims:,} victims, "
              f"{len(expected):,} groups, best of {args.repeat}")
        print(common.table(["", "seconds", "x DuckDB", "import s", "target <1 s, <=2x"], rows))
        print(note)
        print("load average (1, 5, 15 min) after each contender: " + "; ".join(
            f"{name} {figures[name]['load_average_after']}" for name in figures))
        out = common.results_path(NAME, args.json, args.victims == DEFAULT_VICTIMS, work)
        common.write_json(out, {
            "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
            "victims": args.victims, "groups": len(expected), "repeat": args.repeat,
            "query": "casualties(store, ['year', 'admin-area']) / DuckDB GROUP BY on the CSV",
            "figures": figures, "postgis_note": note,
        })
        print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
