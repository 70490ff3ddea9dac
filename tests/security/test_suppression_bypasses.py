"""Small-count suppression bypassed by the public (issue 15, 3): the drill-down gave
exact counts and accident ids for any cell; the dashboard's JSON was not suppressed
(test_visibility_leaks.py); the trends projection repeated a suppressed year; the public
map layer gave killed and injured per accident with its exact date."""

from __future__ import annotations

from datetime import date

from api_helpers import Api
from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim


def _casualties(api: Api, year: int, n: int, *, place: str = "05313") -> str:
    store = api.services.store
    acc = store.add(Accident(geometry=Point(-75.18, 6.14), status="approved",
                             accident_kind="mine", accident_date=date(year, 3, 14),
                             admin_area_pcode=place))
    for _ in range(n):
        store.add(Victim(accident_id=acc.id, outcome="killed", status="approved"))
    return str(acc.id)


def test_the_public_cannot_drill_into_a_suppressed_cell(api: Api) -> None:
    hidden = _casualties(api, 2006, 2)  # 2 < 5: suppressed
    shown = _casualties(api, 2007, 9)
    _casualties(api, 2008, 7)  # hidden too, so that the total does not give 2006 away
    table = api.public.get("/api/v1/stats/casualties", params={"by": "year"}).json()
    published = {r["year"]: r["casualties"] for r in table["rows"]}
    assert published == {"2006": None, "2007": 9, "2008": None}
    r = api.public.get("/api/v1/stats/casualties/records",
                       params={"cell": "year:2006", "what": "accident"})
    assert r.status_code == 403 and hidden not in r.text
    # A published figure may still be traced to its accidents.
    r = api.public.get("/api/v1/stats/casualties/records",
                       params={"cell": "year:2007", "what": "accident"})
    assert r.status_code == 200 and r.json()["ids"] == [shown]
    # Staff drill into any cell.
    r = api.as_("viewer").get("/api/v1/stats/casualties/records",
                              params={"cell": "year:2006", "what": "accident"})
    assert r.json()["ids"] == [hidden]


def test_the_public_projection_does_not_repeat_a_suppressed_year(api: Api) -> None:
    for year, n in ((2012, 9), (2013, 9), (2014, 9), (2015, 9), (2016, 9), (2017, 9),
                    (2018, 3)):
        _casualties(api, year, n)
    public = api.public.get("/api/v1/stats/trends", params={"until": 2018}).json()
    assert "mean" not in public["projection"] and "reason" in public["projection"]
    staff = api.as_("viewer").get("/api/v1/stats/trends", params={"until": 2018}).json()
    assert "mean" in staff["projection"]


def test_the_public_map_gives_no_casualties_or_dates_per_accident(api: Api) -> None:
    _casualties(api, 2006, 3)
    layer = api.public.get("/web/api/layers/accidents").json()
    assert "killed" not in layer and "injured" not in layer
    assert layer["coded"]["date"]["values"] == ["2006"]  # the year, not the day
    staff = api.browser("viewer").get("/web/api/layers/accidents").json()
    assert staff["killed"] == [3] and staff["coded"]["date"]["values"] == ["2006-03-14"]
    # The public's tiles carry no casualties either.
    summary = api.public.get("/web/api/layers/accidents/summary").json()
    tile = api.public.get(summary["tiles"].replace("{z}/{x}/{y}", "0/0/0"))
    assert tile.status_code == 200 and b"killed" not in tile.content
