"""Workflow (draft -> submitted -> approved | rejected with reason), what the public sees,
and two editors saving the same record at once."""

from __future__ import annotations

import json

from api_helpers import accident, victim


def _approved_accident_with_victim(api):  # type: ignore[no-untyped-def]
    editor, approver = api.as_("editor"), api.as_("approver")
    acc = editor.post("/api/v1/accidents", json=accident(
        geometry={"type": "Point", "coordinates": [-75.18347, 6.14123]})).json()
    vic = editor.post("/api/v1/victims", json=victim(acc["id"])).json()
    for coll, rec in (("accidents", acc), ("victims", vic)):
        assert editor.post(f"/api/v1/{coll}/{rec['id']}/submit").status_code == 200
        assert approver.post(f"/api/v1/{coll}/{rec['id']}/approve").status_code == 200
    return acc, vic


def test_draft_submit_reject_resubmit_approve(api) -> None:  # type: ignore[no-untyped-def]
    field, approver = api.as_("field"), api.as_("approver")
    rec = field.post("/api/v1/hazards", json={"hazard_kind": "SHA"}).json()
    url = f"/api/v1/hazards/{rec['id']}"
    assert approver.post(f"{url}/approve").status_code == 409  # still a draft
    assert field.post(f"{url}/submit").json()["status"] == "submitted"
    r = approver.post(f"{url}/reject", json={})
    assert r.status_code == 422 and r.json()["field_errors"][0]["field"] == "reason"
    r = approver.post(f"{url}/reject", json={"reason": "polygon missing"},
                      headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    # The field user fixes its rejected record and resubmits.
    r = field.patch(url, json={"geometry": {"type": "Polygon", "coordinates": [
        [[-75, 6], [-75, 6.01], [-74.99, 6.01], [-75, 6]]]}}, headers={"If-Match": '"3"'})
    assert r.status_code == 200, r.text
    assert r.json()["area_m2"] > 0
    assert field.post(f"{url}/submit").status_code == 200
    r = approver.post(f"{url}/approve")
    assert r.json()["status"] == "approved" and r.json()["version"] == 6
    reviews = approver.get(f"{url}/reviews").json()
    assert [(x["action"], x["reason"]) for x in reviews] == [
        ("submit", None), ("reject", "polygon missing"), ("submit", None), ("approve", None)]
    # An editor's change to approved data sends it back for approval.
    editor = api.as_("editor")
    r = editor.patch(url, json={"priority": 2}, headers={"If-Match": '"6"'})
    assert r.json()["status"] == "submitted"
    hist = approver.get(f"{url}/history").json()
    assert [v["data"]["status"] for v in hist] == ["draft", "submitted", "rejected",
                                                   "rejected", "submitted", "approved",
                                                   "submitted"]


def test_public_sees_only_approved_without_personal_data(api) -> None:  # type: ignore[no-untyped-def]
    acc, vic = _approved_accident_with_victim(api)
    api.as_("editor").post("/api/v1/accidents", json=accident(narrative="draft only"))
    public = api.public
    bodies = []
    for url, params in [("/api/v1/accidents", {}), ("/api/v1/accidents", {"f": "geojson"}),
                        (f"/api/v1/accidents/{acc['id']}", {}),
                        (f"/api/v1/accidents/{acc['id']}", {"f": "geojson"}),
                        (f"/api/v1/accidents/{acc['id']}/reviews", {}),
                        ("/api/v1/victims/summary", {"by": ["year", "sex"]}),
                        ("/api/v1/victims", {}), (f"/api/v1/victims/{vic['id']}", {}),
                        (f"/api/v1/victims/{vic['id']}/history", {}),
                        (f"/api/v1/accidents/{acc['id']}/history", {})]:
        r = public.get(url, params=params)
        bodies.append(r.text)
        if "/victims" in url and "summary" not in url:
            assert r.status_code == 403
    text = "\n".join(bodies)
    for secret in ("Ana Pérez", "Ana P\\u00e9rez", "2009-01-02", "+57 300 000", "6.14123",
                   "-75.18347", "stepped on a mine", "draft only", "editor"):
        assert secret not in text, secret
    items = public.get("/api/v1/accidents").json()["items"]
    assert len(items) == 1 and items[0]["geometry"]["coordinates"] == [-75.2, 6.1]
    # One victim: too few to show the public (suppressed below public_min_count), while a
    # signed-in viewer sees the count.
    summary = public.get("/api/v1/victims/summary", params={"by": "sex"}).json()
    assert summary["total"]["injured"] is None and summary["suppressed_below"] == 5
    assert summary["rows"][0]["suppressed"] is True
    seen = api.as_("viewer").get("/api/v1/victims/summary", params={"by": "sex"}).json()
    assert seen["total"]["injured"] == 1
    assert public.get("/api/v1/victims/summary", params={"by": "name"}).status_code == 422


def test_personal_data_reads_are_audited(api) -> None:  # type: ignore[no-untyped-def]
    _, vic = _approved_accident_with_victim(api)
    # Creating, submitting and approving the victim answered with its name: logged too.
    last = api.as_("admin").get("/api/v1/audit/entries").json()[0]["seq"]
    api.as_("approver").get(f"/api/v1/victims/{vic['id']}")
    api.as_("approver").get("/api/v1/victims")
    api.as_("viewer").get(f"/api/v1/victims/{vic['id']}")  # no personal data: not logged
    entries = api.as_("admin").get("/api/v1/audit/entries").json()
    reads = [e for e in entries if e["action"] == "read_personal" and e["seq"] > last]
    assert len(reads) == 2 and all(e["actor"] == "approver" for e in reads)
    assert any(e["action"] == "read_personal" and e["seq"] <= last for e in entries)
    detail = json.loads(reads[0]["detail"])
    assert detail["ids"] == [vic["id"]] and "name" in detail["fields"]
    assert api.as_("admin").get("/api/v1/audit/verify").json()["ok"] is True


def test_two_concurrent_editors_exactly_one_wins(api) -> None:  # type: ignore[no-untyped-def]
    a, b = api.as_("editor"), api.as_("approver")
    rec = a.post("/api/v1/accidents", json=accident()).json()
    url = f"/api/v1/accidents/{rec['id']}"
    for round_ in range(5):
        version = a.get(url).json()["version"]
        h = {"If-Match": f'"{version}"'}
        ra, rb = a.gather((a, "PATCH", url, {"json": {"narrative": f"A{round_}"}, "headers": h}),
                          (b, "PATCH", url, {"json": {"narrative": f"B{round_}"}, "headers": h}))
        codes = sorted([ra.status_code, rb.status_code])
        assert codes == [200, 412], (ra.text, rb.text)
        winner, loser = (ra, rb) if ra.status_code == 200 else (rb, ra)
        assert loser.json()["current"]["narrative"] == winner.json()["narrative"]
        assert a.get(url).json()["version"] == version + 1
    assert len(a.get(f"{url}/history").json()) == 6
