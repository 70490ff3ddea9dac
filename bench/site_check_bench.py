"""Site check benchmark (issue 20): `GET /api/v1/site-check` for points and `POST` for
small plots over 1,000,000 hazard polygons, served by `mineaction serve` and loaded with
wrk at 50 connections, on both stores, beside the bare PostGIS query run through psycopg
with 50 threads on the same sites in the same run (the floor); and the batch mode,
100,000 sites through `SiteChecks.batch`.

    python bench/site_check_bench.py [--hazards 1000000] [--batch-sites 100000]
                                     [--postgis auto|URL|none] [--workdir DIR [--reuse]]
    python bench/site_check_bench.py --quick        # 10,000 hazards, 1,000 sites, 2 s runs

The data are a seeded synthetic country (`country()`): hazards clustered around
Colombia's 1,122 municipal seats (bench/synthetic.py's accident points), polygons of
8 vertices 100 m - 2 km across (log-uniform), a fifth of them SHA; in proportion to
them released parts (30%, inside their hazard, half an activity each, 12 organisations),
accidents (20%) and finds (30%) within a few km of a hazard, and minefield records (2%);
5% of hazards and accidents still drafts. Loaded through the store's bulk API
(`transaction`, `bulk_insert`), as query_bench.py and api_bench.py load theirs.

Targets (issue 20): API p99 < 100 ms at 50 clients (both stores); 100,000 sites checked
in under 5 minutes. API clients are anonymous (the public's view) and, with `--as
viewer`, a signed-in viewer sending an API token (an engineer's script): the public's
check reads every accident its generalised places could bring within reach, about 10 km
around the site, a viewer's only those within 2 km. The batch reads as the
administrator, as `mineaction site-check --batch` does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))

import _common as common  # noqa: E402
import synthetic  # noqa: E402
from loadtest import server  # noqa: E402

NAME = "site_check_bench"
DATASET = "bench-sites"
CHUNK = 50_000
ORGANISATIONS = 12
TARGET_P99_MS = 100.0
TARGET_BATCH_S = 300.0
FULL_HAZARDS = 1_000_000
FULL_BATCH = 100_000


# -- the synthetic country ------------------------------------------------------------------
def _polygons(cx: np.ndarray, cy: np.ndarray, across_m: np.ndarray,
              rng: np.random.Generator) -> Any:
    """Irregular 8-vertex polygons `across_m` wide around (cx, cy) in lon/lat."""
    import shapely

    n = len(cx)
    k = 8
    angle = (np.linspace(0, 2 * np.pi, k, endpoint=False)[None, :]
             + rng.uniform(0, np.pi, n)[:, None])
    radius = (across_m / 2)[:, None] * rng.uniform(0.65, 1.0, (n, k))
    aspect = rng.uniform(0.4, 1.0, n)[:, None]
    dx = radius * np.cos(angle)
    dy = radius * np.sin(angle) * aspect
    m_per_deg_lat = 110_574.0
    m_per_deg_lon = 111_320.0 * np.cos(np.radians(cy))[:, None]
    xs = cx[:, None] + dx / m_per_deg_lon
    ys = cy[:, None] + dy / m_per_deg_lat
    ring = np.stack([np.concatenate([xs, xs[:, :1]], axis=1),
                     np.concatenate([ys, ys[:, :1]], axis=1)], axis=2)
    return shapely.polygons(ring)


def _multi(geoms: Any) -> Any:
    """Areas as MultiPolygons (released parts and minefield records are stored so)."""
    import shapely
    from shapely.geometry import MultiPolygon

    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3  # polygons; an intersection may add slivers
    out = np.empty(len(geoms), dtype=object)
    groups: dict[int, list[Any]] = {}
    for part, i in zip(parts[keep], index[keep], strict=True):
        groups.setdefault(int(i), []).append(part)
    for i in range(len(geoms)):
        out[i] = MultiPolygon(groups.get(i, []))
    return out


def _iso_days(rng: np.random.Generator, n: int, first: int, last: int) -> list[str]:
    start = np.datetime64(f"{first}-01-01")
    days = rng.integers(0, (np.datetime64(f"{last}-12-31") - start).astype(int), n)
    return [str(d) for d in (start + days.astype("timedelta64[D]"))]


def country(n_hazards: int, seed: int = 20) -> dict[str, Any]:
    """The seeded synthetic country: arrays per kind (see the module's docstring)."""
    import shapely

    rng = np.random.default_rng(seed)
    hx, hy = synthetic.accident_points(n_hazards, seed)
    across = np.exp(rng.uniform(np.log(100.0), np.log(2000.0), n_hazards))
    hazards = _polygons(hx, hy, across, rng)
    n_rel = int(0.3 * n_hazards)
    rel_of = rng.choice(n_hazards, n_rel, replace=False)
    # a released part: a smaller polygon inside its hazard, off its centre
    shrink = rng.uniform(0.2, 0.45, n_rel)
    off = (across[rel_of] * (0.5 - shrink) / 2)
    theta = rng.uniform(0, 2 * np.pi, n_rel)
    rx = hx[rel_of] + off * np.cos(theta) / (111_320.0 * np.cos(np.radians(hy[rel_of])))
    ry = hy[rel_of] + off * np.sin(theta) / 110_574.0
    released = _multi(shapely.intersection(
        _polygons(rx, ry, across[rel_of] * shrink * 2, rng), hazards[rel_of]))
    n_acc, n_find, n_mf = int(0.2 * n_hazards), int(0.3 * n_hazards), int(0.02 * n_hazards)

    def around(n: int, spread_m: float) -> tuple[np.ndarray, np.ndarray]:
        of = rng.integers(0, n_hazards, n)
        d = rng.exponential(spread_m, n)
        t = rng.uniform(0, 2 * np.pi, n)
        return (hx[of] + d * np.cos(t) / (111_320.0 * np.cos(np.radians(hy[of]))),
                hy[of] + d * np.sin(t) / 110_574.0)

    ax, ay = around(n_acc, 1500.0)
    fx, fy = around(n_find, 600.0)
    mf_of = rng.choice(n_hazards, n_mf, replace=False)
    return {
        "hazards": hazards, "hx": hx, "hy": hy,
        "hazard_kind": np.where(rng.random(n_hazards) < 0.2, "SHA", "CHA"),
        "hazard_status": rng.choice(["open", "worked_on", "closed"], n_hazards,
                                    p=[0.7, 0.2, 0.1]),
        "hazard_draft": rng.random(n_hazards) < 0.05,
        "hazard_date": _iso_days(rng, n_hazards, 1995, 2024),
        "released": released, "released_of": rel_of,
        "method": rng.choice(["cancelled", "reduced", "cleared"], n_rel, p=[0.3, 0.3, 0.4]),
        "release_date": _iso_days(rng, n_rel, 2005, 2024),
        "accidents": (ax, ay), "accident_date": _iso_days(rng, n_acc, 1990, 2024),
        "accident_draft": rng.random(n_acc) < 0.05,
        "finds": (fx, fy), "find_date": _iso_days(rng, n_find, 2000, 2024),
        "minefields": _multi(hazards[mf_of]), "minefield_of": mf_of,
        "minefield_date": _iso_days(rng, n_mf, 1985, 1999),
    }


def sites(data: dict[str, Any], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n site points within a few km of random hazards (so most checks find something)."""
    rng = np.random.default_rng(seed)
    hx, hy = data["hx"], data["hy"]
    of = rng.integers(0, len(hx), n)
    d = rng.exponential(1000.0, n)
    t = rng.uniform(0, 2 * np.pi, n)
    return (hx[of] + d * np.cos(t) / (111_320.0 * np.cos(np.radians(hy[of]))),
            hy[of] + d * np.sin(t) / 110_574.0)


def plot(lon: float, lat: float, side_m: float = 200.0) -> dict[str, Any]:
    """A square plot `side_m` across centred on (lon, lat), as GeoJSON."""
    dx = side_m / 2 / (111_320.0 * np.cos(np.radians(lat)))
    dy = side_m / 2 / 110_574.0
    ring = [[round(lon - dx, 6), round(lat - dy, 6)], [round(lon + dx, 6), round(lat - dy, 6)],
            [round(lon + dx, 6), round(lat + dy, 6)], [round(lon - dx, 6), round(lat + dy, 6)],
            [round(lon - dx, 6), round(lat - dy, 6)]]
    return {"type": "Polygon", "coordinates": [ring]}


def load(store: Any, data: dict[str, Any]) -> dict[str, int]:
    """The country into `store` through the bulk API; the rows written per kind."""
    import shapely

    from mineaction.domain.models import new_ids

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    constants = {"dataset": DATASET, "version": 1, "created_at": stamp, "updated_at": stamp}
    postgis = store.engine.dialect.name == "postgresql"

    def encode(geoms: Any) -> list[Any]:
        if postgis:  # what ewkb_hex makes, for all at once
            return list(shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True,
                                       include_srid=True))
        return [store.encode_geometry(g) for g in geoms]

    def put(conn: Any, kind: str, names: list[str], columns: list[Any], geoms: Any = None,
            points: Any = None) -> int:
        n = len(columns[0])
        for start in range(0, n, CHUNK):
            end = min(start + CHUNK, n)
            cols = [c[start:end] for c in columns]
            if geoms is not None:
                cols.append(encode(geoms[start:end]))
            if points is not None:
                cols.append(store.encode_points(points[0][start:end], points[1][start:end]))
            store.bulk_insert(conn, kind, [*names, *(["geometry"] if geoms is not None or
                                                     points is not None else [])],
                              list(zip(*cols, strict=True)), constants)
        return n

    def status(draft: np.ndarray) -> list[str]:
        return list(np.where(draft, "draft", "approved"))

    n_h = len(data["hazards"])
    hazard_ids = np.array(new_ids(n_h), dtype=object)
    org_ids = new_ids(ORGANISATIONS)
    n_rel = len(data["released"])
    n_act = (n_rel + 1) // 2
    act_ids = np.array(new_ids(n_act), dtype=object)
    rng = np.random.default_rng(5)
    counts: dict[str, int] = {}
    with store.transaction() as conn:
        counts["organisation"] = put(conn, "organisation", ["id", "external_id", "status", "name"],
                                     [org_ids, [f"o{i}" for i in range(ORGANISATIONS)],
                                      ["approved"] * ORGANISATIONS,
                                      [f"Operator {i}" for i in range(ORGANISATIONS)]])
        counts["hazard"] = put(conn, "hazard", ["id", "external_id", "status", "name",
                                                "hazard_kind", "hazard_status",
                                                "date_reported"],
                               [hazard_ids, [f"h{i}" for i in range(n_h)],
                                status(data["hazard_draft"]),
                                [f"H-{i}" for i in range(n_h)], list(data["hazard_kind"]),
                                list(data["hazard_status"]), data["hazard_date"]],
                               geoms=data["hazards"])
        act_hazard = data["released_of"][::2]
        methods = data["method"]
        kinds = {"cancelled": "non_technical_survey", "reduced": "technical_survey",
                 "cleared": "clearance"}
        counts["activity"] = put(conn, "activity", ["id", "external_id", "status", "name",
                                                    "activity_kind", "activity_status",
                                                    "hazard_id", "organisation_id"],
                                 [act_ids, [f"a{i}" for i in range(n_act)],
                                  ["approved"] * n_act, [f"A-{i}" for i in range(n_act)],
                                  [kinds[m] for m in methods[::2]], ["completed"] * n_act,
                                  list(hazard_ids[act_hazard]),
                                  [org_ids[i] for i in rng.integers(0, ORGANISATIONS, n_act)]])
        counts["released_part"] = put(
            conn, "released_part", ["id", "external_id", "status", "activity_id", "method",
                                    "release_date"],
            [new_ids(n_rel), [f"r{i}" for i in range(n_rel)], ["approved"] * n_rel,
             list(act_ids[np.arange(n_rel) // 2]), list(methods), data["release_date"]],
            geoms=data["released"])
        ax, ay = data["accidents"]
        counts["accident"] = put(conn, "accident", ["id", "external_id", "status",
                                                    "accident_date", "accident_kind"],
                                 [new_ids(len(ax)), [f"c{i}" for i in range(len(ax))],
                                  status(data["accident_draft"]), data["accident_date"],
                                  ["mine"] * len(ax)], points=(ax, ay))
        fx, fy = data["finds"]
        counts["find"] = put(conn, "find", ["id", "external_id", "status", "find_date",
                                            "device_category", "quantity"],
                             [new_ids(len(fx)), [f"f{i}" for i in range(len(fx))],
                              ["approved"] * len(fx), data["find_date"],
                              ["ap_mine"] * len(fx), [1] * len(fx)], points=(fx, fy))
        n_mf = len(data["minefields"])
        counts["minefield_record"] = put(
            conn, "minefield_record", ["id", "external_id", "status", "name", "date_recorded",
                                       "hazard_id"],
            [new_ids(n_mf), [f"m{i}" for i in range(n_mf)], ["approved"] * n_mf,
             [f"MF-{i}" for i in range(n_mf)], data["minefield_date"],
             list(hazard_ids[data["minefield_of"]])], geoms=data["minefields"])
        store.refresh_spatial_metadata(conn, list(counts))
    return counts


def holds(location: str, n_hazards: int) -> bool:
    """Whether the store at `location` already holds this benchmark's country."""
    import sqlalchemy as sa

    from mineaction.store import open_store

    if not location.startswith("postgres") and not Path(location).exists():
        return False
    try:
        with open_store(location) as s, s.engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM hazards WHERE dataset = :d"),
                             {"d": DATASET}).scalar()
            total = conn.execute(sa.text("SELECT count(*) FROM hazards")).scalar()
    except sa.exc.SQLAlchemyError:
        return False
    return bool(n == total == n_hazards)  # 0: an empty store


# -- load generation ------------------------------------------------------------------------
def viewer_token(store: str) -> str:
    """An API token of a viewer of `store` (made with the command line, as an engineer's
    script would be given one); the viewer is added if the store has none yet."""
    name = "bench-viewer"
    cli = [sys.executable, "-m", "mineaction"]
    env = {**os.environ, "MINEACTION_PASSWORD": "bench viewer password 20"}
    listed = subprocess.run([*cli, "user", "list", "--store", store], capture_output=True,
                            text=True, check=True, env=env).stdout
    if name not in listed.split():
        subprocess.run([*cli, "user", "add", name, "--role", "viewer", "--store", store],
                       capture_output=True, text=True, check=True, env=env)
    made = subprocess.run([*cli, "token", "create", name, "--name", "site_check_bench",
                           "--days", "1", "--store", store],
                          capture_output=True, text=True, check=True, env=env)
    return made.stdout.strip().splitlines()[-1]


def wrk(base: str, requests: list[tuple[str, str, str]], clients: int, seconds: float,
        warmup: float, work: Path, token: str | None = None) -> dict[str, Any]:
    """wrk with bench/site_check_wrk.lua over (method, path, body) requests in turn; with
    `token`, each request signed in with it (the script reads SITE_BENCH_TOKEN)."""
    paths = work / "wrk-requests.txt"
    paths.write_text("".join(f"{m}\t{p}\t{b}\n" for m, p, b in requests))
    script = Path(__file__).with_name("site_check_wrk.lua")

    def run(duration: float) -> dict[str, Any]:
        out = subprocess.run(
            ["wrk", "-c", str(clients), "-t", "1", "-d", f"{max(1, round(duration))}s",
             "--timeout", "30s", "-s", str(script), base, "--", str(paths)],
            capture_output=True, text=True, check=True, timeout=duration + 120,
            env={**os.environ, "SITE_BENCH_TOKEN": token or ""})
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    if warmup > 0:
        run(warmup)
    counters, speed = common.cpu_times(), common.machine_speed_ms()
    servers = _server_cpu()
    r = run(seconds)
    server_cpu = _server_cpu() - servers
    elapsed = r["duration_us"] / 1e6
    errors = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors",
                                "status_errors", "timeouts"))
    return {"requests": r["requests"], "rps": round(r["requests"] / elapsed, 1),
            "p50_ms": round(r["p50_us"] / 1000, 1), "p90_ms": round(r["p90_us"] / 1000, 1),
            "p99_ms": round(r["p99_us"] / 1000, 1), "max_ms": round(r["max_us"] / 1000, 1),
            "errors": errors,
            "kib_per_response": round(r["bytes"] / max(1, r["requests"]) / 1024, 1),
            # the servers' own CPU time a request: what the answer costs, whatever else
            # runs on the machine (wall times move with the load, this hardly does)
            "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, r["requests"]), 2),
            "load_average_after": common.load_average(),
            "steal_percent": common.steal_percent(counters, common.cpu_times()),
            "machine_speed_ms": speed}


