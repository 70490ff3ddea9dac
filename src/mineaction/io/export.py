"""Export records to any supported format, with HXL hashtags for open-data CSVs (the
profile of io/hxl_profile.py: a hashtag for every column, issue 23).

Personal data of victims (name, date of birth, contact, address, ethnic group) is left out
unless the caller asks for it explicitly and is allowed to see it.
"""

from __future__ import annotations

from pathlib import Path

from mineaction.audit.log import log_read
from mineaction.domain.models import ENTITIES
from mineaction.io.formats import detect_format
from mineaction.io.hxl_profile import tags_for
from mineaction.io.writers import write_table
from mineaction.store.base import Store
from mineaction.store.query import Query


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
    frame = store.read_frame(query, codes=True)  # the codes people print and type
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
        # Every column gets its hashtag from the one profile (docs/hxl.md, issue 23).
        tags = tags_for(query.kind, [n for n in names if n != "geometry"])
    write_table(out, frame, format=fmt, layer=model.table, hxl_tags=tags)
    return len(frame)
