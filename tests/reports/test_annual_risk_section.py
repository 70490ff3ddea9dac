# SPDX-License-Identifier: GPL-3.0-or-later
"""The annual report's contamination-risk model section (issue 19): a tiny model trained by
the risk service on the AICMA events of a 45 x 45 km box east of Medellín, and the annual
report of 2014 rendered with its saved meta: the section, its table's figures (those the
meta holds), its two charts; absent without a model and for a reader who may not see the
risk layer; translated; drawn from what an older model saved (no full capture curve)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from aicma_box import events_in  # noqa: E402

from mineaction.access.roles import PUBLIC, Policy, Principal, Role
from mineaction.access.visibility import Access
from mineaction.analysis.jsonable import jsonable
from mineaction.analysis.risk.features import FeatureConfig
from mineaction.reports.i18n import Formatter
from mineaction.reports.render import render, render_html
from mineaction.services.risk import CAPTURE_AREAS, Risk, TrainParams
from mineaction.store import Store, open_store

BOX = (-75.3, 6.0, -74.9, 6.4)
SMALL = TrainParams(rounds=20, num_leaves=7, min_child=20)
ADMIN = Principal(username="cli:test", role=Role.admin, user_id="cli:test")
VIEWER = Access(Principal(username="viewer", role=Role.viewer, user_id="viewer"))
HEADING = "Contamination-risk model"
DISTANCE = "baseline: distance to nearest past event"
COUNT = "baseline: past events within 5 km"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file

    folder = tmp_path_factory.mktemp("risk-report")
    sliced = events_in(BOX, folder)
    s = open_store(folder / "store.gpkg")
    report = import_file(s, sliced, mapping=load_mapping("aicma-events"))
    assert report.committed and not report.errors
    yield s
    s.close()


@pytest.fixture(scope="module")
def meta(store: Store) -> dict[str, Any]:
    """The meta `risk train` saves, as its manifest holds it (JSON, read back)."""
    trained = Risk(store, Policy()).train(ADMIN, FeatureConfig(), within_km=10, params=SMALL)
    saved = dict(trained.meta)
    saved.pop("config")  # saved beside the manifest as features.yaml, not in it
    return dict(json.loads(json.dumps(jsonable(saved))))


def section(html: str) -> str:
    """The risk model section's HTML: from its heading to the next h2."""
    found = re.search(r'<h2[^>]*id="risk-model".*?(?=<h2)', html, re.S)
    assert found, "no risk model section"
    return found.group(0)


def test_training_saves_the_held_out_capture_curve(meta: dict[str, Any]) -> None:
    curves = meta["metrics"]["held_out_capture"]
    assert curves["area"] == list(CAPTURE_AREAS)
    assert set(curves) == {"area", "LightGBM", DISTANCE, COUNT}
    # the curve passes through the shares `evaluate` saved, and ends with every event
    at5 = min(range(len(CAPTURE_AREAS)), key=lambda i: abs(CAPTURE_AREAS[i] - 0.05))
    assert curves["LightGBM"][at5] == pytest.approx(
        meta["metrics"]["held_out"]["LightGBM"]["top_5pct_events"])
    assert curves[COUNT][-1] == pytest.approx(1.0)
    assert meta["metrics"]["held_out_block_m"] == 20_000.0


def test_the_annual_report_describes_the_model(store: Store, meta: dict[str, Any]) -> None:
    html = render_html(store, "annual", year=2014, risk_model=meta, reader=VIEWER)
    part = section(html)
    assert HEADING in part
    assert "not a survey" in part and "No place is declared safe by this model." in part
    fmt = Formatter("en")
    m = meta["metrics"]
    assert (f"events recorded before {meta['trained_until']:g}" in part
            and f"features from the events before {meta['feature_cutoff']:g}" in part)
    assert fmt.number(meta["events"]) in part and fmt.number(m["cells"]) in part
    assert f"next {meta['horizon_years']:g} years" in part
    assert "Blocks of 20 km" in part and fmt.number(m["held_out_cells"]) in part
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", part, re.S)
    assert [re.sub("<.*?>", "", name) for name, _ in rows] == [
        "This model", "Baseline: distance to the nearest past event",
        "Baseline: past events within 5 km"]
    for (_, cells), name in zip(rows, ("LightGBM", DISTANCE, COUNT), strict=True):
        saved = m["held_out"][name]
        expected = [fmt.number(saved["roc_auc"], 3), fmt.number(saved["average_precision"], 3),
                    *(fmt.pct(100 * saved[f"top_{k}pct_events"]) for k in (1, 5, 10))]
        assert re.findall(r'<td class="n">(.*?)</td>', cells) == expected
    charts = re.findall(r'<img class="chart" src="data:image/svg\+xml;base64,[^"]+" '
                        r'alt="([^"]+)"', part)
    assert charts == ["Reliability diagram", "Capture curve"]


