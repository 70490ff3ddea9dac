"""The fast paths of list and GET by id (api/lean.py) answer exactly as FastAPI's own
handling does, and decline what they do not read themselves.

FastAPI ignores query parameters a route does not declare, so a request with one more,
unknown parameter (`zz=1`) takes the full path and must get the same answer as the
plain request, which takes the fast path. Whether the fast path ran is seen by counting
its calls to `principal` (the full path calls its own dependency)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_helpers import PASSWORD, accident

import mineaction.api.lean as lean
from mineaction.http.deps import SESSION_COOKIE


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = lean.principal

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await real(*args)

    monkeypatch.setattr(lean, "principal", counted)
    return calls


def _approved(api: Any, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    editor, approver = api.as_("editor"), api.as_("approver")
    ids = []
    for i in range(n):
        rec = editor.post("/api/v1/accidents", json=accident(
            geometry={"type": "Point", "coordinates": [-75.18 + i / 1000, 6.14]})).json()
        url = f"/api/v1/accidents/{rec['id']}"
        assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
        assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200
        ids.append(rec["id"])
    return ids


def _same(a: Any, b: Any, extra: str) -> None:
    """Two answers equal but for the extra parameter echoed in paging links."""
    assert a.status_code == b.status_code, (a.text, b.text)
    for header in ("content-type", "etag", "vary", "www-authenticate"):
        assert a.headers.get(header) == b.headers.get(header), header
    assert a.content == b.content.replace(extra.encode(), b"")


LIST_QUERIES = [
    "", "?f=geojson", "?f=json", "?limit=2", "?limit=2&f=geojson",
    "?bbox=-76,6,-75,7&limit=3", "?bbox=-75.1805,6.13,-75.1775,6.15",
    "?bbox=-76,6,-75,7&limit=2&cursor=1",
    # errors the fast path raises itself, as the route does
    "?bbox=1,2,3", "?bbox=nan,1,2,3", "?bbox=10,0,5,1", "?cursor=x1", "?bbox=",
    # what it leaves to FastAPI
    "?limit=0", "?limit=abc", "?limit=%2B5", "?limit=100000", "?f=xml", "?bbox=" + "1" * 201,
    "?cursor=" + "1" * 21,
]


@pytest.mark.parametrize("who", ["public", "viewer", "approver"])
def test_list_answers_as_fastapi_does(api, fast_calls, who: str) -> None:  # type: ignore[no-untyped-def]
    _approved(api, 5)
    api.as_("editor").post("/api/v1/accidents", json=accident())  # a draft, unseen by some
    client = api.public if who == "public" else api.as_(who)
    for query in LIST_QUERIES:
        for accept in ("*/*", "application/geo+json"):
            headers = {"Accept": accept}
            sep = "&" if query else "?"
            full = client.get(f"/api/v1/accidents{query}{sep}zz=1", headers=headers)
            fast = client.get(f"/api/v1/accidents{query}", headers=headers)
            _same(fast, full, f"{sep}zz=1")
    plain = client.get("/api/v1/accidents?limit=2")
    assert plain.status_code == 200 and len(plain.json()["items"]) == 2
    assert fast_calls, "the plain requests took the fast path"


def test_get_answers_as_fastapi_does(api, fast_calls) -> None:  # type: ignore[no-untyped-def]
    rid = _approved(api, 1)[0]
    upper = rid.upper()
    for client in (api.public, api.as_("viewer")):
        for path in (rid, upper, "0" * 8 + "-0000-4000-8000-" + "0" * 12, "not-a-uuid",
                     rid.replace("-", "")):
            for query in ("", "?f=geojson", "?f=json", "?f=xml"):
                for headers in ({}, {"If-None-Match": '"3"'}, {"If-None-Match": 'W/"1", "3"'},
                                {"If-None-Match": '"1"'}, {"Accept": "application/geo+json"}):
                    sep = "&" if query else "?"
                    full = client.get(f"/api/v1/accidents/{path}{query}{sep}zz=1",
                                      headers=headers)
                    fast = client.get(f"/api/v1/accidents/{path}{query}", headers=headers)
                    _same(fast, full, "")
    calls = len(fast_calls)
    assert api.public.get(f"/api/v1/accidents/{rid}").status_code == 200
    assert len(fast_calls) == calls + 1
    assert api.public.get(f"/api/v1/accidents/{rid}?zz=1").status_code == 200
    assert len(fast_calls) == calls + 1  # an unknown parameter: FastAPI's path


def test_credentials_on_the_fast_path(api, fast_calls) -> None:  # type: ignore[no-untyped-def]
    """The fast path knows who is asking as the dependency does: tokens, cookies, and a
    401 for a credential that is present but wrong, never a silent public answer."""
    _approved(api, 2)
    draft = api.as_("editor").post("/api/v1/accidents", json=accident()).json()
    url = f"/api/v1/accidents/{draft['id']}"
    assert api.public.get(url).status_code == 404  # drafts are not the public's
    assert api.as_("editor").get(url).status_code == 200
    assert len(api.as_("editor").get("/api/v1/accidents").json()["items"]) == 3
    assert len(api.public.get("/api/v1/accidents").json()["items"]) == 2

    bad = api.anonymous()
    bad.http.headers["Authorization"] = "Bearer ma_not-a-token"
    for path in ("/api/v1/accidents", url, "/api/v1/accidents?bbox=1,2,3",
                 "/api/v1/accidents?cursor=x"):  # who is asking comes first, as in FastAPI
        r = bad.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == "unauthorized"

    browser = api.anonymous()
    api.user("editor")
    assert browser.post("/api/v1/auth/login", json={"username": "editor",
                                                     "password": PASSWORD}).status_code == 200
    assert SESSION_COOKIE in browser.http.cookies
    calls = len(fast_calls)
    assert browser.get(url).status_code == 200
    assert len(browser.get("/api/v1/accidents").json()["items"]) == 3
    assert len(fast_calls) == calls + 2

    # Victims stay closed to the public on the fast path too.
    assert api.public.get("/api/v1/victims").status_code == 403


def test_the_lane_leaves_other_requests_to_fastapi(api, fast_calls) -> None:  # type: ignore[no-untyped-def]
    """Only a GET without a body of a collection or of one record in it reaches the fast
    handlers; the routes beside and below them answer as before."""
    rid = _approved(api, 2)[0]
    editor = api.as_("editor")
    calls = len(fast_calls)
    # A body (which a GET should not have) sends the request down FastAPI's path; it
    # gets the same answer there.
    with_body = editor.request("GET", "/api/v1/accidents?limit=1", content=b"{}",
                               headers={"Content-Type": "application/json"})
    assert with_body.status_code == 200 and len(with_body.json()["items"]) == 1
    assert editor.request("GET", f"/api/v1/accidents/{rid}", content=b"x").json()["id"] == rid
    # Under a record, beside the collection, and a trailing slash: not the fast handlers'.
    history = editor.get(f"/api/v1/accidents/{rid}/history")
    assert history.status_code == 200 and history.json()[-1]["version"] == 3
    assert api.public.get("/api/v1/victims/summary").status_code == 200
    assert api.public.get("/api/v1/accidents/").status_code in (307, 404)
    assert editor.post("/api/v1/accidents", json=accident()).status_code == 201
    assert len(fast_calls) == calls  # none of these went by the lane
    # A plain GET does, and so do its errors, answered as FastAPI's handlers answer them.
    assert api.public.get("/api/v1/accidents").status_code == 200
    bad = api.public.get("/api/v1/accidents?bbox=1,2,3")
    assert bad.status_code == 422 and bad.json()["field_errors"][0]["field"] == "bbox"
    assert len(fast_calls) == calls + 2


def test_an_unexpected_error_on_the_lane_is_logged_and_a_bare_500(
        api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """The lane sits in front of Starlette's server-error middleware: it answers a bug
    as that would, in the API's error shape, with the traceback in the log only."""
    rid = _approved(api, 1)[0]

    def broken(*args: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api.app.state.services.records, "list", broken)
    monkeypatch.setattr(api.app.state.services.records, "get", broken)
    for path in ("/api/v1/accidents?limit=1", f"/api/v1/accidents/{rid}"):
        r = api.public.get(path)
        assert r.status_code == 500, r.text
        assert r.json()["code"] == "internal_error" and "secret" not in r.text
    assert sum("secret detail" in str(rec.exc_info) for rec in caplog.records) == 2


