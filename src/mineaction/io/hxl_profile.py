# SPDX-License-Identifier: GPL-3.0-or-later
"""mineaction's HXL profile: the hashtag of every exported column, defined once (issue 23).

HXL (https://hxlstandard.org/standard/1-1final/dictionary/) has core hashtags for places,
dates, organisations, people affected and people reached, but none for the things mine
action counts: a hazardous area, its kind (SHA/CHA) and status, land released by survey or
clearance, a device's category, a minefield record. Those get `#x_` hashtags, the prefix
HXL reserves for extensions; everything HXL has a core hashtag for uses it.

From this one table come:
- the hashtag row of HXL exports (io/export.py),
- a libhxl validation schema (`schema_rows`): every column's datatype (numbers, dates) and
  the value list of every coded field, from the domain model's column specs,
- the profile table of docs/hxl.md (`profile_markdown`; tests/io/test_hxl_profile.py fails
  when the document and this table disagree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from mineaction.domain.columns import ColumnSpec, columns
from mineaction.domain.models import ENTITIES

# One hashtag with at least one attribute, as the profile requires of every column.
HASHTAG_RE = re.compile(r"^#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Tag:
    """A hashtag with its attributes, and what it says (shown in docs/hxl.md)."""

    hashtag: str
    meaning: str

    @property
    def is_extension(self) -> bool:
        return self.hashtag.startswith("#x_")


def _t(hashtag: str, meaning: str) -> Tag:
    return Tag(hashtag, meaning)


# Fields that mean the same in every kind of record.
FIELD_TAGS: dict[str, Tag] = {
    "id": _t("#meta+id", "mineaction's record id (UUID)"),
    "code": _t("#meta+code", "the record's code in its store (HAZ-CO-05-000123)"),
    "dataset": _t("#meta+dataset", "dataset the record was imported with"),
    "external_id": _t("#meta+source_id", "the record's id in its source"),
    "status": _t("#status+workflow", "workflow status: draft, submitted, approved, rejected"),
    "version": _t("#meta+version", "edit count of the record"),
    "created_at": _t("#date+created", "when the record was created"),
    "updated_at": _t("#date+updated", "when the record was last changed"),
    "created_by": _t("#meta+created_by", "who created it"),
    "updated_by": _t("#meta+updated_by", "who changed it last"),
    "source_ids": _t("#meta+sources", "ids of the sources the record rests on"),
    "longitude": _t("#geo+lon", "longitude, WGS 84"),
    "latitude": _t("#geo+lat", "latitude, WGS 84"),
    "wkt": _t("#geo+wkt", "shape as well-known text, WGS 84"),
    "admin_area_pcode": _t("#adm2+code", "P-code of the admin area"),
    "place_name": _t("#loc+name", "place name"),
    "organisation_id": _t("#org+id", "organisation (id)"),
    "original_coordinates": _t("#geo+coord+original", "coordinates as first written"),
    "location_accuracy_m": _t("#geo+accuracy+m", "how far the true position may lie from "
                              "the point, in metres (a GPS fix's accuracy)"),
    "area_m2": _t("#x_area+m2", "area in square metres (HXL has no area hashtag)"),
    "hazard_id": _t("#x_hazard+id", "the hazardous area the record belongs to"),
    "activity_id": _t("#activity+id", "the land-release activity"),
    "record_id": _t("#x_minefield+id", "the minefield record"),
    "device_category": _t("#x_device+category",
                          "device category: AP/AT mine, IED, cluster munition, UXO ..."),
    "device_model": _t("#x_device+model", "device model (PMN-2, M14 ...)"),
    "date_precision": _t("#meta+date_precision", "how exact the date is: day, month, year"),
    "date_laid": _t("#date+laid", "when the mines were laid"),
    "description": _t("#description+text", "description"),
}

# Fields whose meaning depends on the kind of record: (kind, field) -> tag.
KIND_TAGS: dict[tuple[str, str], Tag] = {
    ("admin_area", "pcode"): _t("#adm+code", "P-code"),
    ("admin_area", "name"): _t("#adm+name", "name"),
    ("admin_area", "level"): _t("#adm+level", "admin level (0 = country)"),
    ("admin_area", "parent_pcode"): _t("#adm+code+parent", "P-code of the parent area"),
    ("place", "name"): _t("#loc+name", "place name"),
    ("place", "alternative_names"): _t("#loc+name+alt", "other names of the place"),
    ("organisation", "name"): _t("#org+name", "organisation name"),
    ("organisation", "acronym"): _t("#org+acronym", "acronym"),
    ("organisation", "organisation_kind"): _t("#org+type", "kind of organisation"),
    ("source", "source_kind"): _t("#meta+source+type", "kind of source"),
    ("source", "title"): _t("#meta+source+name", "title of the source"),
    ("source", "reference"): _t("#meta+source+ref", "reference"),
    ("source", "url"): _t("#meta+source+url", "web address"),
    ("source", "source_date"): _t("#date+source", "date of the source"),
    ("source", "reliability"): _t("#meta+reliability", "admiralty code reliability A-F"),
    ("source", "credibility"): _t("#meta+credibility", "admiralty code credibility 1-6"),
    ("hazard", "name"): _t("#x_hazard+name", "name of the hazardous area"),
    ("hazard", "hazard_kind"): _t("#x_hazard+kind",
                                  "SHA (suspected) or CHA (confirmed), IMAS 04.10"),
    ("hazard", "hazard_status"): _t("#x_hazard+status",
                                    "open, worked on, closed, handed over"),
    ("hazard", "contamination"): _t("#x_device+category+list",
                                    "device categories found or suspected"),
    ("hazard", "evidence_kind"): _t("#x_hazard+evidence", "direct or indirect evidence"),
    ("hazard", "evidence_description"): _t("#x_hazard+evidence+description",
                                           "the evidence"),
    ("hazard", "blockages"): _t("#x_hazard+blockage", "what the hazard blocks (land use)"),
    ("hazard", "beneficiaries"): _t("#beneficiary+num", "people who gain from release"),
    ("hazard", "priority"): _t("#severity+priority", "priority 1-5"),
    ("hazard", "date_reported"): _t("#date+reported", "date reported"),
    ("hazard", "date_confirmed"): _t("#date+confirmed", "date confirmed"),
    ("hazard", "date_closed"): _t("#date+closed", "date closed"),
    ("activity", "name"): _t("#activity+name", "activity name"),
    ("activity", "activity_kind"): _t("#activity+type",
                                      "non-technical survey, technical survey, clearance ..."),
    ("activity", "activity_status"): _t("#status+activity", "planned, ongoing, ... completed"),
    ("activity", "start_date"): _t("#date+start", "start date"),
    ("activity", "end_date"): _t("#date+end", "end date"),
    ("activity", "clearance_depth_cm"): _t("#x_clearance+depth+cm", "clearance depth, cm"),
    ("released_part", "method"): _t("#x_release+method",
                                    "area released by: cancelled (non-technical survey), "
                                    "reduced (technical survey), cleared (clearance)"),
    ("released_part", "release_date"): _t("#date+released", "date released"),
    ("find", "quantity"): _t("#x_device+num", "number of devices"),
    ("find", "condition"): _t("#x_device+condition", "condition of the device"),
    ("find", "depth_cm"): _t("#x_device+depth+cm", "depth, cm"),
    ("find", "find_date"): _t("#date+found", "date found"),
    ("find", "disposal"): _t("#x_device+disposal", "how it was disposed of"),
    ("accident", "accident_date"): _t("#date+occurred", "date of the accident"),
    ("accident", "location_precision"): _t("#meta+location_precision",
                                           "how exact the location is"),
    ("accident", "area_type"): _t("#loc+type", "rural or urban"),
    ("accident", "accident_kind"): _t("#event+type", "mine, ERW, IED, demining ..."),
    ("accident", "narrative"): _t("#event+description", "what happened"),
    ("accident", "reported_killed"): _t("#affected+killed", "people killed, as the source "
                                        "counts them when it lists no victims"),
    ("accident", "reported_injured"): _t("#affected+injured", "people injured, as the "
                                         "source counts them when it lists no victims"),
    ("victim", "accident_id"): _t("#event+id", "the accident"),
    ("victim", "outcome"): _t("#x_victim+outcome",
                              "killed or injured (#affected+killed/+injured are counts, "
                              "not one person's outcome)"),
    ("victim", "sex"): _t("#x_victim+sex", "female, male, unknown"),
    ("victim", "age"): _t("#x_victim+age", "age in years"),
    ("victim", "age_band"): _t("#x_victim+age_band", "child (< 18), adult"),
    ("victim", "role"): _t("#x_victim+role", "civilian, security forces, deminer"),
    ("victim", "activity"): _t("#x_victim+activity", "what the person was doing"),
    ("victim", "activity_text"): _t("#x_victim+activity+text", "that, as the source said"),
    ("victim", "injuries"): _t("#x_victim+injuries", "injuries"),
    ("victim", "name"): _t("#x_victim+name", "name (personal data)"),
    ("victim", "date_of_birth"): _t("#date+birth", "date of birth (personal data)"),
    ("victim", "contact"): _t("#contact+victim", "contact (personal data)"),
    ("victim", "address"): _t("#loc+address", "address (personal data)"),
    ("victim", "ethnic_group"): _t("#group+ethnic", "ethnic group (personal data)"),
    ("risk_education", "session_date"): _t("#date+session", "date of the session"),
    ("risk_education", "method"): _t("#activity+method", "how it was delivered"),
    ("risk_education", "girls"): _t("#reached+f+children", "girls reached"),
    ("risk_education", "boys"): _t("#reached+m+children", "boys reached"),
    ("risk_education", "women"): _t("#reached+f+adults", "women reached"),
    ("risk_education", "men"): _t("#reached+m+adults", "men reached"),
    ("risk_education", "unknown_audience"): _t("#reached+unknown", "others reached"),
    ("minefield_record", "name"): _t("#x_minefield+name", "the record's number or name"),
    ("minefield_record", "date_recorded"): _t("#date+recorded", "date recorded"),
    ("minefield_record", "laid_by"): _t("#org+laid_by", "unit that laid it"),
    ("minefield_record", "handed_over_by"): _t("#org+handed_over_by", "who handed it over"),
    ("minefield_record", "date_handed_over"): _t("#date+handed_over", "date handed over"),
    ("minefield_record", "closure_error_m"): _t("#x_minefield+closure_error+m",
                                                "traverse closure error, m"),
    ("minefield_record", "adjusted"): _t("#x_minefield+adjusted",
                                         "closure error distributed (true/false)"),
    ("minefield_record", "notes"): _t("#description+notes", "notes"),
    ("minefield_point", "name"): _t("#x_minefield_point+name", "point name (BM, TP1 ...)"),
    ("minefield_point", "role"): _t("#x_minefield_point+role", "reference, turning ..."),
    ("minefield_point", "sequence"): _t("#x_minefield_point+sequence", "order"),
    ("minefield_point", "from_point"): _t("#x_minefield_point+from", "measured from"),
    ("minefield_point", "bearing"): _t("#x_minefield_point+bearing", "bearing"),
    ("minefield_point", "bearing_reference"): _t("#x_minefield_point+bearing+reference",
                                                 "true, magnetic or grid north"),
    ("minefield_point", "bearing_unit"): _t("#x_minefield_point+bearing+unit",
                                            "degrees, mils, gradians"),
    ("minefield_point", "distance"): _t("#x_minefield_point+distance", "distance"),
    ("minefield_point", "distance_unit"): _t("#x_minefield_point+distance+unit",
                                             "metres or paces"),
    ("minefield_point", "pace_factor"): _t("#x_minefield_point+pace+m", "metres per pace"),
    ("mine_row", "label"): _t("#x_mine_row+name", "row label"),
    ("mine_row", "start_point"): _t("#x_mine_row+start", "start point"),
    ("mine_row", "end_point"): _t("#x_mine_row+end", "end point"),
    ("mine_row", "mines"): _t("#x_mine_row+num", "number of mines"),
    ("mine_row", "spacing_m"): _t("#x_mine_row+spacing+m", "spacing, m"),
    ("mine_row", "pattern"): _t("#x_mine_row+pattern", "single, double, staggered ..."),
    ("mine_row", "row_offset_m"): _t("#x_mine_row+offset+m", "between a double row's lines"),
    ("mine_row", "fuze"): _t("#x_device+fuze", "fuze"),
    ("mine_row", "anti_handling"): _t("#x_device+anti_handling", "anti-handling device"),
}

# The text columns the writers make from a geometry (io/writers.py).
GEOMETRY_COLUMNS = ("longitude", "latitude", "wkt")


def tag_for(kind: str, field: str) -> Tag:
    """The profile's tag of `field` in records of `kind`; KeyError if it has none."""
    tag = KIND_TAGS.get((kind, field)) or FIELD_TAGS.get(field)
    if tag is None:
        raise KeyError(f"the HXL profile has no hashtag for {kind}.{field}")
    return tag


