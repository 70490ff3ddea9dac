"""The web package's plain functions and pages, without a browser (in-process ASGI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mineaction.app import create_app
from mineaction.services.settings import load_settings
from mineaction.web import STATIC, core, mount_web
from mineaction.web.forms import form_fields


def test_coordinates_in_every_notation() -> None:
    dd = core.coordinate_json("6.1412, -75.1834")
    assert dd["ok"] and abs(dd["lat"] - 6.1412) < 1e-6 and abs(dd["lon"] + 75.1834) < 1e-6
    mgrs = core.coordinate_json(dd["mgrs"])
    assert mgrs["system"] == "mgrs" and abs(mgrs["lat"] - 6.1412) < 1e-4
    utm = core.coordinate_json(dd["utm"])
    assert utm["system"] == "utm" and abs(utm["lon"] + 75.1834) < 1e-4
    dms = core.coordinate_json(dd["dms"])
    assert dms["system"] == "dms" and abs(dms["lat"] - 6.1412) < 1e-4
    assert core.coordinate_json("not a place")["ok"] is False


def test_area_on_the_ellipsoid() -> None:
    # 0.01 x 0.01 degree at the equator: about 1,231,000 m2.
    square = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01],
                                                  [0, 0]]]}
    out = core.area_json(square)
    assert out["ok"] and 1_225_000 < out["area_m2"] < 1_240_000
    assert out["area_ha"] == pytest.approx(out["area_m2"] / 10_000, rel=1e-6)
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert core.area_json(bowtie)["ok"] is False


def test_forms_follow_the_model() -> None:
    fields = {f.name: f for f in form_fields("hazard", personal=False)}
    assert fields["hazard_kind"].widget == "select" and fields["hazard_kind"].options == [
        "SHA", "CHA"]
    assert fields["contamination"].widget == "checkboxes"
    assert fields["geometry"].accepts == ("Point", "Polygon", "MultiPolygon")
    assert fields["priority"].minimum == 1 and fields["priority"].maximum == 5
    victim = {f.name for f in form_fields("victim", personal=False)}
    assert "name" not in victim and "outcome" in victim
    assert "name" in {f.name for f in form_fields("victim", personal=True)}


def test_vendored_files_carry_their_licences() -> None:
    vendor = STATIC / "vendor" / "maplibre-gl"
    assert (vendor / "LICENSE.txt").read_text().startswith("Copyright")
    assert "5.24.1" in (vendor / "VERSION").read_text()
    # Nothing in our pages or scripts points at another host.
    for path in [*(STATIC / "js").glob("*.js"), *(Path(STATIC).parent / "templates").glob("*")]:
        text = path.read_text()
        assert "https://" not in text and "http://" not in text.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""), path


def test_public_pages_and_redirects(tmp_path: Path) -> None:
    import anyio
    import httpx

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            for url in ("/", "/login", "/records", "/records/hazards", "/dashboard",
                        "/web/api/layers/accidents", "/web/api/layers/hazards",
                        "/web/api/basemap/countries.geojson"):
                assert (await c.get(url)).status_code == 200, url
            # The public sees victims only as aggregates.
            assert (await c.get("/records/victims")).status_code == 403
            assert (await c.get("/records/nothing")).status_code == 404
            r = await c.get("/imports")
            assert r.status_code == 303 and r.headers["location"].startswith("/login")
            assert "Sign in" in (await c.get("/")).text
            body = (await c.get("/web/api/coordinates",
                                params={"text": "18N 591000 677000"})).json()
            assert body["ok"] and body["system"] == "utm"

    try:
        anyio.run(run)
    finally:
        app.state.services.close()


def test_dashboard_suppresses_for_the_public_and_drills_down_for_staff(tmp_path: Path) -> None:
    """The public's small counts are hidden (as in /api/v1/stats); a viewer's figures link
    to the list of the victims behind them, and that list has exactly that many."""
    import re
    from datetime import date

    import anyio
    import httpx
    from shapely.geometry import Point

    from mineaction.domain.models import Accident, Victim

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    svc = app.state.services
    # 2019: 2 killed, 9 injured (the 2 is small); 2020: 7 killed, 12 injured.
    for year, killed, injured in ((2019, 2, 9), (2020, 7, 12)):
        a = svc.store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(year, 5, 1),
                                   status="approved"))
        for outcome, n in (("killed", killed), ("injured", injured)):
            for _ in range(n):
                svc.store.add(Victim(accident_id=a.id, outcome=outcome, role="civilian",
                                     status="approved"))
    svc.users.add("vera", "correct horse battery", "viewer", None)

    def cells(html: str) -> list[str]:
        table = html.split('id="by-year"')[1].split("</table>")[0]
        return [re.sub("<[^>]+>", "", c) for c in re.findall(r'<td class="num">(.*?)</td>',
                                                              table)]

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            public = (await c.get("/dashboard")).text
            # 2019's 2 killed is hidden, and with it 2019's injured (the bar's height shows
            # the year's total), 2020's killed (the killed card shows the column's total)
            # and then 2020's injured (its bar).
            assert cells(public) == ["–", "–", "0", "–", "–", "0"]
            assert "/records/victims?" not in public
            assert re.search(r'id="casualties-total">30<', public)
            r = await c.post("/api/v1/auth/login", json={"username": "vera",
                                                         "password": "correct horse battery"})
            assert r.status_code == 200
            staff = (await c.get("/dashboard", params={"include_submitted": "false"})).text
            assert cells(staff) == ["2", "9", "0", "7", "12", "0"]
            link = re.search(r'href="(/records/victims\?year=2020&amp;outcome=killed[^"]*)"',
                             staff)
            assert link
            listed = (await c.get(link.group(1).replace("&amp;", "&"))).text
            assert re.search(r'role="status">7 records with year 2020, outcome killed', listed)

    try:
        anyio.run(run)
    finally:
        svc.close()


def test_pick_lists_show_what_each_role_may_see(tmp_path: Path) -> None:
    from mineaction.access import Access
    from mineaction.access.roles import PUBLIC, Policy, Principal, Role
    from mineaction.domain.models import Hazard
    from mineaction.services import links
    from mineaction.store import open_store

    with open_store(str(tmp_path / "s.gpkg")) as store:
        ok = store.add(Hazard(hazard_kind="SHA", name="Alto 50%_x", status="approved"),
                       by="approver")
        mine = store.add(Hazard(hazard_kind="SHA", name="Alto draft", status="draft"),
                         by="fieldy")
        other = store.add(Hazard(hazard_kind="CHA", name="Alto other", status="draft"),
                          by="someone")
        field = Principal(username="fieldy", role=Role.field)

        def ids(p: Principal, q: str) -> set[str]:
            return {r["id"] for r in links.pick(store, Access(p, Policy()), "hazard", q)}

        assert ids(PUBLIC, "alto") == {str(ok.id)}
        assert ids(field, "ALTO") == {str(ok.id), str(mine.id)}
        assert ids(Principal(username="a", role=Role.admin), "alto") == {
            str(ok.id), str(mine.id), str(other.id)}
        # % and _ are matched as themselves, not as wildcards.
        assert ids(Principal(username="a", role=Role.admin), "50%_") == {str(ok.id)}
        assert ids(Principal(username="a", role=Role.admin), "t%d") == set()
        assert ids(Principal(username="a", role=Role.admin), str(other.id)[:8]) == {
            str(other.id)}
        row = links.pick(store, Access(PUBLIC, Policy()), "hazard", "alto")[0]
        assert links.pick_text(row) == "Alto 50%_x · SHA · open (approved)"


def test_dashboard_shows_land_release_finds_and_risk_education(tmp_path: Path) -> None:
    """Beside the casualties (issue 21, 5): hectares released per year by method, devices
    found and destroyed by kind, risk education per year; approved records only for the
    public, drafts never."""
    import re
    from datetime import date

    import anyio
    import httpx
    from shapely.geometry import Point

    from mineaction.domain.models import Activity, Find, ReleasedPart, RiskEducationSession

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    svc = app.state.services
    act = svc.store.add(Activity(activity_kind="clearance", end_date=date(2022, 6, 1),
                                 status="approved"))
    for method, m2, status in (("cleared", 25_000, "approved"), ("reduced", 10_000, "approved"),
                               ("cancelled", 90_000, "draft")):
        svc.store.add(ReleasedPart(activity_id=act.id, method=method, area_m2=m2,
                                   release_date=date(2023, 3, 1), status=status))
    svc.store.add(Find(device_category="ap_mine", quantity=12, disposal="destroyed_in_situ",
                       find_date=date(2023, 3, 2), geometry=Point(-75.5, 6.2),
                       status="approved"))
    svc.store.add(RiskEducationSession(session_date=date(2023, 4, 1), girls=10, boys=15,
                                       women=5, men=3, status="approved"))
    svc.store.add(RiskEducationSession(session_date=date(2023, 4, 2), girls=100,
                                       status="draft"))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            page = (await c.get("/dashboard")).text
            assert re.search(r'id="released-total">3\.5 ha<', page)  # the draft left out
            assert re.search(r'id="finds-total">12<', page)
            assert re.search(r'id="re-total">33<', page)
            release = page.split('id="land-release"')[1].split("</table>")[0]
            assert re.findall(r'<td class="num">(.*?)</td>', release) == ["0.0", "1.0", "2.5"]

    try:
        anyio.run(run)
    finally:
        svc.close()