@pytest.mark.parametrize("query", [
    b"", b"f=geojson&limit=100&bbox=-75.9,2.1,-75.8,2.2", b"f=json&f=geojson", b"zz=1",
    b"&&f=json&", b"bbox", b"bbox=", b"a+b=1", b"a%20b=%2C", b"%C3%A9=1", b"\xe9=1", b"=x",
    b"limit=1=2", b"c%75rsor=3", b"f=a;limit=2", b"limit=%2B5", b"cursor=%00"])
def test_the_lane_reads_a_query_as_starlette_does(query: bytes) -> None:
    from starlette.requests import Request

    allowed = frozenset({"bbox", "limit", "cursor", "f", "a b", "é"})
    request = Request({"type": "http", "query_string": query, "headers": []})
    items = request.query_params.multi_items()
    as_starlette = dict(items)
    expected = (as_starlette if len(as_starlette) == len(items)
                and as_starlette.keys() <= allowed else None)
    assert lean.plain_query(request, allowed) == expected


def test_only_quick_reads_take_the_held_connection(api) -> None:  # type: ignore[no-untyped-def]
    """A list over a big box runs on the thread pool with a pooled connection, planned
    for its own box; pages of small boxes and GETs by id use the held one (store/held.py)."""
    rid = _approved(api, 2)[0]
    held = api.services.store._held
    held.close()
    big = api.public.get("/api/v1/accidents?bbox=-80,0,-60,15")
    assert big.status_code == 200 and len(big.json()["items"]) == 2
    assert len(held) == 0
    small = api.public.get("/api/v1/accidents?bbox=-75.2,6.1,-75.1,6.2")
    assert small.status_code == 200 and len(small.json()["items"]) == 2
    assert api.public.get(f"/api/v1/accidents/{rid}").status_code == 200
    assert len(held) == 1