def test_no_model_no_section(store: Store) -> None:
    html = render_html(store, "annual", year=2014, reader=VIEWER)
    assert HEADING not in html and 'id="risk-model"' not in html


def test_a_reader_who_may_not_see_the_risk_layer_gets_no_section(
        store: Store, meta: dict[str, Any]) -> None:
    for reader in (Access(PUBLIC), None):
        html = render_html(store, "annual", year=2014, risk_model=meta, reader=reader)
        assert HEADING not in html and 'id="risk-model"' not in html
    # the layer's own rule decides: with the public risk layer on, the public sees it
    shown = render_html(store, "annual", year=2014, risk_model=meta,
                        reader=Access(PUBLIC, Policy(public_risk_layer=True)))
    assert HEADING in section(shown)


def test_the_section_speaks_spanish(store: Store, meta: dict[str, Any]) -> None:
    part = section(render_html(store, "annual", year=2014, lang="es", risk_model=meta,
                               reader=VIEWER))
    assert "Modelo de riesgo de contaminación" in part and HEADING not in part
    assert "Este modelo" in part and "Curva de captura" in part
    assert Formatter("es").number(meta["metrics"]["held_out"]["LightGBM"]["roc_auc"], 3) in part


def test_no_english_is_left_in_the_arabic_section(store: Store, meta: dict[str, Any]) -> None:
    part = section(render_html(store, "annual", year=2014, lang="ar", risk_model=meta,
                               reader=VIEWER))
    assert "نموذج خطر التلوث" in part
    for english in (HEADING, "This model", "Baseline", "not a survey", "No place is declared",
                    "Held-out blocks", "Average precision", "Reliability diagram"):
        assert english not in part, english


def test_an_older_model_without_the_curve_still_gets_its_section(
        store: Store, meta: dict[str, Any]) -> None:
    older = copy.deepcopy(meta)
    del older["metrics"]["held_out_capture"], older["metrics"]["held_out_block_m"]
    part = section(render_html(store, "annual", year=2014, risk_model=older, reader=VIEWER))
    assert "Blocks of" not in part
    assert re.findall(r'<img class="chart" [^>]*alt="([^"]+)"', part) == [
        "Reliability diagram", "Capture curve"]
    # a model whose blocks held no event cell: said so, no table, no charts
    unmeasured = copy.deepcopy(older)
    unmeasured["metrics"].pop("held_out")
    part = section(render_html(store, "annual", year=2014, risk_model=unmeasured,
                               reader=VIEWER))
    assert "was not measured on held-out blocks" in part and "<img" not in part


def test_other_reports_ignore_the_model(store: Store, meta: dict[str, Any]) -> None:
    html = render_html(store, "monthly", month="2014-06", risk_model=meta, reader=VIEWER)
    assert HEADING not in html


def test_the_pdf_carries_the_section(store: Store, meta: dict[str, Any], tmp_path: Path,
                                     poppler: None) -> None:
    out = render(store, "annual", tmp_path / "annual.pdf", year=2014, risk_model=meta,
                 reader=VIEWER)
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    saved = meta["metrics"]["held_out"]["LightGBM"]
    fmt = Formatter("en")
    assert HEADING in text and "No place is declared safe by this model." in text
    assert (f"This model {fmt.number(saved['roc_auc'], 3)} "
            f"{fmt.number(saved['average_precision'], 3)}") in text


def test_report_command_shows_a_model_directory(store: Store, tmp_path: Path) -> None:
    """`mineaction report annual --risk-model DIR` reads the model `risk train --out`
    wrote and describes it; a directory that is not a model is refused by name."""
    from typer.testing import CliRunner

    from mineaction.cli import app

    runner = CliRunner()
    model_dir = tmp_path / "model"
    trained = runner.invoke(app, ["risk", "train", "--store", str(store.location),
                                  "--within-km", "10", "--rounds", "20", "--num-leaves", "7",
                                  "--min-child", "20", "--out", str(model_dir)])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "annual.html"
    made = runner.invoke(app, ["report", "annual", str(out), "--year", "2014",
                               "--risk-model", str(model_dir), "--store", str(store.location)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    shown = section(out.read_text(encoding="utf-8"))
    assert HEADING in shown
    assert f"{manifest['metrics']['held_out_cells']:,}" in shown \
        or str(manifest["metrics"]["held_out_cells"]) in shown
    without = runner.invoke(app, ["report", "annual", str(tmp_path / "plain.html"),
                                  "--year", "2014", "--store", str(store.location)])
    assert without.exit_code == 0 and HEADING not in (tmp_path / "plain.html").read_text(
        encoding="utf-8")
    wrong = runner.invoke(app, ["report", "annual", str(tmp_path / "x.html"), "--year",
                                "2014", "--risk-model", str(tmp_path), "--store",
                                str(store.location)])
    assert wrong.exit_code == 2 and "--risk-model" in wrong.output
    assert not (tmp_path / "x.html").exists()
