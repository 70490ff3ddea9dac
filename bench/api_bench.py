"""API benchmark: requests/s and p50/p99 latency of GeoJSON list-by-bbox and get-by-id on
1,000,000 accidents, over uvicorn on 127.0.0.1, against both stores, and against pygeoapi
serving the same accidents from the same PostGIS as the peer, in the same run.

    python bench/api_bench.py [--rows 1000000] [--clients 50] [--seconds 15]
                              [--workers 2] [--postgis auto|URL|none]
                              [--pygeoapi PYTHON|auto|none] [--workdir DIR [--reuse]]
                              [--load-generator auto|wrk|httpx] [--json FILE]
    python bench/api_bench.py --writers 8 --write-seconds 30      # + the write load test

The accidents are the seeded points of bench/synthetic.py, loaded approved through the
store's bulk API (as query_bench.py does). Clients are anonymous (the public: approved
records, generalised accident points), as pygeoapi's are. The load generator keeps
`--clients` requests in flight for `--seconds` after an untimed warm-up: wrk (Debian
package `wrk`, written in C, one thread by default) with bench/api_wrk.lua cycling through
the request list, or, when wrk is missing or with --load-generator httpx, a Python
asyncio+httpx client, which itself needs most of a core and so inflates every
contender's latency on a small machine (the output says which ran). The same random boxes
(0.05 degrees around random accidents, limit 100) and ids go to every server.
pygeoapi runs from its own virtualenv (its pins differ from ours): --pygeoapi names its
Python (default /tmp/pygeoapi-venv/bin/python when present), or `--pygeoapi auto` builds
/tmp/pygeoapi-venv with the pinned versions of PYGEOAPI_PINS when it is missing or lacks
one of them (needs the network once); it runs with its PostgreSQL provider, under
uvicorn with the same number of workers and the same uvicorn options (httptools and
uvloop when its virtualenv has them too; the output says).
Targets (issue 3): p99 < 100 ms at 50 concurrent clients; throughput >= 2x pygeoapi's.
Only loopback traffic; every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))

import _common as common  # noqa: E402
import synthetic  # noqa: E402
from loadtest import free_port, server  # noqa: E402
from query_bench import DATASET, load_store  # noqa: E402

NAME = "api_bench"
BOX_DEG = 0.05
LIMIT = 100
PYGEOAPI_VENV = Path("/tmp/pygeoapi-venv")
PYGEOAPI_DEFAULT = PYGEOAPI_VENV / "bin" / "python"
# What pygeoapi's PostgreSQL provider under uvicorn needs: `pip install pygeoapi
# psycopg2-binary` alone lacks GeoAlchemy2, SQLAlchemy and starlette. The versions that
# ran bench/results/api_bench.json (pip freeze of its virtualenv, Python 3.11).
PYGEOAPI_PINS = (
    "pygeoapi==0.21.0", "psycopg2-binary==2.9.13", "GeoAlchemy2==0.20.0", "SQLAlchemy==2.1.9",
    "starlette==1.10.0", "uvicorn==0.55.0", "httptools==0.9.0", "uvloop==0.23.0",
)
PYGEOAPI_IMPORTS = ("pygeoapi", "psycopg2", "geoalchemy2", "sqlalchemy", "starlette",
                    "uvicorn", "httptools", "uvloop")


def pygeoapi_venv_ready(python: Path) -> bool:
    """Whether `python` (a virtualenv's) imports everything the pygeoapi peer runs with."""
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import " + ", ".join(PYGEOAPI_IMPORTS)],
                           capture_output=True, check=False, timeout=120)
    return probe.returncode == 0


def ensure_pygeoapi_venv(venv: Path = PYGEOAPI_VENV, *, base_python: str = "python3",
                         log: Any = sys.stderr) -> Path:
    """The Python of virtualenv `venv` holding the pygeoapi peer: made with `base_python -m
    venv` when missing, given PYGEOAPI_PINS with its pip when it lacks one of them, then
    checked; returns venv/bin/python. The same as, by hand:

        python3 -m venv /tmp/pygeoapi-venv
        /tmp/pygeoapi-venv/bin/pip install pygeoapi==0.21.0 ... (PYGEOAPI_PINS)
    """
    python = venv / "bin" / "python"
    if pygeoapi_venv_ready(python):
        return python
    if not python.exists():
        print(f"pygeoapi peer: creating the virtualenv {venv}", file=log)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=600)
    print(f"pygeoapi peer: pip install {' '.join(PYGEOAPI_PINS)}", file=log)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--disable-pip-version-check",
                    *PYGEOAPI_PINS], check=True, timeout=1800)
    if not pygeoapi_venv_ready(python):
        raise RuntimeError(f"{python} still cannot import {', '.join(PYGEOAPI_IMPORTS)} "
                           "after pip install")
    return python


