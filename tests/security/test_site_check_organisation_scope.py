"""A signed-in site check (issue 20) reads through the asker's access like every other
read: with cross-organisation visibility off, a viewer of one organisation must not learn
of another organisation's hazard near the site, by the point check's fast lane on the
event loop (GET) or by the POST route (a plot), though an administrator's
check of the same site lists it."""

from __future__ import annotations

import pytest
from api_helpers import ORG, OTHER_ORG, Api
from shapely.geometry import box, mapping

from mineaction.domain.models import Hazard

LON, LAT = -75.0, 6.0


@pytest.mark.parametrize("settings_overrides", [{"cross_organisation_visibility": False}])
def test_a_viewer_checks_a_site_without_another_organisations_hazard(api: Api) -> None:
    store = api.services.store
    ours = store.add(Hazard(name="Ours", hazard_kind="CHA", hazard_status="open",
                            organisation_id=ORG, geometry=box(LON, LAT, LON + 0.002, LAT + 0.002),
                            dataset="s", external_id="h1", status="approved"))
    theirs = store.add(Hazard(name="Secret field", hazard_kind="SHA", hazard_status="open",
                              organisation_id=OTHER_ORG,
                              geometry=box(LON, LAT, LON + 0.001, LAT + 0.001),
                              dataset="s", external_id="h2", status="approved"))
    point = f"/api/v1/site-check?lon={LON + 0.0005}&lat={LAT + 0.0005}"
    plot = {"geometry": mapping(box(LON, LAT, LON + 0.0008, LAT + 0.0008))}

    admin = api.as_("admin")
    for r in (admin.get(point), admin.post("/api/v1/site-check", json=plot)):
        assert r.status_code == 200, r.text
        assert {h["id"] for h in r.json()["hazards"]} == {str(ours.id), str(theirs.id)}

    viewer = api.as_("viewer", name="viewer-org", org=ORG)
    assert viewer.get(f"/api/v1/hazards/{theirs.id}").status_code == 404
    for r in (viewer.get(point), viewer.post("/api/v1/site-check", json=plot)):
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["hazards"]] == [str(ours.id)]
        assert r.json()["records_used"]["hazard"] == [str(ours.id)]
        assert str(theirs.id) not in r.text and "Secret field" not in r.text
