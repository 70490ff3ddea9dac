"""The map's Risk layer in Chromium (issue 19): a signed-in user toggles it, sees the cells
coloured, clicks one and reads its probability and the model's reasons in plain language;
the public is not offered the layer (access/visibility.py may_see_risk)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from map_steps import jump, map_ready
from risk_fixture import NX, NY, SIDE, TOP_FEATURE, X0, Y0, cell_id, make_risk_gpkg  # noqa: E402

from mineaction.services.risk_layer import CAVEAT, MAX_CELLS, meaning  # noqa: E402


@pytest.fixture(scope="module")
def risk_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """MINEACTION_RISK_LAYER names a risk GeoPackage while this module's server is built
    (its settings read the environment)."""
    risk = make_risk_gpkg(tmp_path_factory.mktemp("web-risk") / "risk.gpkg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINEACTION_RISK_LAYER", str(risk))
        yield risk


@pytest.fixture(scope="module")
def live(risk_env: Path, live: Any) -> Any:
    """The web's live server (tests/web/conftest.py), showing the risk layer."""
    assert live.services.risk_layer.path == risk_env
    return live


def screenshot(page: Any, name: str, tmp: Path) -> None:
    """Kept with the test's files; copied into docs/screenshots/ when
    MINEACTION_SCREENSHOTS=1, as tests/web/test_web_e2e.py does."""
    path = tmp / name
    page.screenshot(path=str(path))
    if os.environ.get("MINEACTION_SCREENSHOTS") == "1":
        shots = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, shots / name)




def test_toggle_the_layer_and_read_a_cells_reasons(new_page: Any, live: Any,
                                                   tmp_path: Path) -> None:
    page = new_page()
    live.login(page, "viewer")
    page.goto(live.url + "/")
    map_ready(page)
    legend = page.locator("#risk-legend")
    assert legend.is_hidden()
    # Over the fixture grid, close enough to see its cells.
    centre = (X0 + NX * SIDE / 2, Y0 + NY * SIDE / 2)
    jump(page, *centre, 13)
    loads = page.evaluate("window.__risk.loads")
    page.get_by_label("Risk (model estimate)").check()
    page.wait_for_function(f"window.__risk.loads > {loads} && !window.__map.isMoving()",
                           polling=100)
    assert legend.is_visible()
    assert CAVEAT in legend.inner_text()
    assert "Trained until 2018" in legend.inner_text() and "horizon 2 years" in legend.inner_text()
    assert page.evaluate("window.__risk.aggregated") is False
    assert page.evaluate("window.__risk.count") == NX * NY
    page.wait_for_function("window.__map.queryRenderedFeatures({layers: ['risk-fill']})"
                           ".length > 0", polling=100)
    # Click the middle of cell (3, 2).
    x, y = X0 + 3.5 * SIDE, Y0 + 2.5 * SIDE
    xy = page.evaluate("([x, y]) => window.__map.project([x, y])", [x, y])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    panel = page.locator("#risk-panel")
    panel.locator(".reason").first.wait_for()
    assert page.evaluate("window.__risk.opened") == cell_id(3, 2)
    first = panel.locator(".reason").first
    assert meaning(TOP_FEATURE) in first.inner_text()
    assert "Raises the risk" in first.inner_text()
    assert panel.locator(".reason.lowers").count() == 2
    assert "%" in panel.locator(".risk-probability").inner_text()
    assert "higher than" in panel.locator(".risk-percentile").inner_text()
    # The bar of the top reason is the longest.
    widths = panel.locator(".reason-bar span").evaluate_all(
        "spans => spans.map(s => s.getBoundingClientRect().width)")
    assert widths[0] == max(widths) and min(widths) > 0
    screenshot(page, "risk-layer.png", tmp_path)
    page.get_by_role("button", name="Close the risk explanation").click()
    assert panel.is_hidden()
    # Toggled off, the cells go and the legend with them.
    page.get_by_label("Risk (model estimate)").uncheck()
    assert legend.is_hidden()
    assert page.evaluate("window.__map.getLayoutProperty('risk-fill', 'visibility')") == "none"
    assert not page.js_errors, page.js_errors


def test_the_public_is_not_offered_the_layer(new_page: Any, live: Any) -> None:
    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)
    assert page.locator("#risk-toggle").count() == 0
    assert page.locator("#risk-legend").count() == 0
    assert page.locator("script[src$='risk.js']").count() == 0
    r = page.request.get(live.url + f"/api/v1/risk/cells?bbox={X0},{Y0},{X0 + 1},{Y0 + 1}")
    assert r.status == 403
    assert not page.js_errors, page.js_errors


def test_zoomed_out_the_cells_come_as_blocks(new_page: Any, live: Any) -> None:
    layer = live.services.risk_layer
    layer.max_cells = 10  # the fixture's 50 cells are then "too many"
    try:
        page = new_page()
        live.login(page, "approver")
        page.goto(live.url + "/")
        map_ready(page)
        jump(page, X0 + NX * SIDE / 2, Y0 + NY * SIDE / 2, 9)
        page.get_by_label("Risk (model estimate)").check()
        page.wait_for_function("window.__risk.loads > 0", polling=100)
        assert page.evaluate("window.__risk.aggregated") is True
        assert "zoom in" in page.locator("#risk-status").inner_text()
        assert page.locator("#risk-panel").is_hidden()
        assert not page.js_errors, page.js_errors
    finally:
        layer.max_cells = MAX_CELLS