def test_every_endpoint_passes_through_a_middleware_added_later(
        store, tmp_path, fast_calls) -> None:  # type: ignore[no-untyped-def]
    """A middleware the app is given after it is built (CORS, compression, security
    headers, metrics) sees every request, the fast lane's included (issue 14: the lane
    once answered in front of every middleware)."""
    import httpx
    from anyio.from_thread import start_blocking_portal
    from api_helpers import make_settings
    from shapely.geometry import Point

    from mineaction.app import create_app
    from mineaction.domain.models import Accident

    app = create_app(make_settings(store.location, tmp_path), store=store)
    seen: list[str] = []

    class Marker:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])

                async def marked(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message.get("headers", []),
                                              (b"x-marker", b"1")]
                    await send(message)

                await self.inner(scope, receive, marked)
                return
            await self.inner(scope, receive, send)

    app.add_middleware(Marker)
    record = store.add(Accident(geometry=Point(-75.18, 6.14), status="approved"))
    paths = []
    for path, operations in app.openapi()["paths"].items():
        path = path.replace("{record_id}", str(record.id))
        if "get" in operations and "{" not in path:
            paths.append(path)
    # The lane's own requests, and web pages (outside the OpenAPI document).
    paths += ["/api/v1/accidents", f"/api/v1/accidents/{record.id}",
              "/api/v1/accidents?bbox=-76,6,-75,7", "/", "/records", "/dashboard",
              "/records/accidents", f"/records/accidents/{record.id}",
              "/web/api/layers/accidents", "/web/api/dashboard"]

    async def fetch_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get(p) for p in paths]

    # In a portal's thread: the browser tests keep an event loop in this one.
    with start_blocking_portal() as portal:
        answers = portal.call(fetch_all)
    app.state.services.close()
    assert len(paths) > 40
    assert len(fast_calls) >= 3  # the lane answered the plain list and GETs
    missing = [p for p, r in zip(paths, answers, strict=True)
               if r.headers.get("x-marker") != "1"]
    assert missing == []
    assert [p.split("?")[0] for p in paths] == seen


SITE_CHECK_QUERIES = [
    "?lon=-75.18&lat=6.14", "?lon=-75.1805&lat=6.1401&buffer_m=50&nearby_m=100",
    "?lon=-75.18&lat=6.14&lang=es", "?lat=6.14&lon=-75.18&nearby_m=0",
    # errors the service raises itself, as the route does
    "?lon=-75.18&lat=6.14&lang=xx",
    # what it leaves to FastAPI
    "?lon=-75.18", "?lon=200&lat=6", "?lon=-75.18&lat=6.14&buffer_m=1e3",
    "?lon=abc&lat=6", "?lon=-75.18&lat=6.14&lang=" + "e" * 9, "?lon=-75.18&lon=1&lat=6",
]


@pytest.mark.parametrize("who", ["public", "approver"])
def test_site_check_point_answers_as_fastapi_does(api, fast_calls, who: str) -> None:  # type: ignore[no-untyped-def]
    """GET /site-check for a point takes the lane when plain, and answers byte for byte
    as the route does (the route's answer forced by an unknown parameter)."""
    _approved(api, 2)
    client = api.public if who == "public" else api.as_(who)
    before = len(fast_calls)
    for query in SITE_CHECK_QUERIES:
        full = client.get(f"/api/v1/site-check{query}&zz=1")
        fast = client.get(f"/api/v1/site-check{query}")
        _same(fast, full, "")
    answered = client.get("/api/v1/site-check?lon=-75.18&lat=6.14").json()
    # the approver counts both accidents; the public sees them at their generalised place
    # (-75.2, 6.1), 4.9 km away, and is told the counts are approximate
    assert answered["accidents"]["count"] == (2 if who == "approver" else 0)
    assert ("accident" in answered["generalised"]) == (who == "public")
    # the plain ones and the one the service refused went by the lane, the rest did not
    assert len(fast_calls) - before == 5 + 1