def _connection_kind(url: str) -> str:
    """'a Unix socket (DIR)' or 'TCP (HOST:PORT)': how a PostgreSQL URL connects."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    host = parsed.query.get("host") or parsed.host or ""
    if isinstance(host, tuple):
        host = host[0]
    if not host or str(host).startswith("/"):
        return f"a Unix socket ({host or 'the default directory'})"
    return f"TCP ({host}:{parsed.port or 5432})"


def _server_cpu() -> float:
    """CPU seconds (user + system) of this process's children so far: the server and its
    workers (wrk is not running between runs)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


FLOOR_SQL = (
    "SELECT id, ST_Distance(geography(geometry), geography(s.g)) "
    "FROM hazards, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) s "
    "WHERE status = 'approved' AND geometry && ST_Expand(s.g, %(deg)s) "
    "AND ST_DWithin(geography(geometry), geography(s.g), %(m)s)")


def floor(url: str, points: list[tuple[float, float]], clients: int, seconds: float,
          warmup: float, buffer_m: float = 500.0) -> dict[str, Any]:
    """The bare PostGIS query (hazards within the buffer of a point, with their geodesic
    distance) through psycopg, `clients` threads each on its own connection, each query
    prepared once per connection; for `seconds` after an untimed `warmup`."""
    import psycopg

    from mineaction.store.postgis import engine_url

    dsn = engine_url(url).replace("postgresql+psycopg://", "postgresql://")
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    rows = [0] * clients
    stop_at = [0.0, 0.0]

    def worker(k: int) -> None:
        cur = conns[k].cursor()
        i = k * 7919 % len(points)
        while True:
            now = time.perf_counter()
            if now >= stop_at[1]:
                return
            lon, lat = points[i]
            i = (i + 1) % len(points)
            # a box sure to hold the buffer (as the stores' near-queries widen theirs)
            deg = buffer_m / (111_320.0 * max(0.2, float(np.cos(np.radians(abs(lat) + 1)))))
            cur.execute(FLOOR_SQL, {"lon": lon, "lat": lat, "deg": deg, "m": buffer_m},
                        prepare=True)
            got = cur.fetchall()
            done = time.perf_counter()
            if now >= stop_at[0]:
                latencies[k].append((done - now) * 1000)
                rows[k] += len(got)

    counters, speed = common.cpu_times(), common.machine_speed_ms()
    start = time.perf_counter()
    stop_at[:] = [start + warmup, start + warmup + seconds]
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    ms = np.concatenate([np.array(x) for x in latencies]) if any(latencies) else np.array([np.nan])
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"requests": len(ms), "rps": round(len(ms) / seconds, 1),
            "p50_ms": round(float(p50), 2), "p90_ms": round(float(p90), 2),
            "p99_ms": round(float(p99), 2), "max_ms": round(float(ms.max()), 1),
            "hazards_per_query": round(sum(rows) / max(1, len(ms)), 2),
            "load_average_after": common.load_average(),
            "steal_percent": common.steal_percent(counters, common.cpu_times()),
            "machine_speed_ms": speed}


