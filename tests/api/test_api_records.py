"""Records over HTTP on both stores: CRUD, ETags and If-Match, filters, paging, formats."""

from __future__ import annotations

import json

from api_helpers import OTHER_ORG, accident, victim


def _create(client, path, body):  # type: ignore[no-untyped-def]
    r = client.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_crud_with_etags(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    created = editor.post("/api/v1/accidents", json=accident())
    assert created.status_code == 201, created.text
    rec = created.json()
    assert rec["status"] == "draft" and rec["version"] == 1 and rec["created_by"] == "editor"
    assert created.headers["etag"] == '"1"'
    url = f"/api/v1/accidents/{rec['id']}"

    got = editor.get(url)
    assert got.status_code == 200 and got.json()["narrative"].startswith("stepped")
    assert got.headers["etag"] == '"1"'

    # Edits need If-Match.
    assert editor.patch(url, json={"narrative": "x"}).status_code == 428
    ok = editor.patch(url, json={"narrative": "revised"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2 and ok.headers["etag"] == '"2"'

    stale = editor.patch(url, json={"narrative": "lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    body = stale.json()
    assert body["code"] == "version_conflict" and body["current"]["narrative"] == "revised"
    assert body["current"]["version"] == 2

    put = editor.put(url, json=accident(narrative="replaced"), headers={"If-Match": '"2"'})
    assert put.status_code == 200 and put.json()["version"] == 3

    # Status is not writable through edits.
    bad = editor.patch(url, json={"status": "approved"}, headers={"If-Match": '"3"'})
    assert bad.status_code == 422 and bad.json()["field_errors"]

    assert editor.delete(url, headers={"If-Match": '"2"'}).status_code == 412
    assert editor.delete(url, headers={"If-Match": '"3"'}).status_code == 204
    assert editor.get(url).status_code == 404
    hist = editor.get(f"{url}/history").json()
    assert [v["version"] for v in hist] == [1, 2, 3, 4]
    assert hist[-1]["data"]["deleted_by"] == "editor"
    diff = editor.get(f"{url}/diff", params={"from": 1, "to": 3}).json()
    changed = {c["field"]: c for c in diff["changes"]}
    assert changed["narrative"]["from"].startswith("stepped")
    assert changed["narrative"]["to"] == "replaced"


def test_if_none_match_gives_304_until_the_record_changes(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    rec = _create(editor, "/api/v1/accidents", accident())
    url = f"/api/v1/accidents/{rec['id']}"
    got = editor.get(url)
    assert got.headers["etag"] == '"1"'
    # The same version reads differently by role and format: caches must keep them apart.
    assert {"accept", "authorization", "cookie"} <= {
        v.strip().lower() for v in got.headers["vary"].split(",")}
    for held in ('"1"', 'W/"1"', '"7", "1"', "*"):
        fresh = editor.get(url, headers={"If-None-Match": held})
        assert fresh.status_code == 304, held
        assert fresh.content == b"" and fresh.headers["etag"] == '"1"'
    assert editor.get(url, headers={"If-None-Match": '"2"'}).status_code == 200
    editor.patch(url, json={"narrative": "revised"}, headers={"If-Match": '"1"'})
    changed = editor.get(url, headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["narrative"] == "revised"
    assert changed.headers["etag"] == '"2"'
    # Not even its existence to those who may not see it: 404, never 304.
    assert api.public.get(url, headers={"If-None-Match": "*"}).status_code == 404
    listed = editor.get("/api/v1/accidents")
    assert "Cookie" in listed.headers["vary"]


def test_validation_errors_have_one_shape(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    r = editor.post("/api/v1/accidents", json=accident(geometry={"type": "Point",
                                                                 "coordinates": [200, 0]}))
    assert r.status_code == 422
    body = r.json()
    assert set(body) >= {"code", "message", "field_errors"} and body["code"] == "invalid"
    r = editor.post("/api/v1/victims", json={"age": 10, "age_band": "adult"})
    assert r.status_code == 422 and "contradicts" in r.text
    r = editor.get("/api/v1/accidents", params={"bbox": "1,2,3"})
    assert r.status_code == 422 and r.json()["field_errors"][0]["field"] == "bbox"
    r = editor.get("/api/v1/accidents/not-a-uuid")
    assert r.status_code == 422 and "Traceback" not in r.text


def test_filters_paging_and_geojson(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    ids = []
    for i in range(5):
        rec = _create(editor, "/api/v1/accidents", accident(
            geometry={"type": "Point", "coordinates": [-75.0 + i, 6.0]},
            accident_date=f"202{i}-01-01", admin_area_pcode=f"0{i}001",
            accident_kind="ied" if i % 2 else "mine"))
        ids.append(rec["id"])
    lst = editor.get("/api/v1/accidents", params={"limit": 2}).json()
    assert [r["id"] for r in lst["items"]] == ids[:2] and lst["next_cursor"]
    page2 = editor.get("/api/v1/accidents",
                       params={"limit": 2, "cursor": lst["next_cursor"]}).json()
    assert [r["id"] for r in page2["items"]] == ids[2:4]
    assert "cursor=" in lst["links"][0]["href"]

    def found(**params):  # type: ignore[no-untyped-def]
        return [r["id"] for r in editor.get("/api/v1/accidents", params=params).json()["items"]]

    assert found(bbox="-75.5,5,-73.5,7") == ids[:2]
    assert found(near="-73,6,1000") == [ids[2]]
    assert found(admin_area="02") == [ids[2]]
    assert found(date_from="2022-01-01", date_to="2023-06-01") == ids[2:4]
    assert found(kind="ied") == [ids[1], ids[3]]
    assert found(status="approved") == []
    assert found(status="draft", mine="true") == ids

    geo = editor.get("/api/v1/accidents", params={"f": "geojson", "limit": 1})
    assert geo.headers["content-type"].startswith("application/geo+json")
    fc = geo.json()
    assert fc["type"] == "FeatureCollection" and fc["features"][0]["geometry"]["type"] == "Point"
    one = editor.get(f"/api/v1/accidents/{ids[0]}",
                     headers={"Accept": "application/geo+json"}).json()
    assert one["type"] == "Feature" and one["id"] == ids[0]
    assert one["properties"]["accident_kind"] == "mine"


def test_every_collection_answers(api) -> None:  # type: ignore[no-untyped-def]
    viewer = api.as_("viewer")
    landing = viewer.get("/api/v1").json()
    assert len(landing["collections"]) == 14  # 11, and minefield records, points, rows
    for path in landing["collections"]:
        r = viewer.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["items"] == []


def test_victim_personal_data_only_to_granted_roles(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    acc = _create(editor, "/api/v1/accidents", accident())
    vic = _create(editor, "/api/v1/victims", victim(acc["id"]))
    assert vic["name"] == "Ana Pérez"
    viewer = api.as_("viewer")
    seen = viewer.get(f"/api/v1/victims/{vic['id']}").json()
    assert "name" not in seen and "date_of_birth" not in seen and seen["age"] == 12
    # A viewer's PUT cannot erase what it cannot see -- but a viewer cannot edit anyway;
    # an approver can, and sees it.
    approver = api.as_("approver")
    assert approver.get(f"/api/v1/victims/{vic['id']}").json()["contact"] == "+57 300 000"


def test_organisation_scoping(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    other = api.as_("editor", name="editor_b", org=OTHER_ORG)
    hz = {"hazard_kind": "SHA", "organisation_id": OTHER_ORG,
          "geometry": {"type": "Point", "coordinates": [-75, 6]}}
    assert editor.post("/api/v1/hazards", json=hz).status_code == 403
    rec = _create(other, "/api/v1/hazards", hz)
    r = editor.patch(f"/api/v1/hazards/{rec['id']}", json={"priority": 1},
                     headers={"If-Match": '"1"'})
    assert r.status_code == 403
    assert editor.get(f"/api/v1/hazards/{rec['id']}").status_code == 200  # visible by default


def test_list_rows_equal_validated_records(api) -> None:  # type: ignore[no-untyped-def]
    """Lists and GET read JSON-ready rows (Store.query_rows), not validated records; they
    must say exactly what the validated record says, less what the role may not see."""
    approver = api.as_("approver")
    src = _create(approver, "/api/v1/sources", {"source_kind": "media", "title": "El Tiempo"})
    hz = _create(approver, "/api/v1/hazards", {
        "hazard_kind": "CHA", "contamination": ["ap_mine", "uxo"], "blockages": ["roads"],
        "source_ids": [src["id"]], "date_reported": "2020-05-06", "beneficiaries": 30,
        "geometry": {"type": "Polygon", "coordinates": [
            [[-75, 6], [-75, 6.01], [-74.99, 6.01], [-75, 6]]]}})
    acc = _create(approver, "/api/v1/accidents", accident())
    vic = _create(approver, "/api/v1/victims", victim(acc["id"]))
    pl = _create(approver, "/api/v1/places", {"name": "La Cabaña",
                                              "alternative_names": ["A", "B"]})
    for coll, rec in (("hazards", hz), ("accidents", acc), ("victims", vic), ("places", pl)):
        listed = approver.get(f"/api/v1/{coll}").json()["items"]
        got = approver.get(f"/api/v1/{coll}/{rec['id']}").json()
        (row,) = [x for x in listed if x["id"] == rec["id"]]
        store = api.app.state.services.store
        kind = {"hazards": "hazard", "accidents": "accident", "victims": "victim",
                "places": "place"}[coll]
        valid = json.loads(json.dumps(store.get(kind, rec["id"]).model_dump(mode="json")))
        for key in ("contamination", "blockages"):
            if key in row:
                row[key], got[key], valid[key] = (sorted(row[key]), sorted(got[key]),
                                                  sorted(valid[key]))
        # The code (domain/codes.py) is the store's, not a field of the record: the same
        # in the list, in the record and in the answer to its creation.
        assert row.pop("code", None) == got.pop("code", None) == rec.get("code") == \
            store.record_code(kind, rec["id"]), coll
        assert row == got == valid, coll


def test_quick_reads_are_small_bounded_and_write_nothing(api) -> None:  # type: ignore[no-untyped-def]
    """Which reads run on the event loop (routers/records.py): GET by id and small-box
    lists of at most 100; never a list that may scan, nor a read that logs personal data."""
    from mineaction.access.roles import PUBLIC, Principal, Role
    from mineaction.services.records import ListParams

    records = api.app.state.services.records
    approver = Principal(username="a", role=Role.approver)
    small = (-75.0, 6.0, -74.95, 6.05)
    assert records.quick(PUBLIC, "accident")
    assert records.quick(PUBLIC, "accident", ListParams(bbox=small, limit=100))
    assert records.quick(approver, "accident", ListParams(bbox=small, status=("approved",)))
    assert not records.quick(PUBLIC, "accident", ListParams(limit=100))  # no box: may scan
    assert not records.quick(PUBLIC, "accident", ListParams(bbox=(-80, 0, -66, 13)))
    assert not records.quick(PUBLIC, "accident", ListParams(bbox=small, limit=101))
    assert not records.quick(PUBLIC, "accident", ListParams(bbox=small, admin_area="05"))
    assert not records.quick(PUBLIC, "victim", ListParams(bbox=small))  # via accidents
    assert not records.quick(approver, "victim")  # logs the read of personal data
    # Slow or not, the answers are the same: a big box lists what a small one does.
    editor = api.as_("editor")
    rec = _create(editor, "/api/v1/accidents", accident(
        geometry={"type": "Point", "coordinates": [-74.97, 6.02]}))
    for box in ("-75,6,-74.95,6.05", "-80,0,-66,13"):
        got = editor.get("/api/v1/accidents", params={"bbox": box}).json()["items"]
        assert [r["id"] for r in got] == [rec["id"]]


def test_a_rule_across_fields_names_its_field(api) -> None:  # type: ignore[no-untyped-def]
    """domain/rules.py fails inside a model validator; the 422 names the field the rule
    blames, not "body", on a create and on an edit alike."""
    editor = api.as_("editor")
    r = editor.post("/api/v1/activities", json={
        "activity_kind": "clearance", "start_date": "2021-03-01", "end_date": "2021-02-01"})
    assert r.status_code == 422, r.text
    assert r.json()["field_errors"] == [
        {"field": "end_date", "message": "end_date is before start_date"}]

    r = editor.post("/api/v1/victims", json={"age": 10, "age_band": "adult"})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["field_errors"]] == ["age_band"]

    created = _create(editor, "/api/v1/activities", {
        "activity_kind": "clearance", "start_date": "2021-03-01"})
    r = editor.patch(f"/api/v1/activities/{created['id']}", json={"end_date": "2021-02-01"},
                     headers={"If-Match": '"1"'})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["field_errors"]] == ["end_date"]
