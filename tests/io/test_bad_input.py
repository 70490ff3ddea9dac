"""Bad input gets one clear message naming file, row, field and problem, a non-zero exit,
and leaves the store exactly as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.store import Query, open_store

DATA = Path(__file__).parents[2] / "data" / "colombia"
runner = CliRunner()


def store_digest(path: Path) -> str:
    """A digest of every row of every table: equal digests mean nothing changed."""
    h = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                h.update(repr(row).encode())
    return h.hexdigest()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store that already holds some data, so 'unchanged' means something."""
    path = tmp_path / "store.gpkg"
    csv = tmp_path / "accidents.csv"
    csv.write_text("external_id,accident_date,longitude,latitude,accident_kind\n"
                   "A1,2020-01-05,-75.1,6.2,mine\nA2,2020-02-07,-75.2,6.3,erw\n")
    result = runner.invoke(app, ["import", str(csv), "--kind", "accidents", "--store", str(path)])
    assert result.exit_code == 0, result.output
    return path


def run(store_path: Path, *args: str) -> tuple[int, str]:
    before = store_digest(store_path)
    result = runner.invoke(app, [*args, "--store", str(store_path)])
    assert store_digest(store_path) == before, "the store changed"
    return result.exit_code, result.output


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unreadable_file(store_path: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "hazards.gpkg"
    garbage.write_bytes(b"\x00\x01not a geopackage" * 50)
    code, out = run(store_path, "import", str(garbage), "--kind", "hazards")
    assert code != 0
    assert "hazards.gpkg" in out and "error" in out
    code, out = run(store_path, "import", str(tmp_path / "missing.csv"), "--kind", "hazards")
    assert code != 0 and "missing.csv" in out


def test_wrong_mapping(store_path: Path, tmp_path: Path) -> None:
    typo = write(tmp_path, "m.yaml", "kind: accidents\nfields:\n  accident_date: {form: fecha}\n")
    csv = write(tmp_path, "a.csv", "fecha\n2020-01-01\n")
    code, out = run(store_path, "import", str(csv), "--mapping", str(typo))
    assert code != 0 and "m.yaml" in out and "form" in out
    no_field = write(tmp_path, "n.yaml", "kind: accidents\nfields:\n  when_it_was: fecha\n")
    code, out = run(store_path, "import", str(csv), "--mapping", str(no_field))
    assert code != 0 and "no field 'when_it_was'" in out
    wrong_col = write(tmp_path, "w.yaml", "kind: accidents\nfields:\n  accident_date: date\n")
    code, out = run(store_path, "import", str(csv), "--mapping", str(wrong_col))
    assert code != 0 and "column 'date' is not in the file" in out and "fecha" in out


def test_missing_required_column(store_path: Path, tmp_path: Path) -> None:
    csv = write(tmp_path, "hazards.csv", "name,hazard_status\nLa Loma,open\n")
    code, out = run(store_path, "import", str(csv), "--kind", "hazards")
    assert code != 0
    assert "hazard_kind" in out and "required" in out
    assert out.count("error:") == 1


def test_bad_date_names_row_field_and_value(store_path: Path, tmp_path: Path) -> None:
    mapping = write(tmp_path, "m.yaml", "kind: accidents\nfields:\n  accident_date:\n"
                    "    from: fecha\n    date_format: '%d/%m/%Y'\n")
    csv = write(tmp_path, "acc.csv", "fecha\n03/02/2020\n31/02/2020\n05/02/2020\n")
    code, out = run(store_path, "import", str(csv), "--mapping", str(mapping))
    assert code != 0
    assert "acc.csv, row 3, field accident_date (column 'fecha'): '31/02/2020' is not a date" in out
    assert "nothing was imported" in out


def test_non_number(store_path: Path, tmp_path: Path) -> None:
    csv = write(tmp_path, "finds.csv", "device_category,quantity\nap_mine,3\nuxo,tres\n")
    code, out = run(store_path, "import", str(csv), "--kind", "finds")
    assert code != 0
    assert "finds.csv, row 3, field quantity (column 'quantity'): 'tres' is not a whole number" \
        in out


def test_invalid_polygon(store_path: Path, tmp_path: Path) -> None:
    geojson = write(tmp_path, "sha.geojson", """{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"hazard_kind": "SHA"},
       "geometry": {"type": "Polygon",
                    "coordinates": [[[-75,6],[-74.9,6.1],[-74.9,6],[-75,6.1],[-75,6]]]}}
    ]}""")
    code, out = run(store_path, "import", str(geojson), "--kind", "hazards")
    assert code != 0
    assert "sha.geojson, row 1, field geometry" in out and "Self-intersection" in out


def test_bad_enumeration_value_lists_the_choices(store_path: Path, tmp_path: Path) -> None:
    csv = write(tmp_path, "v.csv", "outcome\nkilled\nmaybe\n")
    code, out = run(store_path, "import", str(csv), "--kind", "victims")
    assert code != 0 and "row 3, field outcome" in out and "killed, injured, unknown" in out


def test_skip_invalid_imports_valid_rows_and_writes_rejects(store_path: Path,
                                                            tmp_path: Path) -> None:
    csv = write(tmp_path, "finds.csv", "device_category,quantity\nap_mine,3\nuxo,tres\nuxo,1\n")
    rejected = tmp_path / "rejected.csv"
    result = runner.invoke(app, ["import", str(csv), "--kind", "finds", "--skip-invalid",
                                 "--rejected", str(rejected), "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    with open_store(store_path) as store:
        assert store.count(Query(kind="find")) == 2
    lines = rejected.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "tres" in lines[1] and "is not a whole number" in lines[1]


def test_dry_run_writes_nothing(store_path: Path) -> None:
    code, out = run(store_path, "import", str(DATA / "aicma_victims_register_2021-06.csv"),
                    "--mapping", "aicma-victims", "--dry-run")
    assert code == 0 and "dry run" in out and "added 12,062" in out


def test_a_killed_import_leaves_the_store_as_it_was(store_path: Path, tmp_path: Path) -> None:
    """Kill the importing process mid-way: the file is still valid, and unchanged."""
    before = store_digest(store_path)
    big = tmp_path / "big.csv"
    with big.open("w") as f:
        f.write("accident_date,longitude,latitude\n")
        for i in range(400_000):
            f.write(f"2020-01-01,{-75 + (i % 1000) / 1000},{6 + (i // 1000) / 1000}\n")
    proc = subprocess.Popen([sys.executable, "-m", "mineaction.cli", "import", str(big),
                             "--kind", "accidents", "--store", str(store_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait until the import holds the write lock, i.e. is writing, then kill it.
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if Path(f"{store_path}-wal").exists() and Path(f"{store_path}-wal").stat().st_size > 1e6:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store_digest(store_path) == before
    with open_store(store_path) as store:
        assert store.count(Query(kind="accident")) == 2
