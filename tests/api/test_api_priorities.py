"""Priority lists and season plans over the API (issue 20), on both stores: an approver
builds and saves a list, an editor reads it, a field user cannot build one and the public
cannot read one; the audit trail records every save; a season plan is made, drawn and
re-planned."""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from api_helpers import Api
from shapely.geometry import Point, box, mapping

from mineaction.audit.schema import AUDIT_LOG
from mineaction.domain.models import Accident, Hazard, Victim
from mineaction.store import Store

LON, LAT = -75.0, 6.0


def _seed(store: Store) -> dict[str, str]:
    def key(n: int, status: str = "approved") -> dict[str, str]:
        return {"dataset": "t", "external_id": f"p{n}", "status": status}

    near = store.add(Hazard(name="Near school", hazard_kind="CHA",
                            geometry=box(LON, LAT, LON + 0.001, LAT + 0.001),
                            blockages={"housing", "roads"}, beneficiaries=300, **key(1)))
    quiet = store.add(Hazard(name="Far field", hazard_kind="SHA",
                             geometry=box(LON + 0.2, LAT, LON + 0.203, LAT + 0.003),
                             blockages={"grazing"}, **key(2)))
    closed = store.add(Hazard(name="Closed", hazard_kind="CHA", hazard_status="closed",
                              geometry=box(LON + 0.1, LAT, LON + 0.101, LAT + 0.001),
                              **key(3)))
    draft = store.add(Hazard(name="Draft", hazard_kind="CHA",
                             geometry=box(LON + 0.1, LAT + 0.1, LON + 0.101, LAT + 0.101),
                             **key(4, "draft")))
    acc = store.add(Accident(accident_date=date(2024, 5, 1), geometry=Point(LON + 0.002, LAT),
                             accident_kind="mine", hazard_id=near.id, **key(5)))
    store.add(Victim(accident_id=acc.id, outcome="injured", **key(6)))
    return {"near": str(near.id), "quiet": str(quiet.id), "closed": str(closed.id),
            "draft": str(draft.id)}


SETTLEMENTS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": mapping(Point(LON + 0.21, LAT + 0.01)),
     "properties": {"population": 1200, "returnees": 300}}]}


def _audit(store: Store, action: str) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(AUDIT_LOG).where(AUDIT_LOG.c.action == action)
                            ).mappings().all()
    return [dict(r) for r in rows]


