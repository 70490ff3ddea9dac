"""Saved priority lists and season plans (issue 20) shown to someone who sees less than
their author: with cross-organisation visibility off, a viewer of another organisation
reads a list an administrator built over every organisation's hazards. The list must not
hand it the other organisation's hazards (names, ids, indicator values): it sees only
the hazards its access allows, and how many were left out."""

from __future__ import annotations

import pytest
from api_helpers import ORG, OTHER_ORG, Api
from shapely.geometry import box

from mineaction.domain.models import Hazard


@pytest.mark.parametrize("settings_overrides", [{"cross_organisation_visibility": False}])
def test_another_organisation_reads_a_list_without_the_hazards_it_cannot_see(
        api: Api) -> None:
    store = api.services.store
    ours = store.add(Hazard(name="Ours", hazard_kind="CHA", organisation_id=ORG,
                            geometry=box(-75.0, 6.0, -74.999, 6.001), dataset="s",
                            external_id="h1", status="approved"))
    theirs = store.add(Hazard(name="Secret field", hazard_kind="CHA",
                              organisation_id=OTHER_ORG,
                              geometry=box(-75.1, 6.0, -75.099, 6.001), dataset="s",
                              external_id="h2", status="approved"))
    built = api.as_("admin").post("/api/v1/priorities", json={"preset": "equal"})
    assert built.status_code == 200, built.text
    assert {h["hazard_id"] for h in built.json()["hazards"]} == {str(ours.id), str(theirs.id)}

    # A viewer of ORG, which cannot open OTHER_ORG's hazard record by record ...
    viewer = api.as_("viewer", name="viewer-org", org=ORG)
    assert viewer.get(f"/api/v1/hazards/{theirs.id}").status_code == 404
    # ... reads the saved list without it, told how many were left out.
    r = viewer.get(f"/api/v1/priorities/{built.json()['id']}")
    assert r.status_code == 200, r.text
    assert [h["hazard_id"] for h in r.json()["hazards"]] == [str(ours.id)]
    assert r.json()["hidden"] == 1
    assert str(theirs.id) not in r.text and "Secret field" not in r.text
    sens = viewer.get(f"/api/v1/priorities/{built.json()['id']}/sensitivity")
    assert sens.status_code == 200
    assert str(theirs.id) not in sens.text and "Secret field" not in sens.text
