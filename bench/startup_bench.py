"""Start-up time of the `mineaction` command (issue 16, item 12): each command run as a
fresh process, several times, its median wall time set against peers measured in the same
run (an empty Python, and GDAL's `ogrinfo --version`), so a busy machine shows as slow
peers too.

    python bench/startup_bench.py                 # 9 runs each; bench/results/startup_bench.json
    python bench/startup_bench.py --runs 3 --json /tmp/s.json

Targets: `mineaction --help` under 0.3 s, `mineaction info` (on a store holding the
Colombian admin areas) under 0.6 s. Not a test: timings belong in a benchmark.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, load_average, machine, stamp, table, write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"mineaction --help": 0.3, "mineaction info": 0.6}


def mineaction() -> list[str]:
    """The installed command beside this Python, else `python -m mineaction`."""
    script = Path(sys.executable).with_name("mineaction")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mineaction"]


def timed(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (9)")
    parser.add_argument("--json", help="where to write the figures "
                        "(default bench/results/startup_bench.json)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mineaction-startup-"))
    try:
        store = work / "store.gpkg"
        env = {**os.environ, "MINEACTION_STORE": str(store)}
        admin = REPO / "data" / "colombia" / "admin" / "departments_dane_mgn2021.geojson"
        subprocess.run([*mineaction(), "import", str(admin), "--mapping", "dane-departments"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        commands: dict[str, list[str]] = {
            "python -c pass (peer)": [sys.executable, "-c", "pass"],
            "mineaction --version": [*mineaction(), "--version"],
            "mineaction --help": [*mineaction(), "--help"],
            "mineaction info": [*mineaction(), "info"],
            "mineaction list --help": [*mineaction(), "list", "--help"],
        }
        ogrinfo = shutil.which("ogrinfo")
        if ogrinfo:
            commands["ogrinfo --version (peer)"] = [ogrinfo, "--version"]
        for argv in commands.values():  # warm the file cache and the bytecode once
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        load_before = load_average()
        # Interleaved rounds, so that a burst of load hits every command alike.
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].extend(timed(argv, 1, env))
        load_after = load_average()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    python_pass = statistics.median(samples["python -c pass (peer)"])
    results = []
    for name, times in samples.items():
        median = statistics.median(times)
        target = TARGETS.get(name)
        results.append({
            "command": name, "median_s": round(median, 4), "min_s": round(min(times), 4),
            "max_s": round(max(times), 4), "runs": len(times),
            "x_python_pass": round(median / python_pass, 1),
            "target_s": target,
            "verdict": None if target is None else ("PASS" if median < target else "MISS")})
    print(table(["command", "median s", "min s", "max s", "x python -c pass", "target",
                 "verdict"],
                [[r["command"], f"{r['median_s']:.3f}", f"{r['min_s']:.3f}",
                  f"{r['max_s']:.3f}", f"{r['x_python_pass']:.1f}",
                  "" if r["target_s"] is None else f"< {r['target_s']} s",
                  r["verdict"] or ""] for r in results]))
    out = Path(args.json) if args.json else RESULTS / "startup_bench.json"
    write_json(out, {"benchmark": "startup_bench", "when": stamp(), "machine": machine(),
                     "load_average_before": load_before, "load_average_after": load_after,
                     "results": results})
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