def test_an_approver_builds_and_saves_an_editor_reads(api: Api) -> None:
    ids = _seed(api.services.store)
    r = api.as_("approver").post("/api/v1/priorities", json={
        "preset": "humanitarian", "method": "promethee", "weights": {"cost": 0.2},
        "layers": {"settlements": SETTLEMENTS}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["saved"] is True
    ranked = [h["hazard_id"] for h in body["hazards"]]
    assert ranked == [ids["near"], ids["quiet"]]  # open and approved only
    near = body["hazards"][0]
    assert near["indicators"]["accidents_5km"] == 1
    assert near["indicators"]["casualties_5km"] == 1
    assert near["indicators"]["blocks_basic_needs"] == 1
    assert body["hazards"][1]["indicators"]["population_5km"] == 1200
    assert body["hazards"][1]["indicators"]["returnees_5km"] == 300
    assert body["layers"] == {"settlements": {"source": "request", "features": 1}}
    assert abs(sum(body["weights"].values()) - 1) < 1e-9

    # the audit trail records the save, its method and weights
    entries = _audit(api.services.store, "prioritise")
    assert [e["record_id"] for e in entries] == [body["id"]]
    assert entries[0]["actor"] == "approver" and entries[0]["record_kind"] == "priority_list"
    detail = json.loads(str(entries[0]["detail"]))
    assert detail["method"] == "promethee" and detail["hazards"] == 2

    editor = api.as_("editor")
    listed = editor.get("/api/v1/priorities")
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [body["id"]]
    shown = editor.get(f"/api/v1/priorities/{body['id']}")
    assert shown.status_code == 200
    assert [h["hazard_id"] for h in shown.json()["hazards"]] == ranked
    sens = editor.get(f"/api/v1/priorities/{body['id']}/sensitivity")
    assert sens.status_code == 200, sens.text
    assert {c["criterion"] for c in sens.json()["criteria"]} >= {"casualties", "cost"}
    assert all(-1 <= c["kendall_tau"] <= 1 for c in sens.json()["criteria"])


def test_a_field_user_cannot_build_and_the_public_cannot_read(api: Api) -> None:
    _seed(api.services.store)
    r = api.as_("field").post("/api/v1/priorities", json={"preset": "equal"})
    assert r.status_code == 403, r.text
    r = api.as_("editor").post("/api/v1/priorities", json={"preset": "equal"})
    assert r.status_code == 403
    made = api.as_("admin").post("/api/v1/priorities", json={"preset": "development"})
    assert made.status_code == 200, made.text
    list_id = made.json()["id"]
    for url in ("/api/v1/priorities", f"/api/v1/priorities/{list_id}",
                f"/api/v1/priorities/{list_id}/sensitivity"):
        assert api.public.get(url).status_code == 401, url
    assert api.public.post("/api/v1/priorities", json={}).status_code == 401
    assert api.as_("viewer").get(f"/api/v1/priorities/{list_id}").status_code == 200
    assert api.as_("viewer").get("/api/v1/priorities/nope").status_code == 404
    assert _audit(api.services.store, "prioritise")[0]["actor"] == "admin"


def test_bad_weights_and_layers_are_refused(api: Api) -> None:
    _seed(api.services.store)
    approver = api.as_("approver")
    r = approver.post("/api/v1/priorities", json={"weights": {"speed": 1}})
    assert r.status_code == 422 and "no criterion" in r.text
    r = approver.post("/api/v1/priorities", json={"layers": {"roads": SETTLEMENTS}})
    assert r.status_code == 422
    r = approver.post("/api/v1/priorities", json={"preset": None, "weights": {}})
    assert r.status_code == 422


def test_a_season_plan_is_made_drawn_and_replanned(api: Api) -> None:
    ids = _seed(api.services.store)
    approver = api.as_("approver")
    list_id = approver.post("/api/v1/priorities", json={"preset": "equal"}).json()["id"]
    teams = [{"team": "Alpha", "productivity_m2_day": 2000, "cost_per_day": 100,
              "base_lon": LON, "base_lat": LAT}]
    body = {"priority_list_id": list_id, "teams": teams, "start": "2027-01-10",
            "end": "2027-06-30", "budget": 100000}
    assert api.as_("editor").post("/api/v1/season-plans", json=body).status_code == 403
    r = approver.post("/api/v1/season-plans", json=body)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["plan"]["status"] == "Optimal"
    assigned = [t["hazard_id"] for t in plan["plan"]["tasks"]]
    assert set(assigned) == {ids["near"], ids["quiet"]}
    assert plan["plan"]["totals"]["cost"] <= 100000
    assert all(t["end_date"] <= "2027-06-30" for t in plan["plan"]["tasks"])
    assert [e["record_id"] for e in _audit(api.services.store, "plan")] == [plan["id"]]

    editor = api.as_("editor")
    got = editor.get(f"/api/v1/season-plans/{plan['id']}")
    assert got.status_code == 200 and got.json()["plan"]["tasks"] == plan["plan"]["tasks"]
    png = editor.get(f"/api/v1/season-plans/{plan['id']}/gantt.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert editor.get(f"/api/v1/season-plans/{plan['id']}/map.png").status_code == 200
    assert api.public.get(f"/api/v1/season-plans/{plan['id']}").status_code == 401

    first = plan["plan"]["tasks"][0]["hazard_id"]
    r = approver.post(f"/api/v1/season-plans/{plan['id']}/replan", json={
        "as_of": "2027-02-01", "progress": [{"hazard_id": first, "status": "done",
                                             "days_worked": 3}]})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["replans"] == plan["id"]
    status = {t["hazard_id"]: t["status"] for t in new["plan"]["tasks"]}
    assert status[first] == "done"
    assert [e["record_id"] for e in _audit(api.services.store, "replan")] == [new["id"]]
