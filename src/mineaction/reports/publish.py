"""The open-data package: `mineaction publish OUT_DIR`.

Writes, from approved records only:
- casualties_by_year.csv, casualties_by_year_admin1.csv, casualties_by_year_category.csv:
  aggregated casualty counts, HXL-tagged (a hashtag row under the header). No record-level
  data and no personal field is ever read: the tables come from GROUP BY queries over the
  columns in PUBLISHED_DIMENSIONS. Counts from 1 to threshold-1 are suppressed (left empty,
  with `suppressed` set), so that small groups cannot single people out; zeros are kept.
  Suppression is complementary (reports/suppression.py): no hidden count can be recovered
  from a row's total or from a year's total in another table.
- hazards.geojson and hazards.gpkg: hazard polygons (no personal data in hazards).
- datapackage.json: a Frictionless Data Package describing every file (schema, licence,
  sources), validated with frictionless before publishing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from mineaction.access import PUBLIC, Access
from mineaction.analysis.casualties import casualties
from mineaction.io.writers import write_table
from mineaction.reports.suppression import COUNT_COLUMNS, suppress
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA

APPROVED = ("approved",)
DEFAULT_THRESHOLD = 5
# The only victim dimensions that reach the package (never name, birth date, contact,
# address, ethnic group: see Victim.personal_fields()).
PUBLISHED_DIMENSIONS = ("outcome", "role", "sex", "age-band", "device-group", "activity")
# Open data is what the public may see: access/ decides which records and fields.
PUBLIC_ACCESS = Access(PUBLIC)
HAZARD_COLUMNS = ("id", "name", "hazard_kind", "hazard_status", "area_m2", "admin_area_pcode",
                  "contamination", "date_reported", "date_closed", "geometry")
HXL = {
    "year": "#date+year", "admin1_pcode": "#adm1+code", "admin1_name": "#adm1+name",
    "dimension": "#indicator+category", "category": "#indicator+value",
    "casualties": "#affected+num", "killed": "#affected+killed", "injured": "#affected+injured",
    "unknown_outcome": "#affected+outcome+unknown", "suppressed": "#meta+suppressed",
}
LICENCE = {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
           "path": "https://creativecommons.org/licenses/by/4.0/"}


def casualty_tables(store: Store, threshold: int = DEFAULT_THRESHOLD,
                    admin_area: str | None = None) -> dict[str, pd.DataFrame]:
    """The aggregated casualty tables, suppressed, keyed by file stem."""
    common = {"statuses": APPROVED, "admin_area": admin_area}
    by_year = pd.DataFrame(casualties(store, ["year"], **common).rows,
                           columns=["year", *COUNT_COLUMNS])
    admin = casualties(store, ["year", "admin-area"], admin_level=1, **common).rows
    names = _names(store)
    by_admin = pd.DataFrame(
        [{"year": r["year"], "admin1_pcode": r["admin-area"],
          "admin1_name": names.get(r["admin-area"]),
          **{c: r[c] for c in COUNT_COLUMNS}} for r in admin],
        columns=["year", "admin1_pcode", "admin1_name", *COUNT_COLUMNS])
    long = []
    for dim in PUBLISHED_DIMENSIONS:
        for r in casualties(store, ["year", dim], **common).rows:
            long.append({"year": r["year"], "dimension": dim, "category": r[dim],
                         **{c: r[c] for c in COUNT_COLUMNS}})
    by_category = pd.DataFrame(long, columns=["year", "dimension", "category", *COUNT_COLUMNS])
    return {
        "casualties_by_year": suppress(by_year, threshold),
        # A year's admin areas, and a year's categories of one dimension, add up to the
        # year's row of casualties_by_year: suppressed together (complementary).
        "casualties_by_year_admin1": suppress(by_admin, threshold, [["year"]]),
        "casualties_by_year_category": suppress(by_category, threshold,
                                                [["year", "dimension"]]),
    }


def _names(store: Store) -> dict[str, str]:
    table = METADATA.tables["admin_areas"]
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(table.c.pcode, table.c.name)
                                 .where(table.c.status.in_(APPROVED))).all())


def _field_type(name: str) -> str:
    if name in COUNT_COLUMNS:
        return "integer"
    if name == "suppressed":
        return "boolean"
    return "string"


def _csv_resource(stem: str, frame: pd.DataFrame, title: str) -> dict[str, Any]:
    # The HXL hashtag row is a second header row: Frictionless joins the two into the
    # field names, so tools that know HXL and tools that know Data Packages both read it.
    return {
        "name": stem.replace("_", "-"),
        "path": f"{stem}.csv",
        "title": title,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig",
        "dialect": {"headerRows": [1, 2], "headerJoin": " "},
        "schema": {"fields": [
            {"name": f"{c} {HXL[c]}", "type": _field_type(c),
             **({"trueValues": ["true"], "falseValues": ["false"]} if c == "suppressed"
                else {})}
            for c in frame.columns]},
    }


def _sources(store: Store) -> list[dict[str, str]]:
    runs = METADATA.tables["import_runs"]
    with store.engine.connect() as conn:
        datasets = sorted({r[0] for r in conn.execute(sa.select(runs.c.dataset))})
    out = [{"title": f"mineaction dataset {d}"} for d in datasets]
    # The sources the public may see (approved ones): a draft's title is not published.
    sources = store.read_frame(Query(kind="source", limit=None,
                                     visible=PUBLIC_ACCESS.rows("source")))
    for s in sources.to_dict("records") if len(sources) else []:
        entry = {"title": s["title"]}
        if s.get("url"):
            entry["path"] = s["url"]
        out.append(entry)
    return out


def publish(store: Store, out_dir: str | os.PathLike[str], *,
            threshold: int = DEFAULT_THRESHOLD, admin_area: str | None = None,
            title: str = "Mine action open data", validate: bool = True) -> dict[str, Any]:
    """Write the package to `out_dir` (created; files there of the same names replaced)
    and return the datapackage descriptor. Written in a staging directory and moved into
    place only once complete and, with `validate`, valid."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1 (1 suppresses nothing)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".publish-") as staging:
        stage = Path(staging)
        resources = []
        titles = {
            "casualties_by_year": "Casualties per year (killed, injured, unknown)",
            "casualties_by_year_admin1": "Casualties per year and first-level admin area",
            "casualties_by_year_category": "Casualties per year by Landmine Monitor category",
        }
        for stem, frame in casualty_tables(store, threshold, admin_area).items():
            tags = {c: HXL[c] for c in frame.columns}
            write_table(stage / f"{stem}.csv", frame, format="hxl", hxl_tags=tags)
            resources.append(_csv_resource(stem, frame, titles[stem]))
        hazards = store.read_frame(Query(kind="hazard", admin_area=admin_area, limit=None,
                                         visible=PUBLIC_ACCESS.rows("hazard")))
        if len(hazards):
            shown = [c for c in HAZARD_COLUMNS
                     if c in hazards.columns and PUBLIC_ACCESS.readable("hazard", c)]
            hazards = hazards[shown]
            write_table(stage / "hazards.geojson", hazards, layer="hazards")
            write_table(stage / "hazards.gpkg", hazards, layer="hazards")
            resources.append({"name": "hazards-geojson", "path": "hazards.geojson",
                              "title": "Hazardous areas (polygons), GeoJSON",
                              "format": "geojson", "mediatype": "application/geo+json"})
            resources.append({"name": "hazards-gpkg", "path": "hazards.gpkg",
                              "title": "Hazardous areas (polygons), GeoPackage",
                              "format": "gpkg", "mediatype": "application/geopackage+sqlite3"})
        descriptor = {
            "name": "mineaction-open-data",
            "title": title,
            "description": (
                "Aggregated casualty statistics (Landmine Monitor categories) and hazardous "
                "areas, from approved records only. No personal data. Counts from 1 to "
                f"{threshold - 1} are suppressed (empty, with suppressed=True)."),
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "licenses": [LICENCE],
            "sources": _sources(store),
            "keywords": ["mine action", "landmines", "explosive ordnance", "HXL"],
            "resources": resources,
        }
        (stage / "datapackage.json").write_text(
            json.dumps(descriptor, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if validate:
            problems = validate_package(stage / "datapackage.json")
            if problems:
                raise ValueError("the package does not validate: " + "; ".join(problems[:5]))
        for item in stage.iterdir():
            target = out / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    return descriptor


def validate_package(path: str | os.PathLike[str]) -> list[str]:
    """Problems frictionless finds in the package's tabular resources (empty if valid)."""
    from frictionless import Package

    package = Package(str(path))
    problems = []
    for resource in package.resources:
        if resource.format != "csv":
            continue
        report = resource.validate()
        problems += [f"{resource.path}: {kind}: {note}"
                     for kind, note in report.flatten(["type", "note"])]
    return problems
