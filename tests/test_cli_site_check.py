# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction site-check` (issue 20): a point, a plot from a GeoJSON file, a road as WKT,
the public's view, and a batch of sites from CSV with a bad row named and skipped."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Accident, Hazard, MinefieldRecord
from mineaction.store import open_store

runner = CliRunner()
LON, LAT = -75.0, 6.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        store.add(Hazard(name="H-1", hazard_kind="CHA", hazard_status="open",
                         geometry=box(LON, LAT, LON + 0.001, LAT + 0.001), dataset="t",
                         external_id="h1", status="approved"))
        store.add(MinefieldRecord(name="MF-1", geometry=box(LON, LAT, LON + 0.0005,
                                                            LAT + 0.0005),
                                  dataset="t", external_id="m1", status="approved"))
        store.add(Accident(accident_date=date(2014, 3, 2), accident_kind="mine",
                           geometry=box(LON + 0.005, LAT, LON + 0.005, LAT).centroid,
                           dataset="t", external_id="a1", status="approved"))
    return path


def cli(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--store", str(path)], env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_a_point_on_a_hazard(store_path: Path) -> None:
    code, out = cli(store_path, "site-check", f"--point={LON + 0.0002},{LAT + 0.0002}")
    assert code == 0, out
    assert "The point lies in recorded hazard H-1 (CHA, open)." in out
    assert "Minefield record MF-1" in out
    assert "1 accident within 2.0 km, the last in 2014" in out
    assert "not a statement that the land is free" in out


def test_the_public_view_leaves_out_minefield_records(store_path: Path) -> None:
    code, out = cli(store_path, "site-check", f"--point={LON + 0.0002},{LAT + 0.0002}",
                    "--public", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["minefield_records"] == []
    assert body["generalised"] == {"accident": 1}


def test_a_plot_from_a_geojson_file_and_a_road_as_wkt(store_path: Path, tmp_path: Path) -> None:
    plot = tmp_path / "plot.geojson"
    plot.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "school"},
        "geometry": mapping(box(LON + 0.0005, LAT, LON + 0.0015, LAT + 0.001))}]}))
    code, out = cli(store_path, "site-check", str(plot), "--json")
    assert code == 0, out
    assert json.loads(out)["hazards"][0]["share_of_site"] == pytest.approx(0.5, abs=1e-3)
    code, out = cli(store_path, "site-check", "--wkt",
                    f"LINESTRING ({LON - 0.01} {LAT + 0.0005}, {LON - 0.005} {LAT + 0.0005})",
                    "--buffer", "1000")
    assert code == 0, out
    assert "Recorded hazard H-1 (CHA, open) lies 554 m from the site." in out


def test_batch_from_csv_names_the_bad_row_and_checks_the_rest(store_path: Path,
                                                               tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lon,lat\nschool,-74.9998,6.0002\nwell,abc,6.0\n"
                     "road,-70.0,2.0\n", encoding="utf-8")
    out_csv = tmp_path / "out.csv"
    code, out = cli(store_path, "site-check", str(sites), "--batch", "--out", str(out_csv))
    assert code == 0, out
    with out_csv.open(encoding="utf-8") as handle:
        rows = {r["site_id"]: r for r in csv.DictReader(handle)}
    assert rows["school"]["hazards_on_site"] == "1"
    assert rows["road"]["hazards_within_buffer"] == "0"
    assert rows["row 3"]["error"] == "row 3, field 'lon': 'abc' is not a number"


def test_a_site_given_twice_or_not_at_all_is_a_usage_error(store_path: Path) -> None:
    code, out = cli(store_path, "site-check")
    assert code == 2 and "give the site one way" in out
    code, out = cli(store_path, "site-check", "--point=1,2", "--wkt", "POINT (1 2)")
    assert code == 2
    code, out = cli(store_path, "site-check", "--point=-75,600")
    assert code == 2 and "latitude" in out


def test_a_batch_in_worker_processes_gives_the_one_process_answer(store_path: Path,
                                                                  tmp_path: Path) -> None:
    """--processes 2 over more sites than one chunk, run as a user runs it (a fresh process,
    where forking is safe), row for row the same as checking them in one process; a site
    with a bad coordinate keeps its row and its error."""
    import subprocess
    import sys

    from mineaction.services.site_check import BATCH_CHUNK

    sites = tmp_path / "sites.csv"
    rows = [f"s{i},{LON - 0.02 + i * 0.0001:.6f},{LAT + 0.0003:.6f}"
            for i in range(BATCH_CHUNK * 2 + 17)]
    rows[BATCH_CHUNK + 3] = "bad,west,6.0"
    sites.write_text("id,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    outputs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}.csv"
        proc = subprocess.run(
            [sys.executable, "-m", "mineaction", "site-check", str(sites), "--batch",
             "--processes", str(n), "--out", str(out), "--store", str(store_path)],
            capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (f"checking {BATCH_CHUNK * 2 + 16:,} sites in "
                + ("2 worker processes" if n == 2 else "one process")) in proc.stderr
        outputs[n] = out.read_text(encoding="utf-8")
    assert outputs[1] == outputs[2]
    checked = list(csv.DictReader(outputs[2].splitlines()))
    assert len(checked) == BATCH_CHUNK * 2 + 17
    assert sum(r["hazards_on_site"] == "1" for r in checked) > 0
    errors = {r["site_id"]: r["error"] for r in checked if r["error"]}
    assert errors == {f"row {BATCH_CHUNK + 5}":
                      f"row {BATCH_CHUNK + 5}, field 'lon': 'west' is not a number"}


def test_a_batch_over_more_than_a_chunk_runs_in_the_worker_processes_asked(
        store_path: Path) -> None:
    """SiteChecks.batch(processes=2) over a chunk and a site, in a fresh process (where
    forking is safe): two worker processes check them, and the reports come in order."""
    import subprocess
    import sys

    script = (
        "import multiprocessing, sys\n"
        "from shapely.geometry import Point\n"
        "from mineaction.access.roles import Principal, Role\n"
        "from mineaction.services.site_check import BATCH_CHUNK, SiteChecks\n"
        "from mineaction.store import open_store\n"
        "workers, ids = set(), []\n"
        "with open_store(sys.argv[1]) as store:\n"
        "    for i, r in SiteChecks(store).batch(\n"
        "            Principal(username='a', role=Role.admin),\n"
        "            ((str(i), Point(-75.02 + i * 1e-4, 6.0003))\n"
        "             for i in range(BATCH_CHUNK + 1)),\n"
        "            processes=2):\n"
        "        workers.add(len(multiprocessing.active_children()))\n"
        "        ids.append(int(i))\n"
        "print(max(workers), ids == list(range(BATCH_CHUNK + 1)))\n")
    proc = subprocess.run([sys.executable, "-c", script, str(store_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["2", "True"]


def test_a_batch_never_forks_beside_another_thread() -> None:
    """A fork copies locks another thread holds and never releases them: with a second
    thread running, a batch checks its sites in its own process, whatever it was asked."""
    import threading

    from mineaction.services.site_check import BATCH_CHUNK, batch_workers

    assert batch_workers(4, BATCH_CHUNK - 1) == 1  # one chunk: not worth a worker
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert batch_workers(4, BATCH_CHUNK * 10) == 1
    finally:
        stop.set()
        other.join()
