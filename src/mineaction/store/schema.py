"""Tables of both stores, derived from the domain models through SQLAlchemy Core.

One MetaData serves the GeoPackage and PostGIS stores; only the geometry and timestamp column
types compile differently per dialect. Every entity table has:
- fid: integer primary key (GeoPackage feature tables require one; QGIS uses it as feature id);
- id: the record's UUID as text, unique;
- the model's fields (sets and lists as comma-separated text, which QGIS shows and filters);
Sources attach to any record through record_sources.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator, UserDefinedType

from mineaction.domain.columns import ColumnSpec, columns
from mineaction.domain.models import ENTITIES, Record
from mineaction.geo import gpkg_binary
from mineaction.store import claims, facts, links

SCHEMA_VERSION = 10
# 1: first schema. 2: soft delete (deleted_at, deleted_by) and record_history.
# 3: casualty_facts (store/facts.py), the victims-with-their-accident table statistics read.
# 4: record_sources indexed by record id.
# 5: deleted records out of the feature tables (deleted_records; deleted_* columns dropped).
# 6: record linkage (store/links.py): record_links, link_decisions, canonical_members,
#    linkage_runs.
# 7: minefield records (minefield_records, minefield_points, mine_rows) and attachments.
# 8: published figures (store/claims.py): claims.
# Columns every entity has that are not model fields.
INTERNAL_COLUMNS = ("fid",)
# Model fields that are not plain columns (kept in link tables).
LINKED_FIELDS = ("source_ids",)


class Geometry(UserDefinedType[Any]):
    """A geometry column in EPSG:4326: GeoPackage binary in SQLite, PostGIS geometry else."""

    cache_ok = True

    def __init__(self, store_type: str = "GEOMETRY") -> None:
        self.store_type = store_type

    def get_col_spec(self, **kw: Any) -> str:
        return self.store_type

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        import shapely  # on first use of a geometry column, not at import (issue 16)

        encode = gpkg_binary.encode if dialect.name == "sqlite" else ewkb_hex
        multi = self.store_type == "MULTIPOLYGON"

        def process(g: Any) -> Any:
            if g is None:
                return None
            if multi and g.geom_type == "Polygon":
                g = shapely.MultiPolygon([g])  # the column's declared type
            return encode(g)

        return process

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return lambda v: None if v is None else gpkg_binary.decode(v)
        import shapely

        return lambda v: None if v is None else shapely.from_wkb(v)


@compiles(Geometry, "postgresql")
def _pg_geometry(element: Geometry, compiler: Any, **kw: Any) -> str:
    return f"geometry({element.store_type}, 4326)"


def ewkb_hex(geom: Any) -> str:
    """Hex EWKB with SRID 4326: PostGIS reads it as a geometry literal without a function."""
    import shapely

    return str(shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True))


class Timestamp(TypeDecorator[datetime]):
    """UTC timestamps. GeoPackage wants ISO-8601 text ending in Z (spec 1.1.1.1.1)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_GpkgDateTime())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _GpkgDateTime(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "DATETIME"


def _column_type(spec: ColumnSpec) -> Any:
    if spec.kind == "geometry":
        assert spec.geometry is not None
        return Geometry(spec.geometry.store_type)
    return {
        "uuid": sa.Text(),
        "text": sa.Text(),
        "int": sa.Integer(),
        "float": sa.Double(),  # FLOAT reads as Float32 in GDAL
        "bool": sa.Boolean(),
        "date": sa.Date(),
        "datetime": Timestamp(),
        "enum": sa.Text(),
        "enum_set": sa.Text(),
        "list": sa.Text(),
    }[spec.kind]


def _entity_table(metadata: sa.MetaData, model: type[Record]) -> sa.Table:
    cols: list[Any] = [sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True)]
    for spec in columns(model):
        if spec.name in LINKED_FIELDS:
            continue
        nullable = spec.name not in ("id", "status", "version") and (
            spec.nullable or not spec.required or spec.kind == "geometry"
        )
        cols.append(sa.Column(spec.name, _column_type(spec), nullable=nullable))
    # GeoPackage requires INTEGER PRIMARY KEY AUTOINCREMENT on feature tables (req. 29).
    table = sa.Table(model.table, metadata, *cols, sqlite_autoincrement=True)
    sa.Index(f"ux_{model.table}_id", table.c.id, unique=True)
    sa.Index(f"ux_{model.table}_key", table.c.dataset, table.c.external_id, unique=True)
    for name in ("accident_id", "activity_id", "hazard_id", "record_id", "admin_area_pcode",
                 "pcode"):
        if name in table.c:
            sa.Index(f"ix_{model.table}_{name}", table.c[name])
    date_field = primary_date_field(model)
    if date_field:
        sa.Index(f"ix_{model.table}_{date_field}", table.c[date_field])
    if "reported_killed" in table.c:
        # Every by-source view (the dashboard's too) looks for count sources: a partial
        # index holds only the few accidents with counts, so that is not a full scan.
        counted = reported_counts(table)
        sa.Index(f"ix_{model.table}_reported", table.c.dataset, sqlite_where=counted,
                 postgresql_where=counted)
    return table


