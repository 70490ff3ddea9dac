# SPDX-License-Identifier: GPL-3.0-or-later
"""Crafted bodies sent to the accident form's save with victims (issue 21, 3;
web/accident_entry.py): each refused with a 4xx naming the problem, never a 500, and
nothing written; the public and viewers may not use it."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PASSWORD, Api, Client

from mineaction.store.query import Query
from mineaction.web import mount_web

URL = "/web/api/accident-entry"


@pytest.fixture
def web(api: Api) -> Api:
    mount_web(api.app, api.services.settings)
    return api


def _browser(api: Api, role: str) -> Client:
    api.user(role)
    client = api.anonymous()
    assert client.post("/api/v1/auth/login",
                       json={"username": role, "password": PASSWORD}).status_code == 200
    return client


CRAFTED: list[Any] = [
    {}, [], "x", {"accident": []}, {"accident": {}, "victims": "x"},
    {"accident": {}, "victims": [1, 2]}, {"accident": {}, "victims": [{}] * 101},
    {"accident": {"id": "not-an-id"}}, {"accident": {"geometry": {"type": "Point"}}},
    {"accident": {"geometry": "POINT(1 200)"}}, {"accident": {"accident_date": "2023-02-30"}},
    {"accident": {}, "victims": [{"age": "x" * 10_000}]},
    {"accident": {}, "victims": [{"outcome": {"$ne": 1}}]},
    {"accident": {}, "extra": 1},
]


def test_crafted_bodies_are_refused_without_a_server_error(web: Api) -> None:
    editor = _browser(web, "editor")
    for body in CRAFTED:
        r = editor.post(URL, json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert r.json()["message"]
    assert web.services.store.query(Query(kind="accident", limit=10)).items == []


def test_who_may_save(web: Api) -> None:
    body = {"accident": {"place_name": "x"}, "victims": [{"outcome": "killed"}]}
    assert web.anonymous().post(URL, json=body).status_code == 401
    assert _browser(web, "viewer").post(URL, json=body).status_code == 403
    r = _browser(web, "field").post(URL, json=body)
    assert r.status_code == 201 and len(r.json()["victim_ids"]) == 1


def test_another_site_cannot_save_with_the_signed_in_cookie(web: Api) -> None:
    editor = _browser(web, "editor")
    r = editor.post(URL, json={"accident": {"place_name": "forged"}, "victims": []},
                    headers={"Origin": "http://127.0.0.1:9999"})
    assert r.status_code == 403
    assert web.services.store.query(Query(kind="accident", limit=10)).items == []
