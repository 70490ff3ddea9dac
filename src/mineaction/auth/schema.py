"""Tables of users and their credentials, on the stores' shared MetaData.

Registered on mineaction.store.schema.METADATA, so a store created after this module is
imported creates them with everything else. Stores created before are brought up to date
by `Store.ensure_tables`. Marked `unlisted`: the GeoPackage store leaves them out of
gpkg_contents, so QGIS, ogrinfo and other GDAL clients do not show them as layers (GDAL
lists tables missing from gpkg_contents only when asked to, LIST_ALL_TABLES=YES, since the
store registers attribute tables); `mineaction share` writes a copy without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from mineaction.store.schema import METADATA, Timestamp

if TYPE_CHECKING:  # store/schema.py imports this module at its end: no cycle at run time
    from mineaction.store.base import Store

USERS = sa.Table(
    "users",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id, self-describing
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("organisation_id", sa.Text),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sqlite_autoincrement=True,
    info={"unlisted": True},
)

# Browser sessions and API tokens: only a SHA-256 of each secret is kept. The secrets are
# 256-bit random, so a fast hash is enough (a slow one like argon2 protects low-entropy
# passwords, and would cost every request ~50 ms).
CREDENTIALS = sa.Table(
    "auth_credentials",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("secret_hash", sa.Text, nullable=False, unique=True),
    sa.Column("user_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # session | token
    sa.Column("name", sa.Text),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp()),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    # The session or token this one was made with: revoking a credential revokes what was
    # made with it, and a token made with a token expires no later than it (issue 15, 7).
    sa.Column("parent_fid", sa.Integer),
    sqlite_autoincrement=True,
    info={"unlisted": True},
)

AUTH_TABLES = (USERS, CREDENTIALS)


def ensure_server_tables(store: Store) -> None:
    """Every table the server needs: users, credentials, audit log, reviews, import jobs."""
    from mineaction.audit.schema import AUDIT_TABLES

    store.ensure_tables([*AUTH_TABLES, *AUDIT_TABLES])
    _add_missing_columns(store)


def _add_missing_columns(store: Store) -> None:
    """Columns added to the tables above since they were first made (once per store)."""
    if getattr(store, "_auth_columns_checked", False):
        return
    with store.engine.connect() as conn:
        have = {c["name"] for c in sa.inspect(conn).get_columns(CREDENTIALS.name)}
    if "parent_fid" not in have:
        with store.transaction() as conn:
            if store.dialect == "postgis":  # workers starting at once: one adds it
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7461001)")
            have = {c["name"] for c in sa.inspect(conn).get_columns(CREDENTIALS.name)}
            if "parent_fid" not in have:  # another worker may have added it meanwhile
                conn.exec_driver_sql(
                    f"ALTER TABLE {CREDENTIALS.name} ADD COLUMN parent_fid INTEGER")
    # Password and token hashes are no layer for QGIS or ogrinfo (issue 15, 10): stores
    # made before listed these tables in gpkg_contents.
    store.unlist_tables(AUTH_TABLES)
    store._auth_columns_checked = True  # type: ignore[attr-defined]