# -- batch ----------------------------------------------------------------------------------
def batch(location: str, points: list[tuple[float, float]], processes: int
          ) -> dict[str, Any]:
    """`SiteChecks.batch(..., processes=N)` over the points as the administrator (as
    `mineaction site-check --batch` reads), in a fresh process of this script
    (`--child-batch`): wall time, sites per second, CPU time of it and its workers, and
    what the checks found."""
    with tempfile.TemporaryDirectory(prefix="site-batch-") as tmp:
        f = Path(tmp) / "points.json"
        f.write_text(json.dumps(points))
        load_before = common.load_average()
        cpu = os.times()
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--child-batch", str(f),
                               "--child-store", location, "--processes", str(processes)],
                              capture_output=True, text=True, timeout=7200)
        wall = time.perf_counter() - started
        cpu_after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"batch child failed: {proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu_s = ((cpu_after.children_user + cpu_after.children_system)
             - (cpu.children_user + cpu.children_system))
    return {"sites": len(points), "processes": processes, "seconds": round(wall, 1),
            "checks_seconds": round(figures.pop("seconds"), 1),
            "sites_per_s": round(len(points) / wall, 1),
            "cpu_seconds": round(cpu_s, 1),
            "cpu_ms_per_site": round(1000 * cpu_s / max(1, len(points)), 2),
            **figures,
            "load_average_before": load_before, "load_average_after": common.load_average()}


