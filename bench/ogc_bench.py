# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features benchmark (issue 23): list-by-bbox throughput of
/ogc/collections/accidents/items against pygeoapi's same endpoint, on the same PostGIS
table, in the same run, and their ratio.

    python bench/ogc_bench.py [--rows 1000000] [--clients 50] [--seconds 15]
                              [--workers 2] [--postgis auto|URL] [--pygeoapi PYTHON|auto]
                              [--as public|viewer|both] [--json FILE]
    python bench/ogc_bench.py --quick     # 20,000 accidents, 8 clients, 2 s runs

Everything but the URL is bench/api_bench.py's (issue 3): the seeded accidents of
bench/synthetic.py loaded approved through the store's bulk API and optimised; the same
random boxes (0.05 degrees around random accidents, limit 100) to both servers;
pygeoapi from its
own virtualenv (/tmp/pygeoapi-venv, or `--pygeoapi auto` builds it pinned) with its
PostgreSQL provider, under uvicorn with the same workers and options; wrk when installed,
else a Python client. Both answers count the features matched (numberMatched), as the
standard's paging wants. Target (issue 23): at least 2x pygeoapi's requests/s.

Who asks mineaction (`--as`): `public`, anonymous (approved records, generalised points
and the public's fields: answers about a third of pygeoapi's size); `viewer`, a
signed-in viewer's API token on every request (exact points, every attribute: answers
like pygeoapi's, which has no access control and serves every column to all); `both`,
one after the other against the same pygeoapi measurement. The mean answer size of
each is measured on the same sample of boxes and printed with pygeoapi's. A full-size
run writes bench/results/ogc_bench.json (public), ogc_bench_signed_in.json (viewer) or
ogc_bench_public_and_signed_in.json (both).
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
# Who asks mineaction: its results key and the figures' file name for each --as.
ASKERS = {"public": "mineaction", "viewer": "mineaction_signed_in"}
RESULT_NAMES = {"public": NAME, "viewer": f"{NAME}_signed_in",
                "both": f"{NAME}_public_and_signed_in"}
SIZE_SAMPLE = 50  # boxes whose answers are fetched once to measure their size


def viewer_token(location: str) -> str:
    """An API token of a new signed-in viewer of the store at `location`."""
    from argon2 import PasswordHasher

    from mineaction.auth.schema import ensure_server_tables
    from mineaction.auth.users import UserDirectory
    from mineaction.store import open_store

    with open_store(location) as store:
        ensure_server_tables(store)
        users = UserDirectory(store, PasswordHasher(time_cost=1, memory_cost=64))
        user = users.add(f"bench_viewer_{time.time_ns()}", "a long bench password", "viewer")
        return users.issue(user, "token", name="ogc_bench")[0]


def answer_sizes(urls: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """Mean size and features of the answers to `urls`, asked one by one (not timed)."""
    import httpx

    sizes, features, properties = [], [], set()
    with httpx.Client(timeout=60, headers=headers) as http:
        for url in urls:
            r = http.get(url)
            r.raise_for_status()
            body = r.json()
            sizes.append(len(r.content))
            features.append(len(body["features"]))
            for f in body["features"]:
                properties.update(f["properties"] or {})
    return {"answer_kib": round(sum(sizes) / len(sizes) / 1024, 1),
            "features_per_answer": round(sum(features) / len(features), 1),
            "properties": sorted(properties)}


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
    parser.add_argument("--as", dest="askers", choices=[*ASKERS, "both"], default="public",
                        help="who asks mineaction: the anonymous public, a signed-in "
                        "viewer (full attributes), or both in the same run")
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
            askers = list(ASKERS) if args.askers == "both" else [args.askers]
            headers = {"public": {}}
            if "viewer" in askers:
                headers["viewer"] = {"Authorization": f"Bearer {viewer_token(url)}"}
            runs = [(ASKERS[a], OURS, headers[a], lambda: server(
                        serving, workers=args.workers, args=["--backlog", "2048"]))
                    for a in askers]
            runs.append(("pygeoapi", THEIRS, {}, lambda: PygeoapiServer(
                python, serving, args.workers, work)))
            for name, template, asking, start in runs:
                with start() as base:
                    urls = [template.format(base=base, bbox=b) for b in boxes]
                    sizes = answer_sizes(urls[:SIZE_SAMPLE], asking)
                    started = time.perf_counter()
                    r = drive(urls, args.clients, args.seconds, args.warmup, generator,
                              1, work, asking)
                    r["wall_s"] = round(time.perf_counter() - started, 1)
                    results[name] = {**r, **sizes}
                    print(f"{name} list-by-bbox: {r}; answers {sizes['answer_kib']} KiB, "
                          f"{sizes['features_per_answer']} features", flush=True)
    theirs = results["pygeoapi"]
    ratios = {a: round(results[ASKERS[a]]["rps"] / theirs["rps"], 2) if theirs["rps"]
              else float("inf") for a in askers}
    ratio = min(ratios.values())
    ok = ratio >= TARGET_RATIO and not any(results[ASKERS[a]]["errors"] for a in askers)
    print(common.table(["server", "requests/s", "p50 ms", "p99 ms", "errors", "answer KiB",
                        "features/answer"],
                       [[n, r["rps"], r["p50_ms"], r["p99_ms"], r["errors"], r["answer_kib"],
                         r["features_per_answer"]] for n, r in results.items()]))
    for a, x in ratios.items():
        size = round(results[ASKERS[a]]["answer_kib"] / theirs["answer_kib"], 2)
        print(f"ratio as {a}: mineaction {x}x pygeoapi's requests/s, answers {size}x "
              f"pygeoapi's size")
    print(f"ratio: mineaction {ratio}x pygeoapi's requests/s (target >= {TARGET_RATIO}x): "
          f"{common.verdict(ok)}" + (" (quick run: not a measurement)" if args.quick else ""))
    out = common.results_path(RESULT_NAMES[args.askers], args.json, args.rows >= 1_000_000,
                              None)
    common.write_results(out, {"benchmark": NAME, "when": common.stamp(),
                               "machine": common.machine(), "commit": common.git_commit(),
                               "rows": args.rows, "clients": args.clients,
                               "workers": args.workers, "seconds": args.seconds,
                               "quick": args.quick, "as": args.askers, "results": results,
                               "ratios": ratios, "ratio": ratio,
                               "verdict": common.verdict(ok), "notes": notes,
                               "load_average_before": load_before,
                               "load_average_after": common.load_average()})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
