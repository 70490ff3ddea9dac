# SPDX-License-Identifier: GPL-3.0-or-later
"""Record codes through the API (issue 21, 5), on both stores: a write's answer, a read
and a list give the same code; a client that sends back what it read is not refused for
the code, and cannot change it; the map's search finds a record by its code."""

from __future__ import annotations

import pytest
from api_helpers import ORG, Api
from shapely.geometry import box


def _hazard(name: str, pcode: str = "05790") -> dict[str, object]:
    return {"hazard_kind": "SHA", "name": name, "organisation_id": ORG,
            "admin_area_pcode": pcode,
            "geometry": box(-75.0, 6.0, -74.99, 6.01).__geo_interface__}


def test_codes_in_answers_reads_and_lists(api: Api) -> None:
    api.services.store.set_country("COL")
    editor = api.as_("editor")
    first = editor.post("/api/v1/hazards", json=_hazard("Loma")).json()
    second = editor.post("/api/v1/hazards", json=_hazard("Vega", "AZ01")).json()
    assert (first["code"], second["code"]) == ("HAZ-CO-05-000001", "HAZ-AZ-01-000002")
    assert editor.get(f"/api/v1/hazards/{first['id']}").json()["code"] == first["code"]
    listed = {h["id"]: h["code"] for h in editor.get("/api/v1/hazards").json()["items"]}
    assert listed == {first["id"]: first["code"], second["id"]: second["code"]}


def test_nobody_sets_a_code(api: Api) -> None:
    """The code is the store's, as the status and the version are: the API refuses it in
    a body, naming the field, as it refuses those; a change of everything else goes."""
    editor = api.as_("editor")
    rec = editor.post("/api/v1/hazards", json=_hazard("Loma")).json()
    url = f"/api/v1/hazards/{rec['id']}"
    body = {k: v for k, v in editor.get(url).json().items()
            if k not in ("id", "version", "status", "created_at", "updated_at",
                         "created_by", "updated_by")}
    body.update(name="Loma alta", code="HAZ-CO-05-999999")
    r = editor.put(url, json=body, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["field_errors"][0]["field"] == "code", r.text
    r = editor.patch(url, json={"code": "HAZ-XX-000042"}, headers={"If-Match": '"1"'})
    assert r.status_code == 422
    r = editor.post("/api/v1/hazards", json={**_hazard("Otra"), "code": rec["code"]})
    assert r.status_code == 422
    del body["code"]
    r = editor.put(url, json=body, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["code"] == rec["code"], r.text
    # Below the API (web forms, the accident form), a code in the data is left out.
    from mineaction.access.roles import Principal, Role

    who = Principal("editor", Role.editor, organisation_id=ORG)
    made, _ = api.services.records.create(who, "hazard", {**_hazard("Web"), "code": "X-1"})
    assert made["code"] != "X-1" and made["code"].startswith("HAZ-")


def test_the_map_search_finds_a_record_by_its_code(api: Api) -> None:
    editor = api.as_("editor")
    api.services.store.set_country("CO")
    recs = [editor.post("/api/v1/hazards", json=_hazard(f"Finca {i}")).json()
            for i in range(3)]
    target = recs[1]
    for typed in (target["code"], target["code"].lower(), "HAZ-2", "HAZ-CO-08-000002"):
        found = editor.get("/api/v1/places/search", params={"q": typed}).json()["items"]
        assert [f["id"] for f in found] == [target["id"]], typed
        assert target["code"] in found[0]["detail"]
    # A code of another kind, or a number no record has, finds nothing.
    for typed in ("ACC-CO-05-000002", "HAZ-CO-05-000009"):
        found = editor.get("/api/v1/places/search", params={"q": typed}).json()["items"]
        assert found == [], typed


@pytest.mark.parametrize("settings_overrides", [{"country": "COL"}])
def test_the_settings_country_names_the_codes_when_no_import_did(api: Api) -> None:
    editor = api.as_("editor")
    rec = editor.post("/api/v1/hazards", json=_hazard("Loma")).json()
    assert rec["code"] == "HAZ-CO-05-000001"


def test_a_country_set_elsewhere_reaches_a_store_that_knew_none(api: Api, monkeypatch:
                                                                  pytest.MonkeyPatch) -> None:
    """A server's other worker (another Store over the same file or database) learns the
    country an import set, without a restart."""
    from mineaction.store import base, open_store

    monkeypatch.setattr(base, "CODE_COUNTRY_RECHECK_S", 0.0)
    editor = api.as_("editor")
    rec = editor.post("/api/v1/hazards", json=_hazard("Loma")).json()
    assert rec["code"] == "HAZ-05-000001"
    other = open_store(api.services.store.location)
    try:
        other.set_country("CO")
    finally:
        other.close()
    assert editor.get(f"/api/v1/hazards/{rec['id']}").json()["code"] == "HAZ-CO-05-000001"
