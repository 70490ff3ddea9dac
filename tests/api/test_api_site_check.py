"""Site checks over the API (issue 20), on both stores: a point by GET, a plot by POST,
the public answered from approved records only (no minefield records, accident places
generalised and said to be), and bad sites refused with the field named."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Api
from pyproj import Geod
from risk_fixture import cell_id, make_risk_gpkg
from shapely.geometry import Point, box, mapping

from mineaction.domain.models import Accident, Hazard, MinefieldRecord
from mineaction.store import Store

GEOD = Geod(ellps="WGS84")
LON, LAT = -75.0, 6.0
PLOT = box(LON, LAT, LON + 0.001, LAT + 0.001)


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """The server shows a risk layer (tests/api/risk_fixture.py: cells over -75..-74.9,
    6..6.05), so site checks there carry its score for those who may see it."""
    return {"risk_layer": str(make_risk_gpkg(tmp_path / "risk.gpkg"))}


def _east(metres: float) -> Point:
    x, y, _ = GEOD.fwd(LON + 0.0005, LAT + 0.0005, 90.0, metres)
    return Point(x, y)


def _seed(store: Store) -> dict[str, str]:
    def key(n: int, status: str = "approved") -> dict[str, str]:
        return {"dataset": "t", "external_id": f"x{n}", "status": status}

    hz = store.add(Hazard(name="H-1", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON + 0.0005, LAT, LON + 0.002, LAT + 0.001), **key(1)))
    draft = store.add(Hazard(name="H-draft", hazard_kind="SHA", hazard_status="open",
                             geometry=_east(200).buffer(0.0002), **key(2, "draft")))
    mf = store.add(MinefieldRecord(name="MF-1", geometry=box(LON, LAT, LON + 0.0004,
                                                             LAT + 0.0004), **key(3)))
    acc = store.add(Accident(accident_date=date(2014, 3, 2), geometry=_east(1000),
                             accident_kind="mine", **key(4)))
    return {"hazard": str(hz.id), "draft": str(draft.id), "mf": str(mf.id),
            "accident": str(acc.id)}


def test_a_plot_posted_by_an_editor(api: Api) -> None:
    ids = _seed(api.services.store)
    r = api.as_("editor").post("/api/v1/site-check", json={
        "geometry": mapping(PLOT), "buffer_m": 500, "nearby_m": 2000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [h["id"] for h in body["hazards"]] == [ids["hazard"], ids["draft"]]
    assert body["hazards"][0]["share_of_site"] == 0.5
    assert body["minefield_records"][0]["id"] == ids["mf"]
    assert body["accidents"]["count"] == 1
    a = _east(1000)
    edge = GEOD.inv(LON + 0.001, a.y, a.x, a.y)[2]  # from the plot's east edge
    assert abs(body["accidents"]["nearest_m"] - edge) < 0.5
    assert body["generalised"] == {}
    assert "free of explosive ordnance" in body["caveat"]
    assert any("H-1" in line for line in body["findings"])


def test_the_public_gets_approved_records_and_is_told_what_is_approximate(api: Api) -> None:
    ids = _seed(api.services.store)
    r = api.public.get("/api/v1/site-check", params={"lon": LON + 0.0005,
                                                     "lat": LAT + 0.0005})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [h["id"] for h in body["hazards"]] == [ids["hazard"]]  # no draft
    assert body["minefield_records"] == []  # the public sees the hazard, not the record
    assert body["generalised"] == {"accident": 1}
    assert ids["draft"] not in str(body) and ids["mf"] not in str(body)
    assert any("rounded to 0.1°" in line for line in body["findings"])


def test_bad_sites_are_refused_with_the_field_named(api: Api) -> None:
    r = api.public.post("/api/v1/site-check", json={"geometry": {"type": "Pointy"}})
    assert r.status_code == 422
    assert "geometry" in r.text
    r = api.public.post("/api/v1/site-check", json={
        "geometry": mapping(box(-76, 5, -74, 7))})  # a region, not a site
    assert r.status_code == 422 and "larger than" in r.text
    r = api.public.get("/api/v1/site-check", params={"lon": 200, "lat": 6})
    assert r.status_code == 422
    r = api.public.post("/api/v1/site-check", json={
        "geometry": mapping(PLOT), "buffer_m": 1e9})
    assert r.status_code == 422


def test_the_risk_layer_score_joins_the_findings_for_who_may_see_it(api: Api) -> None:
    # the fixture's cell (2, 1) spans -74.98..-74.97, 6.01..6.02
    params = {"lon": -74.975, "lat": 6.015}
    body = api.as_("editor").get("/api/v1/site-check", params=params).json()
    assert body["risk"]["cell_id"] == cell_id(2, 1)
    assert body["risk"]["trained_until"] == 2018.0
    assert any("Modelled contamination risk here" in x for x in body["findings"])
    public = api.public.get("/api/v1/site-check", params=params).json()
    assert public["risk"] is None  # the layer's rule: not for the public
    assert not any("Modelled" in x for x in public["findings"])
