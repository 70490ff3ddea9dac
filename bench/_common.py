"""Helpers the benchmark scripts share: work directory, child processes with peak memory,
a throwaway PostGIS cluster, the machine description, the figures table and its JSON.

Not a benchmark itself; bench/import_bench.py and bench/query_bench.py import it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PG_SCRIPT = REPO / "scripts" / "pg-test-cluster.sh"


# -- work directory and results -------------------------------------------------------------
@contextmanager
def workdir(given: str | None, name: str) -> Iterator[Path]:
    """--workdir if given (created, kept), else a temporary directory removed at the end."""
    if given:
        path = Path(given).resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix=f"mineaction-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def results_path(name: str, explicit: str | None, full_size: bool, kept_workdir: Path | None
                 ) -> Path | None:
    """Where the figures go: --json if given; bench/results/NAME.json for a run at the
    issue's sizes; otherwise the --workdir, so a smoke run never overwrites the committed
    figures (None: a small run in a temporary directory keeps no file)."""
    if explicit:
        return Path(explicit)
    if full_size:
        return RESULTS / f"{name}.json"
    return kept_workdir / f"{name}.json" if kept_workdir else None


def write_results(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        print("figures not written: a reduced-size run without --workdir or --json")
        return
    write_json(path, data)
    print(f"figures written to {path}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# -- the machine ----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    versions: dict[str, str] = {"python": platform.python_version(),
                                "sqlite": sqlite3.sqlite_version}
    try:
        import pyogrio

        versions["pyogrio"] = pyogrio.__version__
        versions["gdal"] = pyogrio.__gdal_version_string__
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "mineaction_commit": git_commit(),
    }


def git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head.strip() + ("+dirty src" if dirty.strip() else "")


def stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# -- child processes ------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far: unlike wall time, hardly affected by
    other processes competing for the cores."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_speed_ms() -> float:
    """Milliseconds one core takes for a fixed piece of Python work (building, encoding
    and decoding JSON, as a list page does), the best of five: the same code's figures
    move with it. This virtual machine's speed drifts by a third over an hour (issue 3),
    more than some margins a benchmark checks; each run prints it beside its figures."""
    page = [{"id": f"{i:08d}", "coordinates": [i / 7, i / 9], "kind": "mine",
             "tags": ["a", "b"], "version": i} for i in range(400)]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(40):
            json.loads(json.dumps(page))
            sorted(page, key=lambda d: d["coordinates"][1])
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def dirty_mib() -> float | None:
    """Data written but not yet on disk, machine-wide (/proc/meminfo's Dirty), in MiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("Dirty:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def settle(pg_url: str | None = None) -> str:
    """Write out what a load left behind before measuring anything: PostgreSQL's dirty
    buffers (CHECKPOINT) and the kernel's dirty pages (sync). Loading and optimising a
    million accidents left both to do, and whichever server ran first would have shared
    its cores with that write-back. Returns a note of what it found."""
    before = dirty_mib()
    started = time.perf_counter()
    checkpoint = "no CHECKPOINT"
    if pg_url:
        import sqlalchemy as sa

        from mineaction.store.postgis import engine_url

        engine = sa.create_engine(engine_url(pg_url))
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("CHECKPOINT")
            checkpoint = "CHECKPOINT"
        except sa.exc.DBAPIError as exc:  # not a superuser: the kernel's sync still runs
            checkpoint = f"no CHECKPOINT ({str(exc.orig).splitlines()[0]})"
        finally:
            engine.dispose()
    os.sync()
    return (f"settled before measuring: {checkpoint} and sync, {time.perf_counter() - started:.1f}"
            f" s ({before} MiB dirty before)")


def cpu_times() -> tuple[int, ...] | None:
    """The machine's CPU time counters, all CPUs together (/proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            return tuple(int(x) for x in f.readline().split()[1:])
    except (OSError, ValueError):
        return None


def steal_percent(before: tuple[int, ...] | None, after: tuple[int, ...] | None
                  ) -> float | None:
    """The share of CPU time between two `cpu_times()` that the hypervisor gave to other
    guests (steal), in percent: noise of a virtual machine that no code change explains,
    printed beside the figures it may have cost."""
    if before is None or after is None or len(before) < 8 or len(after) < 8:
        return None
    # user nice system idle iowait irq softirq steal; guest time is counted within user.
    spent = [b - a for a, b in zip(before[:8], after[:8], strict=True)]
    total = sum(spent)
    return round(100 * spent[7] / total, 1) if total > 0 else None


def run_child(script: Path, args: Sequence[str], *, timeout: float | None = None
              ) -> dict[str, Any]:
    """Run `python script --child ...` in a fresh interpreter; it prints one JSON line last
    (its figures, with its own peak RSS). Fails loudly with the child's stderr."""
    cmd = [sys.executable, str(script), *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"child {' '.join(args[:2])} failed with exit code {proc.returncode}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"child {' '.join(args[:2])} printed no figures")
    out = json.loads(lines[-1])
    out["process_seconds"] = round(elapsed, 2)
    return out


# -- PostGIS --------------------------------------------------------------------------------
class PostGIS:
    """A PostGIS to benchmark on: the URL given, or (--postgis auto) a throwaway cluster
    started with scripts/pg-test-cluster.sh and stopped at the end."""

    def __init__(self, url: str | None, state_dir: Path) -> None:
        self.given = url if url and url != "auto" else None
        self.state_dir = state_dir
        self.started = False
        self.url: str | None = self.given
        # The same database by the cluster's Unix socket, when we started it: what a
        # server on the database's own machine connects by (docs/server.md).
        self.socket_url: str | None = None
        self.note = ""

    def __enter__(self) -> PostGIS:
        if self.given:
            self.note = "PostGIS at the URL given"
            return self
        if not PG_SCRIPT.exists():
            self.note = f"PostGIS skipped: {PG_SCRIPT} not found"
            return self
        proc = subprocess.run(["bash", str(PG_SCRIPT), "start", str(self.state_dir)],
                              capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            self.note = ("PostGIS skipped: could not start a throwaway cluster: "
                         + (proc.stderr.strip().splitlines() or ["?"])[-1])
            return self
        self.url = proc.stdout.strip().splitlines()[-1]
        self.started = True
        data = (self.state_dir / "datadir").read_text().strip()
        port = (self.state_dir / "port").read_text().strip()
        database = self.url.rsplit("/", 1)[-1]
        self.socket_url = f"postgresql://postgres@/{database}?host={data}&port={port}"
        self.note = (f"PostGIS: throwaway cluster auto-started with scripts/pg-test-cluster.sh"
                     f" (fsync off, synchronous_commit off) at {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            subprocess.run(["bash", str(PG_SCRIPT), "stop", str(self.state_dir)],
                           capture_output=True, text=True, timeout=120)

    @contextmanager
    def fresh_database(self, prefix: str) -> Iterator[str]:
        """An empty database to benchmark in: the throwaway cluster's own (new, and deleted
        with the cluster), or a scratch database beside the one at the URL given."""
        assert self.url is not None
        if self.started:
            yield self.url
            return
        with scratch_database(self.url, prefix) as url:
            yield url

    def server_version(self) -> str | None:
        if not self.url:
            return None
        import sqlalchemy as sa

        from mineaction.store.postgis import engine_url

        engine = sa.create_engine(engine_url(self.url))
        try:
            with engine.connect() as conn:
                pg = conn.exec_driver_sql("SHOW server_version").scalar()
                gis = conn.exec_driver_sql("SELECT postgis_lib_version()").scalar()
            return f"PostgreSQL {pg}, PostGIS {gis}"
        finally:
            engine.dispose()


@contextmanager
def scratch_database(url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty database (with PostGIS) beside the one in `url`, dropped afterwards,
    so a benchmark always starts from an empty store and never touches existing data."""
    import sqlalchemy as sa

    from mineaction.store.postgis import engine_url

    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    admin = sa.create_engine(engine_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        base = sa.engine.make_url(url)
        scratch = base.set(database=name).render_as_string(hide_password=False)
        engine = sa.create_engine(engine_url(scratch))
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        engine.dispose()
        yield scratch
    finally:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()


# -- printing -------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.1f}"
        if value >= 10:
            return f"{value:.2f}"
        return f"{value:.3f}" if value < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
