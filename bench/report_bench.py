"""Time to render the annual country report (Colombia 2020, the real AICMA register with
DANE admin areas) to PDF. Issue 5's target: under 10 s.

    python bench/report_bench.py [--repeat 3] [--lang en]

Two figures: "cold", a fresh `python -c` process rendering once (what a CLI call costs,
imports of matplotlib, statsmodels/scipy and WeasyPrint included), and "warm", the best of
--repeat renders in one process (what an API worker that has rendered before costs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

NAME = "report_bench"
DATA = common.REPO / "data" / "colombia"
COLD = """
import time, sys
started = time.perf_counter()
from mineaction.store import open_store
from mineaction.reports.render import render
with open_store(sys.argv[1]) as s:
    render(s, "annual", sys.argv[2], year=2020, lang=sys.argv[3])
print(time.perf_counter() - started)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--workdir")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file
    from mineaction.reports.render import render
    from mineaction.store import open_store

    with common.workdir(args.workdir, NAME) as work:
        location = work / "colombia.gpkg"
        common.remove_sqlite(location)
        with open_store(location) as store:
            for path, mapping in (
                (DATA / "aicma_victims_register_2021-06.csv", "aicma-victims"),
                (DATA / "admin" / "departments_dane_mgn2021.geojson", "dane-departments"),
                (DATA / "admin" / "municipalities_dane_mgn2021.geojson", "dane-municipalities"),
            ):
                import_file(store, path, mapping=load_mapping(mapping))
        out = work / "annual.pdf"
        proc = subprocess.run([sys.executable, "-c", COLD, str(location), str(out), args.lang],
                              capture_output=True, text=True, check=True)
        cold = float(proc.stdout.strip().splitlines()[-1])
        warm = float("inf")
        with open_store(location) as store:
            for _ in range(args.repeat):
                started = time.perf_counter()
                render(store, "annual", out, year=2020, lang=args.lang)
                warm = min(warm, time.perf_counter() - started)
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        pages = next((int(line.split()[-1]) for line in info.splitlines()
                      if line.startswith("Pages:")), None)
        rows = [("annual report PDF, cold process", cold, common.verdict(cold < 10)),
                (f"annual report PDF, warm (best of {args.repeat})", warm,
                 common.verdict(warm < 10))]
        print(common.table(["", "seconds", "target < 10 s"], rows))
        target = common.results_path(NAME, args.json, True, work)
        common.write_json(target, {
            "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
            "report": "annual, Colombia 2020, " + args.lang, "pdf_bytes": out.stat().st_size,
            "cold_seconds": round(cold, 2), "warm_seconds": round(warm, 2), "pages": pages,
        })
        print(f"figures written to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
