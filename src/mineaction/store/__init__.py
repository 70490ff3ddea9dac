"""Stores: the embedded GeoPackage (default) and the PostGIS server store."""

from __future__ import annotations

from pathlib import Path

from mineaction.store.base import Store
from mineaction.store.errors import NotFound, StoreError, VersionConflict
from mineaction.store.query import Near, Page, Query

DEFAULT_STORE = "mineaction.gpkg"


def open_store(location: str | Path, *, initialise: bool = True, pool_size: int = 5) -> Store:
    """A postgresql:// URL opens the server store; anything else is a GeoPackage path.
    `pool_size`: connections kept open for reuse (a server: one per request thread)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from mineaction.store.postgis import PostGISStore

        store: Store = PostGISStore(text, pool_size=pool_size)
    else:
        from mineaction.store.gpkg import GeoPackageStore

        store = GeoPackageStore(text, pool_size=pool_size)
    if initialise:
        try:
            store.initialise()
        except BaseException:
            store.close()  # no pooled connections left behind by a refused store
            raise
    return store


__all__ = ["DEFAULT_STORE", "Near", "NotFound", "Page", "Query", "Store", "StoreError",
           "VersionConflict", "open_store"]