# -- load generation ------------------------------------------------------------------------
async def _drive(urls: list[str], clients: int, seconds: float, warmup_s: float,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    import httpx

    lat_ms: list[float] = []
    errors = 0
    count = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as http:
        start = time.perf_counter()
        measure_from = start + warmup_s
        stop = measure_from + seconds

        async def worker(k: int) -> None:
            nonlocal errors, count
            i = k
            while True:
                now = time.perf_counter()
                if now >= stop or count > 10_000_000:
                    return
                url = urls[i % len(urls)]
                i += clients
                t = time.perf_counter()
                try:
                    r = await http.get(url)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                done = time.perf_counter()
                if t >= measure_from:
                    count += 1
                    lat_ms.append((done - t) * 1000)
                    errors += 0 if ok else 1

        await asyncio.gather(*(worker(k) for k in range(clients)))
    ms = np.array(lat_ms) if lat_ms else np.array([np.nan])
    p50, p99 = np.percentile(ms, [50, 99])
    return {"requests": count, "rps": round(count / seconds, 1), "p50_ms": round(float(p50), 1),
            "p99_ms": round(float(p99), 1), "errors": errors}


def _drive_wrk(urls: list[str], clients: int, seconds: float, warmup_s: float,
               threads: int, work: Path, headers: dict[str, str] | None = None
               ) -> dict[str, Any]:
    base = urls[0].split("/", 3)
    origin = "/".join(base[:3])
    paths = work / "wrk-paths.txt"
    paths.write_text("".join("/" + u.split("/", 3)[3] + "\n" for u in urls))
    script = Path(__file__).with_name("api_wrk.lua")

    def run(duration: float) -> dict[str, Any]:
        # --timeout 30s: wrk's default of 2 s would drop the slowest answers from the
        # percentiles instead of counting them.
        out = subprocess.run(
            ["wrk", "-c", str(clients), "-t", str(threads), "-d", f"{max(1, round(duration))}s",
             "--timeout", "30s", *(a for k, v in (headers or {}).items()
                                   for a in ("-H", f"{k}: {v}")),
             "-s", str(script), origin, "--", str(paths)],
            capture_output=True, text=True, check=True, timeout=duration + 120)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    if warmup_s > 0:
        run(warmup_s)
    r = run(seconds)
    elapsed = r["duration_us"] / 1e6
    errors = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors",
                                "status_errors", "timeouts"))
    return {"requests": r["requests"], "rps": round(r["requests"] / elapsed, 1),
            "p50_ms": round(r["p50_us"] / 1000, 1), "p90_ms": round(r["p90_us"] / 1000, 1),
            "p99_ms": round(r["p99_us"] / 1000, 1), "max_ms": round(r["max_us"] / 1000, 1),
            "errors": errors, "kib_per_response": round(r["bytes"] / max(1, r["requests"])
                                                        / 1024, 1)}


