# SPDX-License-Identifier: GPL-3.0-or-later
"""Record linkage over HTTP (issue 17): the review queue, confirm, reject, merge, split and
undo through /api/v1/links, each reflected in the casualty statistics; only reviewers
decide (a viewer gets 403, the public 401); a browser's write needs its Origin; the queue
shows no personal data."""

from __future__ import annotations

import typing
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from api_helpers import Api
from shapely.geometry import Point

from mineaction.access import visibility
from mineaction.api.routers import links
from mineaction.domain.models import Accident, Victim
from mineaction.store import Store
from mineaction.store.links import STATUSES

SHARED, OWN = 24, 6  # persons both sources report; persons only the police reports
SOURCES = ("police", "hospital")
PCODES = ["05313", "18410", "50711", "13001", "76001", "52835"]
NAME = "Nombre Secreto"  # personal data: never in the queue
# The whole flow runs on both stores; the checks of who may do what on the GeoPackage only
# (they are the service's and the guard's, not the store's).
ONE_STORE = pytest.mark.parametrize("store_location", ["gpkg"], indirect=True)


def _report(store: Store, dataset: str, i: int, shift_days: int = 0) -> str:
    acc = store.add(Accident(
        dataset=dataset, external_id=f"a{i}", status="approved",
        accident_date=date(2006, 1, 1) + timedelta(days=37 * i + shift_days),
        date_precision="day", admin_area_pcode=PCODES[i % 6],
        geometry=Point(-75 + i * 0.05, 4 + i * 0.03)))
    vic = store.add(Victim(
        dataset=dataset, external_id=f"v{i}", status="approved", accident_id=acc.id,
        outcome=("killed", "injured")[i % 2], role=("civilian", "security_forces")[(i // 2) % 2],
        sex=("male", "female")[(i // 3) % 2], age_band=("adult", "child")[(i // 5) % 2],
        name=f"{NAME} {i}"))
    return str(vic.id)


def _sources(store: Store) -> dict[str, dict[int, str]]:
    ids: dict[str, dict[int, str]] = {"police": {}, "hospital": {}}
    for i in range(SHARED + OWN):
        ids["police"][i] = _report(store, "police", i)
    for i in range(SHARED):
        ids["hospital"][i] = _report(store, "hospital", i, shift_days=i % 3)
    return ids


def _total(api: Api) -> int:
    r = api.as_("approver").get("/api/v1/stats/casualties")
    assert r.status_code == 200, r.text
    return int(r.json()["total"]["casualties"])


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def linked(api: Api) -> dict[str, dict[int, str]]:
    """Two sources, linked with every pair sent to review (upper 1.0)."""
    ids = _sources(api.services.store)
    run = _ok(api.as_("admin").post("/api/v1/links/run", json={
        "kind": "victim", "datasets": list(SOURCES), "upper": 1.0, "lower": 0.5}))
    assert run["counts"] == {"review": SHARED} and run["datasets"] == list(SOURCES)
    return ids


def test_queue_decisions_merge_split_and_undo_change_the_count(
        api: Api, linked: dict[str, dict[int, str]]) -> None:
    ids, reviewer = linked, api.as_("approver")
    # Pairs in review join their records: neither counted twice nor lost.
    assert _total(api) == SHARED + OWN
    page = _ok(reviewer.get("/api/v1/links", params={"kind": "victim", "limit": 5}))
    assert page["total"] == SHARED and len(page["items"]) == 5 and page["limit"] == 5
    first, second = page["items"][:2]
    for item in (first, second):
        assert {item["a"]["dataset"], item["b"]["dataset"]} == set(SOURCES)
        assert item["status"] == "review" and 0 <= item["probability"] <= 1
        assert "accident_date" in item["shown"] and "outcome" in item["shown"]
    rest = _ok(reviewer.get("/api/v1/links", params={"kind": "victim", "offset": 5}))
    assert rest["total"] == SHARED and len(rest["items"]) == SHARED - 5
    assert _ok(reviewer.get(f"/api/v1/links/{first['id']}"))["a"] == first["a"]

    confirmed = _ok(reviewer.post(f"/api/v1/links/{first['id']}/confirm",
                                  json={"note": "same date and place"}))
    assert confirmed["status"] == "confirmed" and confirmed["decided_by"] == "approver"
    assert _total(api) == SHARED + OWN
    rejected = _ok(reviewer.post(f"/api/v1/links/{second['id']}/reject"))  # no body
    assert rejected["status"] == "rejected"
    assert _total(api) == SHARED + OWN + 1  # two persons now
    assert _ok(reviewer.get("/api/v1/links", params={"kind": "victim"}))["total"] == SHARED - 2
    decided = _ok(reviewer.get("/api/v1/links", params={"status": "rejected"}))
    assert [i["id"] for i in decided["items"]] == [second["id"]]

    # Undo the rejection: back to review, counted once again.
    back = _ok(reviewer.post(f"/api/v1/links/{second['id']}/undo", json={"note": "oops"}))
    assert back["status"] == "review"
    assert _total(api) == SHARED + OWN
    # Nothing left to undo on it.
    assert reviewer.post(f"/api/v1/links/{second['id']}/undo").status_code == 409

    # Merge a police-only person into an entity the model made: one fewer.
    lone, other = ids["police"][SHARED], ids["hospital"][5]
    merged = _ok(reviewer.post("/api/v1/links/merge", json={
        "kind": "victim", "a": lone, "b": other, "note": "same person"}))
    assert merged["status"] == "confirmed" and merged["scope"] == "manual"
    assert merged["probability"] is None
    assert _total(api) == SHARED + OWN - 1
    members = _ok(reviewer.get(f"/api/v1/entities/victim/{lone}"))
    assert {m["id"] for m in members} >= {lone, other}
    assert sum(m["representative"] for m in members) == 1 and members[0]["representative"]

    # Split it out again: every link joining it is rejected, each undoable.
    split = _ok(reviewer.post("/api/v1/links/split", json={"kind": "victim", "record": lone}))
    assert split["rejected"] == [merged["id"]]
    assert _total(api) == SHARED + OWN
    assert [m["id"] for m in _ok(reviewer.get(f"/api/v1/entities/victim/{lone}"))] == [lone]
    # A record in no entity has nothing to split.
    assert reviewer.post("/api/v1/links/split", json={
        "kind": "victim", "record": lone}).status_code == 409
    assert _ok(reviewer.post(f"/api/v1/links/{merged['id']}/undo"))["status"] == "confirmed"
    assert _total(api) == SHARED + OWN - 1


@ONE_STORE
def test_only_reviewers_decide_and_the_public_must_sign_in(
        api: Api, linked: dict[str, dict[int, str]]) -> None:
    some = _ok(api.as_("approver").get("/api/v1/links"))["items"][0]["id"]
    calls = [("GET", "/api/v1/links", None), ("GET", f"/api/v1/links/{some}", None),
             ("POST", f"/api/v1/links/{some}/confirm", {}),
             ("POST", f"/api/v1/links/{some}/reject", {}),
             ("POST", f"/api/v1/links/{some}/undo", {}),
             ("POST", "/api/v1/links/merge", {"kind": "victim", "a": linked["police"][0],
                                              "b": linked["police"][1]}),
             ("POST", "/api/v1/links/split", {"kind": "victim",
                                              "record": linked["police"][0]}),
             ("POST", "/api/v1/links/run", {"kind": "victim", "datasets": list(SOURCES)}),
             ("GET", f"/api/v1/entities/victim/{linked['police'][0]}", None)]
    for method, url, body in calls:
        for role in ("viewer", "editor"):
            r = api.as_(role).request(method, url, json=body)
            assert r.status_code == 403, (role, url, r.text)
            assert r.json()["code"] == "forbidden"
        assert api.public.request(method, url, json=body).status_code == 401, url
    # Nothing changed.
    assert _ok(api.as_("approver").get("/api/v1/links"))["total"] == SHARED


@ONE_STORE
def test_a_browser_write_needs_its_origin(api: Api, linked: dict[str, dict[int, str]]) -> None:
    browser = api.browser("approver")  # signed in by the session cookie
    some = _ok(browser.get("/api/v1/links"))["items"][0]["id"]
    browser.http.headers.pop("Origin")
    refused = browser.post(f"/api/v1/links/{some}/confirm")
    assert refused.status_code == 403, refused.text
    assert _ok(browser.get(f"/api/v1/links/{some}"))["status"] == "review"
    foreign = browser.post(f"/api/v1/links/{some}/confirm",
                           headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    done = browser.post(f"/api/v1/links/{some}/confirm",
                        headers={"Origin": "http://testserver"})
    assert done.status_code == 200 and done.json()["status"] == "confirmed"


@ONE_STORE
def test_the_queue_shows_no_personal_data(api: Api, linked: dict[str, dict[int, str]],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reviewer = api.as_("approver")
    # Approvers may read names on a victim's page, yet the queue compares no personal
    # field: it shows none.
    shown = reviewer.get("/api/v1/links", params={"limit": 500})
    assert shown.status_code == 200 and NAME not in shown.text
    entity = reviewer.get(f"/api/v1/entities/victim/{linked['police'][0]}")
    assert entity.status_code == 200 and NAME not in entity.text
    assert NAME in reviewer.get(f"/api/v1/victims/{linked['police'][0]}").text
    # A reviewer role without personal data (a deployment that takes it from approvers):
    # the queue still works and the record pages hide the names too.
    monkeypatch.setattr(visibility, "PERSONAL_DATA_ROLES", frozenset({"admin"}))
    visibility._hidden.cache_clear()
    try:
        page = reviewer.get("/api/v1/links", params={"limit": 500})
        assert page.status_code == 200 and NAME not in page.text
        assert page.json()["total"] == SHARED
        assert NAME not in reviewer.get(f"/api/v1/victims/{linked['police'][0]}").text
    finally:
        monkeypatch.undo()
        visibility._hidden.cache_clear()


@ONE_STORE
def test_bad_requests_are_answered_plainly(api: Api, linked: dict[str, dict[int, str]]
                                           ) -> None:
    reviewer = api.as_("admin")
    assert reviewer.get(f"/api/v1/links/{uuid.uuid4()}").status_code == 404
    assert reviewer.post(f"/api/v1/links/{uuid.uuid4()}/confirm").status_code == 404
    assert reviewer.get("/api/v1/links/not-a-uuid").status_code == 422
    assert reviewer.get("/api/v1/links", params={"kind": "hazard"}).status_code == 422
    assert reviewer.get("/api/v1/links", params={"status": "nope"}).status_code == 422
    assert reviewer.post("/api/v1/links/run", json={
        "kind": "victim", "datasets": ["police"]}).status_code == 422
    assert reviewer.post("/api/v1/links/run", json={
        "kind": "victim", "datasets": ["police", "nobody"]}).status_code == 422
    assert reviewer.post("/api/v1/links/run", json={
        "kind": "victim", "datasets": list(SOURCES), "upper": 0.4,
        "lower": 0.6}).status_code == 422
    some = linked["police"][0]
    assert reviewer.post("/api/v1/links/merge", json={
        "kind": "victim", "a": some, "b": some}).status_code == 422
    assert reviewer.post("/api/v1/links/merge", json={
        "kind": "victim", "a": some, "b": str(uuid.uuid4())}).status_code == 404


def test_the_api_lists_the_statuses_the_store_keeps() -> None:
    assert typing.get_args(links.Status) == STATUSES


@ONE_STORE
def test_the_review_page_is_for_reviewers(api: Api, linked: dict[str, dict[int, str]]) -> None:
    """The web page (web/review.py) without a browser: who sees it and its nav link, and
    what a pair shows; tests/web/test_review_queue_e2e.py clicks through it."""
    approver = api.browser("approver")
    page = approver.get("/review")
    assert page.status_code == 200 and 'href="/review"' in page.text
    assert page.text.count('class="pair"') == 20 and "24 pairs to review" in page.text
    assert 'class="differs"' in page.text and "% likely the same" in page.text
    assert NAME not in page.text
    assert approver.get("/review", params={"kind": "accident"}).status_code == 200
    assert approver.get("/review", params={"kind": "hazard"}).status_code == 404
    viewer = api.browser("viewer")
    assert 'href="/review"' not in viewer.get("/records").text
    refused = viewer.get("/review")
    assert refused.status_code == 403 and "pair" not in refused.text
    public = api.anonymous().get("/review", follow_redirects=False)
    assert public.status_code == 303 and public.headers["location"].startswith("/login")


@ONE_STORE
def test_datasets_named_with_hyphens_link(api: Api) -> None:
    store = api.services.store
    for i in range(SHARED):
        _report(store, "police-2021", i)
        _report(store, "hospital-2021", i, shift_days=i % 3)
    run = api.as_("admin").post("/api/v1/links/run", json={
        "kind": "victim", "datasets": ["police-2021", "hospital-2021"], "upper": 1.0,
        "lower": 0.5})
    assert run.status_code == 200, run.text


def test_the_page_never_rounds_a_guess_to_certainty() -> None:
    from mineaction.web.review import differs, likelihood

    assert likelihood(0.9996) == "over 99% likely the same"
    assert likelihood(1.0) == "100% likely the same"
    assert likelihood(0.004) == "under 1% likely the same"
    assert likelihood(0.874) == "87% likely the same"
    assert likelihood(None) == "linked by a person"
    # A field one source left out is no disagreement.
    assert differs("killed", "injured") and not differs("killed", None)


@ONE_STORE
def test_per_record_counts_every_record_but_not_for_the_public(
        api: Api, linked: dict[str, dict[int, str]]) -> None:
    once = _total(api)
    every = api.as_("approver").get("/api/v1/stats/casualties",
                                    params={"per_record": "true"}).json()["total"]
    assert every["casualties"] == sum(len(v) for v in linked.values()) > once
    public = api.public.get("/api/v1/stats/casualties", params={"per_record": "true"})
    assert public.status_code == 200
    assert public.json()["total"]["casualties"] in (once, None)
