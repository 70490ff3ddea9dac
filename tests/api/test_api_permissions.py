"""Permission matrix: every endpoint of the app, for every role, on both stores. Allowed
calls succeed; forbidden ones get 401 (anonymous) or 403. A route added without an entry
here fails the test, so the matrix stays complete.

Records endpoints are read for every entity kind (an approved record). Writes (a fresh
draft by another user, the editor, for edits; a submitted one for reviews) are exercised
on three kinds: every kind's router comes from one factory (api/routers/records.py) and
the rules are kind-agnostic but for victims (personal data, public aggregates) and
organisation-scoped kinds (hazards), which are among the three.
"""

from __future__ import annotations

import uuid
from typing import Any

from api_helpers import ROLES

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import BY_COLLECTION, REGISTRY

ALL = (*ROLES, "public")
COLLECTION = {kind: name for name, kind in BY_COLLECTION.items()}
ACTIVITY_ID = str(uuid.uuid4())
BODIES: dict[str, dict[str, Any]] = {
    "admin_area": {"pcode": "05", "name": "Antioquia", "level": 1},
    "place": {"name": "Granada"},
    "organisation": {"name": "HALO"},
    "source": {"source_kind": "official", "title": "report"},
    "hazard": {"hazard_kind": "SHA"},
    "activity": {"activity_kind": "clearance"},
    "released_part": {"activity_id": ACTIVITY_ID, "method": "cleared"},
    "find": {"quantity": 2},
    "accident": {"accident_kind": "mine"},
    "victim": {"outcome": "killed", "name": "X"},
    "risk_education": {"girls": 3},
    "minefield_record": {"name": "MF-7"},
    "minefield_point": {"name": "TP1", "role": "turning"},
    "mine_row": {"label": "A", "mines": 12},
}
# Fields that each PATCH changes, per kind (any harmless field).
PATCHES = {k: {next(iter(b)): b[next(iter(b))]} for k, b in BODIES.items()}

WRITE_KINDS = ("accident", "victim", "hazard")
WRITERS = {"admin", "approver", "editor", "field"}
EDITORS_OF_OTHERS = {"admin", "approver", "editor"}  # a draft someone else made
REVIEWERS = {"admin", "approver"}
IMPORTERS = {"admin", "approver", "editor"}


# Building a priority list over a store with no open hazard: refused as such (422) for
# those who may build, 403 for the other signed-in roles, 401 for the public.
PRIORITY_BUILD = {r: ({422} if r in REVIEWERS else {403}) for r in ROLES} | {"public": {401}}


def expect(allowed: bool, role: str, ok: int) -> set[int]:
    if allowed:
        return {ok}
    return {401} if role == "public" else {403}


