"""Issue 22: the page's language comes from the user's own setting, else the browser. A
signed-in user's choice in the language menu is kept with the user and follows them to a
browser that never chose; another user, and the public, are not moved by it."""

from __future__ import annotations

import re
from typing import Any

import anyio
import httpx
import pytest

ORIGIN = "http://testserver"


@pytest.fixture
def web(two_viewers_app: Any) -> Any:
    return two_viewers_app


def _page_lang(app: Any, user: str | None, *, choose: str | None = None,
               accept: str = "en", cookie: str | None = None) -> str:
    """The `lang` of /records for `user` in a fresh browser (no cookie unless given), after
    choosing `choose` in the menu there if given."""
    out: list[str] = []

    async def run() -> None:
        async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=ORIGIN,
                headers={"Origin": ORIGIN, "Accept-Language": accept},
                cookies={"lang": cookie} if cookie else None) as c:
            if user:
                r = await c.post("/api/v1/auth/login",
                                 json={"username": user, "password": "correct horse battery"})
                assert r.status_code == 200
            if choose:
                r = await c.get(f"/web/lang/{choose}", params={"next": "/records"})
                assert r.status_code == 303
            html = (await c.get("/records")).text
            found = re.search(r'<html lang="([a-z]+)"', html)
            assert found
            out.append(found.group(1))

    anyio.run(run)
    return out[0]


def test_a_users_language_follows_them_to_another_browser(web: Any) -> None:
    assert _page_lang(web, "vera", accept="es") == "es"  # no setting yet: the browser's
    assert _page_lang(web, "vera", choose="ru") == "ru"
    # A new browser, which never chose and asks for Spanish: Vera's own setting wins.
    assert _page_lang(web, "vera", accept="es") == "ru"
    assert _page_lang(web, "vera", cookie="az") == "ru"  # and over an old choice there
    # Nobody else is moved by it.
    assert _page_lang(web, "otto", accept="es") == "es"
    assert _page_lang(web, None, accept="uk") == "uk"
    assert _page_lang(web, None, cookie="ar") == "ar"


def test_the_public_choice_stays_in_its_browser(web: Any) -> None:
    assert _page_lang(web, None, choose="az") == "az"
    assert _page_lang(web, None, accept="en") == "en"  # another browser of the public
    assert _page_lang(web, "vera", accept="en") == "en"
    # An unknown language is refused and changes nothing.
    async def bad() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web),
                                     base_url=ORIGIN) as c:
            return (await c.get("/web/lang/xx")).status_code

    assert anyio.run(bad) == 404
