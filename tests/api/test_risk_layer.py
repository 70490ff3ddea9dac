"""The risk layer over the API (issue 19): GET /risk, /risk/cells?bbox=, /risk/cells/{id}
over a small GeoPackage in the fixed format of `mineaction risk predict`; who may see it
(access/visibility.py `may_see_risk`); files that are not risk layers give a clear 503,
never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from risk_fixture import (
    HORIZON,
    NX,
    NY,
    TOP_FEATURE,
    TRAINED_UNTIL,
    cell_id,
    make_risk_gpkg,
)

from mineaction.access import Access
from mineaction.access.roles import Policy, Principal, Role
from mineaction.analysis.risk.registry import spec_for
from mineaction.services.risk_layer import CAVEAT, RiskLayer, meaning

RISK = "/api/v1/risk"
SIGNED_IN = ("admin", "approver", "editor", "field", "viewer")
# Cells (0, 0), (1, 0), (0, 1), (1, 1): a bbox strictly inside their union.
BBOX = "-74.9995,6.0005,-74.9805,6.0195"


@pytest.fixture
def store_location(tmp_path: Path) -> str:
    # The risk layer is a file of its own, whatever the store: one store kind is enough.
    return str(tmp_path / "store.gpkg")


@pytest.fixture
def risk_gpkg(tmp_path: Path) -> Path:
    return make_risk_gpkg(tmp_path / "risk.gpkg")


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, risk_gpkg: Path, tmp_path: Path
                       ) -> dict[str, Any]:
    extra = dict(getattr(request, "param", {}))
    bad = extra.pop("bad", None)
    if bad is not None:  # a file that is not a risk layer (_bad_files)
        extra["risk_layer"] = str(_bad_files(tmp_path)[bad][0])
    return {"risk_layer": str(risk_gpkg), **extra}


def test_may_see_risk_reads_the_policy() -> None:
    for role in Role:
        who = Principal(username="x", role=role)
        assert Access(who).may_see_risk() is (role != Role.public)
        assert Access(who, Policy(public_risk_layer=True)).may_see_risk() is True


@pytest.mark.parametrize("role", SIGNED_IN)
def test_signed_in_roles_see_the_model(api: Any, role: str) -> None:
    r = api.as_(role).get(RISK)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["trained_until"] == TRAINED_UNTIL and body["horizon_years"] == HORIZON
    assert body["metrics"]["roc_auc"] == 0.81 and body["cells"] == NX * NY
    assert body["caveat"] == CAVEAT and body["created"].startswith("2026-12-01")
    assert api.as_(role).get(f"{RISK}/cells", params={"bbox": BBOX}).status_code == 200
    assert api.as_(role).get(f"{RISK}/cells/{cell_id(0, 0)}").status_code == 200


def test_the_public_is_refused_by_default(api: Any) -> None:
    for url in (RISK, f"{RISK}/cells?bbox={BBOX}", f"{RISK}/cells/{cell_id(0, 0)}"):
        r = api.public.get(url)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["code"] == "forbidden"
        assert "features" not in r.text and "reasons" not in r.text


@pytest.mark.parametrize("settings_overrides", [{"public_risk_layer": True}], indirect=True)
def test_the_public_sees_it_with_public_risk_layer(api: Any) -> None:
    assert api.public.get(RISK).status_code == 200
    assert len(api.public.get(f"{RISK}/cells", params={"bbox": BBOX}).json()["features"]) == 4
    assert api.public.get(f"{RISK}/cells/{cell_id(0, 0)}").status_code == 200


def test_cells_in_a_bbox(api: Any) -> None:
    r = api.as_("viewer").get(f"{RISK}/cells", params={"bbox": BBOX})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["aggregated"] is False
    ids = sorted(f["properties"]["cell_id"] for f in body["features"])
    assert ids == sorted([cell_id(0, 0), cell_id(1, 0), cell_id(0, 1), cell_id(1, 1)])
    f = body["features"][0]
    assert f["geometry"]["type"] == "Polygon"
    assert 0 < f["properties"]["probability"] < 1 and 0 <= f["properties"]["percentile"] < 100
    # Far from the grid: nothing.
    far = api.as_("viewer").get(f"{RISK}/cells", params={"bbox": "10,10,11,11"}).json()
    assert far["features"] == [] and far["count"] == 0
    # The whole grid.
    whole = api.as_("viewer").get(f"{RISK}/cells", params={"bbox": "-76,5,-74,7"}).json()
    assert len(whole["features"]) == NX * NY


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,10,5,5", "-200,0,0,0", ""])
def test_a_bad_bbox_is_422(api: Any, bbox: str) -> None:
    r = api.as_("viewer").get(f"{RISK}/cells", params={"bbox": bbox})
    assert r.status_code == 422, r.text


def test_too_many_cells_come_as_blocks(risk_gpkg: Path) -> None:
    layer = RiskLayer(risk_gpkg, max_cells=10)
    admin = Access(Principal(username="a", role=Role.admin))
    body = layer.cells(admin, (-76.0, 5.0, -74.0, 7.0))
    assert body["aggregated"] is True and body["count"] == NX * NY
    assert 0 < len(body["features"]) <= 10
    assert sum(f["properties"]["cells"] for f in body["features"]) == NX * NY
    # A block shows the highest probability of its cells: the hottest cell is not hidden.
    highest = max(f["properties"]["probability"] for f in body["features"])
    assert highest == pytest.approx(NX * NY / (NX * NY + 1))
    assert "zoom in" in body["note"]
    # Panning keeps the blocks where they were (they sit on a fixed grid of degrees).
    again = layer.cells(admin, (-75.9, 5.1, -73.9, 7.1))
    assert again["block_degrees"] == body["block_degrees"]
    assert ([f["geometry"] for f in again["features"]]
            == [f["geometry"] for f in body["features"]])
    # Zoomed in further, smaller blocks; close enough, the cells themselves.
    assert layer.cells(admin, (-75.0, 6.0, -74.9, 6.05))["block_degrees"] < 1
    assert layer.cells(admin, (-75.0, 6.0, -74.985, 6.015))["aggregated"] is False


def test_a_cells_explanation(api: Any) -> None:
    r = api.as_("field").get(f"{RISK}/cells/{cell_id(3, 2)}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cell_id"] == cell_id(3, 2)
    assert body["lon"] == pytest.approx(-75.0 + 3 * 0.01 + 0.005)
    reasons = body["reasons"]
    assert [x["feature"] for x in reasons][0] == TOP_FEATURE and len(reasons) == 5
    spec = spec_for(TOP_FEATURE)
    assert spec is not None and spec.description in reasons[0]["meaning"]
    assert "kind: accident" in reasons[0]["meaning"]
    assert reasons[0]["direction"] == "raises" and reasons[0]["contribution"] > 0
    by_name = {x["feature"]: x for x in reasons}
    assert by_name["years_since_find_10km"]["direction"] == "lowers"
    assert "r = 10 km" in by_name["years_since_find_10km"]["meaning"]
    # Largest absolute contribution first.
    sizes = [abs(x["contribution"]) for x in reasons]
    assert sizes == sorted(sizes, reverse=True)
    assert api.as_("field").get(f"{RISK}/cells/999999").status_code == 404


def test_meanings_come_from_the_registry() -> None:
    spec = spec_for("cov_roads_km")
    assert spec is not None
    assert meaning("cov_roads_km").startswith(spec.description)
    assert meaning("wcount_any_5km").endswith("(all kinds of event, r = 5 km)")
    assert meaning("not_a_feature") == "not a feature"


@pytest.mark.parametrize("settings_overrides", [{"risk_layer": None}], indirect=True)
def test_no_layer_configured_is_404(api: Any) -> None:
    r = api.as_("admin").get(RISK)
    assert r.status_code == 404 and "risk_layer" in r.json()["message"]
    assert api.as_("admin").get(f"{RISK}/cells", params={"bbox": BBOX}).status_code == 404
    # The public learns nothing about whether one is configured.
    assert api.public.get(RISK).status_code == 403


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    import numpy as np
    import shapely
    from pyogrio.raw import write

    garbage = tmp / "garbage.gpkg"
    garbage.write_bytes(b"this is not a GeoPackage\x00" * 100)
    other = tmp / "other.gpkg"
    write(str(other), np.array([shapely.to_wkb(shapely.box(0, 0, 1, 1))], dtype=object),
          [np.array([1], dtype=np.int64)], ["cell_id"], layer="risk_cells", driver="GPKG",
          crs="EPSG:4326", geometry_type="Polygon")
    return {"garbage": (garbage, "cannot be read"), "missing": (tmp / "nope.gpkg", "no such"),
            "no model": (other, "risk_model")}


@pytest.mark.parametrize("settings_overrides", [
    {"bad": case, "public_risk_layer": True} for case in ("garbage", "missing", "no model")],
    indirect=True, ids=["garbage", "missing", "no model"])
def test_a_file_that_is_not_a_risk_layer_is_a_clear_error(
        api: Any, settings_overrides: dict[str, Any], tmp_path: Path) -> None:
    path = Path(settings_overrides["risk_layer"])
    words = {p.name: w for p, w in _bad_files(tmp_path).values()}[path.name]
    for client in (api.public, api.as_("viewer")):
        for url in (RISK, f"{RISK}/cells?bbox={BBOX}", f"{RISK}/cells/1"):
            r = client.get(url)
            assert r.status_code == 503, (url, r.status_code, r.text)
            body = r.json()
            assert body["code"] == "unavailable" and words in body["message"], body
            assert path.name in body["message"] and "Traceback" not in r.text
            assert str(path.parent) not in r.text  # the server's folders stay its own


def test_missing_columns_are_named(tmp_path: Path) -> None:
    import numpy as np
    import shapely
    from pyogrio.raw import write

    from mineaction.services.risk_layer import RiskLayerUnavailable

    path = tmp_path / "few.gpkg"
    write(str(path), np.array([shapely.to_wkb(shapely.box(0, 0, 1, 1))], dtype=object),
          [np.array([1], dtype=np.int64), np.array([0.5])], ["cell_id", "probability"],
          layer="risk_cells", driver="GPKG", crs="EPSG:4326", geometry_type="Polygon")
    write(str(path), None, [np.array([2018.0])], ["trained_until"], layer="risk_model",
          driver="GPKG")
    admin = Access(Principal(username="a", role=Role.admin))
    with pytest.raises(RiskLayerUnavailable, match="raw_score, percentile, why, lon, lat"):
        RiskLayer(path).model(admin)


def test_a_new_file_is_read_again(tmp_path: Path) -> None:
    import os

    path = make_risk_gpkg(tmp_path / "r.gpkg")
    layer = RiskLayer(path)
    admin = Access(Principal(username="a", role=Role.admin))
    assert layer.model(admin)["cells"] == NX * NY
    path.unlink()
    path.write_bytes(b"garbage")
    os.utime(path, ns=(1, 1))
    from mineaction.services.risk_layer import RiskLayerUnavailable

    with pytest.raises(RiskLayerUnavailable):
        layer.model(admin)


def test_no_server_errors_on_the_risk_endpoints(api: Any) -> None:
    """schemathesis over the risk operations, with a layer configured (the suite-wide run,
    test_api_schemathesis.py, has none and so only reaches the 404)."""
    admin = api.as_("admin")
    schema = schemathesis.openapi.from_dict(admin.get("/api/v1/openapi.json").json())
    token = admin.http.headers["Authorization"]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path != RISK and not operation.path.startswith(f"{RISK}/"):
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @hsettings(max_examples=25, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck),
                   phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        def run(case: Any) -> None:
            kw = case.as_transport_kwargs(base_url="http://testserver",
                                          headers={"Authorization": token})
            method, url = kw.pop("method"), kw.pop("url")
            for k in ("cookies", "timeout", "verify", "allow_redirects", "follow_redirects"):
                kw.pop(k, None)
            if isinstance(kw.get("data"), bytes | str):
                kw["content"] = kw.pop("data")
            response = admin.request(method, url.replace("http://testserver", ""), **kw)
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code} {response.text[:200]}")

        run()
    assert operations == 3
    assert not failures, "\n".join(failures[:20])


def test_reads_what_risk_predict_writes(tmp_path: Path) -> None:
    """The contract with `mineaction risk predict`: the file analysis/risk/outputs.py
    writes is the one this layer reads, cells, reasons and model alike."""
    import json

    import numpy as np
    import pandas as pd

    from mineaction.analysis.risk.grid import over_bbox
    from mineaction.analysis.risk.outputs import write_geopackage

    g = over_bbox(-75.0, 6.0, -74.95, 6.03, 1000.0)
    n = len(g)
    raw = np.linspace(-4, 1, n)
    scores = pd.DataFrame({"probability": 1 / (1 + np.exp(-raw)), "raw": raw,
                           "why": [json.dumps({"count_accident_5km": 0.9,
                                               "dist_hazard_km": -0.3})] * n})
    path = write_geopackage(tmp_path / "predicted.gpkg", g, scores, {
        "trained_until": 2015.0, "horizon_years": 3.0, "cutoff": 2015.0, "cell_m": 1000.0,
        "created": "2026-12-06T09:00:00+00:00", "features": ["count_accident_5km"],
        "metrics": {"roc_auc": 0.7}, "model_format": 1})
    layer = RiskLayer(path)
    viewer = Access(Principal(username="v", role=Role.viewer))
    model = layer.model(viewer)
    assert model["trained_until"] == 2015.0 and model["cells"] == n
    cells = layer.cells(viewer, (-75.1, 5.9, -74.9, 6.1))
    assert len(cells["features"]) == n
    top = max(cells["features"], key=lambda f: f["properties"]["probability"])
    why = layer.explain(viewer, top["properties"]["cell_id"])
    assert [r["direction"] for r in why["reasons"]] == ["raises", "lowers"]
    assert why["percentile"] == max(f["properties"]["percentile"] for f in cells["features"])
