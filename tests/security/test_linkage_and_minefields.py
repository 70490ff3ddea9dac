"""What the record-linkage and minefield surfaces (issues 17, 18) could leak, each attack a
test: the review queue and entities read by roles that may not review, victims' personal
fields carried into the queue, another organisation's minefield record read through its
attachments or its accuracy, and a linkage run reading records its runner may not see."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from api_helpers import OTHER_ORG, Api
from shapely.geometry import Point, Polygon

from mineaction.access.roles import Policy, Principal, Role
from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.models import Accident, MinefieldRecord, Victim

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "linkage"))

from test_reconcile_service import SHARED, _report  # noqa: E402


def _two_sources(api: Api) -> None:
    store = api.services.store
    for i in range(SHARED):
        _report(store, "police", i)
        _report(store, "hospital", i, shift_days=1)


def test_only_reviewers_reach_the_queue_and_the_public_nothing(api: Api) -> None:
    _two_sources(api)
    run = api.as_("admin").post("/api/v1/links/run", json={
        "kind": "victim", "datasets": ["police", "hospital"], "upper": 1.0, "lower": 0.5})
    assert run.status_code == 200, run.text
    some = str(uuid.uuid4())
    for role in ("viewer", "field", "editor"):
        c = api.as_(role)
        assert c.get("/api/v1/links").status_code == 403, role
        assert c.get(f"/api/v1/entities/victim/{some}").status_code == 403, role
        assert c.post("/api/v1/links/run", json={
            "kind": "victim", "datasets": ["police", "hospital"]}).status_code == 403, role
    assert api.public.get("/api/v1/links").status_code == 401
    assert api.public.get(f"/api/v1/entities/victim/{some}").status_code == 401


def test_the_queue_carries_no_personal_field_and_logs_no_read(api: Api) -> None:
    """A victim's name is personal; the queue compares none of such fields, so it must
    neither show one nor log a read of one (it once read and logged every row whole)."""
    store = api.services.store
    acc = store.add(Accident(dataset="police", external_id="a", status="approved",
                             accident_date="2006-01-02", date_precision="day",
                             admin_area_pcode="05313", geometry=Point(-75.1, 6.1)))
    store.add(Victim(dataset="police", external_id="v", status="approved", outcome="killed",
                     accident_id=acc.id, name="Luz Marina"))
    _two_sources(api)
    api.as_("admin").post("/api/v1/links/run", json={
        "kind": "victim", "datasets": ["police", "hospital"], "upper": 1.0, "lower": 0.0})
    reads = len([e for e in api.as_("admin").get("/api/v1/audit/entries").json()
                 if e["action"] == "read_personal"])
    queue = api.as_("approver").get("/api/v1/links", params={"limit": 200})
    assert queue.status_code == 200 and "Luz" not in queue.text
    after = len([e for e in api.as_("admin").get("/api/v1/audit/entries").json()
                 if e["action"] == "read_personal"])
    assert after == reads


def test_another_organisations_minefield_record_stays_out_of_reach(api: Api) -> None:
    """With cross-organisation visibility off, a viewer must not read another
    organisation's minefield record through its attachments or its accuracy."""
    api.services.records.policy = Policy(cross_organisation_visibility=False)
    record = api.services.store.add(MinefieldRecord(
        name="MF-OTHER", status="approved", organisation_id=uuid.UUID(OTHER_ORG),
        geometry=Polygon([(46.93, 39.99), (46.94, 39.99), (46.94, 40.0), (46.93, 39.99)])))
    added = api.as_("admin").post(f"/api/v1/minefield-records/{record.id}/attachments",
                                  files={"file": ("scan.png", b"\x89PNG fake", "image/png")})
    assert added.status_code == 201, added.text
    viewer = api.as_("viewer")
    assert viewer.get(f"/api/v1/minefield-records/{record.id}").status_code == 404
    assert viewer.get(f"/api/v1/minefield-records/{record.id}/attachments").status_code == 404
    assert viewer.get(f"/api/v1/attachments/{added.json()['id']}").status_code == 404
    assert viewer.get(f"/api/v1/minefield-records/{record.id}/accuracy").status_code == 404
    assert api.public.get(f"/api/v1/attachments/{added.json()['id']}").status_code == 401


def test_a_linkage_run_reads_only_what_its_runner_may_read(api: Api) -> None:
    """The run's frames are read through access/ (they once read every record): a field
    user's frame of another user's drafts is empty, an approver's holds them."""
    store = api.services.store
    for i in range(SHARED):
        vid = _report(store, "hospital", i, shift_days=1)
        victim = store.get("victim", vid)
        store.update(victim.model_copy(update={"status": WorkflowStatus.draft}),
                     expected_version=victim.version, by="someone-else")
    rec = api.services.reconciliation
    records = api.services.records
    field = Principal(username="fred", role=Role.field, user_id="fred")
    approver = Principal(username="abel", role=Role.approver, user_id="abel")
    assert len(rec.frame(records.access(field), "victim", "hospital")) == 0
    assert len(rec.frame(records.access(approver), "victim", "hospital")) == SHARED
