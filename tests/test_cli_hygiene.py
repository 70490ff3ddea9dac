"""The command line as a new user finds it (issue 16): --delete-missing guarded, readable
`list` tables, admin-area codes typed without their leading zero."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

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


def _gdal_count(path: Path, layer: str) -> int:
    """What QGIS and ogrinfo count: GDAL's own reading of the layer."""
    import pyogrio

    return int(pyogrio.read_info(path, layer=layer, force_feature_count=True)["features"])


def test_deleted_records_leave_the_layers_and_info_counts_them_apart(
        tmp_path: Path, store_path: Path) -> None:
    """Item 1: after --delete-missing, GIS clients and `info` counted the deleted records
    as current ones (24,452 victims where 12,390 were current)."""
    with open_store(store_path) as s:
        before = {r.external_id: r.id
                  for r in s.query(Query(kind="accident", limit=None)).items}
    six = accidents_csv(tmp_path / "six.csv", range(6))  # 4 of 10 gone from the release
    result = runner.invoke(app, ["import", str(six), "--kind", "accidents", "--dataset", "d",
                                 "--delete-missing", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "removed 4" in result.output
    with open_store(store_path) as s:
        ids = {r.external_id: r.id for r in s.query(Query(kind="accident", limit=None)).items}
        first = s.get("accident", ids["A0"])
        s.delete("accident", first.id, by="ana")  # and a user deletes one more
    assert _gdal_count(store_path, "accidents") == 5
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("SELECT count(*) FROM accidents").fetchone() == (5,)
    info = runner.invoke(app, ["info", "--store", str(store_path)])
    assert info.exit_code == 0, info.output
    assert "  accident                  5  (approved 5)" in info.output
    assert "deleted (not counted above; their history is kept):" in info.output
    assert "  accident                  5  (by a user 1, gone from a later release 4)" \
        in info.output

    # The next release has every record again: those only a release lacked come back under
    # their ids, with their history; the one a user deleted stays deleted.
    ten = accidents_csv(tmp_path / "ten.csv", range(10))
    result = runner.invoke(app, ["import", str(ten), "--kind", "accidents", "--dataset", "d",
                                 "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "added 4 (4 of them deleted before), changed 0, unchanged 5, deleted by a user " \
        "and left deleted 1" in result.output
    assert _gdal_count(store_path, "accidents") == 9
    with open_store(store_path) as s:
        back = {r.external_id: r for r in s.query(Query(kind="accident", limit=None)).items}
        assert "A0" not in back
        assert {e: back[e].id for e in ("A6", "A7", "A8", "A9")} == {
            e: before[e] for e in ("A6", "A7", "A8", "A9")}
        history = s.history("accident", back["A7"].id)
        assert [(v["version"], v["action"]) for v in history] == [
            (1, "delete"), (2, "deleted"), (3, "current")]
        assert s.deletions() == {"accident": {"edit": 1}}


@pytest.fixture
def places_store(tmp_path: Path) -> Path:
    """Admin areas 05 and 05313 (DANE codes, leading zero) and 13 and 13001; accidents in
    05313 and 13001."""
    path = tmp_path / "places.gpkg"
    areas = tmp_path / "areas.csv"
    areas.write_text("pcode,name,level,parent_pcode\n05,ANTIOQUIA,1,\n05313,GRANADA,2,05\n"
                     "13,BOLÍVAR,1,\n13001,CARTAGENA DE INDIAS,2,13\n")
    accidents = tmp_path / "accidents.csv"
    accidents.write_text(
        HEADER.strip() + ",admin_area_pcode,place_name\n"
        + "".join(f"G{i},2006-01-0{1 + i},-75.18,6.14,mine,05313,"
                  f"\"Vereda {'La Aguada, sector Los Guayabos del Alto ' * 3}{i}\"\n"
                  for i in range(3))
        + "C1,2007-05-01,-75.5,10.4,erw,13001,Cartagena\n")
    for file, kind in ((areas, "admin-areas"), (accidents, "accidents")):
        result = runner.invoke(app, ["import", str(file), "--kind", kind, "--store", str(path)])
        assert result.exit_code == 0, result.output
    return path


def cli(store: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--store", str(store)], env={"COLUMNS": "80"})
    return result.exit_code, result.stdout, result.stderr


def test_list_prints_a_table_that_fits_80_columns(places_store: Path) -> None:
    code, out, _ = cli(places_store, "list", "accidents", "--admin-area", "05313")
    assert code == 0, out
    lines = out.rstrip("\n").splitlines()
    assert len(lines) == 2 + 3, out  # header, rule, one line per record
    assert max(len(line) for line in lines) <= 80, out
    # Records are told apart by their codes (domain/codes.py), not shortened ids.
    assert lines[0].split() == ["code", "accident_date", "admin_area_pcode",
                                "accident_kind", "place_name"]
    assert all(re.match(r"ACC-(CO-)?05-\d{6} ", line) for line in lines[2:]), out
    assert "created_at" not in out and "2006-01-01" in out and "05313" in out


def test_list_columns_and_formats_give_all_fields(places_store: Path) -> None:
    code, out, _ = cli(places_store, "list", "accidents", "--format", "csv")
    assert code == 0
    header = out.splitlines()[0].split(",")
    assert {"id", "created_at", "geometry", "accident_date", "place_name"} <= set(header)
    assert header[:2] == ["id", "code"]
    code, out, _ = cli(places_store, "list", "accidents", "--format", "json")
    assert code == 0 and '"created_at"' in out
    code, out, _ = cli(places_store, "list", "accidents", "--columns", "id,place_name",
                       "--admin-area", "13001")
    assert code == 0
    assert out.split()[:2] == ["id", "place_name"] and "Cartagena" in out
    assert len(out.split()[-2]) == 36  # chosen columns are shown whole


def test_admin_area_without_its_leading_zero_is_read_as_meant(places_store: Path) -> None:
    for args in (["list", "accidents", "--count"],
                 ["stats", "casualties", "--all-statuses", "--format", "csv"]):
        _, padded, _ = cli(places_store, *args, "--admin-area", "05313")
        code, typed, err = cli(places_store, *args, "--admin-area", "5313")
        assert code == 0, err
        assert typed == padded
        assert "read as 05313" in err
    code, out, _ = cli(places_store, "list", "accidents", "--count", "--admin-area", "5313")
    assert out.strip() == "3"
    code, out, _ = cli(places_store, "list", "accidents", "--count", "--admin-area", "5")
    assert out.strip() == "3"  # department 05
    code, out, err = cli(places_store, "export", str(places_store.parent / "g.csv"),
                         "--admin-area", "5313")
    assert code == 0 and "wrote 3 accident" in out, err


def test_admin_area_that_matches_nothing_is_refused(places_store: Path) -> None:
    code, out, err = cli(places_store, "list", "accidents", "--admin-area", "99999")
    assert code == 2 and "99999" in err and "in none of the store's admin areas" in err
    code, out, err = cli(places_store, "stats", "casualties", "--admin-area", "99")
    assert code == 2


def test_admin_area_with_two_meanings_gets_a_hint(places_store: Path, tmp_path: Path) -> None:
    more = tmp_path / "more.csv"
    more.write_text("pcode,name,level\n005313,SOMEWHERE ELSE,3\n")
    result = runner.invoke(app, ["import", str(more), "--kind", "admin-areas", "--dataset",
                                 "other", "--store", str(places_store)])
    assert result.exit_code == 0, result.output
    code, out, err = cli(places_store, "list", "accidents", "--admin-area", "5313")
    assert code == 2
    assert "did you mean 005313 or 05313?" in err


HEAVY = ("numpy", "pandas", "shapely", "sqlalchemy", "pyproj", "statsmodels", "fastapi",
         "mineaction.domain.models", "mineaction.store")


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_start_up_imports_no_heavy_library(args: list[str]) -> None:
    """`mineaction --help` imports only what it needs (issue 16, 12; the timings are in
    bench/startup_bench.py, not here)."""
    import subprocess
    import sys

    code = ("import sys\n"
            f"sys.argv = ['mineaction', *{args!r}]\n"
            "from mineaction.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "LOADED []" in out, out.splitlines()[-1]


def test_every_command_is_still_there_and_builds() -> None:
    import typer

    root = typer.main.get_command(app)
    names = set(root.commands)  # type: ignore[attr-defined]
    assert {"init", "info", "import", "list", "export", "stats", "report", "publish",
            "serve", "user", "token", "audit"} <= names
    code, out, _ = cli(Path("unused.gpkg"), "list", "--help")
    assert code == 0 and "--columns" in out and "draft" in out


def test_api_reads_admin_area_codes_as_the_command_line_does(places_store: Path,
                                                             tmp_path: Path) -> None:
    import anyio
    import httpx

    from mineaction.app import create_app
    from mineaction.services.settings import load_settings

    async def ask(app: Any, code: str) -> tuple[int, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.get("/api/v1/accidents", params={"admin_area": code})
            return r.status_code, r.json()

    with open_store(places_store) as s:
        app = create_app(load_settings(store=str(places_store), upload_dir=tmp_path / "up"),
                         store=s)
        try:
            status, padded = anyio.run(ask, app, "05313")
            assert status == 200 and len(padded["items"]) == 3
            status, typed = anyio.run(ask, app, "5313")
            assert status == 200
            assert [i["id"] for i in typed["items"]] == [i["id"] for i in padded["items"]]
            status, body = anyio.run(ask, app, "99999")
            assert status == 422 and "99999" in body["message"]
        finally:
            app.state.services.close()


def test_resolve_admin_area_on_both_stores(store_location: str, tmp_path: Path) -> None:
    from mineaction.services.places import UnknownAdminArea, resolve_admin_area

    areas = tmp_path / "areas.csv"
    areas.write_text("pcode,name,level,parent_pcode\n05,ANTIOQUIA,1,\n05313,GRANADA,2,05\n")
    with open_store(store_location) as s:
        assert resolve_admin_area(s, "5313") == "5313"  # no admin areas: taken as it is
        import_file(s, areas, kind="admin_area")
        assert resolve_admin_area(s, "05313") == "05313"
        assert resolve_admin_area(s, "5313") == "05313"
        assert resolve_admin_area(s, "5") == "05"
        assert resolve_admin_area(s, None) is None
        with pytest.raises(UnknownAdminArea, match="in none of the store's admin areas"):
            resolve_admin_area(s, "99")


def test_rejected_rows_are_counted_as_rows_not_errors(tmp_path: Path, store_path: Path) -> None:
    """A row with two errors is one row rejected (issue 16, 6)."""
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "B1,2020-01-02,-75.1,6.2,mine\n"
                   "B2,2020-13-45,-75.1,999,bomb\n")  # a bad date, latitude and kind
    result = runner.invoke(app, ["import", str(bad), "--kind", "accidents", "--dataset", "d2",
                                 "--skip-invalid", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "1 row rejected; reasons in" in result.output


def test_reports_and_publish_read_admin_area_as_the_other_commands(places_store: Path,
                                                                     tmp_path: Path) -> None:
    """The report and publish commands matched 5313 to nothing: an empty factsheet."""
    html = tmp_path / "sheet.html"
    code, out, err = cli(places_store, "report", "factsheet", str(html), "--admin-area", "5313")
    assert code == 0, err
    assert "read as 05313" in err
    assert "GRANADA" in html.read_text(encoding="utf-8")
    code, out, err = cli(places_store, "report", "factsheet", str(html), "--admin-area",
                         "99999")
    assert code == 2 and "in none of the store's admin areas" in err
    code, out, err = cli(places_store, "publish", str(tmp_path / "open"), "--admin-area",
                         "5313")
    assert code == 0, err
    assert "read as 05313" in err
    code, out, err = cli(places_store, "publish", str(tmp_path / "none"), "--admin-area", "77")
    assert code == 2 and not (tmp_path / "none").exists()