def test_every_route_is_in_the_matrix(api) -> None:  # type: ignore[no-untyped-def]
    covered = {
        ("GET", "/api/v1"), ("GET", "/api/v1/health"),
        ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/me"), ("POST", "/api/v1/auth/tokens"),
        ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/{username}"),
        ("GET", "/api/v1/auth/tokens"), ("DELETE", "/api/v1/auth/tokens/{token_id}"),
        ("GET", "/api/v1/users/{username}/tokens"),
        ("DELETE", "/api/v1/users/{username}/tokens/{token_id}"),
        ("POST", "/api/v1/imports"), ("GET", "/api/v1/imports/{job_id}"),
        ("POST", "/api/v1/imports/{job_id}/commit"), ("POST", "/api/v1/imports/{job_id}/cancel"),
        ("GET", "/api/v1/audit/verify"), ("GET", "/api/v1/audit/entries"),
        ("GET", "/api/v1/victims/summary"), ("GET", "/api/v1/docs"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/stats/casualties"), ("GET", "/api/v1/stats/casualties/records"),
        ("GET", "/api/v1/stats/land-release"), ("GET", "/api/v1/stats/risk-education"),
        ("GET", "/api/v1/stats/trends"), ("GET", "/api/v1/reports/{kind}"),
        ("GET", "/api/v1/stats/sources"), ("GET", "/api/v1/stats/sources.png"),
        ("GET", "/api/v1/links"), ("GET", "/api/v1/links/{link_id}"),
        ("POST", "/api/v1/links/{link_id}/confirm"), ("POST", "/api/v1/links/{link_id}/reject"),
        ("POST", "/api/v1/links/{link_id}/undo"), ("POST", "/api/v1/links/merge"),
        ("POST", "/api/v1/links/split"), ("POST", "/api/v1/links/run"),
        ("GET", "/api/v1/entities/{kind}/{record_id}"),
        ("GET", "/api/v1/checks/geometry"),
        ("POST", "/api/v1/minefield-records/compute"),
        ("POST", "/api/v1/minefield-records/import"),
        ("GET", "/api/v1/minefield-records/{record_id}/accuracy"),
        ("GET", "/api/v1/minefield-records/{record_id}/attachments"),
        ("POST", "/api/v1/minefield-records/{record_id}/attachments"),
        ("GET", "/api/v1/attachments/{attachment_id}"),
        ("POST", "/api/v1/hazards/{record_id}/release"),
        ("GET", "/api/v1/risk"), ("GET", "/api/v1/risk/cells"),
        ("GET", "/api/v1/risk/cells/{cell_id}"),
        ("GET", "/api/v1/site-check"), ("POST", "/api/v1/site-check"),
        ("GET", "/api/v1/places/search"),
        ("POST", "/api/v1/site-check/certificates"),
        ("GET", "/api/v1/site-check/certificates/{cert_id}.pdf"),
        ("GET", "/api/v1/site-check/certificates/{cert_id}/verify"),
        ("GET", "/api/v1/priorities/criteria"), ("POST", "/api/v1/priorities"),
        ("GET", "/api/v1/priorities"), ("GET", "/api/v1/priorities/{list_id}"),
        ("GET", "/api/v1/priorities/{list_id}/sensitivity"),
        ("POST", "/api/v1/season-plans"), ("GET", "/api/v1/season-plans/{plan_id}"),
        ("POST", "/api/v1/season-plans/{plan_id}/replan"),
        ("GET", "/api/v1/season-plans/{plan_id}/gantt.png"),
        ("GET", "/api/v1/season-plans/{plan_id}/map.png"),
        ("GET", "/api/v1/claims"), ("GET", "/api/v1/claims/check"),
        ("POST", "/api/v1/claims/import"),
        # Vector tiles for GIS clients (issue 23): per collection in test_records_matrix.
        ("GET", "/api/v1/tiles"), ("GET", "/api/v1/tiles/{collection}.json"),
        ("GET", "/api/v1/tiles/{collection}/{z}/{x}/{y}.mvt"),
        # OGC API Features (issue 23): read per collection in test_records_matrix.
        ("GET", "/ogc"), ("GET", "/ogc/api"), ("GET", "/ogc/conformance"),
        ("GET", "/ogc/collections"), ("GET", "/ogc/collections/{collectionId}"),
        ("GET", "/ogc/collections/{collectionId}/queryables"),
        ("GET", "/ogc/collections/{collectionId}/items"),
        ("GET", "/ogc/collections/{collectionId}/items/{featureId}"),
    }
    for coll in COLLECTION.values():
        base = f"/api/v1/{coll}"
        one = f"{base}/{{record_id}}"
        covered |= {("GET", base), ("POST", base), ("GET", one), ("PUT", one),
                    ("PATCH", one), ("DELETE", one), ("GET", f"{one}/history"),
                    ("GET", f"{one}/diff"), ("GET", f"{one}/reviews")}
        covered |= {("POST", f"{one}/{a}") for a in ("submit", "approve", "reject")}
    paths = api.app.openapi()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    routes |= {("GET", "/api/v1/docs"), ("GET", "/api/v1/openapi.json")}
    assert routes - covered == set(), "add these routes to the permission matrix"
    assert covered - routes == set()


def _draft(api, kind: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = api.as_("editor").post(f"/api/v1/{COLLECTION[kind]}", json=BODIES[kind])
    assert r.status_code == 201, r.text
    return r.json()


def _submitted(api, kind: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rec = _draft(api, kind)
    r = api.as_("editor").post(f"/api/v1/{COLLECTION[kind]}/{rec['id']}/submit")
    assert r.status_code == 200, r.text
    return r.json()


def _approved(api, kind: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rec = _submitted(api, kind)
    r = api.as_("approver").post(f"/api/v1/{COLLECTION[kind]}/{rec['id']}/approve")
    assert r.status_code == 200, r.text
    return r.json()


def _client(api, role: str):  # type: ignore[no-untyped-def]
    return api.public if role == "public" else api.as_(role)


def test_records_matrix(api) -> None:  # type: ignore[no-untyped-def]
    failures = []

    def check(role: str, what: str, response: Any, allowed: set[int]) -> None:
        if response.status_code not in allowed:
            failures.append(f"{role} {what}: {response.status_code} not in {allowed} "
                            f"({response.text[:120]})")

    for kind in ENTITIES:
        base = f"/api/v1/{COLLECTION[kind]}"
        approved = _approved(api, kind)
        one = f"{base}/{approved['id']}"
        v = approved["version"]
        # The public sees victims and minefield records only as aggregates.
        hidden = REGISTRY[kind].public_aggregate_only
        for role in ALL:
            c = _client(api, role)
            pub = role == "public"
            check(role, f"GET {base}", c.get(base), {403} if pub and hidden else {200})
            check(role, f"GET {one}", c.get(one), {403} if pub and hidden else {200})
            check(role, f"GET {one}/reviews", c.get(f"{one}/reviews"),
                  {403} if pub and hidden else {200})
            # OGC API Features (issue 23): the same records, the same rule.
            ogc = f"/ogc/collections/{COLLECTION[kind]}"
            for url in (ogc, f"{ogc}/queryables", f"{ogc}/items",
                        f"{ogc}/items/{approved['id']}"):
                check(role, f"GET {url}", c.get(url), {403} if pub and hidden else {200})
            # Vector tiles (issue 23): the same rule for the kinds with places; none else.
            spatial = geometry_column(ENTITIES[kind]) is not None
            for url in (f"/api/v1/tiles/{COLLECTION[kind]}.json",
                        f"/api/v1/tiles/{COLLECTION[kind]}/0/0/0.mvt"):
                check(role, f"GET {url}", c.get(url),
                      {404} if not spatial else {403} if pub and hidden else {200})
            check(role, "GET /api/v1/tiles", c.get("/api/v1/tiles"), {200})
            check(role, f"GET {one}/history", c.get(f"{one}/history"), {403} if pub else {200})
            check(role, f"GET {one}/diff", c.get(f"{one}/diff", params={"from": 1, "to": v}),
                  {403} if pub else {200})
            check(role, f"POST {base}", c.post(base, json=BODIES[kind]),
                  expect(role in WRITERS, role, 201))
            if kind not in WRITE_KINDS:
                continue
            for method in ("PATCH", "PUT", "DELETE", "SUBMIT"):
                draft = _draft(api, kind)
                url = f"{base}/{draft['id']}"
                h = {"If-Match": '"1"'}
                if method == "PATCH":
                    r = c.patch(url, json=PATCHES[kind], headers=h)
                elif method == "PUT":
                    r = c.put(url, json=BODIES[kind], headers=h)
                elif method == "DELETE":
                    r = c.delete(url, headers=h)
                else:
                    r = c.post(f"{url}/submit")
                # Drafts are not visible to the public or to field users (not theirs).
                denied = {401} if pub else {404, 403} if role == "field" else {403}
                check(role, f"{method} {url}", r,
                      {204 if method == "DELETE" else 200} if role in EDITORS_OF_OTHERS
                      else denied)
            for action in ("approve", "reject"):
                sub = _submitted(api, kind)
                r = c.post(f"{base}/{sub['id']}/{action}", json={"reason": "duplicate"})
                denied = {401} if pub else {404, 403} if role == "field" else {403}
                check(role, f"{action} {kind}", r, {200} if role in REVIEWERS else denied)
    assert not failures, "\n".join(failures)


def test_field_edits_only_own_drafts(api) -> None:  # type: ignore[no-untyped-def]
    field = api.as_("field")
    own = field.post("/api/v1/accidents", json={"accident_kind": "mine"}).json()
    url = f"/api/v1/accidents/{own['id']}"
    assert field.get(url).status_code == 200
    assert field.patch(url, json={"narrative": "x"}, headers={"If-Match": '"1"'}
                       ).status_code == 200
    assert field.post(f"{url}/submit").status_code == 200
    # Submitted: no longer a draft, so no more edits by the field user.
    r = field.patch(url, json={"narrative": "y"}, headers={"If-Match": '"3"'})
    assert r.status_code == 403
    assert field.post(f"{url}/approve").status_code == 403
    # Its own records alone with ?mine; otherwise approved ones and its own, as GET by
    # id shows them (one rule, access/visibility.py: the list once hid its own).
    assert [x["id"] for x in field.get("/api/v1/accidents?mine=true").json()["items"]] == [
        own["id"]]
    assert [x["id"] for x in field.get("/api/v1/accidents").json()["items"]] == [own["id"]]


def test_other_endpoints_matrix(api) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for role in ALL:
        c = _client(api, role)
        admin, pub = role == "admin", role == "public"
        cases = [
            ("GET", "/api/v1", {}, {200}),
            ("GET", "/api/v1/health", {}, {200}),
            ("GET", "/api/v1/openapi.json", {}, {200}),
            ("GET", "/api/v1/docs", {}, {200}),
            *(("GET", url, {}, {200}) for url in ("/ogc", "/ogc/api", "/ogc/conformance",
                                                  "/ogc/collections")),
            ("GET", "/api/v1/auth/me", {}, {200}),
            ("POST", "/api/v1/auth/tokens", {"json": {"name": "t"}}, {401} if pub else {201}),
            ("GET", "/api/v1/auth/tokens", {}, {401} if pub else {200}),
            ("DELETE", "/api/v1/auth/tokens/999999", {}, {401} if pub else {404}),
            ("GET", "/api/v1/users/viewer/tokens", {}, expect(admin, role, 200)),
            ("DELETE", "/api/v1/users/viewer/tokens/999999", {}, expect(admin, role, 404)),
            ("GET", "/api/v1/victims/summary", {"params": {"by": "year"}}, {200}),
            ("GET", "/api/v1/users", {}, expect(admin, role, 200)),
            ("POST", "/api/v1/users", {"json": {"username": f"new_{role}", "password":
                                                "0123456789ab", "role": "viewer"}},
             expect(admin, role, 201)),
            ("PATCH", f"/api/v1/users/{api.user('viewer')}",
             {"json": {"organisation_id": None}},
             expect(admin, role, 200)),
            ("GET", "/api/v1/audit/verify", {}, expect(admin, role, 200)),
            ("GET", "/api/v1/audit/entries", {}, expect(admin, role, 200)),
            ("POST", "/api/v1/imports", {"files": {"file": ("a.csv", b"accident_kind\nmine\n")},
                                         "data": {"kind": "accidents"}},
             expect(role in IMPORTERS, role, 202)),
            ("GET", f"/api/v1/imports/{uuid.uuid4()}", {}, {401} if pub else {404}),
            ("POST", f"/api/v1/imports/{uuid.uuid4()}/commit", {},
             {401} if pub else {404} if role in IMPORTERS else {403}),
            ("POST", f"/api/v1/imports/{uuid.uuid4()}/cancel", {},
             {401} if pub else {404} if role in IMPORTERS else {403}),
            ("GET", "/api/v1/stats/casualties", {"params": {"by": "year,role"}}, {200}),
            ("GET", "/api/v1/stats/casualties", {"params": {"status": "all"}},
             {403} if role in ("public", "field") else {200}),
            ("GET", "/api/v1/stats/casualties/records", {"params": {"what": "victim"}},
             {403} if pub else {200}),
            ("GET", "/api/v1/stats/casualties/records", {"params": {"what": "accident"}},
             {200}),
            ("GET", "/api/v1/stats/land-release", {"params": {"measure": "finds"}}, {200}),
            ("GET", "/api/v1/stats/risk-education", {}, {200}),
            ("GET", "/api/v1/stats/trends", {}, {200}),
            ("GET", "/api/v1/reports/monthly", {"params": {"month": "2020-03",
                                                           "format": "html"}},
             {401} if pub else {200}),
            ("GET", "/api/v1/stats/sources", {}, {200}),
            ("GET", "/api/v1/checks/geometry", {}, {200}),
            ("GET", "/api/v1/links", {}, {401} if pub else expect(
                role in REVIEWERS, role, 200)),
            ("GET", f"/api/v1/links/{uuid.uuid4()}", {}, {401} if pub else {404}
             if role in REVIEWERS else {403}),
            *(("POST", f"/api/v1/links/{uuid.uuid4()}/{a}", {}, {401} if pub else {404}
               if role in REVIEWERS else {403}) for a in ("confirm", "reject", "undo")),
            ("POST", "/api/v1/links/split", {"json": {"kind": "victim",
                                                     "record": str(uuid.uuid4())}},
             {401} if pub else {409} if role in REVIEWERS else {403}),
            ("POST", "/api/v1/links/merge", {"json": {"kind": "victim", "a": str(uuid.uuid4()),
                                                     "b": str(uuid.uuid4())}},
             {401} if pub else {404} if role in REVIEWERS else {403}),
            ("POST", "/api/v1/links/run", {"json": {"kind": "victim", "datasets": ["a", "b"]}},
             {401} if pub else {422} if role in REVIEWERS else {403}),
            ("GET", f"/api/v1/entities/victim/{uuid.uuid4()}", {}, {401} if pub else {200}
             if role in REVIEWERS else {403}),
            ("POST", "/api/v1/minefield-records/compute", {"json": {
                "benchmark": {"name": "BM", "lat": 40.0, "lon": 47.0},
                "legs": [{"to": "P1", "bearing": 90, "distance": 10}]}},
             {401} if pub else {200}),
            ("POST", "/api/v1/minefield-records/import",
             {"files": {"file": ("r.yaml", b"name: MF\n")}},
             {401} if pub else {422} if role in WRITERS else {403}),
            ("GET", f"/api/v1/minefield-records/{uuid.uuid4()}/accuracy", {},
             {401} if pub else {404}),
            ("GET", f"/api/v1/minefield-records/{uuid.uuid4()}/attachments", {},
             {401} if pub else {404}),
            ("POST", f"/api/v1/minefield-records/{uuid.uuid4()}/attachments",
             {"files": {"file": ("a.png", b"x")}}, {401} if pub else {404}),
            ("GET", f"/api/v1/attachments/{uuid.uuid4()}", {}, {401} if pub else {404}),
            ("POST", f"/api/v1/hazards/{uuid.uuid4()}/release",
             {"json": {"hazard_status": "closed"}}, {401} if pub else {404}),
            # No risk layer configured here: signed-in users learn that (404); the public
            # is refused before it can tell (tests/api/test_risk_layer.py with a layer).
            ("GET", "/api/v1/risk", {}, {403} if pub else {404}),
            ("GET", "/api/v1/risk/cells", {"params": {"bbox": "-75,6,-74,7"}},
             {403} if pub else {404}),
            ("GET", "/api/v1/risk/cells/1", {}, {403} if pub else {404}),
            # Place search is for everyone, each finding what they may see (#21).
            ("GET", "/api/v1/places/search", {"params": {"q": "gran"}}, {200}),
            # Site checks and their certificates are for everyone (the public view).
            ("GET", "/api/v1/site-check", {"params": {"lon": -75.0, "lat": 6.0}}, {200}),
            ("POST", "/api/v1/site-check", {"json": {"geometry": {
                "type": "Point", "coordinates": [-75.0, 6.0]}}}, {200}),
            ("POST", "/api/v1/site-check/certificates", {"json": {"geometry": {
                "type": "Point", "coordinates": [-75.0, 6.0]}}}, {201}),
            ("GET", f"/api/v1/site-check/certificates/{uuid.uuid4()}.pdf", {}, {404}),
            ("GET", f"/api/v1/site-check/certificates/{uuid.uuid4()}/verify", {}, {404}),
            # Priorities: read by the signed-in, built and planned by reviewers.
            ("GET", "/api/v1/priorities/criteria", {}, {401} if pub else {200}),
            ("GET", "/api/v1/priorities", {}, {401} if pub else {200}),
            ("POST", "/api/v1/priorities", {"json": {"preset": "equal"}},
             PRIORITY_BUILD[role]),
            ("GET", f"/api/v1/priorities/{uuid.uuid4()}", {}, {401} if pub else {404}),
            ("GET", f"/api/v1/priorities/{uuid.uuid4()}/sensitivity", {},
             {401} if pub else {404}),
            ("POST", "/api/v1/season-plans", {"json": {
                "priority_list_id": str(uuid.uuid4()), "start": "2027-01-10",
                "end": "2027-06-30", "teams": [{"team": "T1", "productivity_m2_day": 500,
                                                "cost_per_day": 100, "base_lon": -75.0,
                                                "base_lat": 6.0}]}},
             {401} if pub else {404} if role in REVIEWERS else {403}),
            ("GET", f"/api/v1/season-plans/{uuid.uuid4()}", {}, {401} if pub else {404}),
            ("POST", f"/api/v1/season-plans/{uuid.uuid4()}/replan", {"json": {"progress": []}},
             {401} if pub else {404} if role in REVIEWERS else {403}),
            ("GET", f"/api/v1/season-plans/{uuid.uuid4()}/gantt.png", {},
             {401} if pub else {404}),
            ("GET", f"/api/v1/season-plans/{uuid.uuid4()}/map.png", {},
             {401} if pub else {404}),
            # Published figures and their check are for everyone; importers import (#22).
            ("GET", "/api/v1/claims", {}, {200}),
            ("GET", "/api/v1/claims/check", {}, {200}),
            ("POST", "/api/v1/claims/import", {"files": {"file": (
                "c.csv", b"as_of,metric,value,unit,area,stated_by\n"
                b"2024-01-01,victims_total,3,persons,Azerbaijan,PGO\n")}},
             expect(role in IMPORTERS, role, 200)),
            ("POST", "/api/v1/auth/logout", {}, {204}),
        ]
        for method, url, kw, allowed in cases:
            r = c.request(method, url, **kw)
            if r.status_code not in allowed:
                failures.append(f"{role} {method} {url}: {r.status_code} ({r.text[:100]})")
    assert not failures, "\n".join(failures)
