# SPDX-License-Identifier: GPL-3.0-or-later
"""Place search (issue 21), on both stores: admin areas, places, Natural Earth's populated
places and records, matched with case and accents aside and ranked exact > prefix >
substring; and who finds what: the public never finds an unapproved record by its name,
another organisation never finds a record it cannot open."""

from __future__ import annotations

import pytest
from api_helpers import ORG, OTHER_ORG, Api
from shapely.geometry import Point, box

from mineaction.domain.models import AdminArea, Hazard, Place
from mineaction.services.gazetteer import match_class, normalise


def search(client: object, q: str, limit: int = 10) -> list[dict[str, object]]:
    r = client.get("/api/v1/places/search", params={"q": q, "limit": limit})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_normalise_and_match_classes() -> None:
    assert normalise("  BOGOTÁ,\u200e  D.C. ") == "bogota, d.c."
    assert match_class("granada", "granada") == 0
    assert match_class("granadilla", "granada") is None
    assert match_class("granada", "gran") == 1
    assert match_class("la granada", "gran") == 2
    assert match_class("vigranada", "gran") == 3


def test_admin_areas_places_and_natural_earth_ranked(api: Api) -> None:
    store = api.services.store
    store.add(AdminArea(pcode="05", name="Antioquia", level=1, status="approved",
                        geometry=box(-77.0, 5.4, -73.9, 8.9)))
    store.add(AdminArea(pcode="05313", name="Granada", level=2, parent_pcode="05",
                        status="approved", geometry=box(-75.25, 6.05, -75.05, 6.25)))
    store.add(AdminArea(pcode="11001", name="Bogotá, D.C.", level=2, status="approved",
                        geometry=box(-74.3, 3.7, -74.0, 4.8)))
    store.add(Place(name="Vereda La Granadilla", status="approved",
                    geometry=Point(-75.1, 6.1)))
    found = search(api.public, "granada")
    # The store's exact admin area first, then Natural Earth's Granadas (Spain,
    # Nicaragua); "Granadilla" holds "granad" but not "granada".
    assert found[0]["name"] == "Granada" and found[0]["source"] == "admin_area"
    assert found[0]["bbox"] == [-75.25, 6.05, -75.05, 6.25]
    assert {f["detail"] for f in found if f["source"] == "populated_place"} >= {"Spain",
                                                                              "Nicaragua"}
    assert "Vereda La Granadilla" not in {f["name"] for f in found}
    # Accents and case aside, both ways.
    assert search(api.public, "BOGOTA")[0]["name"] in ("Bogotá, D.C.", "Bogota")
    assert {f["name"] for f in search(api.public, "bogotá")} >= {"Bogotá, D.C.", "Bogota"}
    # A prefix ranks before a substring; a word's prefix counts as a prefix of a word.
    names = [f["name"] for f in search(api.public, "granadil")]
    assert names[0] == "Vereda La Granadilla"
    medellin = search(api.public, "medell", limit=3)
    assert medellin[0]["name"] == "Medellín" and medellin[0]["detail"] == "Colombia"
    assert len(search(api.public, "a", limit=3)) == 3
    assert search(api.public, "   ") == []
    assert api.public.get("/api/v1/places/search", params={"q": "x", "limit": 0}
                          ).status_code == 422
    assert api.public.get("/api/v1/places/search", params={"q": "x" * 101}
                          ).status_code == 422


def test_the_public_does_not_find_an_unapproved_record_by_name(api: Api) -> None:
    store = api.services.store
    approved = store.add(Hazard(name="Campo Minado Norte", hazard_kind="CHA",
                                status="approved", geometry=box(-75.0, 6.0, -74.99, 6.01)))
    draft = store.add(Hazard(name="Campo Minado Sur", hazard_kind="SHA", status="submitted",
                             geometry=box(-75.0, 5.9, -74.99, 5.91)))
    public = {f["name"]: f for f in search(api.public, "campo minado")}
    assert set(public) == {"Campo Minado Norte"}
    assert public["Campo Minado Norte"]["href"] == f"/records/hazards/{approved.id}"
    assert all(f["id"] != str(draft.id) for f in search(api.public, "sur", limit=50))
    assert search(api.public, str(draft.id)) == []
    # An editor sees every record: both, by name and by id.
    editor = {f["name"] for f in search(api.as_("editor"), "campo minado")}
    assert editor == {"Campo Minado Norte", "Campo Minado Sur"}
    assert [f["id"] for f in search(api.as_("editor"), str(draft.id))] == [str(draft.id)]
    # An unapproved admin area is not the public's either.
    store.add(AdminArea(pcode="99", name="Zona Borrador", level=1, status="submitted",
                        geometry=box(-70.0, 1.0, -69.0, 2.0)))
    assert search(api.public, "zona borrador") == []
    assert [f["name"] for f in search(api.as_("viewer"), "zona borrador")] == ["Zona Borrador"]


@pytest.mark.parametrize("settings_overrides", [{"cross_organisation_visibility": False}])
def test_another_organisation_does_not_find_hidden_records(api: Api) -> None:
    store = api.services.store
    store.add(Hazard(name="Finca Nuestra", hazard_kind="CHA", organisation_id=ORG,
                     status="approved", geometry=box(-75.0, 6.0, -74.99, 6.01)))
    theirs = store.add(Hazard(name="Finca Secreta", hazard_kind="CHA",
                              organisation_id=OTHER_ORG, status="approved",
                              geometry=box(-75.1, 6.0, -75.09, 6.01)))
    viewer = api.as_("viewer", name="viewer-org", org=ORG)
    assert viewer.get(f"/api/v1/hazards/{theirs.id}").status_code == 404
    r = viewer.get("/api/v1/places/search", params={"q": "finca"})
    assert [f["name"] for f in r.json()["items"]] == ["Finca Nuestra"]
    assert str(theirs.id) not in r.text and "Secreta" not in r.text
    # An administrator sees every organisation's.
    admin = {f["name"] for f in search(api.as_("admin"), "finca")}
    assert admin == {"Finca Nuestra", "Finca Secreta"}