def tags_for(kind: str, names: list[str]) -> dict[str, str]:
    """column -> hashtag for an export of `kind` with these columns. A field the profile
    does not know yet (added to the model since) still gets a valid extension hashtag,
    `#x_<kind>+<field>`, rather than failing the export; the profile test and the docs
    generator insist on a real entry."""
    out = {}
    for name in names:
        try:
            out[name] = tag_for(kind, name).hashtag
        except KeyError:
            out[name] = f"#x_{kind}+{name}"
    return out


def exported_fields(kind: str) -> list[str]:
    """The columns an HXL export of `kind` can have: its fields (a geometry becomes text
    columns) and nothing else."""
    names = [s.name for s in columns(ENTITIES[kind]) if s.kind != "geometry"]
    if any(s.kind == "geometry" for s in columns(ENTITIES[kind])):
        names += list(GEOMETRY_COLUMNS)
    return names


def _datatype(spec: ColumnSpec | None, field: str) -> str | None:
    if field in ("longitude", "latitude"):
        return "number"
    if spec is None:
        return None
    return {"int": "number", "float": "number", "date": "date",
            "datetime": "date"}.get(spec.kind)


def _values(spec: ColumnSpec | None) -> tuple[str, ...]:
    if spec is None:
        return ()
    if spec.kind == "enum":
        return spec.enum_values
    if spec.kind == "bool":
        return ("true", "false")
    return ()


