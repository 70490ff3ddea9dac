"""Organisation scoping (issue 15, 9): with `organisation_scoping` on, editors and field
users write only records of their own organisation (or of none). An editor moved its own
record into another organisation with PATCH; field users created records for any."""

from __future__ import annotations

from api_helpers import ORG, OTHER_ORG, Api


def _hazard(org: str | None) -> dict[str, object]:
    return {"hazard_kind": "SHA", "name": "Loma", "organisation_id": org}


def test_an_editor_cannot_move_its_record_to_another_organisation(api: Api) -> None:
    editor = api.as_("editor")
    rec = editor.post("/api/v1/hazards", json=_hazard(ORG)).json()
    url = f"/api/v1/hazards/{rec['id']}"
    r = editor.patch(url, json={"organisation_id": OTHER_ORG}, headers={"If-Match": '"1"'})
    assert r.status_code == 403
    r = editor.put(url, json=_hazard(OTHER_ORG), headers={"If-Match": '"1"'})
    assert r.status_code == 403
    assert api.as_("viewer").get(url).json()["organisation_id"] == ORG
    # Within its organisation, or to none, it still edits.
    r = editor.patch(url, json={"name": "Loma alta"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200
    # An approver may move it (reviewers are not scoped).
    r = api.as_("approver").patch(url, json={"organisation_id": OTHER_ORG},
                                  headers={"If-Match": '"2"'})
    assert r.status_code == 200


def test_field_users_create_only_for_their_organisation(api: Api) -> None:
    field = api.as_("field")
    assert field.post("/api/v1/hazards", json=_hazard(OTHER_ORG)).status_code == 403
    assert field.post("/api/v1/hazards", json=_hazard(ORG)).status_code == 201
    assert field.post("/api/v1/hazards", json=_hazard(None)).status_code == 201


def test_editors_create_only_for_their_organisation(api: Api) -> None:
    editor = api.as_("editor")
    assert editor.post("/api/v1/hazards", json=_hazard(OTHER_ORG)).status_code == 403
    assert editor.post("/api/v1/hazards", json=_hazard(ORG)).status_code == 201


def _import(client: object, csv: str) -> dict[str, object]:
    import time

    r = client.post("/api/v1/imports", files={"file": ("h.csv", csv.encode())},  # type: ignore[attr-defined]
                    data={"kind": "hazards", "dataset": "scoped", "dry_run": "true"})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(300):
        job = client.get(f"/api/v1/imports/{job['id']}").json()  # type: ignore[attr-defined]
        if job["state"] not in ("queued", "running"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(job)


def test_an_editor_imports_only_for_its_organisation(api: Api) -> None:
    editor = api.as_("editor")
    other = _import(editor, f"external_id,hazard_kind,organisation_id\nh1,SHA,{ORG}\n"
                    f"h2,SHA,{OTHER_ORG}\nh3,SHA,\n")
    assert other["state"] == "rejected", other
    fields = [e["field"] for e in other["report"]["errors"]]
    assert fields == ["organisation_id"] and other["report"]["errors"][0]["row"] == 3
    own = _import(editor, f"external_id,hazard_kind,organisation_id\nh1,SHA,{ORG}\nh3,SHA,\n")
    assert own["state"] == "done", own
    # An approver imports for any organisation.
    anyone = _import(api.as_("approver"),
                     f"external_id,hazard_kind,organisation_id\nh2,SHA,{OTHER_ORG}\n")
    assert anyone["state"] == "done", anyone


def test_a_stale_edit_does_not_show_a_record_moved_out_of_sight(api: Api) -> None:
    """With cross_organisation_visibility off, an editor whose record was moved to
    another organisation meanwhile gets a 412 without the record as it now is."""
    api.services.records.policy = type(api.services.records.policy)(
        cross_organisation_visibility=False)
    editor = api.as_("editor")
    rec = editor.post("/api/v1/hazards", json=_hazard(ORG)).json()
    url = f"/api/v1/hazards/{rec['id']}"
    moved = api.as_("approver").patch(url, json={"organisation_id": OTHER_ORG,
                                                 "name": "Secreto"},
                                      headers={"If-Match": '"1"'})
    assert moved.status_code == 200
    r = editor.patch(url, json={"name": "Mine"}, headers={"If-Match": '"1"'})
    assert r.status_code in (404, 412)
    assert "Secreto" not in r.text and "current" not in r.json()