def reported_counts(table: sa.Table) -> Any:
    """The accidents a source gave counts of casualties for (issue 17): the partial
    index's condition, which a query must repeat as it is for the index to serve."""
    return sa.or_(table.c.reported_killed.is_not(None), table.c.reported_injured.is_not(None))


def primary_date_field(model: type[Record]) -> str | None:
    """The date that date-range queries filter on, per entity (domain/registry.py)."""
    from mineaction.domain.registry import REGISTRY

    return REGISTRY[model.kind].primary_date


def build_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    for model in ENTITIES.values():
        _entity_table(metadata, model)
    sa.Table(
        "record_sources",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.UniqueConstraint("record_kind", "record_id", "source_id"),
        # A record's sources are looked up by record_id alone (lists read them per row):
        # the unique index above starts with record_kind and cannot serve that.
        sa.Index("ix_record_sources_record_id", "record_id"),
        sqlite_autoincrement=True,
    )
    # Every superseded version of every record (the current one is in its table): written
    # when a record is updated, deleted or changed by a re-import, so history and diffs
    # between any two versions are possible without doubling the cost of bulk imports.
    sa.Table(
        "record_history",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),  # the record as JSON (GeoJSON geometry)
        sa.Column("superseded_at", Timestamp(), nullable=False),
        sa.Column("superseded_by", sa.Text),
        sa.Column("action", sa.Text, nullable=False),  # update, delete, status, import
        sqlite_autoincrement=True,
    )
    # What was deleted, when, by whom and why: the feature tables hold current records only
    # (GIS clients count their rows), so a deletion leaves this tombstone, and the record's
    # last version in record_history. `reason` is "edit" (a person deleted it: a re-import
    # keeps it deleted) or "import" (gone from a release: a later release that has it
    # again brings it back under its id).
    sa.Table(
        "deleted_records",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False, unique=True),
        sa.Column("dataset", sa.Text),
        sa.Column("external_id", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),  # the deletion's version
        sa.Column("deleted_at", Timestamp(), nullable=False),
        sa.Column("deleted_by", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Index("ix_deleted_records_key", "record_kind", "dataset", "external_id"),
        sqlite_autoincrement=True,
    )
    # Files kept with a record (the scan of a paper minefield record, photos), in the store
    # itself so that a GeoPackage copied to a laptop carries them.
    sa.Table(
        "attachments",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text(), nullable=False, unique=True),
        sa.Column("record_kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False, index=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("caption", sa.Text),
        sa.Column("added_at", Timestamp(), nullable=False),
        sa.Column("added_by", sa.Text),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "import_runs",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text),
        sa.Column("mapping", sa.Text),
        sa.Column("started_at", Timestamp()),
        sa.Column("finished_at", Timestamp()),
        sa.Column("rows_read", sa.Integer),
        sa.Column("added", sa.Integer),
        sa.Column("changed", sa.Integer),
        sa.Column("unchanged", sa.Integer),
        sa.Column("removed", sa.Integer),
        sa.Column("rejected", sa.Integer),
        sa.Column("flagged", sa.Integer),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "import_flags",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Text(), nullable=False, index=True),
        sa.Column("record_kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer),
        sa.Column("field", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    facts.define(metadata)
    links.define(metadata)
    claims.define(metadata)
    sa.Table(
        "mineaction_meta",
        metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    return metadata


METADATA = build_metadata()


def entity_table(kind_or_model: str | type[Record]) -> sa.Table:
    model = ENTITIES[kind_or_model] if isinstance(kind_or_model, str) else kind_or_model
    return METADATA.tables[model.table]
