# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features benchmark (issue 23): list-by-bbox throughput of
/ogc/collections/accidents/items against pygeoapi's same endpoint, on the same PostGIS
table, in the same run, and their ratio.

    python bench/ogc_bench.py [--rows 1000000] [--clients 50] [--seconds 15]
                              [--workers 2] [--postgis auto|URL] [--pygeoapi PYTHON|auto]
                              [--json FILE]
    python bench/ogc_bench.py --quick     # 20,000 accidents, 8 clients, 2 s runs

Everything but the URL is bench/api_bench.py's (issue 3): the seeded accidents of
bench/synthetic.py loaded approved through the store's bulk API and optimised; the same
random boxes (0.05 degrees around random accidents, limit 100) to both servers,
anonymous (the public's view: approved records, generalised points); pygeoapi from its
own virtualenv (/tmp/pygeoapi-venv, or `--pygeoapi auto` builds it pinned) with its
PostgreSQL provider, under uvicorn with the same workers and options; wrk when installed,
else a Python client. Both answers count the features matched (numberMatched), as the
standard's paging wants. Target (issue 23): at least 2x pygeoapi's requests/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))

import _common as common  # noqa: E402
import synthetic  # noqa: E402
from api_bench import (  # noqa: E402
    BOX_DEG,
    LIMIT,
    PYGEOAPI_DEFAULT,
    PygeoapiServer,
    drive,
    ensure_pygeoapi_venv,
)
from loadtest import server  # noqa: E402
from query_bench import load_store  # noqa: E402

NAME = "ogc_bench"
TARGET_RATIO = 2.0
OURS = "{base}/ogc/collections/accidents/items?f=json&limit=" + str(LIMIT) + "&bbox={bbox}"
THEIRS = "{base}/collections/accidents/items?f=json&limit=" + str(LIMIT) + "&bbox={bbox}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgis", metavar="URL|auto", default="auto")
    parser.add_argument("--pygeoapi", help="Python of a virtualenv with pygeoapi; auto: "
                        "build it (pinned) when missing")
    parser.add_argument("--quick", action="store_true", help="20,000 accidents, 8 clients, "
                        "1 worker, 2 s runs: a smoke run, not a measurement")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.clients, args.seconds, args.warmup, args.workers = 20_000, 8, 2.0, 0.5, 1
    generator = "wrk" if shutil.which("wrk") else "httpx"
    python = (ensure_pygeoapi_venv() if args.pygeoapi == "auto"
              else Path(args.pygeoapi) if args.pygeoapi else PYGEOAPI_DEFAULT)
    if not python.exists():
        parser.error(f"no pygeoapi virtualenv at {python}: pass --pygeoapi auto to build it")

    from mineaction.store import open_store

    lon, lat = synthetic.accident_points(args.rows, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    h = BOX_DEG / 2
    boxes = [f"{x - h:.5f},{y - h:.5f},{x + h:.5f},{y + h:.5f}"
             for x, y in zip(*(a[rng.integers(0, args.rows, 2000)] for a in (lon, lat)),
                             strict=True)]
    results: dict[str, dict[str, Any]] = {}
    notes = [f"load generator: {generator}"]
    load_before = common.load_average()
    with common.workdir(None, NAME) as work, \
            common.PostGIS(None if args.postgis == "auto" else args.postgis,
                           Path(tempfile.mkdtemp(prefix="ogc-bench-pg-"))) as pg:
        notes.append(pg.note)
        if not pg.url:
            print(f"no PostGIS: {pg.note}", file=sys.stderr)
            return 2
        with pg.fresh_database("ogc_bench") as url:
            with open_store(url) as s:
                t = load_store(s, lon, lat)
                s.optimise()
            print(f"PostGIS: {args.rows:,} accidents loaded in {t:.0f} s", flush=True)
            notes.append("PostGIS: " + common.settle(url))
            serving = pg.socket_url or url
            for name, template, start in (
                    ("mineaction", OURS, lambda: server(serving, workers=args.workers,
                                                        args=["--backlog", "2048"])),
                    ("pygeoapi", THEIRS, lambda: PygeoapiServer(python, serving,
                                                                args.workers, work))):
                with start() as base:
                    urls = [template.format(base=base, bbox=b) for b in boxes]
                    started = time.perf_counter()
                    r = drive(urls, args.clients, args.seconds, args.warmup, generator,
                              1, work)
                    r["wall_s"] = round(time.perf_counter() - started, 1)
                    results[name] = r
                    print(f"{name} list-by-bbox: {r}", flush=True)
    ours, theirs = results["mineaction"]["rps"], results["pygeoapi"]["rps"]
    ratio = round(ours / theirs, 2) if theirs else float("inf")
    ok = ratio >= TARGET_RATIO and not results["mineaction"]["errors"]
    print(common.table(["server", "requests/s", "p50 ms", "p99 ms", "errors"],
                       [[n, r["rps"], r["p50_ms"], r["p99_ms"], r["errors"]]
                        for n, r in results.items()]))
    print(f"ratio: mineaction {ratio}x pygeoapi's requests/s (target >= {TARGET_RATIO}x): "
          f"{common.verdict(ok)}" + (" (quick run: not a measurement)" if args.quick else ""))
    out = common.results_path(NAME, args.json, args.rows >= 1_000_000, None)
    common.write_results(out, {"benchmark": NAME, "when": common.stamp(),
                               "machine": common.machine(), "commit": common.git_commit(),
                               "rows": args.rows, "clients": args.clients,
                               "workers": args.workers, "seconds": args.seconds,
                               "quick": args.quick, "results": results, "ratio": ratio,
                               "verdict": common.verdict(ok), "notes": notes,
                               "load_average_before": load_before,
                               "load_average_after": common.load_average()})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