def drive(urls: list[str], clients: int, seconds: float, warmup_s: float,
          generator: str = "httpx", threads: int = 1, work: Path | None = None,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    """`headers` go with every request (a signed-in user's Authorization, #23)."""
    if generator == "wrk":
        assert work is not None
        return _drive_wrk(urls, clients, seconds, warmup_s, threads, work, headers)
    return asyncio.run(_drive(urls, clients, seconds, warmup_s, headers))


def uvicorn_options(python: Path | str) -> list[str]:
    """httptools and uvloop when that Python has them (ours pins both), so both servers
    run on the same uvicorn machinery; a listen backlog that holds every client."""
    have = subprocess.run([str(python), "-c", "import httptools, uvloop"],
                          capture_output=True, timeout=60).returncode == 0
    return ["--backlog", "2048", *(["--http", "httptools", "--loop", "uvloop"] if have
                                  else ["--http", "h11", "--loop", "asyncio"])]


# -- pygeoapi ---------------------------------------------------------------------------------
def pygeoapi_config(path: Path, pg_url: str, port: int) -> None:
    import sqlalchemy as sa

    u = sa.engine.make_url(pg_url)
    host = u.query.get("host") or u.host  # a directory: the Unix socket's
    port = u.query.get("port") or u.port or 5432
    path.write_text(f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: {LIMIT}, max_items: 1000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: none, url: http://127.0.0.1}}
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: bench, url: http://127.0.0.1}}
  contact: {{name: bench}}
resources:
  accidents:
    type: collection
    title: accidents
    description: accidents
    keywords: [accidents]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {host}
          port: {port}
          dbname: {u.database}
          user: {u.username}
          password: {u.password or ''}
          search_path: [public]
        id_field: id
        table: accidents
        geom_field: geometry
""")


class PygeoapiServer:
    def __init__(self, python: Path, pg_url: str, workers: int, work: Path) -> None:
        self.python, self.pg_url, self.workers, self.work = python, pg_url, workers, work
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.options: list[str] = []

    def __enter__(self) -> str:
        import httpx

        port = free_port()
        config = self.work / "pygeoapi-config.yml"
        openapi = self.work / "pygeoapi-openapi.yml"
        pygeoapi_config(config, self.pg_url, port)
        env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        bindir = self.python.parent
        subprocess.run([str(bindir / "pygeoapi"), "openapi", "generate", str(config),
                        "--output-file", str(openapi)], env=env, check=True,
                       capture_output=True, timeout=300)
        self.options = uvicorn_options(self.python)
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "uvicorn", "pygeoapi.starlette_app:APP", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(self.workers),
             "--log-level", "warning", "--no-access-log", *self.options], env=env,
            stdout=subprocess.DEVNULL, stderr=open(self.work / "pygeoapi.log", "wb"))
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pygeoapi exited; see " + str(self.work / "pygeoapi.log"))
            try:
                if httpx.get(f"{self.base}/collections/accidents?f=json",
                             timeout=5).status_code == 200:
                    return self.base
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("pygeoapi did not start in 90 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def holds(gpkg: Path, rows: int) -> bool:
    """Whether a GeoPackage left by an earlier run holds exactly the benchmark's accidents."""
    import sqlite3

    if not gpkg.exists():
        return False
    with sqlite3.connect(gpkg) as conn:
        try:
            n = conn.execute("SELECT count(*) FROM accidents WHERE dataset = ? AND status = "
                             "'approved' AND deleted_at IS NULL", (DATASET,)).fetchone()[0]
            total = conn.execute("SELECT count(*) FROM accidents").fetchone()[0]
        except sqlite3.Error:
            return False
    return bool(n == rows == total)


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgis", metavar="URL|auto|none")
    parser.add_argument("--pygeoapi", help="Python of a virtualenv with pygeoapi; auto: "
                        f"build {PYGEOAPI_VENV} (pinned) when missing; or none")
    parser.add_argument("--writers", type=int, default=0, help="also run the write load "
                        "test with this many writers (0: skip)")
    parser.add_argument("--write-seconds", type=float, default=30.0)
    parser.add_argument("--workdir")
    parser.add_argument("--reuse", action="store_true", help="reuse the workdir's api.gpkg "
                        "when it holds --rows accidents, instead of loading it again")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "httpx"], default="auto",
                        help="auto: wrk when installed, else httpx")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--only", choices=["gpkg", "postgis", "pygeoapi"], action="append",
                        help="run only these targets (repeatable; default all)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    elif generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    only = set(args.only or ["gpkg", "postgis", "pygeoapi"])
    pg_choice = args.postgis or ("auto" if os.geteuid() == 0 else "none")
    py = (None if args.pygeoapi == "none" or "pygeoapi" not in only
          else ensure_pygeoapi_venv() if args.pygeoapi == "auto"
          else Path(args.pygeoapi) if args.pygeoapi
          else PYGEOAPI_DEFAULT if PYGEOAPI_DEFAULT.exists() else None)

    import mineaction
    from mineaction.domain.models import new_ids  # noqa: F401 -- fail early if not installed
    from mineaction.store import open_store

    # The servers import mineaction the same way (they inherit the environment): say
    # which copy is measured, since a shared virtualenv may hold another checkout's.
    source = Path(mineaction.__file__).resolve().parents[1]
    repo_src = Path(__file__).resolve().parents[1] / "src"
    if source != repo_src:
        print(f"WARNING: measuring mineaction from {source}, not this checkout's {repo_src} "
              f"(set PYTHONPATH={repo_src} or pip install -e .)", flush=True)

    lon, lat = synthetic.accident_points(args.rows, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    pick = rng.integers(0, args.rows, 2000)
    h = BOX_DEG / 2
    boxes = [f"{x - h:.5f},{y - h:.5f},{x + h:.5f},{y + h:.5f}"
             for x, y in zip(lon[pick], lat[pick], strict=True)]
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    if generator == "wrk":
        notes.append(f"load generator: wrk ({args.wrk_threads} thread, bench/api_wrk.lua)")
    else:
        notes.append("load generator: Python httpx+asyncio (wrk not installed: apt-get "
                     "install wrk); it shares the cores with the servers and inflates "
                     "every latency")
    # `mineaction serve` runs uvicorn with httptools and uvloop (accepting every waiting
    # connection a turn, one listening socket per worker: api/serving.py).
    ours_options = ["--backlog", "2048"]
    notes.append(f"mineaction ({source}): mineaction serve {' '.join(ours_options)}")
    load_before = common.load_average()

    def ids_of(location: str) -> list[str]:
        import sqlalchemy as sa

        with open_store(location) as s:
            with s.engine.connect() as conn:
                return [r[0] for r in conn.execute(sa.text(
                    "SELECT id FROM accidents WHERE fid IN :f").bindparams(
                    sa.bindparam("f", expanding=True)),
                    {"f": [int(i) + 1 for i in pick[:1000]]})]

    def run_target(name: str, base: str, bbox_url: str, id_url: str, ids: list[str],
                   work: Path) -> None:
        for op, urls in (("bbox", [bbox_url.format(base=base, bbox=b) for b in boxes]),
                         ("id", [id_url.format(base=base, id=i) for i in ids])):
            counters, speed = common.cpu_times(), common.machine_speed_ms()
            r = drive(urls, args.clients, args.seconds, args.warmup, generator,
                      args.wrk_threads, work)
            r["load_average_after"] = common.load_average()
            r["steal_percent"] = common.steal_percent(counters, common.cpu_times())
            r["machine_speed_ms"] = speed
            results[f"{name} {op}"] = r
            print(f"{name} {'list-by-bbox' if op == 'bbox' else 'get-by-id'}: {r}",
                  flush=True)

    ours_bbox = "{base}/api/v1/accidents?f=geojson&limit=" + str(LIMIT) + "&bbox={bbox}"
    ours_id = "{base}/api/v1/accidents/{id}?f=geojson"
    with common.workdir(args.workdir, NAME) as work:
        gpkg = work / "api.gpkg"
        if "gpkg" in only and not (args.reuse and holds(gpkg, args.rows)):
            common.remove_sqlite(gpkg)
            with open_store(gpkg) as s:
                t = load_store(s, lon, lat)
            print(f"embedded store: {args.rows:,} accidents loaded in {t:.0f} s", flush=True)
        if "gpkg" in only:
            notes.append("GeoPackage: " + common.settle())
            with server(str(gpkg), workers=args.workers, args=ours_options) as base:
                run_target("mineaction gpkg", base, ours_bbox, ours_id, ids_of(str(gpkg)),
                           work)
        with (common.PostGIS(None if pg_choice == "auto" else pg_choice,
                             Path(tempfile.mkdtemp(prefix="api-bench-pg-")))
              if only & {"postgis", "pygeoapi"} or args.writers else nullcontext()) as pg:
            if pg is not None:
                notes.append(pg.note)
            if pg is not None and pg.url and pg_choice != "none" and only & {"postgis",
                                                                             "pygeoapi"}:
                with pg.fresh_database("api_bench") as url:
                    with open_store(url) as s:
                        t = load_store(s, lon, lat)
                        # What docs/server.md asks of an administrator after a big
                        # import: rows in spatial order, fresh planner statistics.
                        started = time.perf_counter()
                        s.optimise()
                        optimised = time.perf_counter() - started
                    print(f"PostGIS: loaded in {t:.0f} s, `mineaction optimise` took "
                          f"{optimised:.0f} s", flush=True)
                    notes.append(f"PostGIS: `mineaction optimise` after the load "
                                 f"({optimised:.0f} s); pygeoapi reads the same table")
                    notes.append("PostGIS: " + common.settle(url))
                    print(notes[-1], flush=True)
                    ids = ids_of(url)
                    # Both servers connect as they would on the database's machine.
                    serving = pg.socket_url or url
                    if pg.socket_url:
                        notes.append("PostGIS: both servers connect by its Unix socket")
                    if "postgis" in only:
                        with server(serving, workers=args.workers, args=ours_options) as base:
                            run_target("mineaction postgis", base, ours_bbox, ours_id, ids,
                                       work)
                    if py is not None and "pygeoapi" in only:
                        pyg = PygeoapiServer(py, serving, args.workers, work)
                        with pyg as base:
                            notes.append(f"pygeoapi: uvicorn {' '.join(pyg.options)}")
                            run_target("pygeoapi postgis", base,
                                       "{base}/collections/accidents/items?f=json&limit="
                                       + str(LIMIT) + "&bbox={bbox}",
                                       "{base}/collections/accidents/items/{id}?f=json", ids,
                                       work)
                    elif "pygeoapi" in only:
                        notes.append("pygeoapi skipped: no --pygeoapi virtualenv")
                    if args.writers:
                        notes.append(write_load(url, args.writers, args.write_seconds))
                        print(notes[-1], flush=True)
        if args.writers:
            gp2 = work / "writes.gpkg"
            notes.append(write_load(str(gp2), args.writers, args.write_seconds))
            print(notes[-1], flush=True)
    print_report(args, results, notes, load_before)
    out = common.results_path(NAME, args.json, args.rows >= 1_000_000,
                              Path(args.workdir) if args.workdir else None)
    common.write_results(out, {"when": common.stamp(), "machine": common.machine(),
                               "commit": common.git_commit(), "rows": args.rows,
                               "clients": args.clients, "workers": args.workers,
                               "seconds": args.seconds, "results": results, "notes": notes,
                               "load_average_before": load_before,
                               "load_average_after": common.load_average()})
    return 0


def write_load(location: str, writers: int, seconds: float) -> str:
    """The write load test of tests/api/test_api_load.py at bench length."""
    from argon2 import PasswordHasher
    from loadtest import run_writers

    from mineaction.audit.log import attach, verify
    from mineaction.auth.schema import ensure_server_tables
    from mineaction.auth.users import UserDirectory
    from mineaction.domain.models import Accident
    from mineaction.store import Query, open_store

    with open_store(location) as store:
        ensure_server_tables(store)
        attach(store)
        users = UserDirectory(store, PasswordHasher(time_cost=1, memory_cost=64))
        tokens = [users.issue(users.add(f"bw{i}_{time.time_ns()}", "a long password",
                                        "editor"), "token")[0] for i in range(writers)]
        hot = store.add(Accident(narrative="hot"), by="bench")
        before = verify(store, check_records=False).entries
    with server(location, workers=2 if location.startswith("postgres") else 1) as base:
        out = run_writers(base, tokens, str(hot.id), seconds)
    with open_store(location) as store:
        report = verify(store)
        writers_names = [u.username for u in UserDirectory(store).list()
                         if u.username.startswith("bw")]
        mine = {str(r.id) for r in store.query(Query(
            kind="accident", where={"created_by": writers_names}, limit=None)).items}
        hot_now = store.get("accident", hot.id)
    lost = len(set(out.created) - mine)
    dup = len(mine - set(out.created))
    ok = (report.ok and lost == 0 and dup == 0 and hot_now.version == 1 + out.patched
          and report.entries == before + len(out.created) + out.patched)
    dialect = "postgis" if location.startswith("postgres") else "gpkg"
    return (f"write load {dialect}: {writers} writers x {seconds:.0f} s: {out.requests} "
            f"requests, {len(out.created)} created, {out.patched} edits won, {out.stale} "
            f"got 412, {len(out.errors)} errors, lost {lost}, duplicated {dup}, audit chain "
            f"{'verified' if report.ok else 'BROKEN'} ({report.entries} entries): "
            f"{'PASS' if ok else 'FAIL'}")


def print_report(args: Any, results: dict[str, dict[str, Any]], notes: list[str],
                 load: Any) -> None:
    print(f"\n{args.rows:,} accidents, {args.clients} concurrent clients, {args.workers} "
          f"workers, {args.seconds:.0f} s per run (load average before: {load})")
    rows = [[k, v["rps"], v["p50_ms"], v["p99_ms"], v["requests"], v["errors"],
             (v.get("load_average_after") or ["-"])[0],
             "-" if v.get("steal_percent") is None else v["steal_percent"],
             v.get("machine_speed_ms", "-")]
            for k, v in results.items()]
    print(common.table(["target", "req/s", "p50 ms", "p99 ms", "requests", "errors",
                        "load 1 min after", "steal %", "speed ms"], rows))
    print("  speed ms: one core's time for a fixed piece of Python work just before the "
          "run (bench/_common.machine_speed_ms); lower is faster")
    peer = {k.split()[-1]: v["rps"] for k, v in results.items() if k.startswith("pygeoapi")}
    for k, v in results.items():
        if k.startswith("mineaction"):
            op = k.split()[-1]
            ratio = f", {v['rps'] / peer[op]:.2f}x pygeoapi" if peer.get(op) else ""
            print(f"  {k}: p99 {v['p99_ms']} ms {'<' if v['p99_ms'] < 100 else '>='} 100 ms"
                  f"{ratio}")
    for n in notes:
        print("  " + n)


if __name__ == "__main__":
    raise SystemExit(main())