@dataclass(frozen=True)
class ProfileRow:
    kind: str
    field: str
    tag: Tag
    datatype: str | None
    values: tuple[str, ...]


@cache
def profile(kind: str) -> tuple[ProfileRow, ...]:
    specs = {s.name: s for s in columns(ENTITIES[kind])}
    rows = []
    for name in exported_fields(kind):
        spec = specs.get(name)
        rows.append(ProfileRow(kind, name, tag_for(kind, name), _datatype(spec, name),
                               _values(spec)))
    return tuple(rows)


SCHEMA_HEADER = ["#valid_tag", "#valid_severity", "#valid_datatype", "#valid_value+list",
                 "#description"]


def schema_rows(kind: str, present: list[str] | None = None) -> list[list[str]]:
    """A libhxl schema (hashtag row, then one rule a line) for exports of `kind`: each
    column's datatype and value list. `present`: only the rules for these columns."""
    rows: list[list[str]] = [SCHEMA_HEADER]
    for row in profile(kind):
        if present is not None and row.field not in present:
            continue
        if row.datatype is None and not row.values:
            continue
        # "!": an absolute pattern, matching this hashtag with exactly these attributes
        # (a plain pattern would also match #x_hazard+evidence+description's text).
        rows.append([row.tag.hashtag + "!", "error", row.datatype or "",
                     " | ".join(row.values), f"{kind}.{row.field}"])
    return rows


def profile_markdown() -> str:
    """The profile as Markdown tables, one per kind: what docs/hxl.md shows."""
    out: list[str] = []
    for kind in ENTITIES:
        out += [f"### {kind}", "", "| Column | Hashtag | Type | Meaning |", "|---|---|---|---|"]
        for row in profile(kind):
            kind_text = row.datatype or ("code" if row.values else "text")
            mark = " (extension)" if row.tag.is_extension else ""
            out.append(f"| `{row.field}` | `{row.tag.hashtag}`{mark} | {kind_text} | "
                       f"{row.tag.meaning} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # the profile section of docs/hxl.md (generate_command_docs.py)
    print(profile_markdown(), end="")
