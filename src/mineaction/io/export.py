"""Export records to any supported format, with HXL hashtags for open-data CSVs.

Personal data of victims (name, date of birth, contact, address, ethnic group) is left out
unless the caller asks for it explicitly and is allowed to see it.
"""

from __future__ import annotations

from pathlib import Path

from mineaction.audit.log import log_read
from mineaction.domain.models import ENTITIES
from mineaction.io.formats import detect_format
from mineaction.io.writers import write_table
from mineaction.store.base import Store
from mineaction.store.query import Query

# HXL hashtags (https://hxlstandard.org/) for the fields open-data users join on.
HXL_TAGS = {
    "id": "#meta+id",
    "dataset": "#meta+dataset",
    "external_id": "#meta+source_id",
    "status": "#status",
    "admin_area_pcode": "#adm2+code",
    "pcode": "#adm+code",
    "name": "#loc+name",
    "place_name": "#loc+name",
    "accident_date": "#date+occurred",
    "find_date": "#date+found",
    "session_date": "#date+session",
    "date_reported": "#date+reported",
    "outcome": "#affected+outcome",
    "sex": "#affected+sex",
    "age_band": "#affected+age",
    "role": "#affected+role",
    "activity": "#affected+activity",
    "accident_kind": "#event+type",
    "device_category": "#item+type",
    "device_model": "#item+model",
    "quantity": "#item+num",
    "hazard_kind": "#status+hazard",
    "hazard_status": "#status+progress",
    "area_m2": "#geo+area+m2",
    "longitude": "#geo+lon",
    "latitude": "#geo+lat",
    "wkt": "#geo+wkt",
    "organisation_id": "#org+id",
    "girls": "#reached+f+children",
    "boys": "#reached+m+children",
    "women": "#reached+f+adults",
    "men": "#reached+m+adults",
}


def export_records(
    store: Store,
    out: str | Path,
    query: Query,
    *,
    format: str | None = None,
    include_personal_data: bool = False,
    actor: str | None = None,
) -> int:
    """Write the records `query` selects to `out`; returns how many were written. With
    personal data included, the export is a read of it: logged in the audit trail under
    `actor`, like every other (issue 14)."""
    model = ENTITIES[query.kind]
    fmt = detect_format(str(out), format)
    frame = store.read_frame(query)
    personal = [c for c in model.personal_fields() if c in frame.columns]
    if not include_personal_data:
        frame = frame.drop(columns=personal)
    elif personal and len(frame):
        given = frame[personal].notna().any(axis=1)
        fields = [c for c in personal if frame[c].notna().any()]
        if given.any():
            log_read(store, actor, query.kind,
                     [str(i) for i in frame.loc[given, "id"]], fields)
    if "geometry" in frame.columns and frame["geometry"].isna().all() and not len(frame):
        frame = frame.drop(columns=["geometry"])
    tags = None
    if fmt == "hxl":
        names = list(frame.columns)
        if "geometry" in names:
            # The CSV writer gives points as longitude/latitude columns, other shapes as WKT.
            points = all(g is None or g.geom_type == "Point" for g in frame["geometry"])
            names += ["longitude", "latitude"] if points else ["wkt"]
        tags = {c: HXL_TAGS[c] for c in names if c in HXL_TAGS}
    write_table(out, frame, format=fmt, layer=model.table, hxl_tags=tags)
    return len(frame)
