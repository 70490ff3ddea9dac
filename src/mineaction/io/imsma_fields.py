# SPDX-License-Identifier: GPL-3.0-or-later
"""The IMSMA Core layout, field by field: the one table export, import and docs/imsma.md
share (issue 23).

IMSMA Core (GICHD's ArcGIS-based IMSMA) keeps a feature class per item type. What GICHD
publishes about its data model confirms (see docs/imsma.md, "Sources"):
- the `imsma_id` field: a 50-character text, the item type and a number ("hazard_poly_145",
  "accident_34"), and the `imsma_links` field: a comma-separated list of the imsma_ids of
  linked items (GICHD imsma-core-doc, "IMSMA Data Linking Process");
- the item types hazard, hazard reduction (activity), accident, victim and (mine) risk
  education (IMSMA wiki, "Understanding IMSMA Information Model");
- the accident classifications (IMSMA wiki, "Accident Summary Window") and the activity
  (hazard reduction) types (IMSMA wiki, "Activity Summary Window").
Other field names and value lists follow IMSMA NG's field reports where known and are
marked unconfirmed where not: each programme configures its own forms, so an IMSMA Core
installation maps its fields to these once.

Fields named `ma_*` are mineaction's own: its record id, dataset, key and workflow status,
so that an export read back gives the same records. IMSMA ignores fields it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from mineaction.domain.columns import columns
from mineaction.domain.models import ENTITIES

# Where a name or value list is confirmed (docs/imsma.md lists the sources).
LINKING = "GICHD imsma-core-doc, IMSMA Data Linking Process"
ITEMS = "IMSMA wiki, Understanding IMSMA Information Model"
ACCIDENTS = "IMSMA wiki, Accident Summary Window"
ACTIVITIES = "IMSMA wiki, Activity Summary Window"
IMAS = "IMAS 04.10 / 07.11 terms"


@dataclass(frozen=True)
class ImsmaField:
    """One IMSMA field and the mineaction field it carries. ``values``: our code -> the
    IMSMA value (a value list); ``multiple``: several values, comma-separated."""

    name: str
    field: str
    values: tuple[tuple[str, str], ...] = ()
    multiple: bool = False
    confirmed: str = ""

    def to_imsma(self) -> dict[str, str]:
        return dict(self.values)

    def from_imsma(self) -> dict[str, str]:
        return {imsma.casefold(): ours for ours, imsma in self.values}


@dataclass(frozen=True)
class ImsmaLayer:
    """A layer (IMSMA Core feature class or table) and the kind of record it holds.
    ``links``: our field pointing to a parent -> the parent's layer; in the file the link
    is the parent's imsma_id in the child's imsma_links."""

    name: str
    kind: str
    id_prefix: str
    geometry: str | None  # the GeoPackage layer's geometry type; None: a table
    fields: tuple[ImsmaField, ...]
    links: tuple[tuple[str, str], ...] = ()
    confirmed: str = ""


def _v(*pairs: str) -> tuple[tuple[str, str], ...]:
    """("code", "IMSMA value", "code", "IMSMA value", ...) as pairs."""
    return tuple(zip(pairs[::2], pairs[1::2], strict=True))


DEVICES = _v("ap_mine", "AP Mine", "at_mine", "AT Mine", "improvised_mine", "Improvised Mine",
             "ied", "IED", "cluster_munition", "Cluster Munition", "uxo", "UXO", "axo", "AXO",
             "booby_trap", "Booby Trap", "other", "Other", "unknown", "Unknown")
WORKFLOW = _v("draft", "Draft", "submitted", "Submitted", "approved", "Approved",
              "rejected", "Rejected")
DATE_ACCURACY = _v("day", "Day", "month", "Month", "year", "Year")

# Every layer carries these first (the IMSMA linking fields, then mineaction's own).
LINK_FIELDS = ("imsma_id", "imsma_links")
OWN_FIELDS = (
    ImsmaField("ma_id", "id"),
    ImsmaField("ma_dataset", "dataset"),
    ImsmaField("ma_external_id", "external_id"),
    ImsmaField("ma_status", "status", WORKFLOW),
)

LAYERS: tuple[ImsmaLayer, ...] = (
    ImsmaLayer("hazard", "hazard", "hazard_", "Unknown", confirmed=ITEMS, fields=(
        ImsmaField("hazard_name", "name"),
        ImsmaField("hazard_type", "hazard_kind", _v("SHA", "SHA", "CHA", "CHA"),
                   confirmed=IMAS),
        ImsmaField("hazard_status", "hazard_status",
                   _v("open", "Active", "worked_on", "Worked On", "closed", "Closed",
                      "handed_over", "Handed Over")),
        ImsmaField("area", "area_m2"),
        ImsmaField("contamination", "contamination", DEVICES, multiple=True),
        ImsmaField("evidence_type", "evidence_kind", _v("direct", "Direct",
                                                        "indirect", "Indirect")),
        ImsmaField("evidence_description", "evidence_description"),
        ImsmaField("blockages", "blockages",
                   _v("housing", "Housing", "agriculture", "Agriculture", "grazing", "Grazing",
                      "water", "Water", "roads", "Roads", "infrastructure", "Infrastructure",
                      "services", "Services"), multiple=True),
        ImsmaField("beneficiaries", "beneficiaries"),
        ImsmaField("priority", "priority"),
        ImsmaField("date_reported", "date_reported"),
        ImsmaField("date_confirmed", "date_confirmed"),
        ImsmaField("date_closed", "date_closed"),
        ImsmaField("admin_pcode", "admin_area_pcode"),
        ImsmaField("original_coordinates", "original_coordinates"),
        ImsmaField("gps_accuracy_m", "location_accuracy_m"),
        ImsmaField("ma_organisation_id", "organisation_id"),
    )),
    ImsmaLayer("hazard_reduction", "activity", "hazard_reduction_", None, confirmed=ITEMS,
               links=(("hazard_id", "hazard"),), fields=(
        ImsmaField("activity_name", "name"),
        ImsmaField("activity_type", "activity_kind",
                   _v("non_technical_survey", "Non-technical survey",
                      "technical_survey", "Technical survey", "clearance", "Clearance",
                      "battle_area_clearance", "BAC", "eod_spot_task", "EOD Spot task"),
                   confirmed=ACTIVITIES),
        ImsmaField("activity_status", "activity_status",
                   _v("planned", "Planned", "ongoing", "Ongoing", "suspended", "Suspended",
                      "completed", "Completed")),
        ImsmaField("start_date", "start_date"),
        ImsmaField("end_date", "end_date"),
        ImsmaField("clearance_depth_cm", "clearance_depth_cm"),
        ImsmaField("ma_organisation_id", "organisation_id"),
    )),
    # IMSMA Core keeps the released polygons of a hazard reduction with the activity; our
    # activities have no shape of their own, so the released parts get their own layer.
    ImsmaLayer("hazard_reduction_area", "released_part", "hazard_reduction_area_",
               "MultiPolygon", links=(("activity_id", "hazard_reduction"),), fields=(
        ImsmaField("release_method", "method",
                   _v("cancelled", "Cancelled", "reduced", "Reduced", "cleared", "Cleared"),
                   confirmed=IMAS),
        ImsmaField("area", "area_m2"),
        ImsmaField("release_date", "release_date"),
    )),
    ImsmaLayer("accident", "accident", "accident_", "Point", confirmed=ITEMS,
               links=(("hazard_id", "hazard"),), fields=(
        ImsmaField("accident_date", "accident_date"),
        ImsmaField("date_accuracy", "date_precision", DATE_ACCURACY),
        ImsmaField("accident_type", "accident_kind",
                   _v("mine", "Mine accident", "erw", "UXO/AXO accident",
                      "ied", "IED accident", "demining", "Demining accident",
                      "other", "Other type of accident", "unknown", "Unknown"),
                   confirmed=ACCIDENTS),
        ImsmaField("device_type", "device_category", DEVICES),
        ImsmaField("device_model", "device_model"),
        ImsmaField("location_accuracy", "location_precision",
                   _v("exact", "Exact", "site", "Site", "settlement", "Settlement",
                      "admin_area", "Admin Area", "unknown", "Unknown")),
        ImsmaField("area_type", "area_type", _v("rural", "Rural", "urban", "Urban",
                                                "unknown", "Unknown")),
        ImsmaField("location_name", "place_name"),
        ImsmaField("admin_pcode", "admin_area_pcode"),
        ImsmaField("original_coordinates", "original_coordinates"),
        ImsmaField("gps_accuracy_m", "location_accuracy_m"),
        ImsmaField("description", "narrative"),
    )),
    ImsmaLayer("victim", "victim", "victim_", None, confirmed=ITEMS,
               links=(("accident_id", "accident"),), fields=(
        ImsmaField("victim_status", "outcome", _v("killed", "Killed", "injured", "Injured",
                                                  "unknown", "Unknown")),
        ImsmaField("gender", "sex", _v("female", "Female", "male", "Male",
                                       "unknown", "Unknown")),
        ImsmaField("age", "age"),
        ImsmaField("age_category", "age_band", _v("child", "Child", "adult", "Adult",
                                                  "unknown", "Unknown")),
        ImsmaField("victim_type", "role", _v("civilian", "Civilian",
                                             "security_forces", "Military/Police",
                                             "deminer", "Deminer", "unknown", "Unknown")),
        ImsmaField("activity_at_accident", "activity",
                   _v("agriculture", "Agriculture", "herding", "Herding",
                      "collecting_food_water_wood", "Collecting food/water/wood",
                      "travelling", "Travelling",
                      "construction_reconstruction", "Construction/Reconstruction",
                      "returning_home", "Returning home", "playing", "Playing",
                      "tampering", "Tampering", "demining", "Demining",
                      "military_duty", "Military duty", "other", "Other",
                      "unknown", "Unknown")),
        ImsmaField("activity_description", "activity_text"),
        ImsmaField("injury_description", "injuries"),
        ImsmaField("victim_name", "name"),
        ImsmaField("date_of_birth", "date_of_birth"),
        ImsmaField("contact", "contact"),
        ImsmaField("address", "address"),
        ImsmaField("ethnicity", "ethnic_group"),
    )),
    ImsmaLayer("education", "risk_education", "education_", "Point", confirmed=ITEMS, fields=(
        ImsmaField("education_date", "session_date"),
        ImsmaField("location_name", "place_name"),
        ImsmaField("admin_pcode", "admin_area_pcode"),
        ImsmaField("delivery_method", "method"),
        ImsmaField("girls", "girls"),
        ImsmaField("boys", "boys"),
        ImsmaField("women", "women"),
        ImsmaField("men", "men"),
        ImsmaField("unknown_audience", "unknown_audience"),
        ImsmaField("ma_organisation_id", "organisation_id"),
    )),
)

BY_NAME = {layer.name: layer for layer in LAYERS}
BY_KIND = {layer.kind: layer for layer in LAYERS}


def all_fields(layer: ImsmaLayer) -> tuple[ImsmaField, ...]:
    """The layer's fields in file order (after imsma_id and imsma_links)."""
    return (*OWN_FIELDS, *layer.fields)


