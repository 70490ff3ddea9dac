"""Both stores, with the audit trail attached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mineaction.audit.log import attach
from mineaction.auth.schema import ensure_server_tables
from mineaction.store import Store, open_store


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "gpkg":
        location = str(tmp_path / "store.gpkg")
    else:
        location = request.getfixturevalue("fresh_postgis_url")
    s = open_store(location)
    ensure_server_tables(s)
    attach(s)
    try:
        yield s
    finally:
        s.close()
