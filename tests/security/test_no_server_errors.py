"""Requests that answered 500 (issue 15, 16): each now gets a 4xx naming its problem,
or its answer; a lock wait that runs out is a 503 to retry, as docs/server.md says."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from api_helpers import Api

from mineaction.http.errors import to_response


@pytest.mark.parametrize("url", [
    "/web/api/layers/accidents?status=approved", "/web/api/layers/finds?status=draft,approved",
    "/web/api/layers/accidents/summary?status=approved",
    "/web/api/layers/hazards?status=approved,submitted"])
def test_map_layers_filter_by_status(api: Api, url: str) -> None:
    assert api.as_("editor").get(url).status_code == 200


@pytest.mark.parametrize("cursor", [str(2**63), str(2**64), "²", "1²", "١٢"])
def test_odd_cursors_are_refused_not_crashed_on(api: Api, cursor: str) -> None:
    for client in (api.public, api.as_("viewer")):
        r = client.get("/api/v1/accidents", params={"cursor": cursor})
        assert r.status_code == 422 and r.json()["field_errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("before", [str(2**63), str(10**30)])
def test_a_huge_before_on_audit_entries_is_refused(api: Api, before: str) -> None:
    r = api.as_("admin").get("/api/v1/audit/entries", params={"before": before})
    assert r.status_code == 422


def test_an_unknown_geometry_type_is_a_message(api: Api) -> None:
    r = api.as_("editor").post("/web/api/area",
                               json={"geometry": {"type": "Foo", "coordinates": []}})
    assert r.status_code == 200
    assert r.json()["ok"] is False and "geometry" in r.json()["message"]


@pytest.mark.parametrize("orig", [sqlite3.OperationalError("database is locked")])
def test_a_lock_timeout_is_a_503_to_retry(orig: Exception) -> None:
    exc = sa.exc.OperationalError("UPDATE accidents ...", {}, orig)
    r = to_response(exc)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
