"""Site check certificates (issue 20), on both stores: verification detects a changed,
added or deleted record behind a certificate, and nothing else (records out of reach,
fields the public never sees, drafts, re-saves that change nothing the public sees); a
certificate edited in the database fails its stored hash."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from pyproj import Geod
from shapely.geometry import Point, box

from mineaction.access.roles import PUBLIC, Principal, Role
from mineaction.domain.models import Accident, Hazard, MinefieldRecord
from mineaction.services.certificates import CERTIFICATES, Certificates
from mineaction.services.errors import NotFoundError
from mineaction.store import open_store

GEOD = Geod(ellps="WGS84")
LON, LAT = -75.0, 6.0
SITE = box(LON, LAT, LON + 0.001, LAT + 0.001)  # about 110 m x 110 m
ADMIN = Principal(username="admin", role=Role.admin)
_N = iter(range(1_000_000))


def _key(status: str = "approved") -> dict[str, str]:
    return {"status": status, "dataset": "test", "external_id": f"c{next(_N)}"}


def _east(metres: float) -> Point:
    x, y, _ = GEOD.fwd(LON + 0.0005, LAT + 0.0005, 90.0, metres)
    return Point(x, y)


@pytest.fixture
def world(store_location: str):  # type: ignore[no-untyped-def]
    store = open_store(store_location)
    on = store.add(Hazard(name="H-on", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON + 0.0006, LAT, LON + 0.002, LAT + 0.001), **_key()))
    near = store.add(Hazard(name="H-near", hazard_kind="SHA", hazard_status="open",
                            geometry=_east(350).buffer(0.0002), **_key()))
    far = store.add(Hazard(name="H-far", hazard_kind="SHA", hazard_status="open",
                           geometry=_east(5000).buffer(0.0002), **_key()))
    acc = store.add(Accident(accident_date=date(2014, 3, 2), geometry=_east(1000),
                             accident_kind="mine", narrative="as told", **_key()))
    draft = store.add(Hazard(name="H-draft", hazard_kind="SHA", hazard_status="open",
                             geometry=_east(200).buffer(0.0002), **_key("draft")))
    mf = store.add(MinefieldRecord(name="MF-1", geometry=box(LON, LAT, LON + 0.0004,
                                                             LAT + 0.0004), **_key()))
    certs = Certificates(store)
    made = certs.issue(ADMIN, SITE, buffer_m=500, nearby_m=2000, lang="en")
    yield store, certs, made, {"on": on, "near": near, "far": far, "acc": acc,
                               "draft": draft, "mf": mf}
    store.close()


def _change(store: Any, kind: str, record: Any, **fields: Any) -> Any:
    current = store.get(kind, record.id)
    changed = type(current).model_validate({**current.model_dump(), **fields})
    return store.update(changed, expected_version=current.version, by="someone")


def test_a_certificate_lists_the_public_evidence_and_verifies_unchanged(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, rec = world
    cert = certs.get(made["id"])
    listed = {(e["kind"], e["id"]) for e in cert["evidence"]["records"]}
    # The public view, though an admin asked: no draft, no minefield record.
    assert listed == {("hazard", str(rec["on"].id)), ("hazard", str(rec["near"].id)),
                      ("accident", str(rec["acc"].id))}
    assert cert["created_by"] == "admin"
    assert len(made["evidence_hash"]) == 64
    result = certs.verify(made["id"])
    assert result["unchanged"] is True and result["stored_hash_ok"] is True
    assert result["changed"] == result["deleted"] == result["added"] == []


def test_a_changed_record_is_named_with_its_field(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, rec = world
    _change(store, "hazard", rec["near"], hazard_status="closed")
    result = certs.verify(made["id"])
    assert result["unchanged"] is False
    assert [(c["kind"], c["id"], c["fields"]) for c in result["changed"]] == [
        ("hazard", str(rec["near"].id), ["hazard_status"])]
    assert result["changed"][0]["version_now"] == result["changed"][0]["version"] + 1
    assert result["deleted"] == result["added"] == []


def test_a_deleted_record_and_a_withdrawn_one_are_deleted(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, rec = world
    store.delete("hazard", rec["near"].id, by="someone")
    _change(store, "hazard", rec["on"], status="draft")  # no longer public
    result = certs.verify(made["id"])
    assert result["unchanged"] is False
    reasons = {d["id"]: d["reason"] for d in result["deleted"]}
    assert reasons == {str(rec["near"].id): "deleted", str(rec["on"].id): "no longer public"}
    assert result["changed"] == []


def test_an_approved_hazard_within_the_buffer_is_added(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, _ = world
    new = store.add(Hazard(name="H-new", hazard_kind="SHA", hazard_status="open",
                           geometry=_east(250).buffer(0.0001), **_key()))
    result = certs.verify(made["id"])
    assert result["unchanged"] is False
    assert [(a["kind"], a["id"]) for a in result["added"]] == [("hazard", str(new.id))]


def test_changes_out_of_reach_change_nothing(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, rec = world
    _change(store, "hazard", rec["far"], name="H-far renamed", hazard_status="closed")
    _change(store, "accident", rec["acc"], narrative="told again")  # the public never sees it
    _change(store, "hazard", rec["on"], external_id=rec["on"].external_id)  # a re-save
    _change(store, "hazard", rec["draft"], name="H-draft renamed")  # a draft: not public
    _change(store, "minefield_record", rec["mf"], name="MF-1 renamed")  # never public
    store.add(Hazard(name="H-outside", hazard_kind="SHA", hazard_status="open",
                     geometry=_east(2500).buffer(0.0002), **_key()))
    store.add(Hazard(name="H-draft-2", hazard_kind="SHA", hazard_status="open",
                     geometry=_east(100).buffer(0.0001), **_key("draft")))
    store.add(Accident(accident_date=date(2020, 1, 1), geometry=_east(40_000),
                       accident_kind="mine", **_key()))
    result = certs.verify(made["id"])
    assert result == {**result, "unchanged": True, "stored_hash_ok": True, "changed": [],
                      "deleted": [], "added": []}


def test_tampering_with_the_stored_evidence_shows(world) -> None:  # type: ignore[no-untyped-def]
    store, certs, made, rec = world
    cert = certs.get(made["id"])
    evidence = cert["evidence"]
    evidence["records"] = [e for e in evidence["records"] if e["id"] != str(rec["near"].id)]
    with store.transaction() as conn:
        conn.execute(sa.update(CERTIFICATES).where(CERTIFICATES.c.id == made["id"])
                     .values(evidence=json.dumps(evidence)))
    result = certs.verify(made["id"])
    assert result["stored_hash_ok"] is False
    # and the record dropped from it is now reported as added
    assert [a["id"] for a in result["added"]] == [str(rec["near"].id)]


def test_an_unknown_certificate_is_not_found(world) -> None:  # type: ignore[no-untyped-def]
    _, certs, _, _ = world
    for bad in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotFoundError):
            certs.verify(bad)


def test_the_pdf_is_in_the_language_asked(world) -> None:  # type: ignore[no-untyped-def]
    _, certs, made, rec = world
    html = certs.html(made["id"], "es")
    assert "Certificado de consulta de sitio" in html
    assert "El sitio está dentro del área peligrosa registrada H-on" in html
    assert made["evidence_hash"] in html
    assert f"mineaction certificate verify {made['id']}" in html
    assert str(rec["near"].id) in html and str(rec["mf"].id) not in html
    assert certs.pdf(made["id"]).startswith(b"%PDF")


def test_the_public_issues_too(world) -> None:  # type: ignore[no-untyped-def]
    _, certs, made, _ = world
    again = certs.issue(PUBLIC, SITE, buffer_m=500, nearby_m=2000)
    assert again["evidence_hash"] == made["evidence_hash"]  # same evidence, same hash
    assert certs.get(again["id"])["created_by"] == "anonymous"