def child_batch(points_file: str, location: str, processes: int) -> None:
    from shapely.geometry import Point

    from mineaction.access.roles import Policy, Principal, Role
    from mineaction.services.errors import Invalid
    from mineaction.services.site_check import SiteChecks
    from mineaction.store import open_store

    points = json.loads(Path(points_file).read_text())
    admin = Principal(username="admin", role=Role.admin)
    found = dict.fromkeys(("checked", "errors", "sites_on_a_hazard",
                           "sites_with_hazards_within_buffer", "sites_with_accidents_nearby",
                           "sites_in_released_land"), 0)
    with open_store(location) as store:
        started = time.perf_counter()
        checks = SiteChecks(store, Policy())
        for _, r in checks.batch(admin, ((f"s{i}", Point(x, y))
                                         for i, (x, y) in enumerate(points)),
                                 processes=processes):
            found["checked"] += 1
            if isinstance(r, Invalid):
                found["errors"] += 1
                continue
            found["sites_on_a_hazard"] += any(h.distance_m == 0 for h in r.hazards)
            found["sites_with_hazards_within_buffer"] += bool(r.hazards)
            found["sites_with_accidents_nearby"] += bool(r.accidents and r.accidents.count)
            found["sites_in_released_land"] += bool(r.released)
        seconds = time.perf_counter() - started
    print(json.dumps({**found, "seconds": seconds}))


