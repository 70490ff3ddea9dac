"""Stores: the embedded GeoPackage (default) and the PostGIS server store."""

from __future__ import annotations

from pathlib import Path

from mineaction.store.base import Store
from mineaction.store.errors import NotFound, StoreError, VersionConflict
from mineaction.store.query import Near, Page, Query

DEFAULT_STORE = "mineaction.gpkg"


def open_store(location: str | Path, *, initialise: bool = True) -> Store:
    """A postgresql:// URL opens the server store; anything else is a GeoPackage path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from mineaction.store.postgis import PostGISStore

        store: Store = PostGISStore(text)
    else:
        from mineaction.store.gpkg import GeoPackageStore

        store = GeoPackageStore(text)
    if initialise:
        try:
            store.initialise()
        except BaseException:
            store.close()  # no pooled connections left behind by a refused store
            raise
    return store


__all__ = ["DEFAULT_STORE", "Near", "NotFound", "Page", "Query", "Store", "StoreError",
           "VersionConflict", "open_store"]
