"""The open-data package: valid Frictionless package, HXL hashtags, small counts suppressed,
approved records only, and no personal field can appear."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pyogrio
import pytest
from frictionless import validate

from mineaction.domain.models import Accident, Victim
from mineaction.reports import publish as pub
from mineaction.store import Store, open_store


def read_hxl(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1], rows[2:]


def test_package_validates_with_hxl_tags(colombia_gpkg: Store, tmp_path: Path) -> None:
    descriptor = pub.publish(colombia_gpkg, tmp_path / "pkg", threshold=5)
    report = validate(str(tmp_path / "pkg" / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])[:5]
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0" and descriptor["sources"]
    header, tags, rows = read_hxl(tmp_path / "pkg" / "casualties_by_year.csv")
    assert header[:3] == ["year", "casualties", "killed"]
    assert all(t.startswith("#") for t in tags) and tags[1] == "#affected+num"
    by_year = {r[0]: r for r in rows}
    assert by_year["2006"][1:4] == ["1224", "240", "984"]


def test_small_counts_are_suppressed(colombia_gpkg: Store, tmp_path: Path) -> None:
    pub.publish(colombia_gpkg, tmp_path / "pkg", threshold=10)
    header, _, rows = read_hxl(tmp_path / "pkg" / "casualties_by_year_admin1.csv")
    col = {name: i for i, name in enumerate(header)}
    counts = [r[col["casualties"]] for r in rows]
    assert all(c == "" or int(c) == 0 or int(c) >= 10 for c in counts)
    suppressed = [r for r in rows if r[col["suppressed"]] == "true"]
    assert suppressed and all(r[col["casualties"]] == "" or r[col["killed"]] == ""
                              or r[col["injured"]] == "" for r in suppressed)
    with pytest.raises(ValueError, match="at least 1"):
        pub.publish(colombia_gpkg, tmp_path / "bad", threshold=0)


def test_hazards_as_geojson_and_geopackage(landrelease_gpkg: Store, tmp_path: Path) -> None:
    descriptor = pub.publish(landrelease_gpkg, tmp_path / "pkg")
    paths = {r["path"] for r in descriptor["resources"]}
    assert {"hazards.geojson", "hazards.gpkg"} <= paths
    data = json.loads((tmp_path / "pkg" / "hazards.geojson").read_text())
    assert len(data["features"]) == 24
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert pyogrio.read_info(tmp_path / "pkg" / "hazards.gpkg", layer="hazards")["features"] == 24


def test_no_personal_field_can_appear(tmp_path: Path) -> None:
    """Victims carrying every personal field, plus a draft one: nothing personal and
    nothing unapproved reaches any file of the package."""
    store = open_store(tmp_path / "store.gpkg")
    canary = {"name": "Canary Personname", "date_of_birth": date(1977, 7, 7),
              "contact": "canary@example.org", "address": "1 Canary Street",
              "ethnic_group": "canary-group"}
    assert set(canary) == Victim.personal_fields()
    for i in range(12):
        accident = store.add(Accident(accident_date=date(2020, 1 + i % 12, 1),
                                      admin_area_pcode="05001", status="approved"))
        store.add(Victim(accident_id=accident.id, outcome="injured", status="approved",
                         **canary))
    draft = store.add(Accident(accident_date=date(2019, 5, 1), status="draft"))
    store.add(Victim(accident_id=draft.id, outcome="killed", status="draft"))
    pub.publish(store, tmp_path / "pkg", threshold=1)
    store.close()
    everything = "\n".join(p.read_bytes().decode("utf-8", "replace")
                           for p in (tmp_path / "pkg").iterdir() if p.is_file())
    for value in canary.values():
        assert str(value) not in everything
    for path in (tmp_path / "pkg").glob("*.csv"):
        header, _, _ = read_hxl(path)
        assert not set(header) & Victim.personal_fields(), path
    assert "canary" not in everything.lower() and "1977" not in everything
    # Approved only: the draft 2019 victim is not counted.
    _, _, rows = read_hxl(tmp_path / "pkg" / "casualties_by_year.csv")
    assert [r[:2] for r in rows] == [["2020", "12"]]
    # And by construction: only the published dimensions are ever grouped on.
    assert not set(pub.PUBLISHED_DIMENSIONS) & Victim.personal_fields()
