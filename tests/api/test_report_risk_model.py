# SPDX-License-Identifier: GPL-3.0-or-later
"""The server's annual report describes the server's risk model (issue 19): `mineaction risk
train` and `risk predict` (the command line, as an officer runs them) write the layer the
server shows, and GET /reports/annual then carries the model's section, its figures those
the model directory's manifest holds. A layer written before `risk predict` kept the
section's data, no layer, or a reader who may not see the layer: the report without it."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from aicma_box import events_in  # noqa: E402

from mineaction.access.roles import Policy, Principal, Role
from mineaction.access.visibility import Access
from mineaction.reports.i18n import Formatter
from mineaction.reports.risk_section import SHOWN_META
from mineaction.services.risk_layer import RiskLayer

BOX = (-75.3, 6.0, -74.9, 6.4)
ANNUAL = "/api/v1/reports/annual"
HEADING = "Contamination-risk model"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A store of the AICMA events of a box east of Medellín; the model `risk train` saved
    from it; the layer `risk predict` wrote; and the same layer as written before the
    section's data was kept (no `report` column)."""
    from typer.testing import CliRunner

    from mineaction.cli import app
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file
    from mineaction.store import open_store

    folder = tmp_path_factory.mktemp("report-risk")
    store = folder / "store.gpkg"
    with open_store(store) as s:
        report = import_file(s, events_in(BOX, folder), mapping=load_mapping("aicma-events"))
        assert report.committed and not report.errors
    runner = CliRunner()
    model = folder / "model"
    trained = runner.invoke(app, ["risk", "train", "--store", str(store), "--within-km", "10",
                                  "--rounds", "20", "--num-leaves", "7", "--min-child", "20",
                                  "--out", str(model)])
    assert trained.exit_code == 0, trained.output
    layer = folder / "risk.gpkg"
    predicted = runner.invoke(app, ["risk", "predict", "--model", str(model), "--out", str(layer),
                                    "--bbox", ",".join(map(str, BOX)), "--cell-m", "2000",
                                    "--store", str(store)])
    assert predicted.exit_code == 0, predicted.output
    return {"store": store, "model": model, "layer": layer,
            "older": _without_report(layer, folder / "older.gpkg")}


def _without_report(layer: Path, out: Path) -> Path:
    """The layer as `risk predict` wrote it before it kept the section's data."""
    import sqlite3

    shutil.copy(layer, out)
    with sqlite3.connect(out) as db:
        db.execute("ALTER TABLE risk_model DROP COLUMN report")
    return out


@pytest.fixture
def store_location(made: dict[str, Path], tmp_path: Path) -> str:
    # a copy: signing users in writes to the store
    return str(shutil.copy(made["store"], tmp_path / "store.gpkg"))


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, made: dict[str, Path]
                       ) -> dict[str, Any]:
    layer = getattr(request, "param", "layer")
    return {} if layer is None else {"risk_layer": str(made[layer])}


def _section(html: str) -> str | None:
    found = re.search(r'<h2[^>]*id="risk-model".*?(?=<h2)', html, re.S)
    return found.group(0) if found else None


def test_the_annual_report_describes_the_servers_model(api: Any, made: dict[str, Path]
                                                       ) -> None:
    r = api.as_("viewer").get(ANNUAL, params={"year": 2014, "format": "html"})
    assert r.status_code == 200, r.text
    shown = _section(r.text)
    assert shown is not None and HEADING in shown
    manifest = json.loads((made["model"] / "manifest.json").read_text(encoding="utf-8"))
    saved = manifest["metrics"]["held_out"]["LightGBM"]
    text = " ".join(re.sub(r"<[^>]+>", " ", shown).split())
    fmt = Formatter("en")
    assert (f"This model {fmt.number(saved['roc_auc'], 3)} "
            f"{fmt.number(saved['average_precision'], 3)}") in text
    assert shown.count("<svg") + shown.count("<img") >= 2  # reliability and capture charts


def test_the_layer_keeps_what_the_section_reads(made: dict[str, Path]) -> None:
    viewer = Access(Principal(username="v", role=Role.viewer))
    kept = RiskLayer(made["layer"]).report_meta(viewer)
    assert kept is not None and set(kept) == set(SHOWN_META)
    assert "held_out_capture" in kept["metrics"]
    public = Access(Principal(username="p", role=Role.public))
    assert RiskLayer(made["layer"]).report_meta(public) is None
    assert RiskLayer(made["layer"]).report_meta(
        Access(public.principal, Policy(public_risk_layer=True))) == kept
    assert RiskLayer(made["older"]).report_meta(viewer) is None
    assert RiskLayer(None).report_meta(viewer) is None


@pytest.mark.parametrize("settings_overrides", ["older", None], indirect=True)
def test_without_the_models_data_the_report_comes_without_the_section(api: Any) -> None:
    r = api.as_("viewer").get(ANNUAL, params={"year": 2014, "format": "html"})
    assert r.status_code == 200, r.text
    assert _section(r.text) is None and HEADING not in r.text


def test_the_monthly_report_does_not_carry_it(api: Any) -> None:
    r = api.as_("viewer").get("/api/v1/reports/monthly",
                              params={"month": "2014-05", "format": "html"})
    assert r.status_code == 200, r.text
    assert _section(r.text) is None
