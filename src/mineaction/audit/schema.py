"""Tables of the audit trail, review notes and import jobs, on the stores' shared MetaData
(see mineaction.auth.schema for how they get created)."""

from __future__ import annotations

import sqlalchemy as sa

from mineaction.store.schema import METADATA, Timestamp

# One row per write or personal-data read. `fid` is the sequence number; `hash` chains
# each entry to the one before (audit/log.py). Columns hold exactly what is hashed, as
# text, so verification recomputes the hash from the row without type round trips.
AUDIT_LOG = sa.Table(
    "audit_log",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),  # ISO 8601 UTC
    sa.Column("actor", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("record_kind", sa.Text),
    sa.Column("record_id", sa.Text, index=True),
    sa.Column("version", sa.Integer),
    sa.Column("before_hash", sa.Text),
    sa.Column("after_hash", sa.Text),
    sa.Column("detail", sa.Text),  # canonical JSON
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
# Finds the coverage baseline and seals without a scan (audit/coverage.py).
AUDIT_ACTION_INDEX = sa.Index("ix_audit_log_action", AUDIT_LOG.c.action)

# Why a record was rejected (or any note given with a workflow step).
REVIEWS = sa.Table(
    "record_reviews",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_kind", sa.Text, nullable=False),
    sa.Column("record_id", sa.Text, nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),  # submit, approve, reject
    sa.Column("reason", sa.Text),
    sa.Column("by", sa.Text),
    sa.Column("at", Timestamp(), nullable=False),
    sqlite_autoincrement=True,
)

# Imports started through the API: state survives the worker that ran it, so any worker
# can answer a poll.
IMPORT_JOBS = sa.Table(
    "import_jobs",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False),  # queued running done rejected failed
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("upload_path", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: kind, mapping, dataset
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("report", sa.Text),  # JSON
    sa.Column("created_by", sa.Text),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sqlite_autoincrement=True,
)

AUDIT_TABLES = (AUDIT_LOG, REVIEWS, IMPORT_JOBS)
