"""`mineaction report ...` and `mineaction publish`, through Typer's test runner on an app
that registers them as cli.py does."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mineaction.cli_reports import publish, report_app
from mineaction.store import Store


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    app.command("publish")(publish)
    return app


def test_report_commands(app: typer.Typer, colombia_gpkg: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    store = colombia_gpkg.location
    out = tmp_path / "annual.html"
    result = runner.invoke(app, ["report", "annual", str(out), "--year", "2020", "--lang", "es",
                                 "--store", store])
    assert result.exit_code == 0, result.output
    assert "Informe anual" in out.read_text(encoding="utf-8")
    result = runner.invoke(app, ["report", "monthly", str(tmp_path / "m.pdf"), "--month",
                                 "2020-06", "--format", "pdf", "--store", store])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    bad = runner.invoke(app, ["report", "annual", str(out), "--year", "2020", "--lang", "xx",
                              "--store", store])
    # the choices are the catalogues on disk, English first (#22)
    assert bad.exit_code == 2 and "choose from en, " in bad.output
    assert all(lang in bad.output for lang in ("es", "az", "ar")), bad.output
    bad = runner.invoke(app, ["report", "monthly", str(out), "--month", "June",
                              "--store", store])
    assert bad.exit_code == 2


def test_publish_command(app: typer.Typer, colombia_gpkg: Store, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["publish", str(tmp_path / "pkg"), "--threshold", "3",
                                      "--store", colombia_gpkg.location])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pkg" / "datapackage.json").is_file()
    assert "casualties_by_year.csv" in result.output
