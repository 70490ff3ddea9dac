"""Statistics and reports over the API (/api/v1/stats, /api/v1/reports), on both stores,
checked against counts known from the records the test writes."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date
from typing import Any

import pytest
from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim
from mineaction.store import Store

# (year, pcode, role, [outcomes]) of approved accidents; one more is only submitted.
ACCIDENTS = [
    (2019, "05001", "civilian", ["killed"] * 2 + ["injured"] * 6),
    (2019, "05002", "civilian", ["injured"] * 2),
    (2020, "05001", "security_forces", ["killed"] * 3 + ["injured"] * 9),
    (2020, "05002", "civilian", ["killed"] + ["injured"] * 9),
]


@pytest.fixture
def casualty_ids(store: Store) -> dict[str, list[str]]:
    """Victim ids per "year/pcode"."""
    ids: dict[str, list[str]] = {}
    for year, pcode, role, outcomes in ACCIDENTS:
        a = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(year, 3, 4),
                               admin_area_pcode=pcode, status="approved"))
        for outcome in outcomes:
            v = store.add(Victim(accident_id=a.id, outcome=outcome, role=role,
                                 status="approved"))
            ids.setdefault(f"{year}/{pcode}", []).append(str(v.id))
    draft = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(2020, 1, 1),
                               admin_area_pcode="05001", status="submitted"))
    store.add(Victim(accident_id=draft.id, outcome="killed", status="submitted"))
    return ids


def _rows(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[d] for d in body["dimensions"]): r for r in body["rows"]}


def test_casualties_by_year_and_role(api, casualty_ids) -> None:  # type: ignore[no-untyped-def]
    body = api.as_("viewer").get("/api/v1/stats/casualties",
                                 params={"by": "year,role"}).json()
    rows = _rows(body)
    assert rows[("2019", "civilian")]["casualties"] == 10
    assert rows[("2019", "civilian")]["killed"] == 2
    assert rows[("2020", "security_forces")]["killed"] == 3
    assert rows[("2020", "civilian")]["pct_killed"] == 10.0  # 1 of 10
    # 12 of the 22 known-role casualties of 2020 were security forces.
    assert rows[("2020", "security_forces")]["pct_of_known_role"] == 54.5
    assert body["total"]["casualties"] == 32 and body["suppressed_below"] is None
    # The submitted victim counts only when asked for.
    every = api.as_("viewer").get("/api/v1/stats/casualties",
                                  params={"status": "all"}).json()
    assert every["total"]["casualties"] == 33


def test_bad_dimension_is_a_field_error(api) -> None:  # type: ignore[no-untyped-def]
    r = api.as_("viewer").get("/api/v1/stats/casualties", params={"by": "year,shoe_size"})
    assert r.status_code == 422
    assert r.json()["field_errors"][0]["field"] == "by"


def test_public_gets_small_counts_suppressed(api, casualty_ids) -> None:  # type: ignore[no-untyped-def]
    body = api.public.get("/api/v1/stats/casualties", params={"by": "year,admin-area"}).json()
    assert body["suppressed_below"] == 5
    rows = _rows(body)
    # 2019/05002 had 2 casualties: hidden. 2019's areas then have one hidden cell, so
    # 05001's is hidden too, else 2019's total (by=year, public) would give it away; and
    # likewise each area's other year, else the area's total (by=admin-area) would.
    assert [rows[k]["casualties"] for k in sorted(rows)] == [None] * 4
    by_area = _rows(api.public.get("/api/v1/stats/casualties",
                                   params={"by": "admin-area"}).json())
    assert by_area[("05001",)]["casualties"] == 20 and by_area[("05002",)]["casualties"] == 12
    assert all(k not in r for r in body["rows"] for k in r if k.startswith("pct_of_known"))
    assert body["total"]["casualties"] == 32
    # The signed-in see every count.
    full = _rows(api.as_("viewer").get("/api/v1/stats/casualties",
                                       params={"by": "year,admin-area"}).json())
    assert full[("2019", "05002")]["casualties"] == 2


def test_csv_has_hxl_hashtags(api, casualty_ids) -> None:  # type: ignore[no-untyped-def]
    r = api.as_("viewer").get("/api/v1/stats/casualties", params={"by": "year", "f": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["year", "casualties", "killed"]
    assert rows[1][:3] == ["#date+year", "#affected+num", "#affected+killed"]
    assert rows[2][:3] == ["2019", "10", "2"]


def test_drill_down_lists_the_records_of_a_cell(api, casualty_ids) -> None:  # type: ignore[no-untyped-def]
    body = api.as_("viewer").get("/api/v1/stats/casualties/records", params={
        "cell": "year:2020,admin-area:05001"}).json()
    assert body["count"] == 12 and sorted(body["ids"]) == sorted(casualty_ids["2020/05001"])
    assert api.as_("viewer").get(body["links"][0]).status_code == 200
    accidents = api.public.get("/api/v1/stats/casualties/records", params={
        "cell": "year:2019", "what": "accident"}).json()
    assert accidents["count"] == 2
    r = api.as_("viewer").get("/api/v1/stats/casualties/records", params={"cell": "colour:red"})
    assert r.status_code == 422


def test_land_release_and_trends_answer(api, casualty_ids) -> None:  # type: ignore[no-untyped-def]
    trend = api.as_("viewer").get("/api/v1/stats/trends").json()
    assert [(r["year"], r["casualties"]) for r in trend["year_on_year"]] == [
        (2019, 10), (2020, 22)]
    public = api.public.get("/api/v1/stats/trends").json()
    assert public["rolling_12_months"] == [] and public["suppressed_below"] == 5
    r = api.as_("viewer").get("/api/v1/stats/land-release", params={"by": "planet"})
    assert r.status_code == 422


def test_annual_report_renders_as_pdf(api, casualty_ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = api.as_("viewer").get("/api/v1/reports/annual", params={"year": 2020})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    pdf = tmp_path / "annual.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "2020" in text and "22" in text
    spanish = api.as_("viewer").get("/api/v1/reports/annual",
                                    params={"year": 2020, "lang": "es", "format": "html"})
    assert spanish.headers["content-type"].startswith("text/html")
    assert 'lang="es"' in spanish.text
    assert api.as_("viewer").get("/api/v1/reports/annual").status_code == 422  # no year
    assert api.as_("viewer").get("/api/v1/reports/annual",
                                 params={"year": 2020, "lang": "xx"}).status_code == 422
