"""The map's tiles answered by the fast lane (web/fast_paths.py, issue 21) are the
routes' answers: same status, body and headers, for the public and for a signed-in
reviewer (who sees drafts), on both stores; anything a fast handler does not read itself
goes to the route.

FastAPI ignores query parameters a route does not declare, so a request with one more
(`zz=1`) takes the route and must get the same answer as the plain request, which takes
the fast lane. Whether the fast lane ran is seen by counting its handlers' calls."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import accident

from mineaction.app import create_app
from mineaction.web import fast_paths

HEADERS = ("content-type", "cache-control", "content-security-policy", "x-content-type-options")


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the fast handlers' answers (the app under test is built after this)."""
    calls: list[str] = []
    for prefix, handler in list(fast_paths.HANDLERS.items()):
        async def counted(request: Any, handler: Any = handler) -> Any:
            answer = await handler(request)
            if answer is not None:
                calls.append(request.url.path)
            return answer

        monkeypatch.setitem(fast_paths.HANDLERS, prefix, counted)
    return calls


def _same(plain: Any, routed: Any) -> None:
    assert plain.status_code == routed.status_code, (plain.text, routed.text)
    for header in HEADERS:
        assert plain.headers.get(header) == routed.headers.get(header), header
    assert plain.content == routed.content


def _ask_both(client: Any, url: str, calls: list[str], *, fast: bool) -> Any:
    before = len(calls)
    plain = client.get(url)
    assert (len(calls) > before) is fast, url
    routed = client.get(url + ("&" if "?" in url else "?") + "zz=1")
    assert len(calls) == before + fast, f"{url}: the routed request took the fast lane"
    _same(plain, routed)
    return plain


def test_tiles_answer_as_their_routes(fast_calls: list[str], api: Any) -> None:
    # `api` was built before the handlers were counted: a fresh app over its store.
    app = create_app(api.app.state.services.settings, store=api.app.state.services.store)
    from api_helpers import Api

    mine = Api(app, api.portal)
    editor, approver = api.as_("editor"), api.as_("approver")
    for i in range(12):
        rec = editor.post("/api/v1/accidents", json=accident(geometry={
            "type": "Point", "coordinates": [-75.18 + i / 50, 6.14 + i / 80]})).json()
        if i % 3:  # two in three approved, the rest drafts only a reviewer sees
            url = f"/api/v1/accidents/{rec['id']}"
            assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
            assert approver.post(f"{url}/approve",
                                 headers={"If-Match": '"2"'}).status_code == 200
    public, reviewer = mine.anonymous(), mine.browser("admin")
    for who in (public, reviewer):
        summary = who.get("/web/api/layers/accidents/summary").json()
        for z, x, y in ((0, 0, 0), (5, 9, 15), (12, 1193, 1967), (12, 0, 0)):
            _ask_both(who, summary["tiles"].replace("{z}/{x}/{y}", f"{z}/{x}/{y}"),
                      fast_calls, fast=True)
            _ask_both(who, f"/web/api/basemap/admin/{z}/{x}/{y}.mvt", fast_calls, fast=True)
        for z, x, y in ((0, 0, 0), (6, 18, 31), (10, 300, 500)):
            _ask_both(who, f"/web/api/basemap/{z}/{x}/{y}.mvt", fast_calls, fast=True)
    # The reviewer's tiles hold the drafts the public's do not.
    seen = [len(who.get(who.get("/web/api/layers/accidents/summary").json()["tiles"]
                        .replace("{z}/{x}/{y}", "0/0/0")).content)
            for who in (public, reviewer)]
    assert seen[0] < seen[1]
    # What the fast lane leaves to the routes: off the grid, past the zoom, other shapes.
    for url in ("/web/api/basemap/11/0/0.mvt", "/web/api/basemap/2/4/0.mvt",
                "/web/api/basemap/admin/13/0/0.mvt", "/web/api/basemap/-1/0/0.mvt",
                "/web/api/basemap/01x/0/0.mvt", "/web/api/basemap/countries.geojson",
                "/web/api/basemap/user/info", "/web/api/tiles/accidents/0/0/0.mvt",
                "/web/api/tiles/hazards/0/0/0.mvt?v=abc",
                "/web/api/tiles/accidents/13/0/0.mvt?v=abc",
                "/web/api/tiles/accidents/0/0/0.mvt?v=abc&status=approved"):
        _ask_both(public, url, fast_calls, fast=False)
    for client in (public, reviewer):
        api.portal.call(client.http.aclose)
