# SPDX-License-Identifier: GPL-3.0-or-later
"""An accident's counts of killed and injured as a source reports them (issue 17,
`reported_killed` / `reported_injured`) are casualty figures of one accident: the public
gets casualties only as suppressed aggregates, so it never reads them, nor learns them by
filtering, sorting or the OGC API's CQL2 filter. Signed-in roles read them; nobody can
write a negative count."""

from __future__ import annotations

from typing import Any

from api_helpers import Api, accident

COUNTS = ("reported_killed", "reported_injured")


def _approved(api: Api, killed: int, injured: int) -> str:
    editor, approver = api.as_("editor"), api.as_("approver")
    r = editor.post("/api/v1/accidents", json=accident(reported_killed=killed,
                                                       reported_injured=injured))
    assert r.status_code in (200, 201), r.text
    url = f"/api/v1/accidents/{r.json()['id']}"
    assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
    assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200
    return str(r.json()["id"])


def _ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_the_public_never_reads_an_accidents_counts(api: Api) -> None:
    rid = _approved(api, killed=2, injured=1)
    one = api.public.get(f"/api/v1/accidents/{rid}")
    assert one.status_code == 200 and not set(COUNTS) & set(one.json())
    listed = api.public.get("/api/v1/accidents").json()["items"]
    assert listed and all(not set(COUNTS) & set(item) for item in listed)
    items = api.public.get("/ogc/collections/accidents/items", params={"f": "json"}).json()
    assert items["features"]
    assert all(not set(COUNTS) & set(f["properties"]) for f in items["features"])
    # A viewer reads them: they are no personal data.
    seen = api.as_("viewer").get(f"/api/v1/accidents/{rid}").json()
    assert (seen["reported_killed"], seen["reported_injured"]) == (2, 1)


def test_the_public_cannot_learn_the_counts_by_narrowing(api: Api) -> None:
    two = _approved(api, killed=2, injured=0)
    none = _approved(api, killed=0, injured=3)
    public = api.public
    # Filtering on the hidden field answers as if it were not asked, or refuses.
    for value in ("2", "0"):
        r = public.get("/api/v1/accidents", params={"reported_killed": value})
        assert r.status_code in (400, 422) or sorted(_ids(r)) == sorted([two, none]), value
    # Sorting by it does not order by it.
    for desc in ("false", "true"):
        r = public.get("/api/v1/accidents", params={"sort": "reported_killed", "desc": desc})
        assert r.status_code in (400, 422) or _ids(r) == _ids(
            public.get("/api/v1/accidents")), desc
    r = public.get("/ogc/collections/accidents/items",
                   params={"filter": "reported_killed > 1", "f": "json"})
    assert r.status_code == 400


def test_a_negative_count_is_refused(api: Api) -> None:
    r = api.as_("editor").post("/api/v1/accidents", json=accident(reported_killed=-1))
    assert r.status_code == 422 and "reported_killed" in r.text
