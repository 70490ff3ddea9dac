"""A summary of what a store holds, for `mineaction info` and the API's status page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mineaction.domain.models import ENTITIES
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, entity_table


def store_summary(store: Store, recent_imports: int = 10) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    with store.engine.connect() as conn:
        for kind in ENTITIES:
            table = entity_table(kind)
            rows = conn.execute(
                sa.select(table.c.status, sa.func.count()).group_by(table.c.status)
            ).all()
            counts[kind] = {str(status): int(str(n)) for status, n in rows}
        deleted = store.deletions(conn)
        runs = METADATA.tables["import_runs"]
        imports = [
            dict(r)
            for r in conn.execute(
                sa.select(runs).order_by(runs.c.fid.desc()).limit(recent_imports)
            ).mappings()
        ]
    links = METADATA.tables["record_sources"]
    sources = entity_table("source")
    with store.engine.connect() as conn:
        provenance = [
            {"dataset": d, "source": t, "reliability": r, "credibility": c}
            for d, t, r, c in conn.execute(
                sa.select(links.c.record_id, sources.c.title, sources.c.reliability,
                          sources.c.credibility)
                .join(sources, sources.c.id == links.c.source_id)
                .where(links.c.record_kind == "dataset")
                .order_by(links.c.record_id)
            )
        ]
    return {
        "provenance": provenance,
        "dialect": store.dialect,
        "schema": store.schema_version(),
        "counts": counts,  # current records (the feature tables hold no others)
        "deleted": deleted,  # kind -> reason ("edit", "import") -> records deleted
        "imports": imports,
    }


def import_flags(store: Store, import_id: str | None = None, limit: int = 1000
                 ) -> list[dict[str, Any]]:
    """Records flagged by imports (e.g. coordinates outside the country), newest first."""
    flags = METADATA.tables["import_flags"]
    runs = METADATA.tables["import_runs"]
    stmt = (
        sa.select(flags, runs.c.file_name, runs.c.dataset)
        .join(runs, runs.c.id == flags.c.import_id)
        .order_by(flags.c.fid.desc())
        .limit(limit)
    )
    if import_id:
        stmt = stmt.where(flags.c.import_id == import_id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]
