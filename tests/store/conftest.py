"""The `store` fixture: every test using it runs on both stores, the embedded GeoPackage
(a real file) and a real PostGIS database, so both pass one shared suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mineaction.store import Store, open_store


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "gpkg":
        location = str(tmp_path / "store.gpkg")
    else:
        location = request.getfixturevalue("fresh_postgis_url")
    s = open_store(location)
    try:
        yield s
    finally:
        s.close()