_PLOT = {"type": "Polygon", "coordinates": [[[-75.181, 6.139], [-75.179, 6.139],
                                             [-75.179, 6.141], [-75.181, 6.139]]]}
_POINT = {"type": "Point", "coordinates": [-75.18, 6.14]}
# (JSON body, whether the lane answers it itself)
SITE_CHECK_BODIES: list[tuple[str, bool]] = [
    (json.dumps({"geometry": _PLOT}), True),
    (json.dumps({"geometry": _POINT, "buffer_m": 50, "nearby_m": 100.5}), True),
    (json.dumps({"lang": "es", "geometry": _PLOT, "nearby_m": 0}), True),
    (json.dumps({"geometry": {"type": "LineString", "coordinates": [[-75.19, 6.13],
                                                                     [-75.17, 6.15]]}}), True),
    # errors the service raises itself, as the route does
    (json.dumps({"geometry": _PLOT, "lang": "xx"}), True),
    (json.dumps({"geometry": {"type": "Polygon", "coordinates": "x"}}), True),
    (json.dumps({"geometry": {"type": "Circle"}}), True),
    # what it leaves to FastAPI: values pydantic judges, and bodies that are not plain
    (json.dumps({"geometry": _PLOT, "buffer_m": "50"}), False),
    (json.dumps({"geometry": _PLOT, "buffer_m": None}), False),
    (json.dumps({"geometry": _PLOT, "buffer_m": True}), False),
    (json.dumps({"geometry": _PLOT, "nearby_m": -1}), False),
    (json.dumps({"geometry": _PLOT, "nearby_m": 10**12}), False),
    ('{"geometry": ' + json.dumps(_PLOT) + ', "buffer_m": NaN}', False),
    (json.dumps({"geometry": _PLOT, "lang": "e" * 9}), False),
    (json.dumps({"geometry": _PLOT, "lang": 5}), False),
    (json.dumps({"geometry": [1, 2]}), False),
    (json.dumps({"buffer_m": 5}), False),
    (json.dumps([{"geometry": _PLOT}]), False),
    ('{"geometry": ', False),
]


@pytest.mark.parametrize("who", ["public", "approver"])
def test_site_check_post_answers_as_fastapi_does(api, fast_calls, who: str) -> None:  # type: ignore[no-untyped-def]
    """POST /site-check takes the lane when its body is plain, and answers byte for byte
    as the route does (the route's answer forced by a key the lane does not read, which
    the route ignores); what it declines reaches the route with its body intact."""
    _approved(api, 2)
    client = api.public if who == "public" else api.as_(who)
    json_type = {"Content-Type": "application/json"}
    for body, plain in SITE_CHECK_BODIES:
        before = len(fast_calls)
        fast = client.post("/api/v1/site-check", content=body, headers=json_type)
        assert (len(fast_calls) > before) == plain, body
        if body.startswith("{") and body.endswith("}"):
            full = client.post("/api/v1/site-check", content=body[:-1] + ', "zz": 1}',
                               headers=json_type)
            assert len(fast_calls) == before + plain, "the route took the forced one"
            _same(fast, full, "")
        elif body.startswith("["):
            assert fast.status_code == 422, fast.text
        else:
            assert fast.status_code == 422 and "json" in fast.text.lower(), fast.text
    answered = client.post("/api/v1/site-check", json={"geometry": _POINT}).json()
    assert answered["accidents"]["count"] == (2 if who == "approver" else 0)
    assert answered["site_type"] == "Point"
    # a declined body reaches the route whole: pydantic reads the text "50" as 50
    as_text = client.post("/api/v1/site-check", json={"geometry": _POINT, "buffer_m": "50"})
    assert as_text.status_code == 200 and as_text.json()["buffer_m"] == 50


def test_site_check_post_other_bodies_take_the_route(api, fast_calls) -> None:  # type: ignore[no-untyped-def]
    """Other content types, and bodies too large, get the route's own answers."""
    client = api.public
    body = json.dumps({"geometry": _POINT})
    as_text = client.post("/api/v1/site-check", content=body,
                          headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 422
    as_ld = client.post("/api/v1/site-check", content=body,
                        headers={"Content-Type": "application/geo+json"})
    assert as_ld.status_code == 200 and as_ld.json()["site_type"] == "Point"
    assert fast_calls == []

    async def chunks() -> Any:  # no Content-Length: counted as it arrives (body limit)
        yield b'{"geometry": {"type": "Point", "coordinates": [-75.18, 6.14]}, "lang": "'
        for _ in range(1100):
            yield b"e" * 1024
        yield b'"}'

    too_large = client.post("/api/v1/site-check", content=chunks(),
                            headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413, too_large.text
    assert fast_calls == []
