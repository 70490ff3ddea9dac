"""Issue 21, item 5: a date known only to the month (or the year) is shown as the month (or
the year) on the record page and in lists, in the page's language, never as a day the
record does not claim; dates known to the day stay days."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import anyio
import httpx
from shapely.geometry import Point

from mineaction.app import create_app
from mineaction.domain.models import Accident, Find
from mineaction.services.settings import load_settings
from mineaction.web import mount_web


def _pages(tmp_path: Path, urls: list[str], lang: str = "en") -> dict[str, str]:
    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)
    svc = app.state.services
    month = svc.store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(2021, 3, 1),
                                   date_precision="month", place_name="Mes",
                                   status="approved"))
    year = svc.store.add(Accident(geometry=Point(-75.4, 6.2), accident_date=date(2019, 1, 1),
                                  date_precision="year", place_name="Anno",
                                  status="approved"))
    day = svc.store.add(Accident(geometry=Point(-75.3, 6.2), accident_date=date(2021, 3, 4),
                                 place_name="Dia", status="approved"))
    find = svc.store.add(Find(geometry=Point(-75.3, 6.3), find_date=date(2020, 7, 1),
                              date_precision="month", status="approved"))
    svc.users.add("vera", "correct horse battery", "viewer", None)
    ids = {"month": month.id, "year": year.id, "day": day.id, "find": find.id}
    out: dict[str, str] = {}

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver",
                                     cookies={"lang": lang}) as c:
            r = await c.post("/api/v1/auth/login", json={"username": "vera",
                                                         "password": "correct horse battery"})
            assert r.status_code == 200
            for url in urls:
                page = await c.get(url.format(**ids))
                assert page.status_code == 200, url
                out[url] = page.text

    try:
        anyio.run(run)
    finally:
        svc.close()
    return out


def _field(html: str, name: str) -> str:
    cell = re.search(rf'<dd data-field="{name}">(.*?)</dd>', html, re.S)
    assert cell, name
    return cell.group(1).strip()


def test_record_pages_show_the_precision_the_record_has(tmp_path: Path) -> None:
    pages = _pages(tmp_path, ["/records/accidents/{month}", "/records/accidents/{year}",
                              "/records/accidents/{day}", "/records/finds/{find}"])
    month, year, day, find = pages.values()
    assert _field(month, "accident_date") == "March 2021"
    assert _field(year, "accident_date") == "2019"
    assert _field(day, "accident_date") == "March 4, 2021"
    assert _field(find, "find_date") == "July 2020"


def test_lists_show_months_in_the_pages_language(tmp_path: Path) -> None:
    [es] = _pages(tmp_path, ["/records/accidents"], lang="es").values()
    assert "marzo de 2021" in es and "4 de marzo de 2021" in es
    assert "1 de marzo de 2021" not in es  # the month's record is not given a day
    assert re.search(r">\s*2019\s*<", es) and "1 de enero de 2019" not in es
