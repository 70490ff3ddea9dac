# SPDX-License-Identifier: GPL-3.0-or-later
"""The API's HXL-tagged statistics (?f=csv) validate with libhxl, as the export's do
(issue 23: "libhxl validates every HXL export")."""

from __future__ import annotations

import csv
import io
from datetime import date

import hxl
from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim
from mineaction.store import Store


def _errors(rows: list[list[str]]) -> list[str]:
    found: list[str] = []

    def note(e: hxl.validation.HXLValidationException) -> None:
        if e.rule is None or e.rule.severity == "error":
            found.append(f"{e.value!r}: {e.message}")

    hxl.schema(None, callback=note).validate(hxl.data(rows))
    return found


def test_casualty_statistics_csv_validates_with_libhxl(api, store: Store) -> None:  # type: ignore[no-untyped-def]
    for year, outcomes in ((2019, ["killed", "injured", "injured"]), (2020, ["killed"])):
        a = store.add(Accident(geometry=Point(-75.5, 6.2), accident_date=date(year, 3, 4),
                               admin_area_pcode="05001", status="approved"))
        for outcome in outcomes:
            store.add(Victim(accident_id=a.id, outcome=outcome, role="civilian",
                             status="approved"))
    for by in ("year", "year,admin-area", "role"):
        r = api.as_("viewer").get("/api/v1/stats/casualties", params={"by": by, "f": "csv"})
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.text)))
        assert len(rows) > 2
        data = hxl.data(rows)
        assert all(c.tag for c in data.columns), rows[1]
        assert _errors(rows) == [], (by, rows)
