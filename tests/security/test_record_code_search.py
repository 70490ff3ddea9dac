# SPDX-License-Identifier: GPL-3.0-or-later
"""Record codes are numbers anyone can count through (issue 21, 5): typing codes one
after another must find no record the asker could not open, neither another
organisation's nor, for the public, an unapproved one."""

from __future__ import annotations

import pytest
from api_helpers import ORG, OTHER_ORG, Api
from shapely.geometry import box

from mineaction.domain.models import Hazard


def _found(client: object, q: str) -> list[str]:
    r = client.get("/api/v1/places/search", params={"q": q})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["items"]]


def _hazard(org: str, status: str, west: float) -> Hazard:
    return Hazard(name="Finca", hazard_kind="CHA", organisation_id=org, status=status,
                  geometry=box(west, 6.0, west + 0.01, 6.01))


@pytest.mark.parametrize("settings_overrides", [{"cross_organisation_visibility": False}])
def test_counting_through_codes_finds_only_what_the_asker_may_open(api: Api) -> None:
    store = api.services.store
    ours = store.add(_hazard(ORG, "approved", -75.0))
    theirs = store.add(_hazard(OTHER_ORG, "approved", -75.1))
    draft = store.add(_hazard(ORG, "draft", -75.2))
    viewer = api.as_("viewer", name="viewer-org", org=ORG)
    by_viewer = {n: _found(viewer, f"HAZ-{n}") for n in (1, 2, 3)}
    assert by_viewer == {1: [str(ours.id)], 2: [], 3: [str(draft.id)]}
    assert viewer.get(f"/api/v1/hazards/{theirs.id}").status_code == 404
    by_public = {n: _found(api.public, f"HAZ-{n}") for n in (1, 2, 3)}
    assert by_public == {1: [str(ours.id)], 2: [str(theirs.id)], 3: []}
    # What a list's search box does (web/pages.py's ?q=) goes through the same browse.
    r = api.public.get("/records/hazards", params={"q": "HAZ-3"})
    assert str(draft.id) not in r.text
