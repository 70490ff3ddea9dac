# SPDX-License-Identifier: GPL-3.0-or-later
"""A record list as a file (issue 21, 5): the whole filtered list, in five formats, as
the asker sees it: the public gets approved records with generalised places and without
the fields it never sees, victims not at all; an approver gets what its list shows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pyogrio.raw
from api_helpers import PASSWORD, Api, accident


def _approved(api: Api, n: int, **kw: Any) -> list[str]:
    editor, approver = api.as_("editor"), api.as_("approver")
    ids = []
    for i in range(n):
        rec = editor.post("/api/v1/accidents", json=accident(
            geometry={"type": "Point", "coordinates": [-75.1834 + i / 100, 6.1412]},
            **kw)).json()
        url = f"/api/v1/accidents/{rec['id']}"
        assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
        assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200
        ids.append(rec["id"])
    return ids


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _signed_in(api: Api, role: str) -> Any:
    """A browser's client: the web's pages know their user by the session cookie."""
    api.user(role)
    browser = api.anonymous()
    r = browser.post("/api/v1/auth/login", json={"username": role, "password": PASSWORD})
    assert r.status_code == 200
    return browser


def test_a_list_downloads_whole_in_every_format(api: Api, tmp_path: Path) -> None:
    ids = _approved(api, 3)
    _approved(api, 2, accident_kind="erw")
    api.as_("editor").post("/api/v1/accidents", json=accident())  # a draft
    approver = _signed_in(api, "approver")
    r = approver.get("/download/accidents.csv?kind=mine&status=approved&page=2")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="accidents.csv"' in r.headers["content-disposition"]
    rows = _rows(r.content.decode("utf-8-sig"))  # with a BOM, for Excel
    assert sorted(row["id"] for row in rows) == sorted(ids)  # all, not a page
    assert rows[0]["narrative"] == "stepped on a mine near the school"
    features = json.loads(approver.get("/download/accidents.geojson?kind=mine").content)
    assert len(features["features"]) == 4  # the draft too: the approver's list shows it
    sheet = openpyxl.load_workbook(io.BytesIO(
        approver.get("/download/accidents.xlsx?kind=erw").content)).active
    assert sheet.max_row == 1 + 2
    gpkg = tmp_path / "a.gpkg"
    gpkg.write_bytes(approver.get("/download/accidents.gpkg?status=approved").content)
    assert len(pyogrio.raw.read(gpkg)[2]) == 5  # GDAL reads the five approved
    hxl = approver.get("/download/accidents.hxl?status=approved").content.decode(
        "utf-8-sig").splitlines()
    assert hxl[1].startswith("#") and len(hxl) == 2 + 5
    assert approver.get("/download/accidents.pdf").status_code == 422
    assert approver.get("/download/nothing.csv").status_code == 404


def test_the_public_downloads_only_what_its_list_shows(api: Api) -> None:
    _approved(api, 2)
    api.as_("editor").post("/api/v1/accidents", json=accident())  # a draft
    public = api.public
    rows = _rows(public.get("/download/accidents.csv").content.decode("utf-8-sig"))
    assert len(rows) == 2
    assert "narrative" not in rows[0] and "external_id" not in rows[0]
    points = json.loads(public.get("/download/accidents.geojson").content)["features"]
    for f in points:  # generalised to the public's decimals
        lon, lat = f["geometry"]["coordinates"]
        assert (lon, lat) == (round(lon, 1), round(lat, 1))
    assert public.get("/download/victims.csv").status_code == 403
