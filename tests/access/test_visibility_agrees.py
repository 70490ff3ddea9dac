"""Every way of reading records agrees on which records and which fields each principal
sees (issue 14): the API's list and GET, the web's list, its record page's linked records
and counts, the map's layers (what tiles are cut from), the dashboard's figures and the
casualty statistics and the open data `mineaction publish` writes, over generated
principals x records x settings.

The expected answer is written here from the rules as docs/server.md states them, apart
from access/visibility.py, so a change to the one definition that breaks a rule fails
here whichever surface shows it. The case that once leaked is pinned by an @example:
with `cross_organisation_visibility` off, a record of no organisation is everyone's; the
API's list hid it (an equality test that excluded NULL) while GET by id and the web
showed it.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from mineaction.access import Access
from mineaction.access.roles import Policy, Principal, Role
from mineaction.analysis.casualties import casualties
from mineaction.domain.models import Accident, Hazard, Organisation, Victim
from mineaction.reports.publish import publish
from mineaction.services import browse as browsing
from mineaction.services import dashboard, links, maps
from mineaction.services.errors import Forbidden, NotFoundError
from mineaction.services.records import ListParams, Records
from mineaction.store import open_store

ORG_A, ORG_B = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
USERS = ("ana", "ben")
STATUSES = ("draft", "submitted", "approved", "rejected")
PERSONAL_ROLES = {Role.admin, Role.approver, Role.editor}

hazard_rows = st.lists(st.tuples(st.sampled_from(STATUSES), st.sampled_from(USERS),
                                 st.sampled_from((None, ORG_A, ORG_B))),
                       min_size=1, max_size=5)
accident_rows = st.lists(st.tuples(st.sampled_from(STATUSES), st.sampled_from(USERS),
                                   st.sampled_from(STATUSES)), min_size=1, max_size=4)
principals = st.builds(
    lambda role, name, org: Principal(username=name, role=role, user_id=name,
                                      organisation_id=None if role == Role.public else org),
    st.sampled_from(list(Role)), st.sampled_from(USERS), st.sampled_from((None, ORG_A)))


def expected_visible(p: Principal, policy: Policy, kind: str, rec: dict[str, Any]) -> bool:
    """The rules, written out apart from access/ (docs/server.md, 'Who sees what')."""
    if p.role == Role.public and (kind == "victim" or rec["status"] != "approved"):
        return False
    if p.role == Role.field and rec["status"] != "approved" and rec["created_by"] != p.username:
        return False
    if (not policy.cross_organisation_visibility and p.role not in (Role.admin, Role.approver)
            and p.organisation_id is not None and "organisation_id" in rec):
        return rec["organisation_id"] in (None, p.organisation_id)
    return True


def _fill(store: Any, hazards: list[Any], accidents: list[Any]) -> dict[str, list[dict[str, Any]]]:
    for org in (ORG_A, ORG_B):
        store.add(Organisation(id=uuid.UUID(org), name=f"org {org[-1]}", status="approved"))
    made: dict[str, list[dict[str, Any]]] = {"hazard": [], "accident": [], "victim": []}
    for i, (status, by, org) in enumerate(hazards):
        h = store.add(Hazard(hazard_kind="SHA", name=f"h{i}", status=status,
                             organisation_id=org, geometry=Point(-75 + i / 100, 6)), by=by)
        made["hazard"].append({"id": str(h.id), "status": status, "created_by": by,
                               "organisation_id": org})
    parent = made["hazard"][0]["id"]
    for i, (status, by, vstatus) in enumerate(accidents):
        a = store.add(Accident(accident_kind="mine", status=status, hazard_id=parent,
                               geometry=Point(-75.123456 + i / 100, 6.654321),
                               accident_date="2020-01-0" + str(i + 1)), by=by)
        made["accident"].append({"id": str(a.id), "status": status, "created_by": by})
        v = store.add(Victim(accident_id=a.id, outcome="killed", name=f"Person {i}",
                             status=vstatus), by=by)
        made["victim"].append({"id": str(v.id), "status": vstatus, "created_by": by})
    return made


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(hazards=hazard_rows, accidents=accident_rows, p=principals, cross=st.booleans())
@example(hazards=[("approved", "ana", None), ("approved", "ana", ORG_B)],
         accidents=[("approved", "ana", "approved")],
         p=Principal(username="ben", role=Role.viewer, user_id="ben", organisation_id=ORG_A),
         cross=False)
def test_every_surface_shows_the_same_records_and_fields(
        hazards: list[Any], accidents: list[Any], p: Principal, cross: bool) -> None:
    policy = Policy(cross_organisation_visibility=cross)
    with tempfile.TemporaryDirectory() as tmp, open_store(str(Path(tmp) / "s.gpkg")) as store:
        made = _fill(store, hazards, accidents)
        records = Records(store, policy, public_decimals=1)
        access = Access(p, policy, 1)
        for kind, recs in made.items():
            want = {r["id"] for r in recs if expected_visible(p, policy, kind, r)}
            listable = not (p.role == Role.public and kind == "victim")
            # API list
            if listable:
                rows, _ = records.list(p, kind, ListParams(limit=1000))
                assert {r["id"] for r in rows} == want, ("api list", kind)
                _check_fields(p, kind, rows)
            else:
                try:
                    records.list(p, kind, ListParams(limit=1000))
                    raise AssertionError("the public listed victims")
                except Forbidden:
                    pass
            # API GET by id (and the web's record page, which reads it)
            got = set()
            for r in recs:
                try:
                    data, _ = records.get(p, kind, uuid.UUID(r["id"]))
                except (NotFoundError, Forbidden):
                    continue
                got.add(r["id"])
                _check_fields(p, kind, [data])
            assert got == want, ("api get", kind)
            # web list and its counts
            if listable:
                rows, total = browsing.browse(store, access, browsing.Browse(kind=kind,
                                                                             limit=1000))
                assert {r["id"] for r in rows} == want and total == len(want), ("web", kind)
                _check_fields(p, kind, rows)
            counts = browsing.counts(store, access)
            assert counts.get(kind, 0) == (len(want) if listable else 0), ("counts", kind)
        # the record page's linked records: the hazard's accidents
        parent = made["hazard"][0]["id"]
        shown = {r["id"] for child, rows in links.children(store, access, "hazard", parent)
                 if child == "accident" for r in rows}
        assert shown == {r["id"] for r in made["accident"]
                         if expected_visible(p, policy, "accident", r)}, "linked records"
        # the map (tiles are cut from this layer), with the public's points generalised
        layer = maps.point_layer(store, access, "accidents", maps.MapFilters())
        fids = {store.query_rows(_by_id(r["id"]))[0][0]["id"] for r in made["accident"]
                if expected_visible(p, policy, "accident", r)}
        assert layer["count"] == len(fids), "map"
        if p.role == Role.public:
            assert all(round(x, 1) == x for x in layer["lon"]), "public points generalised"
        # statistics and the dashboard: the public and field users count approved only
        counted = {"approved"} if p.role in (Role.public, Role.field) else set(STATUSES)
        want_victims = sum(1 for v in made["victim"] if v["status"] in counted)
        statuses = access.statistics_statuses(STATUSES)
        assert casualties(store, [], statuses=statuses).total()["casualties"] == want_victims
        figures = dashboard.dashboard(store, access, include_submitted=True)
        assert set(figures["statuses"]) <= counted
        # open data (`mineaction publish`) is the public's view of hazards
        if p.role == Role.public:
            publish(store, Path(tmp) / "open", validate=False)
            written = Path(tmp) / "open" / "hazards.geojson"  # none: no hazard to publish
            published = json.loads(written.read_text()) if written.exists() else {
                "features": []}
            assert {f["properties"]["id"] for f in published["features"]} == {
                r["id"] for r in made["hazard"]
                if expected_visible(p, policy, "hazard", r)}, "open data"


def _by_id(record_id: str) -> Any:
    from mineaction.store.query import Query

    return Query(kind="accident", ids=(record_id,), limit=1)


def _check_fields(p: Principal, kind: str, rows: list[dict[str, Any]]) -> None:
    """Personal data only for the roles that read it; the public never sees who worked on
    a record, nor an accident's narrative, place name, entered coordinates or external
    id; its accident points are rounded."""
    for r in rows:
        if kind == "victim":
            assert ("name" in r) == (p.role in PERSONAL_ROLES), (p.role, r.keys())
        if p.role == Role.public:
            assert not {"created_by", "updated_by", "deleted_by"} & set(r), r.keys()
            if kind == "accident":
                assert not {"narrative", "place_name", "original_coordinates",
                            "external_id"} & set(r)
                lon, lat = r["geometry"]["coordinates"]
                assert (round(lon, 1), round(lat, 1)) == (lon, lat)
