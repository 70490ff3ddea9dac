"""Saved searches on the records lists (issue 21, item 5): a signed-in user keeps a list's
filters under a name and finds them on every list page; nobody else sees or deletes them;
only a records list's address can be saved (no way to send a user elsewhere); the public
saves nothing; a cross-site form post is refused."""

from __future__ import annotations

import re
from typing import Any

import anyio
import httpx
import pytest

from mineaction.services.saved_searches import SAVED_SEARCHES

ORIGIN = "http://testserver"
MINES = "/records/accidents?status=approved&kind=mine"


@pytest.fixture
def web(two_viewers_app: Any) -> Any:
    return two_viewers_app


def _as(app: Any, user: str | None, steps: Any) -> Any:
    """Run `steps(client)` with a client signed in as `user` (None: the public)."""
    out: list[Any] = []

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=ORIGIN, headers={"Origin": ORIGIN}) as c:
            if user:
                r = await c.post("/api/v1/auth/login",
                                 json={"username": user, "password": "correct horse battery"})
                assert r.status_code == 200
            out.append(await steps(c))

    anyio.run(run)
    return out[0]


def _saved_links(html: str) -> list[tuple[str, str]]:
    box = html.split('id="saved-searches"', 1)[1].split("</details>", 1)[0]
    return [(href.replace("&amp;", "&"), name) for href, name in
            re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', box)]


def test_a_saved_search_is_its_users_own(web: Any) -> None:
    async def save(c: httpx.AsyncClient) -> tuple[httpx.Response, str]:
        r = await c.post("/saved-searches", data={"name": "  Mine   accidents ",
                                                  "target": MINES})
        return r, (await c.get("/records/victims")).text

    r, page = _as(web, "vera", save)
    assert r.status_code == 303 and r.headers["location"] == MINES
    assert _saved_links(page) == [(MINES, "Mine accidents")]  # on every list page

    async def look(c: httpx.AsyncClient) -> tuple[str, httpx.Response]:
        page = (await c.get("/records/accidents")).text
        ident = web.state.services.store.engine.connect().execute(
            SAVED_SEARCHES.select()).first().id
        return page, await c.post(f"/saved-searches/{ident}/delete",
                                  data={"next": "/records/accidents"})

    page, r = _as(web, "otto", look)
    assert 'id="saved-searches"' in page and _saved_links(page) == []
    assert r.status_code == 404  # another's search is as unknown as none

    async def again_and_delete(c: httpx.AsyncClient) -> tuple[list[Any], list[Any]]:
        # The same name again: the address replaced, not a second entry.
        await c.post("/saved-searches", data={"name": "Mine accidents",
                                              "target": MINES + "&year=2020"})
        kept = _saved_links((await c.get("/records/accidents")).text)
        ident = re.search(r'/saved-searches/([0-9a-f-]{36})/delete',
                          (await c.get("/records/accidents")).text)
        assert ident
        r = await c.post(f"/saved-searches/{ident.group(1)}/delete",
                         data={"next": "/records/accidents"})
        assert r.status_code == 303 and r.headers["location"] == "/records/accidents"
        return kept, _saved_links((await c.get("/records/accidents")).text)

    kept, after = _as(web, "vera", again_and_delete)
    assert kept == [(MINES + "&year=2020", "Mine accidents")] and after == []


@pytest.mark.parametrize("target", ["https://evil.example/records/x", "//evil.example/records",
                                    "/login", "/records/../admin", "/api/v1/victims",
                                    "/records/x\nSet-Cookie: a=b", ""])
def test_only_a_records_list_can_be_saved(web: Any, target: str) -> None:
    async def save(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post("/saved-searches", data={"name": "x", "target": target})

    r = _as(web, "vera", save)
    assert r.status_code == 400 and "records list" in r.text
    with web.state.services.store.engine.connect() as conn:
        assert conn.execute(SAVED_SEARCHES.select()).all() == []


def test_the_public_and_cross_site_posts_save_nothing(web: Any) -> None:
    async def public(c: httpx.AsyncClient) -> tuple[httpx.Response, str]:
        r = await c.post("/saved-searches", data={"name": "x", "target": MINES})
        return r, (await c.get("/records/accidents")).text

    r, page = _as(web, None, public)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert 'id="saved-searches"' not in page

    async def cross_site(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post("/saved-searches", data={"name": "x", "target": MINES},
                            headers={"Origin": "https://evil.example"})

    assert _as(web, "vera", cross_site).status_code == 403
    with web.state.services.store.engine.connect() as conn:
        assert conn.execute(SAVED_SEARCHES.select()).all() == []
