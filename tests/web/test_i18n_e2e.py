# SPDX-License-Identifier: GPL-3.0-or-later
"""The web pages in six languages, in the browser (issue 22, "Must show": a browser test
switches language and finds no untranslated string on any page).

The language is switched the way a person does it, through the header's menu; each page is
then read as the person sees it (innerText: what is rendered, not hidden markup) and must
hold none of the English texts of the web catalogue whose translation differs. Arabic pages
run right to left. Screenshots of the dashboard and a record page in Azerbaijani and Arabic
are written to docs/screenshots/ with MINEACTION_SCREENSHOTS=1."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from shapely.geometry import Point, box

from mineaction.access.roles import Principal, Role
from mineaction.reports import catalog

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
LANGUAGES = ("es", "az", "ru", "uk", "ar")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}|<[^>]+>")
# Signed in as an admin: the header holds every menu item, the record page every action.
PAGES = ["/", "/records", "/records/hazards", "/records/hazards/{hazard}", "/dashboard",
         "/site-check", "/records/accidents/{accident}", "/claims", "/reports", "/approvals",
         "/review", "/imports", "/priorities", "/checks/geometry", "/records/hazards/new",
         "/records/hazards/{hazard}/edit", "/minefields/new", "/records/victims"]
PUBLIC_PAGES = ["/", "/records", "/records/hazards", "/records/hazards/{hazard}", "/dashboard",
                "/site-check", "/claims", "/reports", "/login", "/records/victims"]
USER = "leyla"  # a name that is no English word of the catalogue
# What a page shows that is not its own text: the basemap's attribution (sources' names).
NOT_OURS = ".maplibregl-ctrl-attrib"


def english_left(lang: str) -> list[str]:
    """The English texts that must not show in `lang`: each catalogue text whose
    translation differs, or for a text with placeholders its longest literal piece."""
    po = catalog.HERE / "locales" / lang / "LC_MESSAGES" / "web.po"
    with po.open("rb") as f:
        messages = [m for m in read_po(f) if m.id and m.string and m.string != m.id]
    texts = set()
    for m in messages:
        english = m.id[1] if isinstance(m.id, tuple) else m.id  # a plural: its plural
        pieces = [p.strip(" .,:;()") for p in PLACEHOLDER.split(english.replace("%%", "%"))]
        piece = max(pieces, key=len)
        # a piece too short to tell from a word of the data or of another language ("by",
        # "un", "end") says nothing; "Map", "Key" do
        if len(piece) >= 4 or (len(piece) == 3 and piece[0].isupper()):
            texts.add(piece)
    return sorted(texts, key=len, reverse=True)


def opened(page: Any, url: str) -> None:
    """A page, loaded; the map page once its layers are drawn."""
    page.goto(url)
    page.wait_for_load_state("load")
    if urlsplit(url).path == "/":
        page.wait_for_function("window.__mapState && window.__mapState.ready", timeout=20_000)


def visible_english(page: Any, texts: list[str]) -> list[str]:
    shown = page.evaluate("""sel => {
        const hidden = [...document.querySelectorAll(sel)];
        hidden.forEach(e => { e.dataset.display = e.style.display; e.style.display = "none"; });
        const text = document.body.innerText;
        hidden.forEach(e => { e.style.display = e.dataset.display; });
        return text;
    }""", NOT_OURS)
    return [t for t in texts if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", shown)]


def choose_language(page: Any, lang: str) -> None:
    """Through the header's menu, as a person would."""
    page.locator("#lang-menu summary").click()
    page.locator(f'#lang-menu a[hreflang="{lang}"]').click()
    # Between the two documents there is briefly no root element: wait for the new one.
    page.wait_for_function(f"document.documentElement?.lang === '{lang}'")
    page.wait_for_load_state()


