"""The `store` fixture: every test using it runs on both stores, the embedded GeoPackage
(a real file) and a real PostGIS database, so both pass one shared suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mineaction.store import Store, open_store


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location)
    try:
        yield s
    finally:
        s.close()
