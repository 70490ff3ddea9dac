# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures over the API (issue 22): importing them (importers only, all or
nothing, a re-import adding nothing), listing them in pages with filters and checking
them, both open to the public; the records check counts what the asker may see."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from shapely.geometry import Point

from mineaction.domain.models import Accident, AdminArea, Victim

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"


def _upload(client: Any, content: bytes, name: str = "claims.csv") -> Any:
    return client.post("/api/v1/claims/import", files={"file": (name, content, "text/csv")})


def test_importers_import_once_and_others_may_not(api) -> None:  # type: ignore[no-untyped-def]
    content = AZERBAIJAN.read_bytes()
    r = _upload(api.as_("editor"), content, AZERBAIJAN.name)
    assert r.status_code == 200, r.text
    assert r.json() == {"file_name": AZERBAIJAN.name, "rows": 96, "added": 96, "unchanged": 0}
    r = _upload(api.as_("admin"), content)
    assert (r.json()["added"], r.json()["unchanged"]) == (0, 96)
    assert _upload(api.as_("viewer"), content).status_code == 403
    assert _upload(api.as_("field"), content).status_code == 403
    assert _upload(api.public, content).status_code == 401
    assert api.public.get("/api/v1/claims").json()["total"] == 96


def test_a_bad_file_is_refused_naming_row_and_field(api) -> None:  # type: ignore[no-untyped-def]
    bad = (b"as_of,metric,value,unit,area,stated_by\n"
           b"2024-01-01,victims_total,3,persons,Azerbaijan,PGO\n"
           b"2024-01-01,victims_total,3,ha,Azerbaijan,PGO\n")
    r = _upload(api.as_("editor"), bad, "../../etc/bad.csv")
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == "bad.csv: 1 problem(s), nothing imported"
    assert body["field_errors"] == [{"field": "row 3: unit", "message":
                                     "unit ha does not fit victims_total, which is counted "
                                     "in persons"}]
    assert _upload(api.as_("editor"), b"\xff\xfe", "x.csv").status_code == 422
    assert api.public.get("/api/v1/claims").json()["total"] == 0


def test_the_public_lists_claims_in_pages_with_filters(api) -> None:  # type: ignore[no-untyped-def]
    _upload(api.as_("editor"), AZERBAIJAN.read_bytes())
    page = api.public.get("/api/v1/claims", params={"limit": 10, "offset": 90}).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (96, 10, 90, 6)
    pgo = api.public.get("/api/v1/claims", params={
        "metric": "victims_total", "stated_by": "prosecutor"}).json()
    assert [c["value"] for c in pgo["items"]] == [58, 342, 351, 41, 382]
    assert all(c["url"] and c["key"] for c in pgo["items"])
    r = api.public.get("/api/v1/claims", params={"metric": "victims_drowned"})
    assert r.status_code == 422 and r.json()["field_errors"][0]["field"] == "metric"


def test_the_public_checks_the_claims(api) -> None:  # type: ignore[no-untyped-def]
    _upload(api.as_("editor"), AZERBAIJAN.read_bytes())
    r = api.public.get("/api/v1/claims/check")
    assert r.status_code == 200
    findings = r.json()["findings"]
    assert r.json()["count"] == len(findings) > 0
    values = {(f["check"], tuple(c["value"] for c in f["claims"])) for f in findings}
    assert ("periods", (342, 41, 382)) in values
    assert ("components", (65, 288, 351)) in values
    assert ("falling", (301, 299)) in values
    only_area = api.public.get("/api/v1/claims/check", params={"metric": "area_released"})
    assert {f["check"] for f in only_area.json()["findings"]} == {"falling"}
    assert api.public.get("/api/v1/claims/check", params={"tolerance": 1.5}).status_code \
        == 422


def test_the_records_check_counts_what_the_asker_may_see(api, store) -> None:  # type: ignore[no-untyped-def]
    """Three victims killed in 2024: the public gets no count below the suppression floor
    (5), so nothing to compare; the administrator's count disagrees with a claim of 9."""
    store.add(AdminArea(pcode="AZ", name="Azerbaijan", level=0, status="approved"))
    accident = store.add(Accident(geometry=Point(46.9, 39.9), admin_area_pcode="AZ07",
                                  accident_date=date(2024, 5, 2), status="approved"))
    for _ in range(3):
        store.add(Victim(accident_id=accident.id, outcome="killed", status="approved"))
    _upload(api.as_("editor"), (
        b"as_of,period_start,period_end,metric,value,unit,area,stated_by\n"
        b"2025-01-15,2024-01-01,2024-12-31,victims_killed,9,persons,Azerbaijan,PGO\n"))

    def records(client: Any) -> list[dict[str, Any]]:
        r = client.get("/api/v1/claims/check")
        assert r.status_code == 200, r.text
        return [f for f in r.json()["findings"] if f["check"] == "records"]

    (finding,) = records(api.as_("admin"))
    assert finding["expected"] == 3 and finding["claims"][0]["value"] == 9
    assert records(api.public) == []