# Our column kinds as the GeoPackage field types they are written as.
_TYPES = {"int": "integer", "float": "real", "date": "date", "datetime": "date-time",
          "uuid": "text (UUID)", "bool": "boolean"}
_WRITER_KINDS = {"int": "int", "float": "float", "date": "date", "datetime": "datetime",
                 "bool": "bool"}


def field_kinds(layer: ImsmaLayer) -> dict[str, str]:
    """IMSMA field -> the type it is written as (io/writers.py kinds; text otherwise), from
    the domain model: the same field types in every export, with data or without."""
    kinds = {c.name: c.kind for c in columns(ENTITIES[layer.kind])}
    return {f.name: "str" if f.values else _WRITER_KINDS.get(kinds[f.field], "str")
            for f in all_fields(layer)}


def fields_markdown() -> str:
    """The layout as Markdown, layer by layer: what docs/imsma.md shows."""
    out: list[str] = []
    for layer in LAYERS:
        kinds = {c.name: c.kind for c in columns(ENTITIES[layer.kind])}
        shape = ("any geometry" if layer.geometry == "Unknown" else layer.geometry) \
            if layer.geometry else "a table, no geometry"
        links = ", ".join(f"`{field}` -> `{parent}`" for field, parent in layer.links)
        out += [f"### `{layer.name}` ({shape})", "",
                f"Holds mineaction's `{layer.kind}` records; imsma_ids made here start "
                f"`{layer.id_prefix}`."
                + (f" Links (in `imsma_links`): {links}." if links else "")
                + (f" Item type confirmed by: {layer.confirmed}." if layer.confirmed else ""),
                "", "| IMSMA field | mineaction field | Type | Values | Name confirmed by |",
                "|---|---|---|---|---|",
                f"| `imsma_id` | `external_id` (on import) | text | at most 50 characters "
                f"| {LINKING} |",
                f"| `imsma_links` | {', '.join(f'`{f}`' for f, _ in layer.links) or '-'} "
                f"| text | comma-separated imsma_ids | {LINKING} |"]
        for f in all_fields(layer):
            values = "; ".join(f"`{ours}` = {imsma}" for ours, imsma in f.values)
            if f.multiple:
                values = "several, comma-separated: " + values
            own = "mineaction's own" if f.name.startswith("ma_") else "not confirmed"
            kind = "text" if f.values else _TYPES.get(kinds[f.field], "text")
            out.append(f"| `{f.name}` | `{f.field}` | {kind} | {values or '-'} | "
                       f"{f.confirmed or own} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # the layout section of docs/imsma.md (generate_command_docs.py)
    print(fields_markdown(), end="")