def seed(live: Any) -> dict[str, str]:
    records = live.services.records
    admin = Principal(USER, Role.admin)
    live.user("admin", USER)
    # Names without English words: the check reads every word on the page.
    hazard, _ = records.create(admin, "hazard", {
        "name": "Ağdam-7", "hazard_kind": "SHA", "date_reported": "2021-03-04",
        "geometry": box(46.93, 39.99, 46.932, 39.992).__geo_interface__})
    accident, _ = records.create(admin, "accident", {
        "accident_date": date(2022, 5, 1).isoformat(), "accident_kind": "mine",
        "geometry": Point(46.931, 39.991).__geo_interface__})
    made = [("hazard", hazard), ("accident", accident)]
    # a second hazard being worked on, earlier accidents and their victims: the dashboard's
    # tables and charts have rows to word
    made.append(("hazard", records.create(admin, "hazard", {
        "name": "Füzuli-3", "hazard_kind": "CHA", "hazard_status": "worked_on",
        "geometry": box(47.15, 39.6, 47.152, 39.602).__geo_interface__})[0]))
    for year, outcomes in ((2021, ("killed", "injured", "injured")),
                           (2023, ("injured", "killed"))):
        other, _ = records.create(admin, "accident", {
            "accident_date": date(year, 6, 1).isoformat(), "accident_kind": "mine",
            "geometry": Point(47.0, 39.8).__geo_interface__})
        made.append(("accident", other))
        for i, outcome in enumerate(outcomes):
            made.append(("victim", records.create(admin, "victim", {
                "accident_id": other["id"], "outcome": outcome,
                "role": "civilian" if i else "deminer", "sex": "male" if i else "female",
                "activity": "agriculture"})[0]))
    for kind, rec in made:
        rid = uuid.UUID(rec["id"])
        records.transition(admin, kind, rid, "submit", None, 1)
        records.transition(admin, kind, rid, "approve", None, 2)
    return {"hazard": hazard["id"], "accident": accident["id"]}


def screenshot(page: Any, name: str, tmp: Path) -> None:
    path = tmp / name
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("MINEACTION_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / name)


@pytest.fixture(scope="module")
def ids(live: Any) -> dict[str, str]:
    return seed(live)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_english_left_on_any_page(page: Any, live: Any, ids: dict[str, str], lang: str,
                                     tmp_path: Path) -> None:
    texts = english_left(lang)
    # the check itself: the English page shows catalogue texts it would flag
    live.login(page, "admin", USER)
    page.goto(live.url + "/dashboard")
    # The language the user chose last (an earlier case) is theirs: English first.
    choose_language(page, "en")
    assert {"Dashboard", "Casualties per year"} <= set(visible_english(page, texts))

    choose_language(page, lang)
    assert page.url.endswith("/dashboard")  # the menu brings the person back
    found: dict[str, list[str]] = {}
    for path in PAGES:
        opened(page, live.url + path.format(**ids))
        html = page.locator("html")
        assert html.get_attribute("lang") == lang
        assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        if left := visible_english(page, texts):
            found[path] = left
        if lang in ("az", "ar") and path in ("/", "/dashboard", "/records/hazards/{hazard}"):
            page.wait_for_timeout(2500)  # the record's map fits its shape after load
            name = {"/": "map", "/dashboard": "dashboard"}.get(path, "record")
            screenshot(page, f"{name}-{lang}.png", tmp_path)
    assert not found, f"{lang}: English left on the pages: {found}"
    assert page.js_errors == []

    # the sign-in page, signed out: the cookie keeps the language
    page.locator("#logout").click()
    page.wait_for_url(live.url + "/")
    page.goto(live.url + "/login")
    assert page.locator("html").get_attribute("lang") == lang
    assert not visible_english(page, texts)


def test_arabic_mirrors_the_layout(page: Any, live: Any, ids: dict[str, str]) -> None:
    """Right to left: the header's user box and table cells start on the right."""
    live.login(page, "admin", USER)
    page.goto(live.url + "/records/hazards")
    choose_language(page, "ar")
    who = page.locator("#who").bounding_box()
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > who["x"], "the brand should be on the right, the user box left"
    align = page.locator("table th").first.evaluate("e => getComputedStyle(e).textAlign")
    assert align in ("start", "right")
    assert page.locator("table th").first.evaluate("e => getComputedStyle(e).direction") == "rtl"


def test_the_browser_language_is_the_default(new_page: Any, live: Any) -> None:
    page = new_page()
    page.context.set_extra_http_headers({"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    page.goto(live.url + "/login")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h1").inner_text() == "Войти"
    # a script's text in the page's language (common.js t())
    page.locator("#login-form button[type=submit]").click()
    assert page.locator("#login-error").inner_text() == "Введите имя пользователя и пароль."


@pytest.mark.parametrize("lang", ("az", "ar"))
def test_the_public_pages_too(new_page: Any, live: Any, ids: dict[str, str], lang: str) -> None:
    """Not signed in: the public's pages (approved records only, counts suppressed)."""
    page = new_page()
    texts = english_left(lang)
    page.goto(live.url + "/records")
    choose_language(page, lang)
    found = {}
    for path in PUBLIC_PAGES:
        opened(page, live.url + path.format(**ids))
        if left := visible_english(page, texts):
            found[path] = left
    assert not found, f"{lang}: English left on the public pages: {found}"
    assert page.js_errors == []