# -- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=FULL_HAZARDS)
    parser.add_argument("--batch-sites", type=int, default=FULL_BATCH)
    parser.add_argument("--api-sites", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2, help="batch processes")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--postgis", metavar="URL|auto|none")
    parser.add_argument("--only", choices=["gpkg", "postgis"], action="append")
    parser.add_argument("--skip", choices=["api", "floor", "batch"], action="append",
                        default=[])
    parser.add_argument("--quick", action="store_true",
                        help="10,000 hazards, 1,000 batch sites, 2 s of wrk (smoke test)")
    parser.add_argument("--workdir")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the workdir's store when it holds the same country; with "
                             "--postgis URL, measure in the URL's database when it holds the "
                             "country or no hazard yet (loaded then), and keep it")
    parser.add_argument("--json")
    parser.add_argument("--as", dest="who", choices=["public", "viewer"], action="append",
                        help="who the API clients are (repeat for both; default: public)")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the results' notes (what code ran, what else did)")
    parser.add_argument("--child-batch", help=argparse.SUPPRESS)
    parser.add_argument("--child-store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_batch:
        child_batch(args.child_batch, args.child_store, args.processes)
        return 0
    if args.quick:
        args.hazards = min(args.hazards, 10_000)
        args.batch_sites = min(args.batch_sites, 1_000)
        args.api_sites = min(args.api_sites, 200)
        args.seconds, args.warmup = min(args.seconds, 2.0), min(args.warmup, 1.0)
    only = set(args.only or ["gpkg", "postgis"])
    pg_choice = args.postgis or (os.environ.get("MINEACTION_TEST_DATABASE_URL")
                                 or ("auto" if os.geteuid() == 0 else "none"))
    have_wrk = shutil.which("wrk") is not None
    from mineaction.store import open_store

    load_before = common.load_average()
    notes: list[str] = list(args.note)
    if not have_wrk:
        notes.append("API skipped: wrk is not installed (apt-get install wrk)")
    print(f"generating {args.hazards:,} hazards ...", flush=True)
    started = time.perf_counter()
    data = country(args.hazards, args.seed)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    api_lon, api_lat = sites(data, args.api_sites, args.seed + 1)
    b_lon, b_lat = sites(data, args.batch_sites, args.seed + 2)
    api_points = [(float(x), float(y)) for x, y in zip(api_lon, api_lat, strict=True)]
    requests = {
        "GET point": [("GET", f"/api/v1/site-check?lon={x:.6f}&lat={y:.6f}", "")
                      for x, y in api_points],
        "POST plot": [("POST", "/api/v1/site-check",
                       json.dumps({"geometry": plot(x, y)}, separators=(",", ":")))
                      for x, y in api_points],
    }
    results: dict[str, Any] = {"api": {}, "floor": None, "batch": {}, "loaded": {}}

    def measure(name: str, location: str, serving: str) -> None:
        if "api" not in args.skip and have_wrk:
            tokens = {who: (None if who == "public" else viewer_token(serving))
                      for who in (args.who or ["public"])}
            with server(serving, workers=args.workers, args=["--backlog", "2048"]) as base:
                for who, token in tokens.items():
                    for op, reqs in requests.items():
                        r = wrk(base, reqs, args.clients, args.seconds, args.warmup, work,
                                token)
                        label = f"{name} {op}" + ("" if token is None else f" ({who})")
                        results["api"][label] = r
                        print(f"{label}: {r}", flush=True)
        if "batch" not in args.skip:
            pts = [(float(x), float(y)) for x, y in zip(b_lon, b_lat, strict=True)]
            r = batch(location, pts, args.processes)
            results["batch"][name] = r
            print(f"{name} batch: {r}", flush=True)

    with common.workdir(args.workdir, NAME) as work:
        if "gpkg" in only:
            gpkg = work / f"sites-{args.hazards}.gpkg"
            if not (args.reuse and holds(str(gpkg), args.hazards)):
                common.remove_sqlite(gpkg)
                started = time.perf_counter()
                with open_store(str(gpkg)) as s:
                    counts = load(s, data)
                t = time.perf_counter() - started
                results["loaded"]["gpkg"] = {"seconds": round(t, 1), "rows": counts}
                print(f"GeoPackage: loaded {counts} in {t:.0f} s", flush=True)
            notes.append("GeoPackage: " + common.settle())
            measure("gpkg", str(gpkg), str(gpkg))
        pg_version: str | None = None
        with common.PostGIS(None if pg_choice == "auto" else pg_choice,
                            Path(tempfile.mkdtemp(prefix="site-bench-pg-"))) as pg:
            if "postgis" in only and pg_choice != "none":
                notes.append(pg.note)
            if "postgis" in only and pg_choice != "none" and pg.url:
                # --reuse: the URL's own database, when it holds the country (loaded by an
                # earlier run) or no hazard yet (loaded now, and kept); else a scratch one
                reused = args.reuse and not pg.started and holds(pg.url, args.hazards)
                kept = args.reuse and not pg.started and (reused or holds(pg.url, 0))
                with (contextlib.nullcontext(pg.url) if kept
                      else pg.fresh_database("site_bench")) as url:
                    if reused:
                        notes.append("PostGIS: the country already in the database at "
                                     "the URL (--reuse)")
                    else:
                        started = time.perf_counter()
                        with open_store(url) as s:
                            counts = load(s, data)
                            loaded = time.perf_counter() - started
                            s.optimise()
                        t = time.perf_counter() - started
                        results["loaded"]["postgis"] = {
                            "seconds": round(loaded, 1), "with_optimise_seconds": round(t, 1),
                            "rows": counts}
                        print(f"PostGIS: loaded in {loaded:.0f} s, optimised by {t:.0f} s",
                              flush=True)
                    notes.append("PostGIS: " + common.settle(url))
                    # asked now: a server this bench started is stopped when it ends
                    pg_version = pg.server_version()
                    serving = pg.socket_url or url
                    # how the server and the floor reach the database: the figures of
                    # alternating runs are comparable only over the same way
                    notes.append("PostGIS: served and floored through "
                                 + _connection_kind(serving))
                    measure("postgis", url, serving)
                    if "floor" not in args.skip:
                        r = floor(serving, api_points, args.clients, args.seconds,
                                  args.warmup)
                        results["floor"] = r
                        print(f"floor (bare PostGIS query, psycopg): {r}", flush=True)
            elif "postgis" in only:
                notes.append("PostGIS skipped (--postgis none, or no "
                             "MINEACTION_TEST_DATABASE_URL and not root)")
        verdicts = report(args, results, notes, load_before)
        out = common.results_path(NAME, args.json, args.hazards >= FULL_HAZARDS
                                  and args.batch_sites >= FULL_BATCH,
                                  Path(args.workdir) if args.workdir else None)
        common.write_results(out, {
            "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
            "commit": common.git_commit(), "hazards": args.hazards,
            "batch_sites": args.batch_sites, "api_sites": args.api_sites,
            "clients": args.clients, "workers": args.workers, "seconds": args.seconds,
            "batch_processes": args.processes, "postgres": pg_version,
            **results, "verdicts": verdicts, "notes": notes,
            "load_average_before": load_before, "load_average_after": common.load_average()})
    return 0


def report(args: Any, results: dict[str, Any], notes: list[str], load: Any
           ) -> dict[str, str]:
    print(f"\nsite check over {args.hazards:,} hazards, {args.clients} clients, "
          f"{args.workers} workers, {args.seconds:.0f} s per run (load average before: "
          f"{load})")
    rows = [[k, v["rps"], v["p50_ms"], v["p99_ms"], v["requests"], v["errors"],
             v.get("server_cpu_ms_per_request"), (v.get("load_average_after") or ["-"])[0],
             v.get("steal_percent"), v.get("machine_speed_ms")]
            for k, v in results["api"].items()]
    if results["floor"]:
        v = results["floor"]
        rows.append(["floor: bare PostGIS query (psycopg)", v["rps"], v["p50_ms"],
                     v["p99_ms"], v["requests"], 0, None, (v["load_average_after"] or ["-"])[0],
                     v.get("steal_percent"), v.get("machine_speed_ms")])
    print(common.table(["target", "req/s", "p50 ms", "p99 ms", "requests", "errors",
                        "server CPU ms/req", "load 1 min after", "steal %", "speed ms"],
                       rows))
    print("  server CPU ms/req: the servers' CPU time per request; speed ms: one core's "
          "time for a fixed piece of Python work (bench/_common.machine_speed_ms)")
    verdicts: dict[str, str] = {}
    floor = results["floor"]
    for k, v in results["api"].items():
        ok = v["p99_ms"] < TARGET_P99_MS and v["errors"] == 0
        ratio = (f", {v['p99_ms'] / floor['p99_ms']:.1f}x the floor's p99, "
                 f"{v['rps'] / floor['rps']:.2f}x its throughput") if floor else ""
        verdicts[f"api {k}"] = common.verdict(ok)
        print(f"  {k}: p99 {v['p99_ms']} ms {'<' if ok else '>='} {TARGET_P99_MS:.0f} ms"
              f"{ratio}: {common.verdict(ok)}")
    for k, v in results["batch"].items():
        ok = v["seconds"] < TARGET_BATCH_S * v["sites"] / FULL_BATCH and not v["errors"]
        verdicts[f"batch {k}"] = common.verdict(ok)
        print(f"  batch {k}: {v['sites']:,} sites in {v['seconds']} s ({v['sites_per_s']} "
              f"sites/s; target {TARGET_BATCH_S * v['sites'] / FULL_BATCH:.0f} s): "
              f"{common.verdict(ok)}")
    for n in notes:
        print("  " + n)
    return verdicts


if __name__ == "__main__":
    raise SystemExit(main())
