"""The command line as a new user finds it (issue 16): --delete-missing guarded, readable
`list` tables, admin-area codes typed without their leading zero."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.io.pipeline import DeleteMissingRefused, import_file
from mineaction.store import Query, open_store

runner = CliRunner()
HEADER = "external_id,accident_date,longitude,latitude,accident_kind\n"


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for (table,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                h.update(repr(row).encode())
    return h.hexdigest()


def accidents_csv(path: Path, ids: range) -> Path:
    path.write_text(HEADER + "".join(f"A{i},2020-01-{1 + i % 28:02d},-75.1,6.2,mine\n"
                                     for i in ids))
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    result = runner.invoke(app, ["import", str(accidents_csv(tmp_path / "acc.csv", range(10))),
                                 "--kind", "accidents", "--dataset", "d", "--store", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_delete_missing_refuses_more_than_half_without_force(tmp_path: Path,
                                                             store_path: Path) -> None:
    few = accidents_csv(tmp_path / "few.csv", range(4))  # 6 of 10 would go
    before = digest(store_path)
    result = runner.invoke(app, ["import", str(few), "--kind", "accidents", "--dataset", "d",
                                 "--delete-missing", "--store", str(store_path)])
    assert result.exit_code == 1
    assert "6 of its 10 accident records" in result.output
    assert "keys all changed" in result.output and "some years" in result.output
    assert "--force" in result.output
    assert digest(store_path) == before, "a refused import wrote something"

    with open_store(store_path) as s, pytest.raises(DeleteMissingRefused):
        import_file(s, few, kind="accident", dataset="d", delete_missing=True)

    result = runner.invoke(app, ["import", str(few), "--kind", "accidents", "--dataset", "d",
                                 "--delete-missing", "--force", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "removed 6" in result.output
    with open_store(store_path) as s:
        assert s.count(Query(kind="accident")) == 4


def test_delete_missing_of_half_or_less_goes_ahead(tmp_path: Path, store_path: Path) -> None:
    half = accidents_csv(tmp_path / "half.csv", range(5))
    result = runner.invoke(app, ["import", str(half), "--kind", "accidents", "--dataset", "d",
                                 "--delete-missing", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "removed 5" in result.output
