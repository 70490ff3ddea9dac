"""The risk layer (issue 19) as an attacker sees it: a fine risk grid is computed from exact
accident locations, which the public only sees generalised, so a hot cell would point at
where an accident happened. Each test is an attempt to get the grid without the right to
(access/visibility.py `may_see_risk`), and what it gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from risk_fixture import NX, NY, SIDE, X0, Y0, cell_id, make_risk_gpkg

RISK = "/api/v1/risk"
WHOLE = f"{X0},{Y0},{X0 + NX * SIDE},{Y0 + NY * SIDE}"


@pytest.fixture
def store_location(tmp_path: Path) -> str:
    return str(tmp_path / "store.gpkg")


# What the layer keeps of the model for the annual report, with a figure to look for.
HELD_OUT_AUC = 0.8123
REPORT_META = {"trained_until": 2018.0, "feature_cutoff": 2013.0, "horizon_years": 5.0,
               "cell_m": 1000.0, "events": 321, "created": "2026-12-01T10:00:00+00:00",
               "metrics": {"cells": 50, "positive_cells": 7, "held_out_cells": 20,
                           "held_out": {"LightGBM": {"roc_auc": HELD_OUT_AUC,
                                                     "average_precision": 0.2345}}}}


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"risk_layer": str(make_risk_gpkg(tmp_path / "risk.gpkg", report=REPORT_META))}


def test_public_cannot_fetch_the_risk_cells(api: Any) -> None:
    r = api.public.get(f"{RISK}/cells", params={"bbox": WHOLE})
    assert r.status_code == 403 and "features" not in r.json()


def test_public_cannot_read_a_cells_reasons_by_guessing_its_id(api: Any) -> None:
    for iy in range(NY):
        r = api.public.get(f"{RISK}/cells/{cell_id(0, iy)}")
        assert r.status_code == 403 and "reasons" not in r.json()


def test_public_cannot_learn_the_model_or_its_cell_count(api: Any) -> None:
    r = api.public.get(RISK)
    assert r.status_code == 403
    assert "trained_until" not in r.text and str(NX * NY) not in r.text


def test_public_cannot_get_blocks_by_zooming_out(api: Any) -> None:
    # The aggregated answer (blocks with each one's hottest cell) is the same grid coarser.
    r = api.public.get(f"{RISK}/cells", params={"bbox": "-180,-90,180,90"})
    assert r.status_code == 403


def test_public_map_page_does_not_offer_or_leak_the_layer(api: Any) -> None:
    page = api.public.get("/")
    assert page.status_code == 200
    assert "risk-toggle" not in page.text and "risk.js" not in page.text
    assert "trained until" not in page.text.lower()
    # The same page for a signed-in viewer offers it: the difference is the rule's.
    assert "risk-toggle" in api.browser("viewer").get("/").text


def test_a_revoked_token_is_not_the_public_and_not_let_in(api: Any) -> None:
    client = api.as_("viewer")
    assert client.get(RISK).status_code == 200
    token = client.http.headers["Authorization"].removeprefix("Bearer ")
    api.services.users.revoke(token)
    assert client.get(f"{RISK}/cells", params={"bbox": WHOLE}).status_code == 401


def test_public_cannot_read_the_model_in_the_annual_report(api: Any) -> None:
    """The annual report shows the layer's model (`risk_model.report`) to whoever may see
    the layer: the public gets no report at all, so nothing of the model either."""
    annual = "/api/v1/reports/annual"
    params = {"year": 2014, "format": "html"}
    shown = api.as_("viewer").get(annual, params=params)
    assert shown.status_code == 200 and "0.812" in shown.text  # the rule's difference
    for client in (api.public, api.anonymous()):
        r = client.get(annual, params=params)
        assert r.status_code == 401 and "0.812" not in r.text
        assert "Contamination-risk model" not in r.text
